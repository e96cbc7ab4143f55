//! The one mapping from domain errors to gRPC status codes.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::{AuthError, TokenError};
use crate::engine::EngineError;
use crate::manifest::ManifestError;
use crate::schedules::ScheduleError;
use crate::store::StoreError;
use crate::webhooks::WebhookError;

/// The wait a namespace's full queue suggests (google.rpc.RetryInfo): a
/// place frees when one of its own starts, which waits for one of its
/// runs to end, so no time is known; this keeps a retrying client from
/// spinning without making it wait long.
const NAMESPACE_QUEUE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

impl From<EngineError> for Status {
    fn from(error: EngineError) -> Status {
        let message = error.to_string();
        match error {
            EngineError::WorkflowNotFound(_)
            | EngineError::ExecutionNotFound(_)
            | EngineError::LogDeleted(_) => Status::not_found(message),
            EngineError::InvalidExecutionId(_) => {
                invalid_argument(message, &[("execution_id", "must be a UUID")])
            }
            EngineError::InvalidInputs(violations) => {
                let pairs: Vec<(&str, &str)> = violations
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str()))
                    .collect();
                invalid_argument(message, &pairs)
            }
            EngineError::InvalidLimits(problems) => {
                let pairs: Vec<(&str, &str)> = problems
                    .iter()
                    .map(|p| (p.field, p.message.as_str()))
                    .collect();
                invalid_argument(message, &pairs)
            }
            EngineError::QueueFull { .. } => Status::resource_exhausted(message),
            EngineError::NamespaceQueueFull { .. } => Status::with_error_details(
                Code::ResourceExhausted,
                message,
                ErrorDetails::with_retry_info(Some(NAMESPACE_QUEUE_RETRY)),
            ),
            EngineError::UnknownNamespace(_) => {
                invalid_argument(message, &[("namespace", "must be a configured namespace")])
            }
            EngineError::ShuttingDown
            | EngineError::LeftQueued(_)
            | EngineError::HistoryUnwritable(_) => Status::unavailable(message),
            // Not RESOURCE_EXHAUSTED: no wait lets it through.
            EngineError::AlreadyFinished { .. } | EngineError::TooManyAtOnce { .. } => {
                Status::failed_precondition(message)
            }
            EngineError::EndNotRecorded(_) => Status::internal(message),
            EngineError::Store(_) | EngineError::ReadTask(_) => {
                tracing::error!(error = %message, "internal error");
                Status::internal(message)
            }
        }
    }
}

impl From<ManifestError> for Status {
    fn from(error: ManifestError) -> Status {
        match error {
            ManifestError::Invalid(problems) => {
                let message = ManifestError::Invalid(problems.clone()).to_string();
                let pairs: Vec<(&str, &str)> = problems
                    .iter()
                    .map(|p| {
                        let field = if p.path.is_empty() {
                            "content"
                        } else {
                            p.path.as_str()
                        };
                        (field, p.message.as_str())
                    })
                    .collect();
                invalid_argument(message, &pairs)
            }
            ManifestError::WorkflowMissing(_) => Status::failed_precondition(error.to_string()),
            ManifestError::Write { .. } => {
                tracing::error!(error = %error, "internal error");
                Status::internal(error.to_string())
            }
            ManifestError::Engine(e) => e.into(),
        }
    }
}

impl From<ScheduleError> for Status {
    fn from(error: ScheduleError) -> Status {
        let message = error.to_string();
        match error {
            ScheduleError::Invalid(violations) => {
                let pairs: Vec<(&str, &str)> = violations
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str()))
                    .collect();
                invalid_argument(message, &pairs)
            }
            ScheduleError::NotFound(_) => Status::not_found(message),
            ScheduleError::Exists(_) => Status::already_exists(message),
            ScheduleError::ShuttingDown => Status::unavailable(message),
            ScheduleError::Store(_) => {
                tracing::error!(error = %message, "internal error");
                Status::internal(message)
            }
        }
    }
}

impl From<WebhookError> for Status {
    fn from(error: WebhookError) -> Status {
        let message = error.to_string();
        match error {
            WebhookError::Invalid(problems) => {
                let pairs: Vec<(&str, &str)> = problems
                    .iter()
                    .map(|(f, d)| (f.as_str(), d.as_str()))
                    .collect();
                invalid_argument(message, &pairs)
            }
            WebhookError::NotFound(_) => Status::not_found(message),
            WebhookError::Store(StoreError::WriterStopped) => Status::unavailable(message),
            WebhookError::Store(_) => {
                tracing::error!(error = %message, "internal error");
                Status::internal(message)
            }
        }
    }
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Status {
        match error {
            AuthError::WrongRole { .. } | AuthError::DaemonWide { .. } => {
                Status::permission_denied(error.to_string())
            }
            AuthError::Missing
            | AuthError::Malformed(_)
            | AuthError::Unknown(_)
            | AuthError::Expired { .. }
            | AuthError::Revoked { .. }
            | AuthError::NoClientCertificate
            | AuthError::UnnamedCertificate(_)
            | AuthError::UnmappedCertificate(_)
            | AuthError::Jwt(_)
            | AuthError::StreamToken(_) => Status::unauthenticated(error.to_string()),
        }
    }
}

impl From<TokenError> for Status {
    fn from(error: TokenError) -> Status {
        let message = error.to_string();
        match error {
            TokenError::Invalid {
                field,
                message: why,
            } => invalid_argument(message, &[(field, why.as_str())]),
            TokenError::NotFound(_) => Status::not_found(message),
            TokenError::BootstrapWrite { .. } => Status::internal(message),
            TokenError::Store(StoreError::WriterStopped) => Status::unavailable(message),
            TokenError::Store(_) => {
                tracing::error!(error = %message, "internal error");
                Status::internal(message)
            }
        }
    }
}

/// INVALID_ARGUMENT carrying google.rpc.BadRequest field violations.
pub(crate) fn invalid_argument(message: String, violations: &[(&str, &str)]) -> Status {
    let mut details = ErrorDetails::new();
    for (field, description) in violations {
        details.add_bad_request_violation(*field, *description);
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

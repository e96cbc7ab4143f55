//! The token RPCs (CreateToken, ListTokens, RevokeToken): request in, a
//! call on the daemon's [`Tokens`], response out.

use std::sync::Arc;

use tonic::{Response, Status};

use super::wire_time::{duration, timestamp};
use super::WorkflowApi;
use crate::auth::{Role, TokenError, Tokens};
use crate::namespaces::{Visibility, DEFAULT};
use crate::pb;
use crate::store::TokenRecord;

impl WorkflowApi {
    fn tokens(&self) -> Result<&Arc<Tokens>, Status> {
        self.tokens
            .as_ref()
            .ok_or_else(|| Status::unimplemented("this server has no API tokens"))
    }

    pub(super) async fn create_token_call(
        &self,
        request: pb::CreateTokenRequest,
        seen: &Visibility,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let role = match pb::Role::try_from(request.role) {
            Ok(pb::Role::Viewer) => Role::Viewer,
            Ok(pb::Role::Operator) => Role::Operator,
            Ok(pb::Role::Admin) => Role::Admin,
            _ => {
                return Err(TokenError::Invalid {
                    field: "role",
                    message: format!(
                        "{} is not ROLE_VIEWER, ROLE_OPERATOR or ROLE_ADMIN",
                        request.role
                    ),
                }
                .into())
            }
        };
        let expires_in = match &request.expires_in {
            Some(d) => Some(duration(d).ok_or_else(|| TokenError::Invalid {
                field: "expires_in",
                message: "is not a valid duration".into(),
            })?),
            None => None,
        };
        let namespaces = self.token_namespaces(&request.namespaces, seen)?;
        let made = self
            .tokens()?
            .create(request.name.trim(), role, expires_in, &namespaces)
            .await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(token_to_proto(&made.record)),
            secret: made.token,
        }))
    }

    /// The namespaces a new token sees: the ones named (each configured),
    /// `*` for all, none named: `default`. Refused beyond what its maker
    /// sees, so no token can hand out more than it has.
    fn token_namespaces(&self, names: &[String], seen: &Visibility) -> Result<Visibility, Status> {
        let names: Vec<&str> = if names.is_empty() {
            vec![DEFAULT]
        } else {
            names.iter().map(|n| n.trim()).collect()
        };
        let namespaces = Visibility::from_names(&names).map_err(|message| TokenError::Invalid {
            field: "namespaces",
            message,
        })?;
        if let Visibility::Only(names) = &namespaces {
            if let Some(unknown) = names
                .iter()
                .find(|n| self.engine.namespaces().get(n).is_none())
            {
                return Err(TokenError::Invalid {
                    field: "namespaces",
                    message: format!("namespace {unknown:?} is not configured in this daemon"),
                }
                .into());
            }
        }
        if !seen.covers(&namespaces) {
            return Err(Status::permission_denied(format!(
                "namespaces: a token can only be given namespaces its maker sees ({}), not {}",
                seen.names().join(", "),
                namespaces.names().join(", ")
            )));
        }
        Ok(namespaces)
    }

    pub(super) fn list_tokens_call(&self) -> Result<Response<pb::ListTokensResponse>, Status> {
        Ok(Response::new(pb::ListTokensResponse {
            tokens: self.tokens()?.list().iter().map(token_to_proto).collect(),
        }))
    }

    pub(super) async fn revoke_token_call(
        &self,
        request: pb::RevokeTokenRequest,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        let revoked = self.tokens()?.revoke(&request.token_id).await?;
        Ok(Response::new(pb::RevokeTokenResponse {
            token: Some(token_to_proto(&revoked)),
        }))
    }
}

fn token_to_proto(t: &TokenRecord) -> pb::ApiToken {
    let role = match Role::parse(&t.role) {
        Some(Role::Viewer) => pb::Role::Viewer,
        Some(Role::Operator) => pb::Role::Operator,
        Some(Role::Admin) => pb::Role::Admin,
        None => pb::Role::Unspecified,
    };
    pb::ApiToken {
        id: t.id.clone(),
        name: t.name.clone(),
        role: role as i32,
        create_time: Some(timestamp(t.create_ms)),
        expire_time: t.expire_ms.map(timestamp),
        revoke_time: t.revoke_ms.map(timestamp),
        namespaces: Visibility::from_stored(&t.namespaces)
            .map(|v| v.names())
            .unwrap_or_default(),
    }
}

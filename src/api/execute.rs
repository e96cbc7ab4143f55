//! Execute: the request checked (its namespace, its fields, then the
//! engine's checks of the workflow, inputs and limits), and only a valid
//! new start spends its namespace's rate of starting work before it is
//! stored and queued. A caller sending bad inputs is refused without
//! draining its team's rate.

use tonic::{Request, Response, Status};

use super::WorkflowApi;
use super::{convert, invalid_argument, limits_convert, optional, required, retry_convert};
use crate::engine::{CheckedStart, ExecuteRequest};
use crate::pb;

impl WorkflowApi {
    pub(super) async fn execute_call(
        &self,
        request: Request<pb::ExecuteRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        let namespace = self.start_namespace(&request, &request.get_ref().namespace)?;
        let request = request.into_inner();
        required(&request.workflow_id, "workflow_id")?;
        let timeout =
            match &request.timeout {
                None => None,
                Some(t) => Some(convert::duration(t).filter(|d| !d.is_zero()).ok_or_else(
                    || {
                        invalid_argument(
                            "timeout must be positive and within the Duration range".into(),
                            &[("timeout", "must be positive and at most 315576000000s")],
                        )
                    },
                )?),
            };
        let retry = retry_convert::policy("retry_policy", request.retry_policy.as_ref())
            .map_err(|problems| {
                let pairs: Vec<(&str, &str)> = problems
                    .iter()
                    .map(|(f, d)| (f.as_str(), d.as_str()))
                    .collect();
                invalid_argument("invalid retry_policy".into(), &pairs)
            })?
            .or_else(|| self.engine.retry_default(&request.workflow_id));
        let checked = self
            .engine
            .check_execute(ExecuteRequest {
                inputs: convert::json_inputs(&request.inputs),
                workflow_id: request.workflow_id,
                request_id: optional(request.request_id)
                    .map(|id| crate::namespaces::scoped_request_id(&namespace, &id)),
                timeout,
                labels: request.labels.into_iter().collect(),
                batch_id: None,
                scheduled_by: None,
                retry,
                limits: limits_convert::requested(request.limits.as_ref())?,
                namespace: namespace.clone(),
            })
            .await?;
        let (execution, started) = match checked {
            // A repeat of a request id starts nothing: nothing to spend.
            CheckedStart::Existing(existing) => (*existing, false),
            CheckedStart::New(start) => {
                // Spent once the start has its place: a refusal for a
                // full queue costs the namespace nothing either.
                let reserved = self.engine.reserve(*start)?;
                self.spend_start(&namespace)?;
                self.engine.start(reserved).await?
            }
        };
        Ok(Response::new(pb::ExecuteResponse {
            execution: Some(self.shown_one(&execution).await),
            started,
        }))
    }
}

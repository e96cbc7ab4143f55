//! CreateStreamToken: a short-lived token for one execution's SSE log URL
//! (src/auth/stream_token.rs; the port checks it).

use tonic::{Request, Response, Status};

use super::{namespaces, required, wire_time, WorkflowApi};
use crate::pb;

impl WorkflowApi {
    pub(super) async fn create_stream_token_call(
        &self,
        request: Request<pb::CreateStreamTokenRequest>,
    ) -> Result<Response<pb::CreateStreamTokenResponse>, Status> {
        let maker = namespaces::principal(&request);
        let id = request.into_inner().execution_id;
        let execution = self
            .engine
            .execution(required(&id, "execution_id")?)
            .await?;
        let execution = Self::visible(&maker.namespaces, &id, execution)?;
        // The canonical id, as the log route's path will carry it.
        let (token, expire_ms) = self.stream_tokens.issue(&maker, &execution.id.to_string());
        Ok(Response::new(pb::CreateStreamTokenResponse {
            token,
            expire_time: Some(wire_time::timestamp(expire_ms)),
        }))
    }
}

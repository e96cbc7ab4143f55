//! The token RPCs (CreateToken, ListTokens, RevokeToken): request in, a
//! call on the daemon's [`Tokens`], response out.

use std::sync::Arc;

use tonic::{Response, Status};

use super::wire_time::{duration, timestamp};
use super::WorkflowApi;
use crate::auth::{Role, TokenError, Tokens};
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
        let made = self
            .tokens()?
            .create(request.name.trim(), role, expires_in)
            .await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(token_to_proto(&made.record)),
            secret: made.token,
        }))
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
    }
}

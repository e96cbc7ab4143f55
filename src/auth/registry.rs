//! The API tokens: kept in the history, held in memory so each call's
//! check reads no database, changed only here (so memory and history
//! agree: a change is committed first, then applied to memory, then
//! answered; a revoked token is refused from that moment).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use subtle::ConstantTimeEq;

use super::token::{self, Presented};
use super::{AuthError, Principal, Role};
use crate::clock::now_ms;
use crate::namespaces::Visibility;
use crate::store::{StoreError, StoreReader, StoreWriter, TokenRecord, TokenWrite};

/// The longest a token may be valid for (ten years), and the shortest.
const MAX_EXPIRY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const MIN_EXPIRY: Duration = Duration::from_secs(1);
/// The longest name.
const MAX_NAME: usize = 200;

/// A token just made: the record and the token itself (shown once).
#[derive(Debug, Clone)]
pub(crate) struct NewToken {
    /// As stored.
    pub(crate) record: TokenRecord,
    /// `wft_<id>_<secret>`.
    pub(crate) token: String,
}

/// Why a change of the tokens was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A field is invalid (named).
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such token.
    #[error("no API token with id {0:?}")]
    NotFound(String),
    /// The first admin token's file could not be written.
    #[error("cannot write the first admin token to {path}: {source}")]
    BootstrapWrite {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The history failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::TokenNotFound(id) => TokenError::NotFound(id),
            other => TokenError::Store(other),
        }
    }
}

/// The tokens.
pub(crate) struct Tokens {
    by_id: RwLock<HashMap<String, TokenRecord>>,
    writer: StoreWriter,
}

impl Tokens {
    /// The tokens stored in the history.
    pub(crate) async fn load(
        reader: &Arc<StoreReader>,
        writer: StoreWriter,
    ) -> Result<Tokens, StoreError> {
        let records = reader.off_runtime(|r| r.tokens()).await?;
        Ok(Tokens {
            by_id: RwLock::new(records.into_iter().map(|t| (t.id.clone(), t)).collect()),
            writer,
        })
    }

    /// Who `presented` is, or why it is refused. The secret is compared
    /// first and in constant time, and an unknown id and a wrong secret get
    /// the same answer, so a guessed id learns nothing of the token's state
    /// (ids are not secret: lists and messages show them).
    pub(super) fn verify(&self, presented: &Presented) -> Result<Principal, AuthError> {
        let by_id = self.by_id.read();
        let record = by_id
            .get(&presented.id)
            .ok_or_else(|| AuthError::Unknown(presented.id.clone()))?;
        let hash = token::hash(&presented.secret);
        if !bool::from(hash.as_slice().ct_eq(&record.secret_hash)) {
            return Err(AuthError::Unknown(presented.id.clone()));
        }
        if let Some(at) = record.revoke_ms {
            return Err(AuthError::Revoked {
                id: record.id.clone(),
                at: rfc3339(at),
            });
        }
        if let Some(at) = record.expire_ms.filter(|at| *at <= now_ms()) {
            return Err(AuthError::Expired {
                id: record.id.clone(),
                at: rfc3339(at),
            });
        }
        let role = Role::parse(&record.role).unwrap_or(Role::Viewer);
        // A stored value this daemon cannot read sees nothing.
        let namespaces = Visibility::from_stored(&record.namespaces)
            .unwrap_or_else(|_| Visibility::Only(Default::default()));
        Ok(Principal {
            name: format!("token {} ({})", record.id, record.name),
            role,
            namespaces,
        })
    }

    /// Makes a token.
    pub(crate) async fn create(
        &self,
        name: &str,
        role: Role,
        expires_in: Option<Duration>,
        namespaces: &Visibility,
    ) -> Result<NewToken, TokenError> {
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(TokenError::Invalid {
                field: "name",
                message: format!("at most {MAX_NAME} characters, no control characters"),
            });
        }
        if let Some(d) = expires_in {
            if d < MIN_EXPIRY || d > MAX_EXPIRY {
                return Err(TokenError::Invalid {
                    field: "expires_in",
                    message: "must be at least a second and at most ten years".into(),
                });
            }
        }
        let (id, token, secret_hash) = token::new_token();
        let now = now_ms();
        let record = TokenRecord {
            id: id.clone(),
            name: name.to_string(),
            role: role.as_str().to_string(),
            secret_hash,
            create_ms: now,
            expire_ms: expires_in.map(|d| now + d.as_millis() as i64),
            revoke_ms: None,
            namespaces: namespaces.stored(),
        };
        self.writer
            .token(TokenWrite::Create(Box::new(record.clone())))
            .await?;
        self.by_id.write().insert(id, record.clone());
        Ok(NewToken { record, token })
    }

    /// Every token, oldest first.
    pub(crate) fn list(&self) -> Vec<TokenRecord> {
        let mut tokens: Vec<TokenRecord> = self.by_id.read().values().cloned().collect();
        tokens.sort_by(|a, b| (a.create_ms, &a.id).cmp(&(b.create_ms, &b.id)));
        tokens
    }

    /// Revokes a token; calls with it are refused once this returns.
    pub(crate) async fn revoke(&self, id: &str) -> Result<TokenRecord, TokenError> {
        let id = id.trim().to_ascii_lowercase();
        if !self.by_id.read().contains_key(&id) {
            return Err(TokenError::NotFound(id));
        }
        let at_ms = now_ms();
        self.writer
            .token(TokenWrite::Revoke {
                id: id.clone(),
                at_ms,
            })
            .await?;
        let mut by_id = self.by_id.write();
        let record = by_id
            .get_mut(&id)
            .ok_or_else(|| TokenError::NotFound(id.clone()))?;
        record.revoke_ms.get_or_insert(at_ms);
        Ok(record.clone())
    }

    /// With tokens required and none made yet, makes an admin token and
    /// writes it to `path` (mode 0600) so the operator can start. The file
    /// is written before the token is stored: a failed write stores
    /// nothing, and the next start tries again. While the file exists (its
    /// token was made and may still be valid) every start says so.
    pub(crate) async fn bootstrap(&self, path: &Path) -> Result<Bootstrap, TokenError> {
        if !self.by_id.read().is_empty() {
            return Ok(if path.exists() {
                Bootstrap::FileLeft
            } else {
                Bootstrap::NotNeeded
            });
        }
        let (id, token, secret_hash) = token::new_token();
        crate::fs::write_atomic(
            path,
            format!("{token}\n").as_bytes(),
            crate::fs::Access::Private,
        )
        .map_err(|source| TokenError::BootstrapWrite {
            path: path.to_path_buf(),
            source,
        })?;
        let record = TokenRecord {
            id: id.clone(),
            name: "bootstrap admin (made at first start)".into(),
            role: Role::Admin.as_str().to_string(),
            secret_hash,
            create_ms: now_ms(),
            expire_ms: None,
            revoke_ms: None,
            namespaces: Visibility::All.stored(),
        };
        if let Err(e) = self
            .writer
            .token(TokenWrite::Create(Box::new(record.clone())))
            .await
        {
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        self.by_id.write().insert(id, record);
        Ok(Bootstrap::Made)
    }
}

/// What [`Tokens::bootstrap`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bootstrap {
    /// Made the first admin token and wrote its file.
    Made,
    /// Tokens exist and the first one's file is still there.
    FileLeft,
    /// Tokens exist; no file.
    NotNeeded,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

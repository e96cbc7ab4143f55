//! API tokens as stored (schema version 9; namespaces since 12): a SHA-256 of each secret,
//! never the secret.

use super::db::{args, Db, Row};

use super::{StoreError, StoreReader};

/// A token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRecord {
    /// Its id (the part of the token before the secret).
    pub(crate) id: String,
    /// Free text.
    pub(crate) name: String,
    /// The role's name (`viewer`, `operator`, `admin`).
    pub(crate) role: String,
    /// SHA-256 of the secret.
    pub(crate) secret_hash: Vec<u8>,
    /// Creation time.
    pub(crate) create_ms: i64,
    /// Expiry, if it has one.
    pub(crate) expire_ms: Option<i64>,
    /// When it was revoked, if it was.
    pub(crate) revoke_ms: Option<i64>,
    /// The namespaces it sees: `*`, or names joined by commas
    /// ([`crate::namespaces::Visibility::stored`]).
    pub(crate) namespaces: String,
}

/// A change to the tokens, applied by the history writer.
#[derive(Debug, Clone)]
pub(crate) enum TokenWrite {
    /// A new token.
    Create(Box<TokenRecord>),
    /// Revokes a token at `at_ms` (a revoked one keeps its first time);
    /// [`StoreError::TokenNotFound`] when there is none.
    Revoke {
        /// The token.
        id: String,
        /// When.
        at_ms: i64,
    },
}

/// Applies one change inside the writer's transaction.
pub(super) fn apply(db: Db<'_>, write: &TokenWrite) -> Result<(), StoreError> {
    match write {
        TokenWrite::Create(t) => {
            db.execute(
                "INSERT INTO api_tokens (id, name, role, secret_hash, create_ms, expire_ms, revoke_ms, namespaces) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                args![
                t.id,
                t.name,
                t.role,
                t.secret_hash,
                t.create_ms,
                t.expire_ms,
                t.revoke_ms,
                    t.namespaces
                ],
            )?;
        }
        TokenWrite::Revoke { id, at_ms } => {
            let changed = db.execute(
                "UPDATE api_tokens SET revoke_ms = COALESCE(revoke_ms, ?2) WHERE id = ?1",
                args![id, at_ms],
            )?;
            if changed == 0 {
                return Err(StoreError::TokenNotFound(id.clone()));
            }
        }
    }
    Ok(())
}

fn read_token(row: &Row<'_>) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        role: row.get(2)?,
        secret_hash: row.get(3)?,
        create_ms: row.get(4)?,
        expire_ms: row.get(5)?,
        revoke_ms: row.get(6)?,
        namespaces: row.get(7)?,
    })
}

impl StoreReader {
    /// Every token, oldest first.
    pub(crate) fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.with_db(|db| {
            db.query(
                "SELECT id, name, role, secret_hash, create_ms, expire_ms, revoke_ms, namespaces \
                 FROM api_tokens ORDER BY create_ms, id",
                args![],
                read_token,
            )
        })
    }
}

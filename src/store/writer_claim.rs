//! Which daemon writes a PostgreSQL history. The writer's session holds an
//! advisory lock while it lives, so one daemon writes at a time; each
//! claim is also recorded with its host, boot and pid, so that
//! - the next daemon to claim the history knows whether the executions
//!   left running were this host's in this boot (their process groups may
//!   be signalled) or another's (nothing here is theirs to signal), and
//! - a daemon whose session was lost can tell its own lingering claim
//!   (the server has not noticed the old session is gone: wait) from a
//!   standby's takeover (stop at once: the work is the other's now).

use super::db::{args, Db};
use super::StoreError;

/// A key of `pg_try_advisory_lock`, held by the writer's session.
const WRITER_LOCK: i64 = 0x776f_726b_666c_6f78;

/// Claims recorded beyond this many are removed.
const CLAIMS_KEPT: i64 = 20;

/// A daemon that claimed the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claimant {
    pub(crate) host: String,
    /// Empty when the host has no boot id to give.
    pub(crate) boot_id: String,
    pub(crate) pid: u32,
}

impl Claimant {
    /// This daemon.
    pub(crate) fn this_daemon() -> Claimant {
        Claimant {
            host: crate::host::name(),
            boot_id: crate::host::boot_id().unwrap_or_default(),
            pid: std::process::id(),
        }
    }
}

/// Takes the history for this session's writes; false: another session
/// holds it.
pub(super) fn try_claim(db: Db<'_>) -> Result<bool, StoreError> {
    db.query_one(
        "SELECT pg_try_advisory_lock(?1)",
        args![WRITER_LOCK],
        |row| row.get::<bool>(0),
    )
}

/// Records that `me` claimed the history (after [`try_claim`] and the
/// migration that made the table).
pub(super) fn record(db: Db<'_>, me: &Claimant) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO writer_claims (host, boot_id, pid, claimed_ms) VALUES (?1, ?2, ?3, ?4)",
        args![
            me.host.as_str(),
            me.boot_id.as_str(),
            me.pid as i64,
            crate::clock::now_ms()
        ],
    )?;
    db.execute(
        "DELETE FROM writer_claims WHERE seq <= (SELECT MAX(seq) FROM writer_claims) - ?1",
        args![CLAIMS_KEPT],
    )?;
    Ok(())
}

/// This session's server process id.
pub(super) fn session_pid(db: Db<'_>) -> Result<i64, StoreError> {
    db.query_one("SELECT pg_backend_pid()::BIGINT", args![], |row| {
        row.get::<i64>(0)
    })
}

/// The server process id of the session holding the claim, if one does.
pub(super) fn holder(db: Db<'_>) -> Result<Option<i64>, StoreError> {
    // An advisory lock on one bigint key is listed with the key's high
    // and low halves as classid and objid, and objsubid 1; pg_locks lists
    // every database's.
    db.query_opt(
        "SELECT pid::BIGINT FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND classid::BIGINT = ?1 AND objid::BIGINT = ?2 AND objsubid = 1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        args![WRITER_LOCK >> 32, WRITER_LOCK & 0xffff_ffff],
        |row| row.get::<i64>(0),
    )
}

/// The last daemon other than `me` that claimed the history, if recorded.
pub(crate) fn previous(db: Db<'_>, me: &Claimant) -> Result<Option<Claimant>, StoreError> {
    db.query_opt(
        "SELECT host, boot_id, pid FROM writer_claims \
         WHERE NOT (host = ?1 AND boot_id = ?2 AND pid = ?3) ORDER BY seq DESC LIMIT 1",
        args![me.host.as_str(), me.boot_id.as_str(), me.pid as i64],
        |row| {
            Ok(Claimant {
                host: row.get(0)?,
                boot_id: row.get(1)?,
                pid: row.get::<i64>(2)? as u32,
            })
        },
    )
}

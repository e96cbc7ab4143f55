//! Which daemon writes a PostgreSQL history. The writer's session holds an
//! advisory lock while it lives, so one daemon writes at a time; each
//! claim is also recorded with its host, boot and pid, so that
//! - the next daemon to claim the history knows whether the executions
//!   left running can only have been started on this host in this boot
//!   (their process groups may be signalled) or maybe elsewhere (nothing
//!   here is theirs to signal), and
//! - a daemon whose session was lost can tell its own lingering claim
//!   (the server has not noticed the old session is gone: wait) from a
//!   standby's takeover (a newer claim by another daemon: stop at once,
//!   the work is the other's now), even if that standby has let go again.

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
/// migration that made the table); returns the claim's number.
pub(super) fn record(db: Db<'_>, me: &Claimant) -> Result<i64, StoreError> {
    let seq = db.query_one(
        "INSERT INTO writer_claims (host, boot_id, pid, claimed_ms) VALUES (?1, ?2, ?3, ?4) \
         RETURNING seq",
        args![
            me.host.as_str(),
            me.boot_id.as_str(),
            me.pid as i64,
            crate::clock::now_ms()
        ],
        |row| row.get::<i64>(0),
    )?;
    db.execute(
        "DELETE FROM writer_claims WHERE seq <= ?1",
        args![seq - CLAIMS_KEPT],
    )?;
    Ok(seq)
}

/// Whether another daemon than `me` claimed the history after claim
/// number `mine`: then it took over while `me` was cut off.
pub(super) fn taken_over_since(db: Db<'_>, me: &Claimant, mine: i64) -> Result<bool, StoreError> {
    let newer = db.query_opt(
        "SELECT 1 FROM writer_claims WHERE seq > ?1 \
         AND NOT (host = ?2 AND boot_id = ?3 AND pid = ?4) LIMIT 1",
        args![mine, me.host.as_str(), me.boot_id.as_str(), me.pid as i64],
        |_| Ok(()),
    )?;
    Ok(newer.is_some())
}

/// Every daemon that may have started an execution at or after `since_ms`
/// (by its own clock): the one whose claim was current then, and all that
/// claimed the history after it; empty when no claim is recorded (a
/// history last written before claims were).
pub(crate) fn claimants_since(db: Db<'_>, since_ms: i64) -> Result<Vec<Claimant>, StoreError> {
    db.query(
        "SELECT host, boot_id, pid FROM writer_claims WHERE seq >= \
         COALESCE((SELECT MAX(seq) FROM writer_claims WHERE claimed_ms <= ?1), 0) ORDER BY seq",
        args![since_ms],
        |row| {
            Ok(Claimant {
                host: row.get(0)?,
                boot_id: row.get(1)?,
                pid: row.get::<i64>(2)? as u32,
            })
        },
    )
}

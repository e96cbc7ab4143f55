//! When the writer lingers: under load from many writers it gathers for a
//! moment before each commit, so fewer, larger commits leave more of the
//! machine to the programs; one client doing a few things at a time never
//! waits for it.

use std::time::Duration;

use super::{executions_in, WriteOp, MAX_GROUP_EVENTS};

/// A group with writes from at least this many sources (executions, new
/// executions, drop-folder files) means many independent writers are busy
/// at once, which is when gathering pays: the writer starts lingering...
///
/// Each execution's path awaits about two commits, so a linger costs a
/// client with N executions in flight at most N / (2 x LINGER) of them a
/// second: lingering from 3 sources capped 8 in flight at ~1,200/s (0.58x
/// of `xargs -P2`); from 12, 8 in flight reach 0.79x and 32 keep their
/// rate and most of the saved CPU (bench/README.md, the throughput curve).
pub(super) const LINGER_FROM_SOURCES: usize = 12;
/// ...and goes on while its groups have at least this many: fewer than
/// start it, so a steady load does not flip at every commit. A client
/// keeping 8 in flight cannot start it on its own; one doing one thing at
/// a time never has a group from two sources.
pub(super) const KEEP_LINGERING_SOURCES: usize = 8;
/// How long a lingering writer gathers before each commit (the same trade
/// as a Kafka producer's `linger.ms`). A commit costs about the same
/// whatever its size (a WAL frame per touched page, file locks, a wake-up
/// of the writer per operation when it is idle), so under load fewer,
/// larger commits leave more of the machine to the programs (fewer WAL
/// writes and system calls per execution). Light load (one execution at a
/// time) never lingers and pays no latency for it; under load a write
/// waits at most this long more, which a chain of awaited writes (a
/// dropped file's ledger updates) pays at every link: a longer linger
/// saves a little more CPU but slows a batch of dropped files much more,
/// so it is kept short (the measurements that chose it are in the git
/// history of bench/README.md).
pub(super) const LINGER: Duration = Duration::from_millis(3);
/// How many independent writers a group comes from: each existing
/// execution once, each other operation (a new execution, a drop-folder
/// change) on its own; barriers and close are nobody's writes, and audit
/// events nobody waits for (they ride along, `deferred.rs`).
pub(super) fn sources(group: &[WriteOp]) -> usize {
    let executions = executions_in(group);
    let others = group
        .iter()
        .filter(|op| {
            matches!(
                op,
                WriteOp::CreateExecution { .. }
                    | WriteOp::DropFile { .. }
                    | WriteOp::Schedule { .. }
                    | WriteOp::SettleRetries { .. }
                    | WriteOp::Webhook { .. }
                    | WriteOp::Token { .. }
            )
        })
        .count();
    executions.len() + others
}

/// Whether to gather before the next commit, after a group from
/// `sources` writers carrying `events` events.
pub(super) fn linger_after(sources: usize, events: usize, lingering: bool) -> bool {
    if events >= MAX_GROUP_EVENTS {
        // A backlog (a flood of output): the next group is full already.
        return false;
    }
    sources
        >= if lingering {
            KEEP_LINGERING_SOURCES
        } else {
            LINGER_FROM_SOURCES
        }
}

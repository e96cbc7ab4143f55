//! Opening the history for writing: a SQLite file made private and
//! migrated; a PostgreSQL database claimed by this daemon (writer_claim.rs),
//! migrated, and the claim recorded.

use std::path::Path;

use rusqlite::Connection;

use super::db::{Conn, Database, Db, PgConn};
use super::writer_claim::{self, Claimant};
use super::{schema, StoreError};
use crate::fs::private;

/// Opens (creating and migrating) the database for writing.
pub(super) fn open(database: &Database) -> Result<Conn, StoreError> {
    open_claiming(database, None).map(|opened| opened.conn)
}

/// As [`open`], with the claim's number.
pub(super) fn open_claimed(database: &Database) -> Result<Opened, StoreError> {
    open_claiming(database, None)
}

/// Opens the database again for the writer whose connection was lost,
/// whose last claim was number `claimed` (PostgreSQL). A claim recorded
/// since by another daemon means a standby took over: TakenOver, whether
/// or not it still holds the lock. Otherwise a lock still held is this
/// daemon's old session, which the server has not yet seen is gone:
/// InUseByAnotherDaemon, to be waited out.
pub(super) fn reopen(database: &Database, claimed: Option<i64>) -> Result<Opened, StoreError> {
    open_claiming(database, claimed)
}

/// The history opened for writing, and on PostgreSQL the number of the
/// claim this opening recorded.
pub(super) struct Opened {
    pub(super) conn: Conn,
    pub(super) claim: Option<i64>,
}

fn open_claiming(database: &Database, claimed: Option<i64>) -> Result<Opened, StoreError> {
    match database {
        Database::Sqlite(path) => {
            let open_error = |source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            };
            if let Some(parent) = path.parent() {
                private::create_dir_all(parent).map_err(open_error)?;
            }
            make_private(path).map_err(open_error)?;
            let mut conn = Connection::open(path)?;
            schema::configure(&conn)?;
            schema::migrate(&mut conn)?;
            Ok(Opened {
                conn: Conn::Sqlite(conn),
                claim: None,
            })
        }
        Database::Postgres(url) => {
            let conn = PgConn::connect(url)?;
            let db = Db::Postgres(&conn);
            // Held by this connection's session while it lives: a second
            // daemon on the same database is refused at start (or stands
            // by), before it migrates anything under the first.
            let me = Claimant::this_daemon();
            let claimed_by_me = writer_claim::try_claim(db)?;
            if let Some(mine) = claimed {
                if writer_claim::taken_over_since(db, &me, mine)? {
                    return Err(StoreError::TakenOver(database.describe()));
                }
            }
            if !claimed_by_me {
                return Err(StoreError::InUseByAnotherDaemon(database.describe()));
            }
            schema::postgres::migrate(db)?;
            let claim = writer_claim::record(db, &me)?;
            Ok(Opened {
                conn: Conn::Postgres(Box::new(conn)),
                claim: Some(claim),
            })
        }
    }
}

/// Creates the database file 0600 before SQLite opens it, and tightens an
/// older one and its `-wal` / `-shm` files: they hold every input and log
/// line. SQLite gives the `-wal` and `-shm` files it creates the mode of
/// the database file, so they are private too whatever the umask.
fn make_private(database: &Path) -> std::io::Result<()> {
    private::create_file(database)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        if let Some(mode) = private::tighten(Path::new(&name))? {
            tracing::warn!(file = %Path::new(&name).display(), mode = format!("{mode:o}"), "the history was readable by others; made it private (0600)");
        }
    }
    Ok(())
}

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
    open_claiming(database, None)
}

/// Opens the database again for the writer whose connection was lost;
/// `lost_session` is that session's server process. While the server
/// has not noticed it is gone, the old session still holds the claim:
/// InUseByAnotherDaemon, to be waited out. Held by any other session, the
/// claim was taken over by a standby: TakenOver.
pub(super) fn reopen(database: &Database, lost_session: Option<i64>) -> Result<Conn, StoreError> {
    open_claiming(database, lost_session)
}

/// The server process of the writer's session on a PostgreSQL history.
pub(super) fn session(conn: &Conn) -> Option<i64> {
    match conn {
        Conn::Postgres(pg) => writer_claim::session_pid(Db::Postgres(pg)).ok(),
        Conn::Sqlite(_) => None,
    }
}

fn open_claiming(database: &Database, lost_session: Option<i64>) -> Result<Conn, StoreError> {
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
            Ok(Conn::Sqlite(conn))
        }
        Database::Postgres(url) => {
            let conn = PgConn::connect(url)?;
            let db = Db::Postgres(&conn);
            // Held by this connection's session while it lives: a second
            // daemon on the same database is refused at start (or stands
            // by), before it migrates anything under the first.
            if !writer_claim::try_claim(db)? {
                let holder = writer_claim::holder(db)?;
                return Err(match (lost_session, holder) {
                    (Some(lost), Some(holder)) if holder != lost => {
                        StoreError::TakenOver(database.describe())
                    }
                    _ => StoreError::InUseByAnotherDaemon(database.describe()),
                });
            }
            schema::postgres::migrate(db)?;
            writer_claim::record(db, &Claimant::this_daemon())?;
            Ok(Conn::Postgres(Box::new(conn)))
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

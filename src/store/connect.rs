//! Opening the history for writing: a SQLite file made private and
//! migrated; a PostgreSQL database migrated and claimed by this daemon.

use std::path::Path;

use rusqlite::Connection;

use super::db::{Conn, Database, Db, PgConn};
use super::{schema, StoreError};
use crate::fs::private;

/// Opens (creating and migrating) the database for writing.
pub(super) fn open(database: &Database) -> Result<Conn, StoreError> {
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
            // Held by this connection's session while it lives: a second
            // daemon on the same database is refused at start, before it
            // migrates anything under the first.
            if !schema::postgres::claim(Db::Postgres(&conn))? {
                return Err(StoreError::InUseByAnotherDaemon(database.describe()));
            }
            schema::postgres::migrate(Db::Postgres(&conn))?;
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

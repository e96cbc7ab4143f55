//! For the store's tests: each runs against both backends, a fresh SQLite
//! file and a fresh database on the test PostgreSQL server
//! (db/test_server.rs).
//!
//! The PostgreSQL client blocks on a runtime of its own, which tokio
//! refuses inside another runtime's task: a test reads the history from
//! its own thread and runs only the writer's async calls on [`runtime`].

use super::db::test_server;
use super::Database;

/// Runs `test` on a fresh SQLite history, then on a fresh PostgreSQL one.
pub(crate) fn on_each_database(test: impl Fn(&Database)) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    test(&Database::Sqlite(dir.path().join("history.sqlite3")));
    test(&Database::Postgres(test_server::fresh_database()));
}

/// A runtime to await the writer on; its tasks (the writer's flusher)
/// run on a thread of their own while the test reads.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime")
}

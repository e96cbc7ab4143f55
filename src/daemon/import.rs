//! `workflowd --database postgres://... --import-history FILE`: a team
//! moving its daemon to PostgreSQL brings its SQLite history along
//! (store/import.rs), then starts the daemon on the database.

use std::path::Path;

use super::DaemonError;
use crate::config::Config;
use crate::store::import::import_sqlite_history;

/// Copies the SQLite history `file` into the configured PostgreSQL
/// database; returns what to print: the rows copied, by table.
pub fn import_history(config: &Config, file: &Path) -> Result<String, DaemonError> {
    let counts = import_sqlite_history(file, &config.history_database())?;
    let mut report = format!(
        "imported {} into {}:\n",
        file.display(),
        config.history_database().describe()
    );
    for (table, rows) in counts.tables {
        report.push_str(&format!("  {table:<20} {rows}\n"));
    }
    Ok(report)
}

//! The drop-folder ledger: one row per file taken from a drop folder, from
//! the moment it is in `processing/` until it is in `processed/` or
//! `failed/`. It is what makes the folders crash-safe: after a restart every
//! row still `processing` is resumed (its executions are found again by
//! their request ids), and a file moves to its final place exactly once.
//!
//! Paths are stored as their raw bytes, so file names that are not UTF-8
//! survive the round trip.

use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::db::{args, Db, Row};

use super::reader::StoreReader;
use super::StoreError;

/// Where a dropped file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropFileState {
    /// In `processing/`: being validated or its executions are running.
    Processing,
    /// Moved to `processed/`.
    Processed,
    /// Moved to `failed/`.
    Failed,
    /// Disappeared from `processing/` before the daemon moved it (someone
    /// else removed it).
    Lost,
}

impl DropFileState {
    /// The name stored in the table.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DropFileState::Processing => "processing",
            DropFileState::Processed => "processed",
            DropFileState::Failed => "failed",
            DropFileState::Lost => "lost",
        }
    }

    /// The state named `name`.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "processing" => DropFileState::Processing,
            "processed" => DropFileState::Processed,
            "failed" => DropFileState::Failed,
            "lost" => DropFileState::Lost,
            _ => return None,
        })
    }
}

/// One file taken from a drop folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DropFileRecord {
    /// Job id (a UUID), also the key of its executions' request ids.
    pub(crate) id: String,
    /// The drop folder (holding to_be_processed/, processing/, ...).
    pub(crate) folder: PathBuf,
    /// `manifest` or `disk`.
    pub(crate) mode: String,
    /// The file's name as it was dropped.
    pub(crate) original_name: String,
    /// Where it is while processing.
    pub(crate) processing_path: PathBuf,
    /// Its state.
    pub(crate) state: DropFileState,
    /// Batch id of its executions, when it is a batch.
    pub(crate) batch_id: Option<String>,
    /// Ids of its executions (the latest attempt of each VM), once started.
    pub(crate) execution_ids: Vec<String>,
    /// When it was taken (ms since the epoch).
    pub(crate) taken_ms: i64,
    /// Where it goes, decided before it is moved there (so a restart moves it
    /// to the same place).
    pub(crate) final_path: Option<PathBuf>,
    /// The state it ends in once moved to `final_path`.
    pub(crate) final_state: Option<DropFileState>,
    /// When it reached its final place.
    pub(crate) finished_ms: Option<i64>,
    /// Why it failed, when it did.
    pub(crate) error: String,
}

/// A change to the ledger, applied by the history writer.
#[derive(Debug, Clone)]
pub(crate) enum DropFileWrite {
    /// A file was moved into `processing/`.
    Insert(Box<DropFileRecord>),
    /// Its executions were started.
    SetExecutions {
        /// Job id.
        id: String,
        /// Execution ids.
        execution_ids: Vec<String>,
    },
    /// Where it will go; written before the move.
    Decide {
        /// Job id.
        id: String,
        /// The final path.
        final_path: PathBuf,
        /// Processed or failed.
        final_state: DropFileState,
        /// The error, when failed.
        error: String,
    },
    /// It reached its final place (or was lost).
    Finish {
        /// Job id.
        id: String,
        /// The final state.
        state: DropFileState,
        /// When.
        finished_ms: i64,
    },
}

/// Counts of one folder's files for GetStatus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DropFileCounts {
    /// Rows still processing.
    pub(crate) processing: u64,
    /// Moved to processed/ since the time asked for.
    pub(crate) processed_since: u64,
    /// Moved to failed/ since the time asked for.
    pub(crate) failed_since: u64,
}

fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

fn bytes_path(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// Applies one change inside the writer's transaction.
pub(super) fn apply(db: Db<'_>, write: &DropFileWrite) -> Result<(), StoreError> {
    match write {
        DropFileWrite::Insert(r) => {
            db.execute(
                "INSERT INTO drop_files (id, folder, mode, original_name, processing_path, state, batch_id, \
                 execution_ids, taken_ms, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                args![
                r.id,
                path_bytes(&r.folder),
                r.mode,
                r.original_name,
                path_bytes(&r.processing_path),
                r.state.as_str(),
                r.batch_id,
                serde_json::to_string(&r.execution_ids).expect("ids serialize"),
                r.taken_ms,
                    r.error,
                ],
            )?;
        }
        DropFileWrite::SetExecutions { id, execution_ids } => {
            db.execute(
                "UPDATE drop_files SET execution_ids = ?2 WHERE id = ?1",
                args![
                    id,
                    serde_json::to_string(execution_ids).expect("ids serialize")
                ],
            )?;
        }
        DropFileWrite::Decide {
            id,
            final_path,
            final_state,
            error,
        } => {
            db.execute(
                "UPDATE drop_files SET final_path = ?2, final_state = ?3, error = ?4 WHERE id = ?1",
                args![id, path_bytes(final_path), final_state.as_str(), error],
            )?;
        }
        DropFileWrite::Finish {
            id,
            state,
            finished_ms,
        } => {
            db.execute(
                "UPDATE drop_files SET state = ?2, finished_ms = ?3 WHERE id = ?1",
                args![id, state.as_str(), finished_ms],
            )?;
        }
    }
    Ok(())
}

const COLUMNS: &str =
    "id, folder, mode, original_name, processing_path, state, batch_id, execution_ids, \
     taken_ms, final_path, final_state, finished_ms, error";

fn read_row(row: &Row<'_>) -> Result<DropFileRecord, StoreError> {
    let id: String = row.get(0)?;
    let state: String = row.get(5)?;
    let ids: String = row.get(7)?;
    let final_state: Option<String> = row.get(10)?;
    let folder: Vec<u8> = row.get(1)?;
    let processing: Vec<u8> = row.get(4)?;
    let final_path: Option<Vec<u8>> = row.get(9)?;
    let (mode, original_name, batch_id, taken_ms, finished_ms, error) = (
        row.get(2)?,
        row.get(3)?,
        row.get(6)?,
        row.get(8)?,
        row.get(11)?,
        row.get(12)?,
    );
    let corrupt = |what: &str| StoreError::Corrupt(format!("drop file {id}: {what}"));
    Ok(DropFileRecord {
        state: DropFileState::parse(&state).ok_or_else(|| corrupt("state"))?,
        execution_ids: serde_json::from_str(&ids).map_err(|_| corrupt("execution ids"))?,
        final_state: final_state
            .map(|s| DropFileState::parse(&s).ok_or_else(|| corrupt("final state")))
            .transpose()?,
        folder: bytes_path(folder),
        processing_path: bytes_path(processing),
        final_path: final_path.map(bytes_path),
        mode,
        original_name,
        batch_id,
        taken_ms,
        finished_ms,
        error,
        id: id.clone(),
    })
}

impl StoreReader {
    /// The files of a folder still in `processing` state, oldest first.
    pub(crate) fn drop_files_processing(
        &self,
        folder: &Path,
    ) -> Result<Vec<DropFileRecord>, StoreError> {
        self.with_db(|db| {
            let sql = format!(
                "SELECT {COLUMNS} FROM drop_files WHERE folder = ?1 AND state = 'processing' ORDER BY taken_ms, id"
            );
            db.query(&sql, args![path_bytes(folder)], read_row)
        })
    }

    /// One dropped file by job id.
    pub(crate) fn drop_file(&self, id: &str) -> Result<Option<DropFileRecord>, StoreError> {
        self.with_db(|db| {
            let sql = format!("SELECT {COLUMNS} FROM drop_files WHERE id = ?1");
            db.query_opt(&sql, args![id], read_row)
        })
    }

    /// A folder's files processing now, and processed or failed since
    /// `since_ms`.
    pub(crate) fn drop_file_counts(
        &self,
        folder: &Path,
        since_ms: i64,
    ) -> Result<DropFileCounts, StoreError> {
        self.with_db(|db| {
            let mut counts = DropFileCounts::default();
            let rows = db.query(
                "SELECT state, COUNT(*) FROM drop_files WHERE folder = ?1 \
                 AND (state = 'processing' OR finished_ms >= ?2) GROUP BY state",
                args![path_bytes(folder), since_ms],
                |row| Ok((row.get::<String>(0)?, row.get::<u64>(1)?)),
            )?;
            for (state, count) in rows {
                match DropFileState::parse(&state) {
                    Some(DropFileState::Processing) => counts.processing = count,
                    Some(DropFileState::Processed) => counts.processed_since = count,
                    Some(DropFileState::Failed) => counts.failed_since = count,
                    _ => {}
                }
            }
            Ok(counts)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;
    use std::sync::Arc;

    use super::*;
    use crate::store::hub::LogHub;
    use crate::store::testing::{on_each_database, runtime};
    use crate::store::StoreWriter;

    #[test]
    fn a_dropped_file_goes_through_the_ledger() {
        on_each_database(|database| {
            let rt = runtime();
            let (writer, _thread) =
                StoreWriter::start(database, Arc::new(LogHub::default())).unwrap();
            let reader = StoreReader::open(database).unwrap();
            let write = |w| rt.block_on(writer.drop_file(w));
            through_the_ledger(&reader, write);
            rt.block_on(writer.close()).unwrap();
        });
    }

    fn through_the_ledger(
        reader: &StoreReader,
        write: impl Fn(DropFileWrite) -> Result<(), StoreError>,
    ) {
        let folder = PathBuf::from("/drop");
        // Not UTF-8: stored as bytes, read back as they were.
        let processing = folder.join(std::ffi::OsStr::from_bytes(b"processing/caf\xe9.json"));
        let record = DropFileRecord {
            id: "j1".into(),
            folder: folder.clone(),
            mode: "manifest".into(),
            original_name: "caf\u{fffd}.json".into(),
            processing_path: processing.clone(),
            state: DropFileState::Processing,
            batch_id: Some("b1".into()),
            execution_ids: Vec::new(),
            taken_ms: 5,
            final_path: None,
            final_state: None,
            finished_ms: None,
            error: String::new(),
        };
        write(DropFileWrite::Insert(Box::new(record.clone()))).unwrap();
        write(DropFileWrite::SetExecutions {
            id: "j1".into(),
            execution_ids: vec!["e1".into(), "e2".into()],
        })
        .unwrap();
        let processing_rows = reader.drop_files_processing(&folder).unwrap();
        assert_eq!(processing_rows.len(), 1);
        assert_eq!(processing_rows[0].processing_path, processing);
        assert_eq!(processing_rows[0].execution_ids, ["e1", "e2"]);
        assert_eq!(reader.drop_file_counts(&folder, 0).unwrap().processing, 1);

        let final_path = folder.join("failed/2025-01-01/x.json");
        write(DropFileWrite::Decide {
            id: "j1".into(),
            final_path: final_path.clone(),
            final_state: DropFileState::Failed,
            error: "bad".into(),
        })
        .unwrap();
        write(DropFileWrite::Finish {
            id: "j1".into(),
            state: DropFileState::Failed,
            finished_ms: 10,
        })
        .unwrap();
        let done = reader.drop_file("j1").unwrap().unwrap();
        assert_eq!(done.state, DropFileState::Failed);
        assert_eq!(done.final_path, Some(final_path));
        assert_eq!(done.error, "bad");
        assert!(reader.drop_files_processing(&folder).unwrap().is_empty());
        let counts = reader.drop_file_counts(&folder, 10).unwrap();
        assert_eq!((counts.processing, counts.failed_since), (0, 1));
        assert_eq!(
            reader.drop_file_counts(&folder, 11).unwrap().failed_since,
            0
        );

        // A second insert of the same id fails alone, reported to its caller.
        assert!(write(DropFileWrite::Insert(Box::new(record))).is_err());
    }
}

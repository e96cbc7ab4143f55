//! Changing a daemon's history behind its back, for the tests of what it
//! does with what it finds there: on its SQLite file or its PostgreSQL
//! database alike.

use super::Daemon;

/// A value bound to a `?N` of [`Daemon::history_execute`].
#[derive(Debug, Clone)]
pub enum HistoryValue {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
}

impl From<&str> for HistoryValue {
    fn from(text: &str) -> Self {
        HistoryValue::Text(text.to_string())
    }
}

impl From<&String> for HistoryValue {
    fn from(text: &String) -> Self {
        HistoryValue::Text(text.clone())
    }
}

impl From<u64> for HistoryValue {
    fn from(value: u64) -> Self {
        HistoryValue::Int(value as i64)
    }
}

impl Daemon {
    /// Runs one statement (`?N` placeholders) on the daemon's history and
    /// returns the rows it changed.
    pub fn history_execute(&self, sql: &str, values: &[HistoryValue]) -> u64 {
        match self.postgres_url() {
            None => {
                let history =
                    rusqlite::Connection::open(self.data_dir().join("history.sqlite3")).unwrap();
                history.busy_timeout(super::DEADLINE).unwrap();
                let values = values.iter().map(|v| match v {
                    HistoryValue::Text(text) => rusqlite::types::Value::Text(text.clone()),
                    HistoryValue::Int(i) => rusqlite::types::Value::Integer(*i),
                });
                history
                    .execute(sql, rusqlite::params_from_iter(values))
                    .unwrap_or_else(|e| panic!("{sql}: {e}")) as u64
            }
            Some(url) => {
                let mut numbered = sql.to_string();
                for n in (1..=values.len()).rev() {
                    numbered = numbered.replace(&format!("?{n}"), &format!("${n}"));
                }
                let values = values.to_vec();
                // The client blocks on a runtime of its own: not on the
                // test's.
                std::thread::spawn(move || {
                    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                    let bound: Vec<Box<dyn postgres::types::ToSql + Sync>> = values
                        .into_iter()
                        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
                            match v {
                                HistoryValue::Text(text) => Box::new(text),
                                HistoryValue::Int(i) => Box::new(i),
                            }
                        })
                        .collect();
                    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                        bound.iter().map(|b| b.as_ref()).collect();
                    client
                        .execute(&numbered, &refs)
                        .unwrap_or_else(|e| panic!("{numbered}: {e:?}"))
                })
                .join()
                .expect("the statement ran")
            }
        }
    }

    /// The PostgreSQL URL the daemon was started with, if any.
    fn postgres_url(&self) -> Option<String> {
        let mut args = self.command_line.iter();
        args.find(|a| *a == "--database")?;
        args.next().cloned()
    }
}

//! One SQL interface over the two databases the history can live in:
//! SQLite, the embedded default, and PostgreSQL (issue 30; one daemon per
//! database so far, see connect.rs).
//!
//! The store's statements are written once, in the SQL both understand,
//! with `?N` placeholders; the PostgreSQL side numbers them `$N` and keeps
//! each prepared statement, as rusqlite's `prepare_cached` does. Values
//! cross in one small type ([`Value`] in, and out through [`Row::get`]), so
//! neither driver's types reach the store's code, and a statement that
//! needs different SQL on each side says so with [`Db::dialect`].
//!
//! Transactions and savepoints are plain SQL on both (`BEGIN`,
//! `SAVEPOINT`), so one shape of code serves both.

mod postgres;
mod sqlite;
#[cfg(test)]
pub(crate) mod test_server;

pub(crate) use self::postgres::{storable, PgConn};

use std::path::PathBuf;

use super::StoreError;

/// Where the history lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Database {
    /// A SQLite file, the embedded default.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL (`postgres://user@host:port/name`).
    Postgres(String),
}

impl Database {
    /// What to call it in messages: the file, or the URL without its
    /// password.
    pub(crate) fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => without_password(url),
        }
    }
}

/// `postgres://user:secret@host/db?password=secret` as
/// `postgres://user:***@host/db?password=***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (address, query) = match rest.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (rest, None),
    };
    let mut described = match address.split_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => format!("{scheme}://{address}"),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => param.to_string(),
            })
            .collect();
        described.push('?');
        described.push_str(&params.join("&"));
    }
    described
}

/// An open connection of either kind.
pub(crate) enum Conn {
    /// To a SQLite file.
    Sqlite(rusqlite::Connection),
    /// To a PostgreSQL server.
    Postgres(Box<PgConn>),
}

impl Conn {
    /// The connection as the store's code uses it.
    pub(crate) fn db(&self) -> Db<'_> {
        match self {
            Conn::Sqlite(conn) => Db::Sqlite(conn),
            Conn::Postgres(conn) => Db::Postgres(conn),
        }
    }

    /// Whether the connection is gone and a new one is needed (a
    /// PostgreSQL server restarted; a SQLite file is never lost).
    pub(crate) fn is_lost(&self) -> bool {
        match self {
            Conn::Sqlite(_) => false,
            Conn::Postgres(conn) => conn.is_closed(),
        }
    }
}

/// An owned value, for statements whose values are gathered first (and
/// rows copied whole, store/import.rs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Owned {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl From<i64> for Owned {
    fn from(value: i64) -> Self {
        Owned::Int(value)
    }
}

impl From<String> for Owned {
    fn from(value: String) -> Self {
        Owned::Text(value)
    }
}

impl From<&Value<'_>> for Owned {
    fn from(value: &Value<'_>) -> Self {
        match *value {
            Value::Null => Owned::Null,
            Value::Int(i) => Owned::Int(i),
            Value::Real(f) => Owned::Real(f),
            Value::Text(s) => Owned::Text(s.to_owned()),
            Value::Blob(b) => Owned::Blob(b.to_vec()),
        }
    }
}

impl ToValue for Owned {
    fn to_value(&self) -> Value<'_> {
        match self {
            Owned::Null => Value::Null,
            Owned::Int(i) => Value::Int(*i),
            Owned::Real(f) => Value::Real(*f),
            Owned::Text(s) => Value::Text(s),
            Owned::Blob(b) => Value::Blob(b),
        }
    }
}

/// Which SQL a connection speaks, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection, or the transaction open on it, as the store's code sees it.
#[derive(Clone, Copy)]
pub(crate) enum Db<'c> {
    /// A SQLite connection.
    Sqlite(&'c rusqlite::Connection),
    /// A PostgreSQL connection.
    Postgres(&'c PgConn),
}

/// A value: bound to a placeholder, or read from a column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    /// NULL.
    Null,
    /// Any integer (and a bool, as 0 or 1).
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

/// What can be bound to a placeholder. An unsigned value above `i64::MAX`
/// is bound as `i64::MAX`: a `usize::MAX` limit means no limit, which
/// SQLite reads from -1 and PostgreSQL refuses.
pub(crate) trait ToValue {
    /// The value to bind.
    fn to_value(&self) -> Value<'_>;
}

/// The values of one statement, each borrowed: `args![id, name, count]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::db::ToValue::to_value(&$value)),*]
    };
}
pub(crate) use args;

macro_rules! integer_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value<'_> {
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
integer_values!(i64, i32, u32, u64, usize, u16, u8);

impl ToValue for bool {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToValue for std::borrow::Cow<'_, str> {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
}

impl<'a> ToValue for Value<'a> {
    fn to_value(&self) -> Value<'_> {
        *self
    }
}

impl Value<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a float",
            Value::Text(_) => "text",
            Value::Blob(_) => "bytes",
        }
    }
}

/// What a column can be read as; None: not from a column of that type.
pub(crate) trait FromColumn: Sized {
    /// The value, if the column holds one of this type.
    fn from_column(column: Value<'_>) -> Option<Self>;
    /// For the error when it does not.
    const EXPECTED: &'static str;
}

macro_rules! integer_columns {
    ($($t:ty),*) => {$(
        impl FromColumn for $t {
            fn from_column(column: Value<'_>) -> Option<Self> {
                match column {
                    Value::Int(i) => <$t>::try_from(i).ok(),
                    _ => None,
                }
            }
            const EXPECTED: &'static str = stringify!($t);
        }
    )*};
}
integer_columns!(i64, i32, u32, u64, usize, u16, u8);

impl FromColumn for bool {
    fn from_column(column: Value<'_>) -> Option<Self> {
        match column {
            Value::Int(i) => Some(i != 0),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a bool";
}

impl FromColumn for f64 {
    fn from_column(column: Value<'_>) -> Option<Self> {
        match column {
            Value::Real(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a float";
}

impl FromColumn for String {
    fn from_column(column: Value<'_>) -> Option<Self> {
        match column {
            Value::Text(s) => Some(s.to_owned()),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "text";
}

impl FromColumn for Vec<u8> {
    fn from_column(column: Value<'_>) -> Option<Self> {
        match column {
            Value::Blob(b) => Some(b.to_vec()),
            Value::Text(s) => Some(s.as_bytes().to_vec()),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "bytes";
}

impl FromColumn for Owned {
    fn from_column(column: Value<'_>) -> Option<Self> {
        Some(match column {
            Value::Null => Owned::Null,
            Value::Int(i) => Owned::Int(i),
            Value::Real(f) => Owned::Real(f),
            Value::Text(s) => Owned::Text(s.to_owned()),
            Value::Blob(b) => Owned::Blob(b.to_vec()),
        })
    }
    const EXPECTED: &'static str = "any value";
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_column(column: Value<'_>) -> Option<Self> {
        match column {
            Value::Null => Some(None),
            other => T::from_column(other).map(Some),
        }
    }
    const EXPECTED: &'static str = T::EXPECTED;
}

/// One row of a result.
pub(crate) enum Row<'r> {
    /// From SQLite.
    Sqlite(&'r rusqlite::Row<'r>),
    /// From PostgreSQL.
    Postgres(&'r tokio_postgres::Row),
}

impl Row<'_> {
    /// How many columns the row has.
    pub(crate) fn len(&self) -> usize {
        match self {
            Row::Sqlite(row) => row.as_ref().column_count(),
            Row::Postgres(row) => row.len(),
        }
    }

    /// Column `index` (from 0) as a `T`.
    pub(crate) fn get<T: FromColumn>(&self, index: usize) -> Result<T, StoreError> {
        let column = match self {
            Row::Sqlite(row) => sqlite::column(row, index)?,
            Row::Postgres(row) => postgres::column(row, index)?,
        };
        T::from_column(column).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "column {index} holds {}, not {}",
                column.type_name(),
                T::EXPECTED
            ))
        })
    }
}

impl<'c> Db<'c> {
    /// The SQL this connection speaks.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement; returns the rows it changed.
    pub(crate) fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<usize, StoreError> {
        match self {
            Db::Sqlite(conn) => sqlite::execute(conn, sql, args),
            Db::Postgres(conn) => conn.execute(sql, args),
        }
    }

    /// Runs a query; `read` turns each row into a `T`.
    pub(crate) fn query<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Db::Sqlite(conn) => sqlite::query(conn, sql, args, read),
            Db::Postgres(conn) => conn.query(sql, args, read),
        }
    }

    /// The first row of a query, if there is one.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut read = Some(read);
        let mut rows = self.query(sql, args, |row| match read.take() {
            Some(read) => read(row).map(Some),
            None => Ok(None),
        })?;
        Ok(if rows.is_empty() {
            None
        } else {
            rows.swap_remove(0)
        })
    }

    /// The one row a query always returns (an aggregate).
    pub(crate) fn query_one<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.query_opt(sql, args, read)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from {sql:?}")))
    }

    /// Runs statements without values (schema changes, transaction control).
    pub(crate) fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Db::Postgres(conn) => conn.batch(sql),
        }
    }

    /// Runs one statement whose outcome nobody waits for, inside a
    /// transaction: on PostgreSQL it goes with the next statement that is
    /// waited for (db/postgres.rs), and its failure fails the transaction.
    pub(crate) fn execute_deferred(&self, sql: &str, args: &[Value<'_>]) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(conn) => sqlite::execute(conn, sql, args).map(drop),
            Db::Postgres(conn) => conn.defer(sql, args),
        }
    }

    /// Runs `work` in a transaction: committed if it succeeds, rolled back
    /// if it fails.
    pub(crate) fn transaction<T>(
        &self,
        work: impl FnOnce(Db<'c>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Db::Sqlite(_) => self.batch("BEGIN")?,
            // BEGIN goes with the first statement. What failed before,
            // outside any transaction, spoils nothing.
            Db::Postgres(conn) => conn.begin(),
        }
        self.finish(work(*self), Scope::Transaction)
    }

    /// Runs `work` in a savepoint inside the open transaction: its changes
    /// kept if it succeeds, undone (and only they) if it fails.
    pub(crate) fn savepoint<T>(
        &self,
        work: impl FnOnce(Db<'c>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Db::Sqlite(_) => self.batch("SAVEPOINT part")?,
            Db::Postgres(conn) => conn.defer_batch("SAVEPOINT part"),
        }
        self.finish(work(*self), Scope::Savepoint)
    }

    fn finish<T>(&self, outcome: Result<T, StoreError>, scope: Scope) -> Result<T, StoreError> {
        let (keep, undo) = match scope {
            Scope::Transaction => ("COMMIT", "ROLLBACK"),
            Scope::Savepoint => (
                "RELEASE SAVEPOINT part",
                "ROLLBACK TO SAVEPOINT part; RELEASE SAVEPOINT part",
            ),
        };
        // A statement that failed on PostgreSQL spoils its transaction or
        // savepoint even if the work went on without it: kept, it would
        // commit nothing (PostgreSQL rolls back) while reporting success.
        // A deferred one that failed spoils the transaction whichever
        // savepoint it was reported in.
        let spoiled = match self {
            Db::Postgres(conn) => {
                conn.take_failed() || (scope == Scope::Transaction && conn.is_poisoned())
            }
            Db::Sqlite(_) => false,
        };
        let outcome = match outcome {
            Ok(_) if spoiled => Err(StoreError::StatementFailedInTransaction),
            outcome => outcome,
        };
        match outcome {
            Ok(value) => {
                let kept = match (self, scope) {
                    // Nobody waits for a release: it goes with the next
                    // statement.
                    (Db::Postgres(conn), Scope::Savepoint) => {
                        conn.defer_batch(keep);
                        Ok(())
                    }
                    _ => self.batch(keep),
                };
                if let Err(error) = kept {
                    // A failed COMMIT can leave the transaction open.
                    let _ = self.batch(undo);
                    return Err(error);
                }
                Ok(value)
            }
            Err(error) => {
                if let (Db::Postgres(conn), Scope::Transaction) = (self, scope) {
                    // Rolled back: what was not sent need not be.
                    conn.forget_pending();
                }
                // The work's own error is the one to report; a failure to
                // undo after it (a lost connection) says nothing more.
                let _ = self.batch(undo);
                Err(error)
            }
        }
    }
}

/// What [`Db::finish`] ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Transaction,
    Savepoint,
}

#[cfg(test)]
mod tests;

//! [`Db`](super::Db) over rusqlite: statements are prepared once per
//! connection (rusqlite's statement cache) and values are bound borrowed.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection};

use super::{Row, Value};
use crate::store::StoreError;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(i),
            Value::Real(f) => ValueRef::Real(f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

pub(super) fn execute(
    conn: &Connection,
    sql: &str,
    args: &[Value<'_>],
) -> Result<usize, StoreError> {
    Ok(conn.prepare_cached(sql)?.execute(params_from_iter(args))?)
}

pub(super) fn query<T>(
    conn: &Connection,
    sql: &str,
    args: &[Value<'_>],
    mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params_from_iter(args))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(&Row::Sqlite(row))?);
    }
    Ok(out)
}

pub(super) fn column<'r>(
    row: &'r rusqlite::Row<'r>,
    index: usize,
) -> Result<Value<'r>, StoreError> {
    Ok(match row.get_ref(index)? {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(bytes) => Value::Text(
            std::str::from_utf8(bytes)
                .map_err(|e| StoreError::Corrupt(format!("column {index} is not UTF-8: {e}")))?,
        ),
        ValueRef::Blob(bytes) => Value::Blob(bytes),
    })
}

//! [`Db`](super::Db) over the synchronous PostgreSQL client: `?N`
//! placeholders become `$N`, each statement is prepared once per
//! connection, and values are converted to the column types the server
//! infers (an integer bound to an INT4 parameter, a bool to BOOL).

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::error::Error;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use std::time::Duration;

use postgres::{Client, Config, NoTls, Statement};

use super::{Row, Value};
use crate::store::StoreError;

/// Prepared statements kept per connection; the store has a few dozen, so
/// this bound is only against a bug that makes statements from data.
const STATEMENTS_KEPT: usize = 512;

/// One connection to the server, used by one thread at a time (the writer,
/// or a reader holding its pool slot).
pub(crate) struct PgConn {
    /// Some until dropped (see the Drop impl).
    client: RefCell<Option<Client>>,
    /// A statement failed since the last transaction control: PostgreSQL
    /// then refuses everything until the savepoint or transaction is
    /// rolled back, and answers a COMMIT by rolling back.
    failed: Cell<bool>,
    /// Prepared statements by their `?N` text.
    statements: RefCell<HashMap<String, Statement>>,
}

impl PgConn {
    /// Connects to `url` (`postgres://user@host:port/database` or the
    /// key=value form libpq takes).
    pub(crate) fn connect(url: &str) -> Result<PgConn, StoreError> {
        let connect_error = |source| StoreError::Connect {
            database: super::Database::Postgres(url.to_string()).describe(),
            source,
        };
        let mut config: Config = url.parse().map_err(connect_error)?;
        // A server that does not answer, or a connection gone half-open,
        // is noticed within seconds instead of the system's hours, so the
        // writer reconnects (or says it cannot write) and a reader fails
        // its call instead of hanging. The URL's own settings win.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(30));
        }
        config
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        let client = off_worker(|| config.connect(NoTls)).map_err(connect_error)?;
        let conn = PgConn {
            client: RefCell::new(Some(client)),
            failed: Cell::new(false),
            statements: RefCell::new(HashMap::new()),
        };
        // The server's notices (`relation ... already exists, skipping`)
        // would land in the daemon's log at every start. Its keepalives
        // find this session dead within a minute and a half if the daemon
        // vanishes, releasing the daemon's claim (connect.rs).
        conn.batch(
            "SET client_min_messages = warning; SET tcp_keepalives_idle = 30; \
             SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3",
        )?;
        Ok(conn)
    }

    /// Whether a statement failed since the last transaction control;
    /// clears it (the caller rolls back).
    pub(super) fn take_failed(&self) -> bool {
        self.failed.replace(false)
    }

    /// `result`, noting a failure (see `failed`).
    fn noted<T>(&self, result: Result<T, postgres::Error>) -> Result<T, StoreError> {
        if result.is_err() {
            self.failed.set(true);
        }
        Ok(result?)
    }

    /// Whether the connection to the server is gone (a new one is needed).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.borrow().as_ref().is_none_or(Client::is_closed)
    }

    fn client(&self) -> RefMut<'_, Client> {
        RefMut::map(self.client.borrow_mut(), |client| {
            client.as_mut().expect("open until dropped")
        })
    }

    fn statement(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.noted(off_worker(|| self.client().prepare(&numbered(sql))))?;
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= STATEMENTS_KEPT {
            statements.clear();
        }
        statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<usize, StoreError> {
        let statement = self.statement(sql)?;
        let changed = self.noted(off_worker(|| {
            self.client().execute(&statement, &bound(args))
        }))?;
        Ok(changed as usize)
    }

    /// Runs one statement with values of the client's own types, for what
    /// [`Value`] has no form for (the arrays of a bulk insert).
    pub(crate) fn execute_native(
        &self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<usize, StoreError> {
        let statement = self.statement(sql)?;
        let changed = self.noted(off_worker(|| self.client().execute(&statement, args)))?;
        Ok(changed as usize)
    }

    pub(super) fn query<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let statement = self.statement(sql)?;
        let rows = self.noted(off_worker(|| self.client().query(&statement, &bound(args))))?;
        rows.iter().map(|row| read(&Row::Postgres(row))).collect()
    }

    pub(super) fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.noted(off_worker(|| self.client().batch_execute(sql)))
    }
}

impl Drop for PgConn {
    /// Closing the client blocks on its runtime too (it says goodbye to
    /// the server): inside a runtime it is closed on a thread of its own,
    /// which no runtime refuses.
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(client));
            } else {
                drop(client);
            }
        }
    }
}

/// Runs a call of the synchronous client, which blocks on a runtime of
/// its own. Tokio refuses that on a worker thread of the daemon's runtime
/// (a read made in an async handler), so there the worker first hands its
/// other tasks to another thread; elsewhere (the writer's thread, a
/// blocking-pool thread) the call just runs. A single-threaded runtime
/// cannot hand over: the daemon's is multi-threaded, and tests read the
/// history outside theirs (store/testing.rs).
fn off_worker<T>(call: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
        Ok(RuntimeFlavor::CurrentThread) => panic!(
            "the PostgreSQL history was called from a single-threaded tokio runtime, which \
             cannot be blocked: call it from a multi-threaded runtime (the daemon's is) or \
             from a thread of its own (store/testing.rs)"
        ),
        _ => call(),
    }
}

/// `text` as PostgreSQL can keep it: a text value cannot hold a NUL
/// byte (SQLite's can), so a NUL a program printed is kept as U+2400,
/// the symbol for it, rather than failing the whole write.
pub(crate) fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{2400}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn bound<'a>(args: &'a [Value<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// `sql` with its `?N` placeholders written `$N` (and a bare `?` numbered
/// by its place), outside quoted strings.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut in_string = false;
    let mut next = 1;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                out.push('$');
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    while let Some(digit) = chars.next_if(char::is_ascii_digit) {
                        out.push(digit);
                    }
                } else {
                    out.push_str(&next.to_string());
                    next += 1;
                }
            }
            c => out.push(c),
        }
    }
    out
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT8 => i.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::BOOL => (i != 0).to_sql(ty, out),
            Value::Int(i) if *ty == Type::FLOAT8 => (i as f64).to_sql(ty, out),
            Value::Real(f) if *ty == Type::FLOAT8 => f.to_sql(ty, out),
            Value::Real(f) if *ty == Type::FLOAT4 => (f as f32).to_sql(ty, out),
            Value::Text(s) if <&str as ToSql>::accepts(ty) => storable(s).to_sql(ty, out),
            Value::Blob(b) if *ty == Type::BYTEA => b.to_sql(ty, out),
            value => Err(format!("{value:?} cannot be sent as {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

pub(super) fn column(row: &postgres::Row, index: usize) -> Result<Value<'_>, StoreError> {
    let Some(ty) = row.columns().get(index).map(|c| c.type_()) else {
        return Err(StoreError::Corrupt(format!("no column {index}")));
    };
    let column = if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(index)?.map(Value::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(index)?
            .map(|i| Value::Int(i.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(index)?
            .map(|i| Value::Int(i.into()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(index)?
            .map(|b| Value::Int(b.into()))
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(index)?.map(Value::Real)
    } else if *ty == Type::FLOAT4 {
        row.try_get::<_, Option<f32>>(index)?
            .map(|f| Value::Real(f.into()))
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<&[u8]>>(index)?.map(Value::Blob)
    } else if <&str as postgres::types::FromSql>::accepts(ty) {
        row.try_get::<_, Option<&str>>(index)?.map(Value::Text)
    } else {
        return Err(StoreError::Corrupt(format!(
            "column {index} is of type {ty}, which the history does not use (cast it in the query)"
        )));
    };
    Ok(column.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_outside_strings() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?2 AND c = ?1 AND d = '?'"),
            "SELECT a FROM t WHERE b = $2 AND c = $1 AND d = '?'"
        );
        assert_eq!(numbered("IN (?, ?, ?)"), "IN ($1, $2, $3)");
    }
}

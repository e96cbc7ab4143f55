//! [`Db`](super::Db) over PostgreSQL: `?N` placeholders become `$N`, each
//! statement is prepared once per connection, and values are converted to
//! the column types the server infers (an integer bound to an INT4
//! parameter, a bool to BOOL).
//!
//! Each call blocks on a runtime of the connection's own, as the
//! synchronous `postgres` client does, but on the asynchronous client
//! underneath, for its pipelining: a statement whose answer nobody needs
//! (the writer's inserts and updates, BEGIN, a savepoint's RELEASE) is
//! [deferred](PgConn::defer) and goes out with the next call that waits for
//! an answer (a query, the COMMIT), all in one round trip. A group of
//! history writes then costs a round trip or two instead of one per
//! statement (bench/README.md, the PostgreSQL section).
//!
//! A deferred statement that fails spoils its whole transaction, even when
//! it is reported inside a later savepoint, whose rollback cannot undo it:
//! the transaction then fails, and the writer narrows the failure down one
//! operation at a time as for any other.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;

use bytes::BytesMut;
use futures_util::future::{join, join_all};
use futures_util::FutureExt;
use std::time::Duration;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::{Owned, Row, ToValue, Value};
use crate::store::StoreError;

/// Prepared statements kept per connection; the store has a few dozen, so
/// this bound is only against a bug that makes statements from data.
const STATEMENTS_KEPT: usize = 512;

/// A value to bind that a deferred statement owns until it is sent.
pub(crate) type OwnedArg = Box<dyn ToSql + Sync + Send>;

/// A statement sent with the next call that waits for an answer.
enum Deferred {
    /// A prepared statement and its values.
    Statement(Statement, Vec<OwnedArg>),
    /// Transaction control, without values.
    Batch(&'static str),
}

impl Deferred {
    fn send<'a>(
        &'a self,
        client: &'a Client,
    ) -> Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send + 'a>> {
        match self {
            Deferred::Statement(statement, args) => Box::pin(async move {
                let refs: Vec<&(dyn ToSql + Sync)> = args
                    .iter()
                    .map(|arg| arg.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                client.execute(statement, &refs).await.map(drop)
            }),
            Deferred::Batch(sql) => Box::pin(client.batch_execute(sql)),
        }
    }
}

/// The client and what drives its connection.
struct Session {
    client: Client,
    /// A current-thread runtime: the connection's task runs while a call
    /// blocks on it.
    runtime: tokio::runtime::Runtime,
    /// The connection's task; it ends once the client is gone (after
    /// saying goodbye to the server) or the connection is lost.
    connection: tokio::task::JoinHandle<()>,
}

/// One connection to the server, used by one thread at a time (the writer,
/// or a reader holding its pool slot).
pub(crate) struct PgConn {
    /// Some until dropped (see the Drop impl).
    session: Option<Session>,
    /// A statement failed since the last transaction control: PostgreSQL
    /// then refuses everything until the savepoint or transaction is
    /// rolled back, and answers a COMMIT by rolling back.
    failed: Cell<bool>,
    /// A deferred statement failed in the open transaction: no savepoint's
    /// rollback undoes that, so the transaction must fail.
    poisoned: Cell<bool>,
    /// Prepared statements by their `?N` text.
    statements: RefCell<HashMap<String, Statement>>,
    /// Deferred statements, in order, not yet sent.
    pending: RefCell<Vec<Deferred>>,
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
        // Built, and dropped when the connection fails, off the runtime's
        // workers too: tokio refuses to drop a runtime inside another.
        let (runtime, client, connection) = off_worker(|| {
            // As the synchronous client builds its own: only running out
            // of descriptors fails it.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a connection's runtime is built");
            let (client, connection) = runtime.block_on(config.connect(NoTls))?;
            Ok((runtime, client, connection))
        })
        .map_err(connect_error)?;
        let connection = runtime.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a PostgreSQL connection ended");
            }
        });
        let conn = PgConn {
            session: Some(Session {
                client,
                runtime,
                connection,
            }),
            failed: Cell::new(false),
            poisoned: Cell::new(false),
            statements: RefCell::new(HashMap::new()),
            pending: RefCell::new(Vec::new()),
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

    /// Whether a deferred statement failed in the open transaction.
    pub(super) fn is_poisoned(&self) -> bool {
        self.poisoned.get()
    }

    /// Opens a transaction: its BEGIN goes with the first statement. What
    /// an earlier, failed attempt left unsent is dropped.
    pub(super) fn begin(&self) {
        let mut pending = self.pending.borrow_mut();
        debug_assert!(
            pending.is_empty(),
            "statements deferred outside a transaction"
        );
        pending.clear();
        pending.push(Deferred::Batch("BEGIN"));
        self.failed.set(false);
        self.poisoned.set(false);
    }

    /// Drops what is not yet sent (the transaction is rolled back).
    pub(super) fn forget_pending(&self) {
        self.pending.borrow_mut().clear();
    }

    /// Whether the connection to the server is gone (a new one is needed).
    pub(crate) fn is_closed(&self) -> bool {
        self.session
            .as_ref()
            .is_none_or(|session| session.client.is_closed())
    }

    fn session(&self) -> &Session {
        self.session.as_ref().expect("open until dropped")
    }

    /// Sends every deferred statement and then `last`'s, in one go, and
    /// waits for all the answers: `last`'s result, or the first failure.
    fn call<T>(
        &self,
        last: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        let pending = self.pending.take();
        let session = self.session();
        let flight = off_worker(|| {
            session.runtime.block_on(async {
                let mut answers = Vec::with_capacity(pending.len());
                for deferred in &pending {
                    let mut answer = deferred.send(&session.client);
                    // Its first poll binds its values and sends it, in
                    // this order. Failing there, it never left (a value
                    // that cannot be bound), so the server knows nothing
                    // is wrong: nothing after it may go, least of all a
                    // COMMIT.
                    match (&mut answer).now_or_never() {
                        Some(Err(error)) => return Err(error),
                        // Done already (not polled again).
                        Some(Ok(())) => {}
                        None => answers.push(answer),
                    }
                }
                Ok(join(join_all(answers), last).await)
            })
        });
        // A deferred statement that failed spoils the transaction.
        let poisoned = |error: tokio_postgres::Error| {
            self.failed.set(true);
            self.poisoned.set(true);
            Err(StoreError::from(error))
        };
        let (earlier, own) = match flight {
            Err(unsent) => return poisoned(unsent),
            Ok(answers) => answers,
        };
        if let Some(error) = earlier.into_iter().find_map(Result::err) {
            return poisoned(error);
        }
        if own.is_err() {
            self.failed.set(true);
        }
        Ok(own?)
    }

    fn statement(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let text = numbered(sql);
        let statement = self.call(self.session().client.prepare(&text))?;
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= STATEMENTS_KEPT {
            statements.clear();
        }
        statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) fn execute(&self, sql: &str, args: &[Value<'_>]) -> Result<usize, StoreError> {
        let statement = self.statement(sql)?;
        let bound = bound(args);
        let changed = self.call(self.session().client.execute(&statement, &bound))?;
        Ok(changed as usize)
    }

    /// Queues one statement to go with the next call that waits (see the
    /// top of this file); its failure fails the transaction.
    pub(super) fn defer(&self, sql: &str, args: &[Value<'_>]) -> Result<(), StoreError> {
        let owned = args
            .iter()
            .map(|value| Box::new(Owned::from(value)) as OwnedArg)
            .collect();
        self.defer_native(sql, owned)
    }

    /// [`PgConn::defer`] with values of the client's own types, for what
    /// [`Value`] has no form for (the arrays of a bulk insert).
    pub(crate) fn defer_native(&self, sql: &str, args: Vec<OwnedArg>) -> Result<(), StoreError> {
        let statement = self.statement(sql)?;
        self.pending
            .borrow_mut()
            .push(Deferred::Statement(statement, args));
        Ok(())
    }

    /// Queues statements without values, as [`PgConn::defer`].
    pub(super) fn defer_batch(&self, sql: &'static str) {
        self.pending.borrow_mut().push(Deferred::Batch(sql));
    }

    pub(super) fn query<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let statement = self.statement(sql)?;
        let bound = bound(args);
        let rows = self.call(self.session().client.query(&statement, &bound))?;
        rows.iter().map(|row| read(&Row::Postgres(row))).collect()
    }

    pub(super) fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.call(self.session().client.batch_execute(sql))
    }
}

impl Drop for PgConn {
    /// The connection's task says goodbye to the server once the client is
    /// gone; it runs on the connection's runtime, which cannot be blocked
    /// on (or dropped) inside another runtime: there it is closed on a
    /// thread of its own, which no runtime refuses.
    fn drop(&mut self) {
        if let Some(Session {
            client,
            runtime,
            connection,
        }) = self.session.take()
        {
            drop(client);
            let close = move || {
                let _ = runtime.block_on(async {
                    tokio::time::timeout(Duration::from_secs(5), connection).await
                });
            };
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(close);
            } else {
                close();
            }
        }
    }
}

impl ToSql for Owned {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.to_value().to_sql(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Runs a call that blocks on the connection's own runtime. Tokio refuses that on a worker thread of the daemon's runtime
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

    tokio_postgres::types::to_sql_checked!();
}

pub(super) fn column(row: &tokio_postgres::Row, index: usize) -> Result<Value<'_>, StoreError> {
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
    } else if <&str as tokio_postgres::types::FromSql>::accepts(ty) {
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

//! The two databases under the store, behind the few primitives its methods are written
//! on: [`Db::query`] (rows of [`Value`]s), [`Db::execute`] (rows changed) and [`Db::batch`]
//! (several statements in one transaction). Statements are written once, with SQLite's
//! numbered placeholders (`?1`); PostgreSQL gets them as `$1` ([`postgres_placeholders`]).
//! `{now}` in a statement is the database's clock in milliseconds since the epoch (leases
//! are compared across replicas, so never a replica's own clock).
//!
//! SQLite is one `rusqlite` connection behind a std `Mutex`, used on the blocking pool.
//! PostgreSQL is a pool of `tokio-postgres` clients (deadpool), each statement prepared once
//! per connection.

use super::migrations::postgres_placeholders;
use super::StoreError;
use deadpool_postgres::Pool;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tokio_postgres::types::{ToSql, Type};

/// One value in or out of a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The arguments of a statement: `args![a, b]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::store::db::Value::from($v)),*] };
}
pub(crate) use args;

/// One row a query returned, read by column index.
#[derive(Debug)]
pub struct Row(Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> &Value {
        self.0.get(i).unwrap_or(&Value::Null)
    }

    fn wrong(&self, i: usize, want: &str) -> StoreError {
        StoreError::Corrupt(serde::de::Error::custom(format!(
            "column {i} holds {:?}, not {want}",
            self.at(i)
        )))
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| self.wrong(i, "text"))
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i) {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            _ => Err(self.wrong(i, "text")),
        }
    }

    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>, StoreError> {
        match self.at(i) {
            Value::Null => Ok(None),
            Value::Float(f) => Ok(Some(*f)),
            Value::Int(n) => Ok(Some(*n as f64)),
            _ => Err(self.wrong(i, "a number")),
        }
    }

    pub fn f64(&self, i: usize) -> Result<f64, StoreError> {
        self.opt_f64(i)?.ok_or_else(|| self.wrong(i, "a number"))
    }

    pub fn i64(&self, i: usize) -> Result<i64, StoreError> {
        match self.at(i) {
            Value::Int(n) => Ok(*n),
            _ => Err(self.wrong(i, "an integer")),
        }
    }

    /// A flag: PostgreSQL's boolean, or SQLite's 0/1.
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        match self.at(i) {
            Value::Bool(b) => Ok(*b),
            Value::Int(n) => Ok(*n != 0),
            _ => Err(self.wrong(i, "a flag")),
        }
    }

    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.at(i) {
            Value::Bytes(b) => Ok(b.clone()),
            _ => Err(self.wrong(i, "bytes")),
        }
    }
}

/// A statement and its arguments, for [`Db::batch`].
pub type Statement = (&'static str, Vec<Value>);

/// Which database, and how to reach it.
#[derive(Clone)]
pub enum Db {
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(Pool),
}

impl Db {
    /// The rows `sql` selects.
    pub async fn query(
        &self,
        place: &str,
        sql: &'static str,
        args: Vec<Value>,
    ) -> Result<Vec<Row>, StoreError> {
        match self {
            Db::Sqlite(conn) => {
                with_sqlite(conn, place, move |c| {
                    sqlite_query(c, &sqlite_spelling(sql), &args)
                })
                .await
            }
            Db::Postgres(pool) => {
                let client = pool.get().await.map_err(|e| pool_error(place, e))?;
                let stmt = client
                    .prepare_cached(&postgres_spelling(sql))
                    .await
                    .map_err(|e| pg_error(place, e))?;
                let bound = pg_args(&args, stmt.params());
                let rows = client
                    .query(&stmt, &pg_refs(&bound))
                    .await
                    .map_err(|e| pg_error(place, e))?;
                rows.iter().map(|r| pg_row(place, r)).collect()
            }
        }
    }

    /// Runs `sql`; how many rows it changed.
    pub async fn execute(
        &self,
        place: &str,
        sql: &'static str,
        args: Vec<Value>,
    ) -> Result<u64, StoreError> {
        let changed = self.batch(place, vec![(sql, args)], false).await?;
        Ok(changed[0])
    }

    /// Runs `statements` in order in one transaction: all or none. How many rows each
    /// changed; when `guarded` and the first changed none, nothing is written and the
    /// answer is empty (a write fenced off by its condition).
    pub async fn batch(
        &self,
        place: &str,
        statements: Vec<Statement>,
        guarded: bool,
    ) -> Result<Vec<u64>, StoreError> {
        match self {
            Db::Sqlite(conn) => {
                with_sqlite(conn, place, move |c| {
                    let tx = c.transaction()?;
                    let mut changed = Vec::with_capacity(statements.len());
                    for (sql, args) in &statements {
                        let mut stmt = tx.prepare_cached(&sqlite_spelling(sql))?;
                        changed.push(stmt.execute(rusqlite::params_from_iter(args.iter()))? as u64);
                        if guarded && changed == [0] {
                            return Ok(Vec::new()); // dropped: rolled back
                        }
                    }
                    tx.commit()?;
                    Ok(changed)
                })
                .await
            }
            Db::Postgres(pool) => {
                let err = |e| pg_error(place, e);
                let mut client = pool.get().await.map_err(|e| pool_error(place, e))?;
                let tx = client.transaction().await.map_err(err)?;
                let mut changed = Vec::with_capacity(statements.len());
                for (sql, args) in &statements {
                    let stmt = tx
                        .prepare_cached(&postgres_spelling(sql))
                        .await
                        .map_err(err)?;
                    let bound = pg_args(args, stmt.params());
                    changed.push(tx.execute(&stmt, &pg_refs(&bound)).await.map_err(err)?);
                    if guarded && changed == [0] {
                        tx.rollback().await.map_err(err)?;
                        return Ok(Vec::new());
                    }
                }
                tx.commit().await.map_err(err)?;
                Ok(changed)
            }
        }
    }
}

/// What `{now}` stands for.
const NOW: &str = "{now}";
const SQLITE_NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)";
const POSTGRES_NOW: &str = "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)";

/// `sql` as SQLite runs it.
fn sqlite_spelling(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains(NOW) {
        sql.replace(NOW, SQLITE_NOW).into()
    } else {
        sql.into()
    }
}

/// `sql` as PostgreSQL runs it.
fn postgres_spelling(sql: &str) -> String {
    postgres_placeholders(sql).replace(NOW, POSTGRES_NOW)
}

/// Runs `f` on the SQLite connection on the blocking pool.
async fn with_sqlite<T: Send + 'static>(
    conn: &Arc<Mutex<Connection>>,
    place: &str,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    let (conn, place) = (conn.clone(), place.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard).map_err(|e| sqlite_error(&place, e))
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?
}

fn sqlite_query(c: &mut Connection, sql: &str, args: &[Value]) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = c.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(width);
        for i in 0..width {
            row.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Int(n),
                ValueRef::Real(f) => Value::Float(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
            });
        }
        out.push(Row(row));
    }
    Ok(out)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(n) => ToSqlOutput::from(*n),
            Value::Float(f) => ToSqlOutput::from(*f),
            Value::Text(s) => ToSqlOutput::from(s.as_str()),
            Value::Bytes(b) => ToSqlOutput::from(b.as_slice()),
            Value::Bool(b) => ToSqlOutput::from(*b),
        })
    }
}

pub fn sqlite_error(place: &str, e: rusqlite::Error) -> StoreError {
    let code = e.sqlite_error_code().map(|c| format!("{c:?}"));
    StoreError::Sql {
        place: place.to_owned(),
        message: e.to_string(),
        code,
    }
}

/// PostgreSQL's own words and SQLSTATE for an error it reported.
pub fn pg_error(place: &str, e: tokio_postgres::Error) -> StoreError {
    let (message, code) = match e.as_db_error() {
        Some(db) => (db.message().to_owned(), Some(db.code().code().to_owned())),
        None => (e.to_string(), None),
    };
    StoreError::Sql {
        place: place.to_owned(),
        message,
        code,
    }
}

pub fn pool_error(place: &str, e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_error(place, e),
        other => StoreError::Sql {
            place: place.to_owned(),
            message: format!("no connection to the database: {other}"),
            code: None,
        },
    }
}

/// Each argument as the type PostgreSQL expects for its placeholder (an integer where a
/// float is expected is widened; a NULL is typed).
fn pg_args(args: &[Value], types: &[Type]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    args.iter()
        .zip(types)
        .map(|(v, ty)| -> Box<dyn ToSql + Sync + Send> {
            match (v, ty) {
                (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
                (Value::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
                (Value::Null, t) if *t == Type::FLOAT8 => Box::new(None::<f64>),
                (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
                (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
                (Value::Null, _) => Box::new(None::<String>),
                (Value::Int(n), t) if *t == Type::INT4 => Box::new(*n as i32),
                (Value::Int(n), t) if *t == Type::FLOAT8 => Box::new(*n as f64),
                (Value::Int(n), t) if *t == Type::BOOL => Box::new(*n != 0),
                (Value::Int(n), t) if *t == Type::TEXT => Box::new(n.to_string()),
                (Value::Int(n), _) => Box::new(*n),
                (Value::Float(f), _) => Box::new(*f),
                (Value::Text(s), _) => Box::new(s.clone()),
                (Value::Bytes(b), _) => Box::new(b.clone()),
                (Value::Bool(b), _) => Box::new(*b),
            }
        })
        .collect()
}

fn pg_refs(bound: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    bound
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn pg_row(place: &str, r: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let err = |e| pg_error(place, e);
    let mut row = Vec::with_capacity(r.len());
    for (i, column) in r.columns().iter().enumerate() {
        let ty = column.type_();
        let v = if *ty == Type::INT8 {
            r.try_get::<_, Option<i64>>(i).map_err(err)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)
                .map_err(err)?
                .map(|n| Value::Int(n.into()))
        } else if *ty == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)
                .map_err(err)?
                .map(Value::Float)
        } else if *ty == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)
                .map_err(err)?
                .map(Value::Bool)
        } else if *ty == Type::BYTEA {
            r.try_get::<_, Option<Vec<u8>>>(i)
                .map_err(err)?
                .map(Value::Bytes)
        } else {
            r.try_get::<_, Option<String>>(i)
                .map_err(err)?
                .map(Value::Text)
        };
        row.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(row))
}

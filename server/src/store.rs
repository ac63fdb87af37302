//! The store: runs (with their steps), log lines, benchmark records with their raw
//! samples, campaigns, deployments, embed tokens and what the reconciler did. Two
//! databases behind one set of methods ([`db::Db`]): SQLite under the data directory (the
//! default, nothing to install) and PostgreSQL (`--database-url`, for several replicas).
//! Both take the one set of migrations of `server/migrations/` ([`migrations`]).
//!
//! # Layout
//! - this file: opening, connecting and migrating, [`StoreError`].
//! - [`db`]: the two databases' primitives (query, execute, a batch in one transaction).
//! - `legacy`: the old `PRAGMA user_version` ladder, kept to bring old databases up.
//! - `runs`: runs, their rentals and log lines.
//! - `benchmarks`: benchmark records and their raw samples, the old dashboard's import.
//! - `embed_tokens`: the embed tokens' hashes.
//! - `deployments`: deployments, their keys' hashes, their sealed secrets.
//! - `reconciled`: the sessions nothing owned that the reconciler destroyed.
//! - `leases`: which replica owns a run, or the work there is one of (the reconciler).
//! - `logins`: logins and wrong tokens shared by replicas (PostgreSQL).
//! - [`requests`]: cancels and stops for work another replica runs.
//! - `events`: the live events of several replicas in one order (PostgreSQL).

use db::{args, Db, Row, Statement, Value};
use gdl_model::ids::RunId;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod benchmarks;
mod campaigns;
pub mod db;
mod deployments;
mod embed_tokens;
mod events;
mod footprint;
mod leases;
pub mod legacy;
mod logins;
pub mod migrations;
mod reconciled;
pub mod requests;
mod runs;
#[cfg(test)]
mod tests;

pub use embed_tokens::hash as embed_token_hash;
pub use events::StoredEvent;
pub use leases::Lease;

/// What the store knows of a session one of our runs rented.
#[derive(Clone, Debug, PartialEq)]
pub struct RentalFacts {
    pub run_id: RunId,
    pub running_after_secs: Option<f64>,
    /// Price × time as the run recorded it (0 while the rental is in use).
    pub cost_usd: f64,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed; `code` is SQLite's error code or PostgreSQL's
    /// SQLSTATE.
    #[error("database error in {place}: {message}")]
    Sql {
        place: String,
        message: String,
        code: Option<String>,
    },
    #[error("cannot migrate the database {place}: {message}")]
    Migration { place: String, message: String },
    /// A write of work another replica owns, refused (its lease was lost or is another's).
    #[error("refused: {0}")]
    Fenced(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("the database task failed: {0}")]
    Task(String),
}

/// A cheap-to-clone handle to the database.
#[derive(Clone)]
pub struct Store {
    /// The SQLite file, or the PostgreSQL server and database (never its password): what
    /// errors name.
    place: Arc<str>,
    path: Option<Arc<PathBuf>>,
    db: Db,
    /// How to reach PostgreSQL outside the pool (the live events' listener).
    pg_config: Option<Arc<tokio_postgres::Config>>,
    footprint: Arc<footprint::Footprint>,
}

/// Connections a replica keeps to PostgreSQL.
const POOL_SIZE: usize = 8;

impl Store {
    /// Opens (creating and migrating) the SQLite database `gpu-deploy-llm.db` in
    /// `data_dir`. A database an older release made is brought up to date and kept.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join("gpu-deploy-llm.db");
        let place: Arc<str> = path.display().to_string().into();
        let sql = |e| db::sqlite_error(&place, e);
        let mut conn = Connection::open(&path).map_err(sql)?;
        // Owner only; SQLite gives its -wal and -shm files the same permissions.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| StoreError::Task(format!("cannot restrict {}: {e}", path.display())),
            )?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        legacy::climb(&mut conn).map_err(sql)?;
        migrations::sqlite_adopting_legacy(&mut conn).map_err(|e| StoreError::Migration {
            place: place.to_string(),
            message: e.to_string(),
        })?;
        sqlite_after_migrating(&mut conn).map_err(|e| match e {
            AfterMigrating::Sql(e) => sql(e),
            AfterMigrating::Corrupt(e) => StoreError::Corrupt(e),
        })?;
        Ok(Self {
            place,
            path: Some(Arc::new(path)),
            db: Db::Sqlite(Arc::new(Mutex::new(conn))),
            pg_config: None,
            footprint: Default::default(),
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db`),
    /// migrating it first under an advisory lock (replicas starting together migrate one
    /// at a time).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Sql {
            place: "the database URL".into(),
            message: format!("{e}"),
            code: None,
        })?;
        Self::connect_with(config).await
    }

    /// [`Store::connect`] with a parsed configuration (the tests add a `search_path`).
    pub async fn connect_with(config: tokio_postgres::Config) -> Result<Self, StoreError> {
        let place: Arc<str> = describe(&config).into();
        let (mut client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| db::pg_error(&place, e))?;
        let driver = tokio::spawn(connection);
        let migrated = migrations::postgres(&mut client).await;
        drop(client);
        let _ = driver.await;
        migrated.map_err(|e| StoreError::Migration {
            place: place.to_string(),
            message: e.to_string(),
        })?;
        let pg_config = Some(Arc::new(config.clone()));
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let store = Self {
            place,
            path: None,
            db: Db::Postgres(pool),
            pg_config,
            footprint: Default::default(),
        };
        let (id, at) = new_installation();
        store.execute(INSTALLATION, args![id, at]).await?;
        let unfilled = store.query(UNFILLED, Vec::new()).await?;
        let mut fills = Vec::new();
        for row in unfilled {
            let (model, confirmed) = runs::columns_of(&row.text(1)?)?;
            fills.push((FILL, args![row.text(0)?, model, confirmed]));
        }
        store.batch(fills).await?;
        store.footprint();
        Ok(store)
    }

    /// The SQLite database file; `None` on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref().map(PathBuf::as_path)
    }

    /// Which database: the SQLite file, or the PostgreSQL server and database.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// This installation's id, made when the database was ([`gdl_model::consumer_id`]).
    pub async fn installation_id(&self) -> Result<String, StoreError> {
        let rows = self
            .query("SELECT id FROM installation WHERE one = 1", Vec::new())
            .await?;
        match rows.first() {
            Some(row) => row.text(0),
            None => Err(StoreError::Task("the installation has no id".into())),
        }
    }

    async fn query(&self, sql: &'static str, args: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        self.db.query(&self.place, sql, args).await
    }

    async fn execute(&self, sql: &'static str, args: Vec<Value>) -> Result<u64, StoreError> {
        self.footprint.wrote();
        self.db.execute(&self.place, sql, args).await
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, StoreError> {
        self.footprint.wrote();
        self.db.batch(&self.place, statements, false).await
    }

    /// [`Store::batch`] whose first statement must change a row: false (and nothing
    /// written) when it changes none.
    async fn batch_guarded(&self, statements: Vec<Statement>) -> Result<bool, StoreError> {
        self.footprint.wrote();
        Ok(!self
            .db
            .batch(&self.place, statements, true)
            .await?
            .is_empty())
    }

    /// The JSON `body` column of every row `query` selects, decoded.
    async fn bodies<T: serde::de::DeserializeOwned>(
        &self,
        sql: &'static str,
        args: Vec<Value>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self.query(sql, args).await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(&r.text(0)?)?))
            .collect()
    }
}

/// Made once, at the first open: the installation's id and when.
const INSTALLATION: &str = "INSERT INTO installation (one, id, created_at) VALUES (1, ?1, ?2)
     ON CONFLICT (one) DO NOTHING";
/// Runs saved before V2 gave them their columns.
const UNFILLED: &str = "SELECT id, body FROM runs WHERE model IS NULL";
const FILL: &str = "UPDATE runs SET model = ?2, cleanup_confirmed = ?3 WHERE id = ?1";

/// A new installation's id (12 hex digits) and the time, for [`INSTALLATION`]; two replicas
/// opening a new database together keep whichever was written first.
fn new_installation() -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    (id, at)
}

enum AfterMigrating {
    Sql(rusqlite::Error),
    Corrupt(serde_json::Error),
}

/// What every open does once the schema is current, on SQLite before the store is made:
/// the installation's id made once, and the columns of V2 filled for older runs.
fn sqlite_after_migrating(conn: &mut Connection) -> Result<(), AfterMigrating> {
    let tx = conn.transaction().map_err(AfterMigrating::Sql)?;
    let (id, at) = new_installation();
    tx.execute(INSTALLATION, rusqlite::params![id, at])
        .map_err(AfterMigrating::Sql)?;
    let unfilled: Vec<(String, String)> = {
        let mut stmt = tx.prepare(UNFILLED).map_err(AfterMigrating::Sql)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(AfterMigrating::Sql)?;
        rows.collect::<Result<_, _>>()
            .map_err(AfterMigrating::Sql)?
    };
    for (id, body) in unfilled {
        let (model, confirmed) = runs::columns_of(&body).map_err(AfterMigrating::Corrupt)?;
        tx.execute(FILL, rusqlite::params![id, model, confirmed])
            .map_err(AfterMigrating::Sql)?;
    }
    tx.commit().map_err(AfterMigrating::Sql)
}

/// `postgres://user@host:port/dbname` (never the password).
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

//! The SQLite store under the data directory: runs (with their steps), log lines, and
//! benchmark records with their raw samples. Migrations are numbered and recorded in
//! `PRAGMA user_version`. One connection behind a std `Mutex`; every call runs on the
//! blocking pool.
//!
//! # Layout
//! - this file: opening and migrating, the connection, [`StoreError`].
//! - `runs`: runs, their rentals and log lines.
//! - `benchmarks`: benchmark records and their raw samples, the old dashboard's import.
//! - `embed_tokens`: the embed tokens' hashes.
//! - `deployments`: deployments, their keys' hashes, their sealed secrets.
//! - `reconciled`: the sessions nothing owned that the reconciler destroyed.

use gdl_model::ids::RunId;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod benchmarks;
mod campaigns;
mod deployments;
mod embed_tokens;
mod reconciled;
mod runs;

pub use embed_tokens::hash as embed_token_hash;

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE logs (
        run_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (run_id, n)
    );
    CREATE TABLE benchmarks (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE samples (
        benchmark_id TEXT NOT NULL,
        phase TEXT NOT NULL,
        idx INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (benchmark_id, phase, idx)
    );",
    // Every session a run rented, by session id: which run owns it, and how long the
    // broker took to report it running (kept across restarts for the Sessions tab).
    "CREATE TABLE rentals (
        session_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        running_after_secs REAL,
        cost_usd REAL NOT NULL DEFAULT 0
    );
    INSERT OR REPLACE INTO rentals (session_id, run_id, running_after_secs, cost_usd)
        SELECT json_extract(r.value, '$.session_id'), runs.id,
               json_extract(r.value, '$.running_after_secs'),
               coalesce(json_extract(r.value, '$.cost_usd'), 0)
        FROM runs, json_each(runs.body, '$.rentals') AS r;",
    // Read-only embed tokens: only their SHA-256 is kept.
    "CREATE TABLE embed_tokens (
        id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );",
    // The installation's id, made once: its sessions' `consumer_id` (gdl_model::consumer_id).
    // Replicas that share the database are one installation.
    "CREATE TABLE installation (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    INSERT INTO installation (one, id, created_at)
        VALUES (1, lower(hex(randomblob(6))), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));",
    // Sessions nothing owned that the reconciler destroyed, by session id.
    "CREATE TABLE reconciled (
        session_id TEXT PRIMARY KEY,
        destroyed_at TEXT NOT NULL,
        body TEXT NOT NULL
    );",
    // Deployments (the body is the model's `Deployment`), their keys (only the SHA-256 of
    // each secret) and what resuming one after a restart needs, sealed under the operator's
    // secret key (never in clear).
    "CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE deployment_keys (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE deployment_secrets (
        deployment_id TEXT PRIMARY KEY,
        sealed BLOB NOT NULL
    );",
    // Campaigns (the body is the model's `Campaign`).
    "CREATE TABLE campaigns (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL
    );",
];

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
    #[error("database error in {path}: {source}")]
    Sql {
        path: String,
        source: rusqlite::Error,
    },
    #[error("stored data is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("the database task failed: {0}")]
    Task(String),
}

/// A cheap-to-clone handle to the database.
#[derive(Clone)]
pub struct Store {
    path: Arc<PathBuf>,
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating and migrating) `gpu-deploy-llm.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join("gpu-deploy-llm.db");
        let sql = |source| StoreError::Sql {
            path: path.display().to_string(),
            source,
        };
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
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(sql)?;
            tx.execute_batch(migration).map_err(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(Self {
            path: Arc::new(path),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This installation's id, made when the database was ([`gdl_model::consumer_id`]).
    pub async fn installation_id(&self) -> Result<String, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            c.query_row("SELECT id FROM installation WHERE one = 1", [], |r| {
                r.get(0)
            })
            .map_err(&sql)
        })
        .await
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + Send + 'static {
        let path = self.path.display().to_string();
        move |source| StoreError::Sql {
            path: path.clone(),
            source,
        }
    }

    /// The JSON `body` column of every row `query` selects, decoded.
    async fn bodies<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        query: &'static str,
        args: Vec<String>,
    ) -> Result<Vec<T>, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            let mut stmt = c.prepare(query).map_err(&sql)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                    r.get::<_, String>(0)
                })
                .map_err(&sql)?;
            let mut list = Vec::new();
            for row in rows {
                list.push(serde_json::from_str(&row.map_err(&sql)?)?);
            }
            Ok(list)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use gdl_model::benchmark::Sample;
    use gdl_model::runs::{BenchmarkRecord, LogLine, Run, RunStatus};

    #[tokio::test]
    async fn rentals_are_indexed_by_session_and_backfilled_from_older_databases() {
        let dir = std::env::temp_dir().join(format!("gdl-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir).unwrap();
        let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let mut run = Run::new("run-1".into(), config, Utc::now());
        run.rentals = serde_json::from_value(serde_json::json!([{
            "attempt": 1, "session_id": "sess-a", "created_at": "2026-11-24T01:00:00Z",
            "cost_usd": 0.05, "running_after_secs": 42.5,
            "offer": {"offer_id": "o", "provider": "vastai", "gpu_type": "L4", "gpu_count": 1,
                      "vram_gb": 24, "price_per_hour": 0.3}
        }]))
        .unwrap();
        store.save_run(&run).await.unwrap();
        let want = RentalFacts {
            run_id: "run-1".into(),
            running_after_secs: Some(42.5),
            cost_usd: 0.05,
        };
        let facts = store
            .rental_facts(vec!["sess-a".into(), "sess-b".into()])
            .await
            .unwrap();
        assert_eq!(facts.len(), 1);
        assert_eq!(facts["sess-a"], want);
        // A database from before the index: reopening builds it from the stored runs.
        {
            let conn = store.conn.lock().unwrap();
            conn.execute_batch(
                "DROP TABLE rentals; DROP TABLE embed_tokens; DROP TABLE installation;
                 DROP TABLE reconciled; DROP TABLE deployments;
                 DROP TABLE deployment_keys; DROP TABLE deployment_secrets;
                 DROP TABLE campaigns; PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        drop(store);
        let again = Store::open(&dir).unwrap();
        let facts = again.rental_facts(vec!["sess-a".into()]).await.unwrap();
        assert_eq!(facts["sess-a"], want);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_installation_keeps_its_id_and_another_has_its_own() {
        let dirs: Vec<_> = (0..2)
            .map(|_| std::env::temp_dir().join(format!("gdl-store-{}", uuid::Uuid::new_v4())))
            .collect();
        let mut ids = Vec::new();
        for dir in &dirs {
            std::fs::create_dir_all(dir).unwrap();
            let id = Store::open(dir).unwrap().installation_id().await.unwrap();
            assert_eq!(id.len(), 12, "{id}");
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
            let again = Store::open(dir).unwrap().installation_id().await.unwrap();
            assert_eq!(again, id, "kept across restarts");
            ids.push(id);
        }
        assert_ne!(ids[0], ids[1]);
        for dir in dirs {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[tokio::test]
    async fn runs_logs_and_benchmarks_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!("gdl-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir).unwrap();
        let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let mut run = Run::new("run-1".into(), config, Utc::now());
        store.save_run(&run).await.unwrap();
        run.status = RunStatus::Passed;
        store.save_run(&run).await.unwrap();
        for n in 1..=3 {
            let line = LogLine {
                run_id: "run-1".into(),
                n,
                at: Utc::now(),
                level: gdl_model::runs::LogLevel::Info,
                step: None,
                message: format!("line {n}"),
            };
            store.append_log(&line).await.unwrap();
            store.append_log(&line).await.unwrap();
        }
        let record = BenchmarkRecord {
            id: "b-1".into(),
            run_id: "run-1".into(),
            created_at: Utc::now(),
            model: "m".into(),
            served_repo: "m".into(),
            quantization: "none".into(),
            provider: gdl_model::shopper::Provider::VastAi,
            gpu_type: "L4".into(),
            gpu_count: 1,
            price_per_hour: 0.3,
            prompts_matching: 3,
            prompts_with_expected: 4,
            phases: vec![],
            test_cost_usd: Some(0.01),
            external: false,
            slo: None,
            capacity: None,
            workload: None,
            engine: None,
            engine_version: None,
            engine_settings: Default::default(),
        };
        let samples = vec![(
            "c1".to_string(),
            vec![
                Sample {
                    output_tokens: 5,
                    ..Default::default()
                };
                2
            ],
        )];
        store.save_benchmark(&record, samples).await.unwrap();
        drop(store);

        let again = Store::open(&dir).unwrap();
        let runs = again.recent_runs(10).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Passed);
        let logs = again.logs(&"run-1".into(), 2).await.unwrap();
        assert_eq!(logs.iter().map(|l| l.n).collect::<Vec<_>>(), vec![2, 3]);
        let (b, s) = again.benchmark("b-1").await.unwrap().unwrap();
        assert_eq!(b.prompts_matching, 3);
        assert_eq!(s.len(), 2);
        assert!(again.benchmark("nope").await.unwrap().is_none());
        let settled = again
            .set_benchmark_cost("b-1", 0.25)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(settled.test_cost_usd, Some(0.25));
        let (b, s) = again.benchmark("b-1").await.unwrap().unwrap();
        assert_eq!((b.test_cost_usd, s.len()), (Some(0.25), 2));
        assert!(again
            .set_benchmark_cost("nope", 1.0)
            .await
            .unwrap()
            .is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The store's tests, each run on both databases: SQLite in a new directory, and
//! PostgreSQL in a schema of its own when `GDL_TEST_DATABASE_URL` is set (`scripts/test.sh`
//! starts a private server and sets it; without it the PostgreSQL half says it was skipped).

use super::*;
use chrono::Utc;
use gdl_model::benchmark::Sample;
use gdl_model::runs::{BenchmarkRecord, CleanupOutcome, LogLine, Run, RunStatus};

/// Where a test's store lives, to open it again.
pub(super) enum Place {
    Sqlite(PathBuf),
    Postgres(Box<tokio_postgres::Config>),
}

impl Place {
    pub(super) async fn open(&self) -> Store {
        match self {
            Place::Sqlite(dir) => Store::open(dir).unwrap(),
            Place::Postgres(config) => Store::connect_with((**config).clone()).await.unwrap(),
        }
    }
}

/// A new, empty place on each database the tests can reach.
pub(super) async fn places(test: &str) -> Vec<Place> {
    let dir = std::env::temp_dir().join(format!("gdl-store-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut places = vec![Place::Sqlite(dir)];
    match std::env::var("GDL_TEST_DATABASE_URL") {
        Ok(url) => places.push(Place::Postgres(Box::new(new_schema(&url).await))),
        Err(_) => println!(
            "{test}: PostgreSQL half skipped: GDL_TEST_DATABASE_URL is unset \
             (eval \"$(scripts/pg.sh start)\" sets it)"
        ),
    }
    places
}

/// A configuration whose connections see only a new schema of the database at `url`.
pub(super) async fn new_schema(url: &str) -> tokio_postgres::Config {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("GDL_TEST_DATABASE_URL is set but unreachable: {e}"));
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    config
}

fn run_of(id: &str, model: &str) -> Run {
    let config = serde_json::from_value(serde_json::json!({"model": model, "max_price": 1}));
    Run::new(id.into(), config.unwrap(), Utc::now())
}

#[tokio::test]
async fn rentals_are_indexed_by_session_and_backfilled_from_older_databases() {
    for place in places("rentals").await {
        let store = place.open().await;
        let mut run = run_of("run-1", "qwen2.5-0.5b");
        run.rentals = serde_json::from_value(serde_json::json!([{
            "attempt": 1, "session_id": "sess-a", "created_at": "2026-11-24T01:00:00Z",
            "cost_usd": 0.05, "running_after_secs": 42.5,
            "offer": {"offer_id": "o", "provider": "vastai", "gpu_type": "L4", "gpu_count": 1,
                      "vram_gb": 24, "price_per_hour": 0.3}
        }]))
        .unwrap();
        store.save_run(&run).await.unwrap();
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
        let Place::Sqlite(dir) = &place else { continue };
        // A database the old ladder left at version 1, before the index: reopening
        // climbs the ladder (which builds the index from the stored runs), then adopts it.
        {
            let Db::Sqlite(conn) = &store.db else {
                unreachable!()
            };
            conn.lock()
                .unwrap()
                .execute_batch(
                    "DROP TABLE rentals; DROP TABLE embed_tokens; DROP TABLE installation;
                 DROP TABLE reconciled; DROP TABLE deployments;
                 DROP TABLE deployment_keys; DROP TABLE deployment_secrets;
                 DROP TABLE campaigns; DROP TABLE refinery_schema_history; DROP TABLE leases;
                 DROP TABLE events; DROP TABLE logins; DROP TABLE login_failures;
                 ALTER TABLE runs DROP COLUMN lock_owner; ALTER TABLE runs DROP COLUMN lock_token;
                 ALTER TABLE runs DROP COLUMN lock_expires_at; ALTER TABLE runs DROP COLUMN request;
                 DROP INDEX runs_by_creation;
                 ALTER TABLE runs DROP COLUMN model; ALTER TABLE runs DROP COLUMN cleanup_confirmed;
                 PRAGMA user_version = 1;",
                )
                .unwrap();
        }
        drop(store);
        let again = Store::open(dir).unwrap();
        let facts = again.rental_facts(vec!["sess-a".into()]).await.unwrap();
        assert_eq!(facts["sess-a"], want);
        // The columns V2 added are filled for the runs saved before it.
        let found = again
            .runs_matching(None, Some("qwen2.5-0.5b"), 0, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[tokio::test]
async fn an_installation_keeps_its_id_and_another_has_its_own() {
    let (first, second) = (places("installation").await, places("installation").await);
    for (a, b) in first.iter().zip(&second) {
        let mut ids = Vec::new();
        for place in [a, b] {
            let id = place.open().await.installation_id().await.unwrap();
            assert_eq!(id.len(), 12, "{id}");
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
            let again = place.open().await.installation_id().await.unwrap();
            assert_eq!(again, id, "kept across restarts");
            ids.push(id);
        }
        assert_ne!(ids[0], ids[1]);
    }
}

#[tokio::test]
async fn runs_are_found_by_status_model_and_unconfirmed_cleanup() {
    for place in places("runs_matching").await {
        let store = place.open().await;
        let mut a = run_of("run-a", "qwen2.5-0.5b");
        a.status = RunStatus::Passed;
        a.cleanup = Some(CleanupOutcome {
            destroyed_confirmed: true,
            kept: false,
            message: "destroyed".into(),
        });
        let mut b = run_of("run-b", "llama-3.1-8b");
        b.created_at = a.created_at + chrono::Duration::seconds(1);
        b.status = RunStatus::Failed;
        let mut c = run_of("run-c", "qwen2.5-0.5b");
        c.created_at = a.created_at + chrono::Duration::seconds(2);
        for run in [&a, &b, &c] {
            store.save_run(run).await.unwrap();
        }
        let ids = |runs: Vec<Run>| {
            runs.into_iter()
                .map(|r| r.id.to_string())
                .collect::<Vec<_>>()
        };
        let all = store.runs_matching(None, None, 0, 10).await.unwrap();
        assert_eq!(ids(all), ["run-c", "run-b", "run-a"]);
        let qwen = store
            .runs_matching(None, Some("qwen2.5-0.5b"), 0, 10)
            .await
            .unwrap();
        assert_eq!(ids(qwen), ["run-c", "run-a"]);
        let passed = store
            .runs_matching(Some(RunStatus::Passed), Some("qwen2.5-0.5b"), 0, 10)
            .await
            .unwrap();
        assert_eq!(ids(passed), ["run-a"]);
        let page = store.runs_matching(None, None, 1, 1).await.unwrap();
        assert_eq!(ids(page), ["run-b"]);
        // Finished and not confirmed: b only (a is confirmed, c still running).
        let open = store.runs_not_confirmed(10).await.unwrap();
        assert_eq!(ids(open), ["run-b"]);
        b.cleanup = a.cleanup.clone();
        store.save_run(&b).await.unwrap();
        assert!(store.runs_not_confirmed(10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn runs_logs_and_benchmarks_survive_a_reopen() {
    for place in places("reopen").await {
        let store = place.open().await;
        let mut run = run_of("run-1", "qwen2.5-0.5b");
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
            tuning: None,
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
            input: None,
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

        let again = place.open().await;
        let runs = again.recent_runs(10).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Passed);
        let logs = again.logs(&"run-1".into(), 2).await.unwrap();
        assert_eq!(logs.iter().map(|l| l.n).collect::<Vec<_>>(), vec![2, 3]);
        let after = again.logs_after(&"run-1".into(), 1, 10).await.unwrap();
        assert_eq!(after.iter().map(|l| l.n).collect::<Vec<_>>(), vec![2, 3]);
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
        if let Place::Sqlite(dir) = place {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}

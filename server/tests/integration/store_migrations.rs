//! One set of migrations (`server/migrations/`, refinery) makes the same tables and
//! columns on SQLite and on PostgreSQL, replicas starting together apply each once, and a
//! database the old `PRAGMA user_version` ladder made is adopted and keeps its data. (The
//! store's statements are tested on both databases by the store's own tests.) The
//! PostgreSQL half runs when `GDL_TEST_DATABASE_URL` is set (`scripts/test.sh` starts a
//! private server; docs/testing.md); without it that half says it was skipped and passes.

use rusqlite::Connection;
use server::store::{migrations, Store};
use std::path::PathBuf;

/// Table, column, declared type (lower case), in table then column order; refinery's own
/// table left out (each driver spells its types its own way).
type Columns = Vec<(String, String, String)>;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gdl-migrations-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite_columns(conn: &Connection) -> Columns {
    let mut stmt = conn
        .prepare(
            "SELECT m.name, p.name, lower(p.type) FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name <> 'refinery_schema_history'
             ORDER BY m.name, p.cid",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn names(columns: &Columns) -> Vec<(String, String)> {
    columns
        .iter()
        .map(|(t, c, _)| (t.clone(), c.clone()))
        .collect()
}

/// How many migrations there are (`server/migrations/V*.sql`).
fn migration_files() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('V')
        })
        .count()
}

fn fresh_sqlite() -> (PathBuf, Connection) {
    let dir = temp_dir();
    let mut conn = Connection::open(dir.join("fresh.db")).unwrap();
    let report = migrations::sqlite(&mut conn).unwrap();
    assert_eq!(report.applied_migrations().len(), migration_files());
    (dir, conn)
}

/// A client on a schema of its own in the test database, or `None` (printing why) when
/// `GDL_TEST_DATABASE_URL` is unset.
async fn postgres(test: &str) -> Option<(tokio_postgres::Client, String)> {
    let Ok(url) = std::env::var("GDL_TEST_DATABASE_URL") else {
        println!(
            "{test}: PostgreSQL half skipped: GDL_TEST_DATABASE_URL is unset \
             (eval \"$(scripts/pg.sh start)\" sets it)"
        );
        return None;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("GDL_TEST_DATABASE_URL is set but unreachable: {e:?}"));
    tokio::spawn(connection);
    let schema = format!("gdl_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .await
        .unwrap();
    Some((client, schema))
}

#[tokio::test]
async fn one_set_of_migrations_makes_the_same_tables_on_sqlite_and_postgres() {
    let (dir, mut conn) = fresh_sqlite();
    let sqlite = sqlite_columns(&conn);
    // runs, logs, benchmarks, samples, reconciled, deployments, campaigns and events.
    assert_eq!(sqlite.iter().filter(|(_, c, _)| c == "body").count(), 8);
    let again = migrations::sqlite(&mut conn).unwrap();
    assert!(again.applied_migrations().is_empty(), "applied once only");
    std::fs::remove_dir_all(&dir).unwrap();

    let Some((mut client, schema)) = postgres("same_tables").await else {
        return;
    };
    let report = migrations::postgres(&mut client).await.unwrap();
    assert_eq!(report.applied_migrations().len(), migration_files());
    let again = migrations::postgres(&mut client).await.unwrap();
    assert!(again.applied_migrations().is_empty(), "applied once only");
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> 'refinery_schema_history'
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .unwrap();
    let postgres: Columns = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(postgres, sqlite, "same tables, columns and types");
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

#[tokio::test]
async fn replicas_starting_together_migrate_one_at_a_time() {
    let Some((first, schema)) = postgres("together").await else {
        return;
    };
    let url = std::env::var("GDL_TEST_DATABASE_URL").unwrap();
    let mut clients = vec![first];
    for _ in 0..3 {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .unwrap();
        clients.push(client);
    }
    let runs = clients.into_iter().map(|mut client| {
        tokio::spawn(async move {
            let report = migrations::postgres(&mut client).await.unwrap();
            (report.applied_migrations().len(), client)
        })
    });
    let mut applied = 0;
    let mut clients = Vec::new();
    for run in runs.collect::<Vec<_>>() {
        let (n, client) = run.await.unwrap();
        applied += n;
        clients.push(client);
    }
    assert_eq!(
        applied,
        migration_files(),
        "each migration applied by exactly one of four"
    );
    clients[0]
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_database_the_old_ladder_made_is_adopted_and_keeps_opening() {
    // What an older release made: the ladder's seven migrations, a run in it.
    let dir = temp_dir();
    let file = dir.join("gpu-deploy-llm.db");
    let mut conn = Connection::open(&file).unwrap();
    server::store::legacy::make(&mut conn).unwrap();
    let config = serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 1});
    let run = gdl_model::runs::Run::new(
        "run-old".into(),
        serde_json::from_value(config).unwrap(),
        chrono::Utc::now(),
    );
    conn.execute(
        "INSERT INTO runs (id, created_at, status, body) VALUES (?1, ?2, 'Failed', ?3)",
        rusqlite::params![
            "run-old",
            run.created_at.to_rfc3339(),
            serde_json::to_string(&run).unwrap()
        ],
    )
    .unwrap();
    let id: String = conn
        .query_row("SELECT id FROM installation", [], |r| r.get(0))
        .unwrap();
    let legacy = sqlite_columns(&conn);
    drop(conn);

    let store = Store::open(&dir).unwrap();
    assert_eq!(
        store.installation_id().await.unwrap(),
        id,
        "the same installation"
    );
    let found = store
        .runs_matching(None, Some("qwen2.5-0.5b"), 0, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "its runs, found by the columns added since");
    drop(store);
    let conn = Connection::open(&file).unwrap();
    let adopted = sqlite_columns(&conn);
    let (fresh_dir, fresh) = fresh_sqlite();
    assert_eq!(
        names(&adopted),
        names(&sqlite_columns(&fresh)),
        "V1 is the old schema, and the later migrations ran on it"
    );
    assert!(
        legacy.iter().all(|c| adopted.contains(c)),
        "nothing changed"
    );
    let reopened = Store::open(&dir).unwrap();
    assert_eq!(reopened.installation_id().await.unwrap(), id);

    // A database part-way up the old ladder is refused, not half adopted.
    let mut old = Connection::open(dir.join("old.db")).unwrap();
    old.pragma_update(None, "user_version", 3).unwrap();
    let err = migrations::sqlite_adopting_legacy(&mut old).unwrap_err();
    assert!(err.to_string().contains("version 3 of 7"), "{err}");
    for d in [dir, fresh_dir] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

//! The store's old numbered migrations, recorded in `PRAGMA user_version` (frozen at
//! version 7): a database they left at 1 to 6 still climbs to 7 with them, and is then
//! adopted by the one set of migrations ([`super::migrations::sqlite_adopting_legacy`]).
//! New databases never run them.

use rusqlite::Connection;

/// Schema migrations, applied in order; the index + 1 is the schema version.
pub const MIGRATIONS: &[&str] = &[
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

/// Brings a database the old ladder began (version 1 to 6) to its last version; a new
/// database (version 0) and one at 7 are left alone.
pub fn climb(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == 0 {
        return Ok(());
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// A database as the old ladder made it, all seven versions (to test adopting one).
pub fn make(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(MIGRATIONS[0])?;
    conn.pragma_update(None, "user_version", 1)?;
    climb(conn)
}

-- The store's schema as the seven SQLite migrations of server/src/store.rs left it, in SQL
-- that SQLite and PostgreSQL both run (docs/replicas.md, "One set of migrations"):
-- TEXT for ids, times (RFC 3339, ordered as text) and JSON bodies; BIGINT for integers
-- (i64 on both); DOUBLE PRECISION for floats (SQLite gives it REAL affinity; PostgreSQL's
-- REAL would be 4 bytes); BYTEA for bytes (NUMERIC affinity in SQLite, which stores a
-- blob as it is); BOOLEAN for flags. No rows are inserted here: the installation's id is
-- made by the store at open (`INSERT ... ON CONFLICT (one) DO NOTHING`), since random ids
-- and the time are spelled differently by the two.

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE logs (
    run_id TEXT NOT NULL,
    n BIGINT NOT NULL,
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
    idx BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (benchmark_id, phase, idx)
);

-- Every session a run rented: which run owns it, how long the broker took to report it
-- running, what it cost.
CREATE TABLE rentals (
    session_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    running_after_secs DOUBLE PRECISION,
    cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0
);

-- Read-only embed tokens: only their SHA-256 is kept.
CREATE TABLE embed_tokens (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- The installation's id (its sessions' consumer_id); replicas sharing the database are one.
CREATE TABLE installation (
    one BIGINT PRIMARY KEY CHECK (one = 1),
    id TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Sessions nothing owned that the reconciler destroyed.
CREATE TABLE reconciled (
    session_id TEXT PRIMARY KEY,
    destroyed_at TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);

-- Only the SHA-256 of each key's secret.
CREATE TABLE deployment_keys (
    id TEXT PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

-- What resuming a deployment needs, sealed under the operator's secret key.
CREATE TABLE deployment_secrets (
    deployment_id TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL
);

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);

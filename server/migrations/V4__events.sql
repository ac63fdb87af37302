-- One live order across replicas (docs/replicas.md): every event a replica publishes is a
-- row, numbered by the database (`seq`, given under a transaction-scoped advisory lock so
-- numbers commit in order), and announced with NOTIFY gdl_events. `origin` and `origin_n`
-- name the replica that published it and its own count, so that replica knows its events
-- when they come back numbered. `at` is milliseconds since the epoch by the database's
-- clock. A single machine (SQLite) keeps its order in memory and leaves this table empty.
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    origin TEXT NOT NULL,
    origin_n BIGINT NOT NULL,
    body TEXT NOT NULL
);

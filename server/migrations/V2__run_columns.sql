-- Two facts of a run's body the store filters on, as columns, so both databases filter
-- with plain SQL (SQLite's json_extract has no PostgreSQL spelling): the model as asked
-- for, and whether the broker confirmed the cleanup. The store writes them with the body,
-- and fills them at open for runs saved before (where `model` is NULL).
ALTER TABLE runs ADD COLUMN model TEXT;
ALTER TABLE runs ADD COLUMN cleanup_confirmed BOOLEAN;
CREATE INDEX runs_by_creation ON runs (created_at);

-- Leases (docs/replicas.md): the replica that owns a run holds a lease on its row, written
-- into it. `lock_token` is new at each claim, and every write of the owner is guarded by
-- it, so a replica that lost the lease (it died, or was paused past the expiry) cannot
-- overwrite what the new owner wrote. `lock_expires_at` is milliseconds since the epoch by
-- the database's clock, extended by the owner's heartbeat. Work nobody else owns (the
-- broker poller, the reconciler) is a named row of `leases`. Campaigns are owned the same
-- way as runs.
ALTER TABLE runs ADD COLUMN lock_owner TEXT;
ALTER TABLE runs ADD COLUMN lock_token TEXT;
ALTER TABLE runs ADD COLUMN lock_expires_at BIGINT;

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    lock_owner TEXT,
    lock_token TEXT,
    lock_expires_at BIGINT
);

ALTER TABLE campaigns ADD COLUMN lock_owner TEXT;
ALTER TABLE campaigns ADD COLUMN lock_token TEXT;
ALTER TABLE campaigns ADD COLUMN lock_expires_at BIGINT;

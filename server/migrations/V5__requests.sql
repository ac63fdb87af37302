-- Requests for work another replica runs (docs/replicas.md, "Requests"): a cancel of a run,
-- a stop of a deployment (on its run's row) or of a campaign that reaches a replica which
-- does not run it is written here; the replica holding the lease reads its requests every
-- second, clears each one and acts on it. NULL when nothing is asked.
ALTER TABLE runs ADD COLUMN request TEXT;
ALTER TABLE campaigns ADD COLUMN request TEXT;

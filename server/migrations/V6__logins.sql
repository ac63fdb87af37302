-- Logins and wrong tokens shared by replicas (docs/replicas.md, "Logins"): a login session
-- is kept as the SHA-256 of its cookie (never the cookie), with when it ends (milliseconds
-- since the epoch by the database's clock); a logout deletes it. Wrong tokens are counted
-- per client address, so the throttle holds whichever replica a guess reaches. A single
-- machine (SQLite) keeps both in memory and leaves these tables empty.
CREATE TABLE logins (
    hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE TABLE login_failures (
    address TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_address ON login_failures (address, at);

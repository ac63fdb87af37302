//! One set of SQL migrations for both stores (issue 30; `docs/replicas.md`): the files of
//! `server/migrations/` (`V{n}__{name}.sql`), embedded at build time and applied by
//! refinery to SQLite through rusqlite or to PostgreSQL through tokio-postgres. Each
//! records what it applied in its own `refinery_schema_history` table.
//!
//! Not used by [`Store::open`](super::Store::open) yet: it still runs its numbered
//! `PRAGMA user_version` ladder. The switch-over adopts a database that ladder made with
//! [`sqlite_adopting_legacy`], so every existing database keeps opening.

use refinery::{Report, Target};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The key of the PostgreSQL advisory lock held while migrating ("gdl_migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x6764_6c5f_6d69_6772;

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("a migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error(
        "the database is at the old schema version {0} of {1}: open it once with the \
         previous release, which brings it to {1}"
    )]
    LegacyVersion(i64, usize),
}

/// The server's own words for an error it reported ("db error" alone says nothing).
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// Applies to a SQLite database every migration it has not had.
pub fn sqlite(conn: &mut rusqlite::Connection) -> Result<Report, MigrateError> {
    Ok(embedded::migrations::runner().run(conn)?)
}

/// Like [`sqlite`], for a database that may have been made by the store's old
/// `PRAGMA user_version` ladder: one that ladder brought to its last version already holds
/// what `V1__schema.sql` makes, so V1 is recorded as applied without being run (refinery's
/// `Target::FakeVersion`), and the migrations after it run as usual.
pub fn sqlite_adopting_legacy(conn: &mut rusqlite::Connection) -> Result<Report, MigrateError> {
    let legacy = super::legacy::MIGRATIONS.len();
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let adopted: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'refinery_schema_history'",
        [],
        |r| r.get(0),
    )?;
    if !adopted && version != 0 {
        if version != legacy as i64 {
            return Err(MigrateError::LegacyVersion(version, legacy));
        }
        embedded::migrations::runner()
            .set_target(Target::FakeVersion(1))
            .run(conn)?;
    }
    sqlite(conn)
}

/// Applies to a PostgreSQL database every migration it has not had, under a session-level
/// advisory lock on this same connection so that replicas starting together migrate one
/// at a time (refinery takes no lock of its own). The lock is released on this connection
/// whatever happened.
pub async fn postgres(client: &mut tokio_postgres::Client) -> Result<Report, MigrateError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let report = embedded::migrations::runner().run_async(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    Ok(report?)
}

/// A statement written for SQLite with numbered placeholders (`?1`, `?2`) in PostgreSQL's
/// spelling (`$1`, `$2`). Only a `?` followed by a digit is rewritten, so PostgreSQL's
/// own `?` operators and `$` in JSON paths are left alone.
pub fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::postgres_placeholders;

    #[test]
    fn numbered_placeholders_take_postgres_spelling_and_nothing_else_changes() {
        assert_eq!(
            postgres_placeholders("SELECT body FROM runs WHERE id = ?1 AND n > ?12"),
            "SELECT body FROM runs WHERE id = $1 AND n > $12"
        );
        let untouched = "SELECT json_extract(body, '$.a') FROM t WHERE j ? 'k'";
        assert_eq!(postgres_placeholders(untouched), untouched);
    }
}

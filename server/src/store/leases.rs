//! Leases with fencing (docs/replicas.md): which replica owns a run, written into the run's
//! row (`lock_owner`, `lock_token`, `lock_expires_at`), and which one does the work of
//! which there is one for all (a named row of `leases`: the reconciler). A claim takes only
//! a lease that is free or expired, with a compare-and-set on the row: of two replicas
//! claiming at once, the second changes no row. Every write of the owner carries the token
//! ([`Store::save_run_owned`], [`Store::append_logs_owned`]): once another replica has
//! claimed the run, a replica that was paused or cut off writes nothing more about it. Times
//! are the database's clock (`{now}`), never a replica's.

use super::db::Statement;
use super::{args, runs, Store, StoreError};
use gdl_model::ids::{CampaignId, RunId};
use gdl_model::runs::{LogLine, Run, RunStatus};
use std::time::Duration;

/// A lease this replica holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The run's id, or the named work's name.
    pub key: String,
    /// Which replica holds it.
    pub owner: String,
    /// New at each claim: what every write of the owner is checked against.
    pub token: String,
    kind: Kind,
}

/// What a lease is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Run,
    Campaign,
    Named,
}

impl Lease {
    /// A lease on a run this replica is starting (its row is written with it).
    pub fn new_run(id: &RunId, owner: &str) -> Self {
        Self::new(id.to_string(), owner, Kind::Run)
    }

    /// A lease on a campaign this replica is starting (its row is written with it).
    pub fn new_campaign(id: &CampaignId, owner: &str) -> Self {
        Self::new(id.to_string(), owner, Kind::Campaign)
    }

    fn new(key: String, owner: &str, kind: Kind) -> Self {
        Self {
            key,
            owner: owner.to_owned(),
            token: new_token(),
            kind,
        }
    }
}

fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `ttl` in milliseconds, as the database's times are.
pub(super) fn ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Store {
    /// Saves a run this replica owns, with its rentals, extending nothing: only while
    /// `lease` is still the run's (the first save writes the row with the lease, which
    /// runs for `ttl`). [`StoreError::Fenced`] when another replica has claimed the run.
    pub async fn save_run_owned(
        &self,
        run: &Run,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(run)?;
        let (model, confirmed) = runs::columns(run);
        let mut statements: Vec<Statement> = vec![(
            "INSERT INTO runs (id, created_at, status, body, model, cleanup_confirmed,
                 lock_owner, lock_token, lock_expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {now} + ?9)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body,
                 model = excluded.model, cleanup_confirmed = excluded.cleanup_confirmed
             WHERE runs.lock_token = excluded.lock_token",
            args![
                run.id.to_string(),
                run.created_at.to_rfc3339(),
                runs::status_column(run.status),
                body,
                model,
                confirmed,
                lease.owner.clone(),
                lease.token.clone(),
                ms(ttl)
            ],
        )];
        statements.extend(runs::rental_statements(run));
        if self.batch_guarded(statements).await? {
            Ok(())
        } else {
            Err(StoreError::Fenced(format!(
                "run {} is another replica's now",
                run.id
            )))
        }
    }

    /// Appends log lines of a run this replica owns, while `lease` is still the run's.
    pub async fn append_logs_owned(
        &self,
        lines: &[LogLine],
        lease: &Lease,
    ) -> Result<(), StoreError> {
        let mut statements = Vec::with_capacity(lines.len());
        for line in lines {
            statements.push((
                "INSERT INTO logs (run_id, n, body)
                 SELECT ?1, ?2, ?3 WHERE EXISTS
                     (SELECT 1 FROM runs WHERE id = ?1 AND lock_token = ?4)
                 ON CONFLICT (run_id, n) DO NOTHING",
                args![
                    line.run_id.to_string(),
                    line.n as i64,
                    serde_json::to_string(line)?,
                    lease.token.clone()
                ],
            ));
        }
        self.batch(statements).await?;
        Ok(())
    }

    /// Runs recorded running whose lease has expired (or that never had one): their
    /// replica stopped, and one of the others is to close them. Oldest first.
    pub async fn orphaned_runs(&self, limit: u32) -> Result<Vec<RunId>, StoreError> {
        let rows = self
            .query(
                "SELECT id FROM runs WHERE status = ?1
                   AND (lock_expires_at IS NULL OR lock_expires_at < {now})
                 ORDER BY created_at LIMIT ?2",
                args![runs::status_column(RunStatus::Running), limit],
            )
            .await?;
        rows.iter().map(|r| Ok(RunId::from(r.text(0)?))).collect()
    }

    /// Takes the lease of run `id` for `owner` if it is free or expired; `None` when
    /// another replica holds it (or took it first).
    pub async fn claim_run(
        &self,
        id: &RunId,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        self.claim(Lease::new_run(id, owner), ttl).await
    }

    /// Takes the lease of campaign `id` for `owner` if it is free or expired; `None` when
    /// another replica holds it (or took it first).
    pub async fn claim_campaign(
        &self,
        id: &CampaignId,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        self.claim(Lease::new_campaign(id, owner), ttl).await
    }

    async fn claim(&self, lease: Lease, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let sql = match lease.kind {
            Kind::Run => {
                "UPDATE runs SET lock_owner = ?2, lock_token = ?3, lock_expires_at = {now} + ?4
                 WHERE id = ?1 AND (lock_expires_at IS NULL OR lock_expires_at < {now})"
            }
            Kind::Campaign => {
                "UPDATE campaigns SET lock_owner = ?2, lock_token = ?3, lock_expires_at = {now} + ?4
                 WHERE id = ?1 AND (lock_expires_at IS NULL OR lock_expires_at < {now})"
            }
            Kind::Named => unreachable!("named leases are claimed by claim_named"),
        };
        let args = args![
            lease.key.clone(),
            lease.owner.clone(),
            lease.token.clone(),
            ms(ttl)
        ];
        Ok((self.execute(sql, args).await? == 1).then_some(lease))
    }

    /// Takes the named lease `name` for `owner` if it is free, expired or `owner`'s
    /// already (then extended, with a new token); `None` when another replica holds it.
    pub async fn claim_named(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let lease = Lease::new(name.to_owned(), owner, Kind::Named);
        let changed = self
            .execute(
                "INSERT INTO leases (name, lock_owner, lock_token, lock_expires_at)
                 VALUES (?1, ?2, ?3, {now} + ?4)
                 ON CONFLICT (name) DO UPDATE SET lock_owner = excluded.lock_owner,
                     lock_token = excluded.lock_token, lock_expires_at = excluded.lock_expires_at
                 WHERE leases.lock_owner = excluded.lock_owner
                    OR leases.lock_expires_at IS NULL OR leases.lock_expires_at < {now}",
                args![name, owner, lease.token.clone(), ms(ttl)],
            )
            .await?;
        Ok((changed == 1).then_some(lease))
    }

    /// Extends `lease` by `ttl` from now; false when it is no longer this replica's.
    pub async fn extend(&self, lease: &Lease, ttl: Duration) -> Result<bool, StoreError> {
        let sql = match lease.kind {
            Kind::Named => {
                "UPDATE leases SET lock_expires_at = {now} + ?3 WHERE name = ?1 AND lock_token = ?2"
            }
            Kind::Run => {
                "UPDATE runs SET lock_expires_at = {now} + ?3 WHERE id = ?1 AND lock_token = ?2"
            }
            Kind::Campaign => {
                "UPDATE campaigns SET lock_expires_at = {now} + ?3 WHERE id = ?1 AND lock_token = ?2"
            }
        };
        let args = args![lease.key.clone(), lease.token.clone(), ms(ttl)];
        Ok(self.execute(sql, args).await? == 1)
    }

    /// Gives `lease` up (at the end of the work); false when it was no longer ours. The
    /// token stays until the next claim, so the last log lines of a run, still on their
    /// way, are kept.
    pub async fn release(&self, lease: &Lease) -> Result<bool, StoreError> {
        let sql = match lease.kind {
            Kind::Named => {
                "UPDATE leases SET lock_owner = NULL, lock_expires_at = NULL
                 WHERE name = ?1 AND lock_token = ?2"
            }
            Kind::Run => {
                "UPDATE runs SET lock_owner = NULL, lock_expires_at = NULL
                 WHERE id = ?1 AND lock_token = ?2"
            }
            Kind::Campaign => {
                "UPDATE campaigns SET lock_owner = NULL, lock_expires_at = NULL
                 WHERE id = ?1 AND lock_token = ?2"
            }
        };
        let args = args![lease.key.clone(), lease.token.clone()];
        Ok(self.execute(sql, args).await? == 1)
    }

    /// Gives the named lease `name` up if `owner` holds it (at shutdown).
    pub async fn release_named(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE leases SET lock_owner = NULL, lock_expires_at = NULL
                   WHERE name = ?1 AND lock_owner = ?2";
        Ok(self.execute(sql, args![name, owner]).await? == 1)
    }

    /// Frees every lease: a single replica (SQLite) starting again is the only owner there
    /// is, so what its previous process held is its own to close now.
    pub async fn free_all_leases(&self) -> Result<(), StoreError> {
        self.batch(vec![
            (
                "UPDATE runs SET lock_owner = NULL, lock_expires_at = NULL
                 WHERE lock_expires_at IS NOT NULL",
                Vec::new(),
            ),
            (
                "UPDATE campaigns SET lock_owner = NULL, lock_expires_at = NULL
                 WHERE lock_expires_at IS NOT NULL",
                Vec::new(),
            ),
            ("DELETE FROM leases", Vec::new()),
        ])
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::places;
    use gdl_model::runs::LogLevel;

    fn line(run: &Run, n: u64) -> LogLine {
        LogLine {
            run_id: run.id.clone(),
            n,
            at: chrono::Utc::now(),
            level: LogLevel::Info,
            step: None,
            message: format!("line {n}"),
        }
    }

    /// Long enough to hold during a test; short enough to have expired after a pause.
    const HOLD: Duration = Duration::from_secs(60);
    const BRIEF: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn a_run_is_one_replicas_and_the_one_that_lost_it_writes_nothing() {
        for place in places("run_leases").await {
            let store = place.open().await;
            let config = serde_json::json!({"model": "m", "max_price": 1});
            let mut run = Run::new(
                "run-1".into(),
                serde_json::from_value(config).unwrap(),
                chrono::Utc::now(),
            );
            let a = Lease::new_run(&run.id, "a");
            store.save_run_owned(&run, &a, BRIEF).await.unwrap();
            store.append_logs_owned(&[line(&run, 1)], &a).await.unwrap();
            // Held: nobody else claims it, and an unowned write is refused.
            assert!(store.extend(&a, HOLD).await.unwrap());
            assert_eq!(store.claim_run(&run.id, "b", HOLD).await.unwrap(), None);
            assert!(store.orphaned_runs(10).await.unwrap().is_empty());
            assert!(matches!(
                store.save_run(&run).await,
                Err(StoreError::Fenced(_))
            ));
            // Expired (a pause): b takes it; a's writes are refused from then on.
            store.extend(&a, BRIEF).await.unwrap();
            tokio::time::sleep(BRIEF * 3).await;
            assert_eq!(store.orphaned_runs(10).await.unwrap(), [run.id.clone()]);
            let b = store.claim_run(&run.id, "b", HOLD).await.unwrap().unwrap();
            assert_eq!(store.claim_run(&run.id, "c", HOLD).await.unwrap(), None);
            run.status = RunStatus::Interrupted;
            store.save_run_owned(&run, &b, HOLD).await.unwrap();
            let mut stale = run.clone();
            stale.status = RunStatus::Passed;
            assert!(matches!(
                store.save_run_owned(&stale, &a, HOLD).await,
                Err(StoreError::Fenced(_))
            ));
            store.append_logs_owned(&[line(&run, 2)], &a).await.unwrap();
            store.append_logs_owned(&[line(&run, 3)], &b).await.unwrap();
            assert!(!store.extend(&a, HOLD).await.unwrap(), "a's lease is gone");
            assert!(!store.release(&a).await.unwrap());
            let kept = store.run(&run.id).await.unwrap().unwrap();
            assert_eq!(kept.status, RunStatus::Interrupted);
            let logs = store.logs(&run.id, 10).await.unwrap();
            assert_eq!(logs.iter().map(|l| l.n).collect::<Vec<_>>(), [1, 3]);
            // Released: free for unowned writes (the reconciler's) and for a claim.
            assert!(store.release(&b).await.unwrap());
            store.append_logs_owned(&[line(&run, 4)], &b).await.unwrap();
            assert_eq!(
                store.logs(&run.id, 10).await.unwrap().len(),
                3,
                "late lines kept"
            );
            store.save_run(&run).await.unwrap();
        }
    }

    #[tokio::test]
    async fn named_work_and_campaigns_have_one_holder_at_a_time() {
        for place in places("named_leases").await {
            let store = place.open().await;
            let a = store.claim_named("reconciler", "a", HOLD).await.unwrap();
            let a = a.expect("free at first");
            assert!(store
                .claim_named("reconciler", "b", HOLD)
                .await
                .unwrap()
                .is_none());
            let again = store.claim_named("reconciler", "a", HOLD).await.unwrap();
            assert!(again.is_some(), "its holder takes it again");
            assert!(!store.extend(&a, HOLD).await.unwrap(), "with a new token");
            assert!(store.release(&again.unwrap()).await.unwrap());
            assert!(store
                .claim_named("reconciler", "b", HOLD)
                .await
                .unwrap()
                .is_some());

            let id = CampaignId::from("camp-1".to_owned());
            let record: gdl_model::campaigns::record::Campaign =
                serde_json::from_value(serde_json::json!({
                    "id": "camp-1", "status": "running", "created_at": chrono::Utc::now(),
                    "request": {"model": "m", "budget_usd": 1.0},
                    "candidates": [], "spend_usd": 0.0, "projected_usd": 0.0
                }))
                .unwrap();
            let mine = Lease::new_campaign(&id, "a");
            store
                .save_campaign_owned(&record, &mine, BRIEF)
                .await
                .unwrap();
            assert_eq!(store.claim_campaign(&id, "b", HOLD).await.unwrap(), None);
            tokio::time::sleep(BRIEF * 3).await;
            assert_eq!(
                store.orphaned_campaigns().await.unwrap(),
                std::slice::from_ref(&id)
            );
            let theirs = store.claim_campaign(&id, "b", HOLD).await.unwrap().unwrap();
            assert!(matches!(
                store.save_campaign_owned(&record, &mine, HOLD).await,
                Err(StoreError::Fenced(_))
            ));
            store
                .save_campaign_owned(&record, &theirs, HOLD)
                .await
                .unwrap();
            assert!(store.orphaned_campaigns().await.unwrap().is_empty());
        }
    }
}

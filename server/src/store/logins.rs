//! Logins and wrong tokens shared by replicas (PostgreSQL; docs/replicas.md, "Logins"):
//! a login is kept as the SHA-256 of its cookie with when it ends; wrong tokens as
//! (address, time) rows, read back over the throttle's window.

use super::leases::ms;
use super::{args, Store, StoreError};
use std::time::Duration;

impl Store {
    /// Keeps a login (the SHA-256 `hash` of its cookie) for `ttl`; forgets ended ones.
    pub async fn save_login(&self, hash: &str, ttl: Duration) -> Result<(), StoreError> {
        self.batch(vec![
            ("DELETE FROM logins WHERE expires_at < {now}", Vec::new()),
            (
                "INSERT INTO logins (hash, expires_at) VALUES (?1, {now} + ?2)
                 ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at",
                args![hash, ms(ttl)],
            ),
        ])
        .await?;
        Ok(())
    }

    /// How long the login `hash` has left; `None` when it ended or is unknown.
    pub async fn login_left(&self, hash: &str) -> Result<Option<Duration>, StoreError> {
        let rows = self
            .query(
                "SELECT expires_at - {now} FROM logins WHERE hash = ?1 AND expires_at > {now}",
                args![hash],
            )
            .await?;
        rows.first()
            .map(|r| {
                r.i64(0)
                    .map(|left| Duration::from_millis(left.max(0) as u64))
            })
            .transpose()
    }

    /// Ends the login `hash` (a logout).
    pub async fn delete_login(&self, hash: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM logins WHERE hash = ?1", args![hash])
            .await?;
        Ok(())
    }

    /// Counts a wrong token from `address`; forgets those older than `window`.
    pub async fn login_failed(&self, address: &str, window: Duration) -> Result<(), StoreError> {
        self.batch(vec![
            (
                "DELETE FROM login_failures WHERE at < {now} - ?1",
                args![ms(window)],
            ),
            (
                "INSERT INTO login_failures (address, at) VALUES (?1, {now})",
                args![address],
            ),
        ])
        .await?;
        Ok(())
    }

    /// How long ago each wrong token from `address` within `window` was, oldest first.
    pub async fn login_failures(
        &self,
        address: &str,
        window: Duration,
    ) -> Result<Vec<Duration>, StoreError> {
        let rows = self
            .query(
                "SELECT {now} - at FROM login_failures WHERE address = ?1 AND at >= {now} - ?2
                 ORDER BY at",
                args![address, ms(window)],
            )
            .await?;
        rows.iter()
            .map(|r| r.i64(0).map(|ago| Duration::from_millis(ago.max(0) as u64)))
            .collect()
    }

    /// A right token from `address`: it starts afresh.
    pub async fn login_succeeded(&self, address: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM login_failures WHERE address = ?1",
            args![address],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::places;
    use std::time::Duration;

    #[tokio::test]
    async fn logins_end_and_failures_are_counted_per_address() {
        for place in places("logins").await {
            let store = place.open().await;
            store
                .save_login("h1", Duration::from_secs(60))
                .await
                .unwrap();
            let left = store.login_left("h1").await.unwrap().unwrap();
            assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60));
            assert_eq!(store.login_left("h2").await.unwrap(), None);
            store.delete_login("h1").await.unwrap();
            assert_eq!(store.login_left("h1").await.unwrap(), None, "logged out");
            store.save_login("h3", Duration::ZERO).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(store.login_left("h3").await.unwrap(), None, "ended");
            let window = Duration::from_secs(900);
            for _ in 0..3 {
                store.login_failed("10.0.0.1", window).await.unwrap();
            }
            store.login_failed("10.0.0.2", window).await.unwrap();
            assert_eq!(
                store
                    .login_failures("10.0.0.1", window)
                    .await
                    .unwrap()
                    .len(),
                3
            );
            store.login_succeeded("10.0.0.1").await.unwrap();
            assert!(store
                .login_failures("10.0.0.1", window)
                .await
                .unwrap()
                .is_empty());
            assert_eq!(
                store
                    .login_failures("10.0.0.2", window)
                    .await
                    .unwrap()
                    .len(),
                1
            );
        }
    }
}

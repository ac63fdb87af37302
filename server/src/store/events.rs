//! The live events of several replicas in one order (PostgreSQL only; docs/replicas.md,
//! "One live order"). A replica appends what it publishes ([`Store::append_events`]): in one
//! transaction it takes a transaction-scoped advisory lock, numbers the rows after the
//! highest `seq` and sends `NOTIFY gdl_events` with the newest number. The lock makes the
//! numbers commit in the order they were given, so a reader that has seen `seq` n never
//! later meets a smaller number it missed. Every replica reads the rows after the last it
//! has ([`Store::events_after`]) when notified ([`Store::listen_events`]), and every second
//! anyway: a notification lost with a dropped connection costs a second, not an event.

use super::db::{self, Db};
use super::{args, Store, StoreError};
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;

/// The key of the advisory lock that orders the numbering ("gdl_evnt" in ASCII).
const NUMBERING_LOCK: i64 = 0x6764_6c5f_6576_6e74;

/// The channel replicas are told of new events on.
pub const CHANNEL: &str = "gdl_events";

/// Takes the numbering lock until the transaction ends.
const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

/// Numbers a batch after the highest `seq`, stores it and notifies [`CHANNEL`] of the
/// newest number, which it answers.
const APPEND: &str = "WITH m AS (SELECT COALESCE(max(seq), 0) AS s FROM events),
     added AS (
        INSERT INTO events (seq, at, origin, origin_n, body)
        SELECT m.s + t.k, CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT),
               $1, t.n, t.b
        FROM m, unnest($2::int8[], $3::text[]) WITH ORDINALITY AS t(n, b, k)
        RETURNING seq)
SELECT newest, pg_notify('gdl_events', newest::text)
FROM (SELECT max(seq) AS newest FROM added) n";

/// Events kept in the table: older ones are deleted as new ones come (a replica further
/// behind than this resumes from a snapshot, as a browser does).
const KEPT: i64 = 50_000;

/// An event as stored: its number, which replica published it, and that replica's count.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub origin: String,
    pub origin_n: u64,
    /// The event as JSON.
    pub body: String,
}

impl Store {
    /// Whether events go through the database (PostgreSQL): several replicas share one
    /// order. On SQLite the one process keeps the order in memory.
    pub fn shares_events(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// Appends `events` (each its publisher's count and JSON) published by `origin`,
    /// numbered in one transaction after every event committed before; the newest number.
    pub async fn append_events(
        &self,
        origin: &str,
        events: &[(u64, String)],
    ) -> Result<u64, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Err(StoreError::Task(
                "live events are shared on PostgreSQL only".into(),
            ));
        };
        let place = &*self.place;
        let err = |e| db::pg_error(place, e);
        let client = pool.get().await.map_err(|e| db::pool_error(place, e))?;
        let lock = client.prepare_cached(LOCK).await.map_err(err)?;
        let insert = client.prepare_cached(APPEND).await.map_err(err)?;
        let counts: Vec<i64> = events.iter().map(|(n, _)| *n as i64).collect();
        let bodies: Vec<&str> = events.iter().map(|(_, b)| b.as_str()).collect();
        // One round trip: the four are sent at once, in the order `futures::join!` first
        // polls them (tokio-postgres sends a request when its future is first polled) and
        // the server runs them in that order. The
        // insert numbers its rows after the lock is held, in a statement of its own, so it
        // sees every batch committed before. A failure aborts the transaction: the COMMIT
        // then rolls back, and the first error is the answer.
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&NUMBERING_LOCK];
        let batch: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&origin, &counts, &bodies];
        let (begun, locked, inserted, committed) = futures::join!(
            client.batch_execute("BEGIN"),
            client.execute(&lock, &key),
            client.query_one(&insert, &batch),
            client.batch_execute("COMMIT"),
        );
        begun.map_err(err)?;
        locked.map_err(err)?;
        let newest: i64 = inserted.map_err(err)?.get(0);
        committed.map_err(err)?;
        drop(client);
        if newest % 1000 < events.len() as i64 {
            // About once a thousand events: forget the oldest.
            self.execute("DELETE FROM events WHERE seq < ?1", args![newest - KEPT])
                .await?;
        }
        Ok(newest as u64)
    }

    /// At most `limit` events after `seq`, in order.
    pub async fn events_after(&self, seq: u64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self
            .query(
                "SELECT seq, origin, origin_n, body FROM events WHERE seq > ?1
                 ORDER BY seq LIMIT ?2",
                args![seq as i64, limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredEvent {
                    seq: r.i64(0)? as u64,
                    origin: r.text(1)?,
                    origin_n: r.i64(2)? as u64,
                    body: r.text(3)?,
                })
            })
            .collect()
    }

    /// The newest event's number (0 when there is none).
    pub async fn newest_event(&self) -> Result<u64, StoreError> {
        let rows = self
            .query("SELECT COALESCE(max(seq), 0) FROM events", Vec::new())
            .await?;
        Ok(rows.first().map(|r| r.i64(0)).transpose()?.unwrap_or(0) as u64)
    }

    /// Listens for new events on a connection of its own, outside the pool (a pooled
    /// connection would be handed to others with the LISTEN on it): each notification's
    /// number is sent on the answer. The connection is made again when it drops, after
    /// `retry`; the channel closes when the receiver is dropped. `None` on SQLite.
    pub fn listen_events(&self, retry: Duration) -> Option<mpsc::Receiver<u64>> {
        let config = self.pg_config.clone()?;
        let place = self.place.clone();
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            while !tx.is_closed() {
                if let Err(e) = listen_once(&config, &tx).await {
                    tracing::warn!(database = %place, error = %e, "the live events' listener lost its connection; it connects again (events are read every second meanwhile)");
                }
                tokio::time::sleep(retry).await;
            }
        });
        Some(rx)
    }
}

/// One listening connection, until it drops or nobody receives.
async fn listen_once(
    config: &tokio_postgres::Config,
    tx: &mpsc::Sender<u64>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if notes_tx
                        .send(n.payload().parse::<u64>().unwrap_or(0))
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    while let Some(seq) = notes.recv().await {
        if tx.send(seq).await.is_err() {
            break;
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::places;

    #[tokio::test]
    async fn events_are_numbered_in_one_order_and_announced() {
        for place in places("events").await {
            let store = place.open().await;
            if !store.shares_events() {
                assert!(store
                    .listen_events(super::Duration::from_millis(50))
                    .is_none());
                continue;
            }
            assert!(
                super::APPEND.contains(&format!("pg_notify('{}'", super::CHANNEL)),
                "the insert notifies the channel listened to"
            );
            let mut heard = store
                .listen_events(super::Duration::from_millis(50))
                .unwrap();
            // The LISTEN is in place before the first append is counted on.
            tokio::time::sleep(super::Duration::from_millis(300)).await;
            let (a, b) = (store.clone(), store.clone());
            let write = |s: crate::store::Store, origin: &'static str| async move {
                for i in 0..20u64 {
                    let batch: Vec<(u64, String)> = (0..3)
                        .map(|k| (i * 3 + k + 1, format!("{{\"n\":{}}}", i * 3 + k + 1)))
                        .collect();
                    s.append_events(origin, &batch).await.unwrap();
                }
            };
            tokio::join!(write(a, "a"), write(b, "b"));
            let all = store.events_after(0, 1000).await.unwrap();
            assert_eq!(all.len(), 120);
            let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, (1..=120).collect::<Vec<_>>(), "no gap, no repeat");
            for origin in ["a", "b"] {
                let mine: Vec<u64> = all
                    .iter()
                    .filter(|e| e.origin == origin)
                    .map(|e| e.origin_n)
                    .collect();
                assert_eq!(
                    mine,
                    (1..=60).collect::<Vec<_>>(),
                    "each origin's order kept"
                );
            }
            assert_eq!(store.events_after(118, 10).await.unwrap().len(), 2);
            assert_eq!(store.newest_event().await.unwrap(), 120);
            let mut newest = 0;
            while newest < 120 {
                newest = tokio::time::timeout(super::Duration::from_secs(5), heard.recv())
                    .await
                    .expect("a notification for each append")
                    .unwrap();
            }
        }
    }
}

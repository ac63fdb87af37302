//! The relay between a shared hub ([`Hub::shared`]) and the database's events
//! ([`crate::store::Store::append_events`]; docs/replicas.md, "One live order"): a writer
//! task stores this replica's events in batches, and a reader task reads the events after
//! the last it has, in order, into the hub: when PostgreSQL notifies a new one, and every
//! second anyway (a lost notification costs a second). A batch this replica stored that
//! directly follows the last event its hub has is applied at once, without reading it back.

use super::hub::Outgoing;
use super::Hub;
use crate::store::{Store, StoredEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Events stored in one transaction at most.
const WRITE_BATCH: usize = 64;
/// Events read at once at most.
const READ_BATCH: u32 = 500;
/// How often events are read without a notification.
const READ_EVERY: Duration = Duration::from_secs(1);

/// Starts relaying `hub`'s events through `store`, reading those after `newest` (the
/// newest stored before the replica read its state): the hub numbers from there, so a
/// browser resuming from another replica is replayed what follows.
pub fn start(hub: Hub, store: Store, newest: u64, outgoing: mpsc::UnboundedReceiver<Outgoing>) {
    let origin = hub
        .origin()
        .expect("the relay serves a shared hub")
        .to_owned();
    hub.start_at(newest);
    let wrote = Arc::new(Notify::new());
    let notes = store.listen_events(READ_EVERY);
    tokio::spawn(write(
        hub.clone(),
        store.clone(),
        origin,
        outgoing,
        wrote.clone(),
    ));
    tokio::spawn(read(hub, store, notes, wrote));
}

/// Stores this replica's events in the order published, retrying until the database takes
/// them (they stay pending in the hub meanwhile). A stored batch numbered right after the
/// hub's last event is applied at once; otherwise the reader is woken to read up to it.
async fn write(
    hub: Hub,
    store: Store,
    origin: String,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    wrote: Arc<Notify>,
) {
    while let Some(first) = outgoing.recv().await {
        let mut batch = vec![(first.n, first.body)];
        while batch.len() < WRITE_BATCH {
            match outgoing.try_recv() {
                Ok(next) => batch.push((next.n, next.body)),
                Err(_) => break,
            }
        }
        let mut waited = Duration::from_millis(100);
        let newest = loop {
            match store.append_events(&origin, &batch).await {
                Ok(newest) => break newest,
                Err(e) => {
                    tracing::warn!(events = batch.len(), error = %e, "cannot store live events; trying again");
                    tokio::time::sleep(waited).await;
                    waited = (waited * 2).min(Duration::from_secs(5));
                }
            }
        };
        let first = newest + 1 - batch.len() as u64;
        let rows = batch
            .into_iter()
            .enumerate()
            .map(|(i, (n, body))| StoredEvent {
                seq: first + i as u64,
                origin: origin.clone(),
                origin_n: n,
                body,
            });
        if !hub.apply_next(rows.collect()) {
            wrote.notify_one();
        }
    }
}

/// Reads the stored events after the hub's last into it, when told or every second.
async fn read(hub: Hub, store: Store, mut notes: Option<mpsc::Receiver<u64>>, wrote: Arc<Notify>) {
    loop {
        let noted = async {
            match notes.as_mut() {
                Some(rx) => rx.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            open = noted => if !open { notes = None },
            _ = wrote.notified() => {}
            _ = tokio::time::sleep(READ_EVERY) => {}
        }
        if let Some(rx) = notes.as_mut() {
            while rx.try_recv().is_ok() {}
        }
        loop {
            match store.events_after(hub.seq(), READ_BATCH).await {
                Ok(rows) => {
                    let full = rows.len() == READ_BATCH as usize;
                    hub.apply_stored(rows);
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the live events; trying again");
                    break;
                }
            }
        }
    }
}

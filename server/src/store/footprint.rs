//! How big the database is and when it was last written, for the health page and
//! `/metrics`: SQLite's file and write-ahead log; PostgreSQL's database size (asked in the
//! background at most every [`REFRESH`], so a health view never waits on it) and this
//! replica's last write.

use super::{Db, Store};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often PostgreSQL's size is asked.
const REFRESH: Duration = Duration::from_secs(30);

/// What is known of PostgreSQL's size (SQLite reads its files instead).
#[derive(Default)]
pub struct Footprint {
    bytes: AtomicU64,
    asked_at: Mutex<Option<Instant>>,
    asking: AtomicBool,
    last_write: Mutex<Option<DateTime<Utc>>>,
}

impl Footprint {
    pub(super) fn wrote(&self) {
        *self.last_write.lock().unwrap() = Some(Utc::now());
    }
}

impl Store {
    /// The database's size in bytes and when it was last written (`None`: unknown).
    pub fn footprint(&self) -> (u64, Option<DateTime<Utc>>) {
        match (&self.db, self.path()) {
            (Db::Sqlite(_), Some(path)) => sqlite_files(path),
            _ => {
                self.refresh_size();
                let f = &self.footprint;
                (
                    f.bytes.load(Ordering::Relaxed),
                    *f.last_write.lock().unwrap(),
                )
            }
        }
    }

    /// Asks PostgreSQL for the database's size in the background, when the last answer is
    /// older than [`REFRESH`] and no question is out.
    fn refresh_size(&self) {
        let f = &self.footprint;
        let stale = f
            .asked_at
            .lock()
            .unwrap()
            .is_none_or(|at| at.elapsed() >= REFRESH);
        if !stale || f.asking.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            f.asking.store(false, Ordering::SeqCst);
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            let asked = store
                .query("SELECT pg_database_size(current_database())", Vec::new())
                .await;
            let f = &store.footprint;
            if let Some(bytes) = asked.ok().and_then(|rows| rows.first()?.i64(0).ok()) {
                f.bytes.store(bytes.max(0) as u64, Ordering::Relaxed);
            }
            *f.asked_at.lock().unwrap() = Some(Instant::now());
            f.asking.store(false, Ordering::SeqCst);
        });
    }
}

/// The file and its write-ahead log: their size, and the newest change to either.
fn sqlite_files(db: &std::path::Path) -> (u64, Option<DateTime<Utc>>) {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let metadata: Vec<std::fs::Metadata> = [db.to_path_buf(), std::path::PathBuf::from(wal)]
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .collect();
    let newest = metadata.iter().filter_map(|m| m.modified().ok()).max();
    (
        metadata.iter().map(|m| m.len()).sum(),
        newest.map(DateTime::<Utc>::from),
    )
}

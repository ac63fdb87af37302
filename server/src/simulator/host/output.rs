//! What long commands print on the simulated host: a download's progress in ten steps, and
//! the flood fault's torrent of output.

use super::{Io, SimHost};
use std::sync::atomic::Ordering::Relaxed;

impl SimHost {
    /// The flood fault: many lines as fast as the channel takes them, then one line of
    /// 10 MB without an end.
    pub(super) async fn flood(&self, io: &Io<'_>) {
        let lines = self.faults.flood_lines.load(Relaxed);
        if lines == 0 {
            return;
        }
        let line = "layer 5f70bf18a086: extracting sha256:0123456789abcdef 47.2MB/120MB\n";
        let per_chunk = 1000u64;
        let chunk = line.repeat(per_chunk as usize);
        for _ in 0..lines / per_chunk {
            io.out(&chunk).await;
        }
        io.out(&line.repeat((lines % per_chunk) as usize)).await;
        let long = "x".repeat(1024 * 1024);
        for _ in 0..10 {
            io.out(&long).await;
        }
        io.out("\n").await;
    }

    /// Reports a download as it goes: `total_secs` (contract time) in ten steps.
    pub(super) async fn download(&self, io: &Io<'_>, what: &str, gb: f64, total_secs: f64) {
        for i in 1..=10u32 {
            tokio::time::sleep(self.scaled(total_secs / 10.0)).await;
            io.out(&format!(
                "{what}: {}% ({:.1} GB of {gb:.1} GB)\n",
                i * 10,
                gb * i as f64 / 10.0
            ))
            .await;
        }
    }
}

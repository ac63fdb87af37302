//! Every page answers whole, again and again, with requests in parallel: rendering on the
//! server never races the live store being filled with the first paint (a resource whose
//! source read the store was asked again on the server while the page was being written,
//! after its request was over, and the render panicked).

use crate::dashboard::Dashboard;
use crate::support::in_own_process;
use std::time::Duration;

/// Every route a person opens, and a few with bad or unknown ids and filters.
const PAGES: &[&str] = &[
    "/",
    "/inventory",
    "/inventory?provider=vastai&sort=vram",
    "/sessions",
    "/runs",
    "/runs?status=bogus",
    "/runs/run-unknown",
    "/deployments",
    "/deployments/dep-unknown",
    "/benchmarks",
    "/benchmarks/bench-unknown",
    "/compare?model=Qwen/Qwen2.5-0.5B-Instruct",
    "/costs",
    "/health",
    "/share",
    "/embed/status",
    "/embed/sessions",
    "/embed/orphans",
    "/embed/run",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_whole_under_parallel_requests() {
    // In its own process: beside the other tests' dashboards in this binary's process, one
    // or two of its 960 requests waited past 20 s (three full runs of three; none in nine
    // runs alone or beside the rest of the suite in another process). That is not yet
    // explained; see docs/testing.md.
    if !in_own_process("pages_render::every_page_renders_whole_under_parallel_requests").await {
        return;
    }
    let d = Dashboard::start(None).await;
    for page in PAGES {
        let mut failed = Vec::new();
        for _ in 0..60 {
            let asked: Vec<_> = (0..4)
                .map(|_| {
                    let request = d
                        .http
                        .get(format!("{}{page}", d.url))
                        .timeout(Duration::from_secs(20));
                    tokio::spawn(async move {
                        let started = std::time::Instant::now();
                        let reply = request.send().await.map_err(|e| chain(&e, started))?;
                        let status = reply.status().as_u16();
                        let body = reply.text().await.map_err(|e| chain(&e, started))?;
                        if status == 200 && body.contains("</body></html>") {
                            Ok(())
                        } else {
                            Err(format!("{status}, {} bytes", body.len()))
                        }
                    })
                })
                .collect();
            for one in asked {
                if let Err(e) = one.await.unwrap() {
                    failed.push(e);
                }
            }
        }
        assert!(failed.is_empty(), "{page}: {failed:?}");
    }
}

/// An error with its causes (a timeout and a reset connection read the same on top), and
/// when it came.
fn chain(error: &dyn std::error::Error, started: std::time::Instant) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    format!("{text} (after {:.1} s)", started.elapsed().as_secs_f64())
}

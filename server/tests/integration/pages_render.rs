//! Every page answers whole, again and again, with requests in parallel: rendering on the
//! server never races the live store being filled with the first paint (a resource whose
//! source read the store was asked again on the server while the page was being written,
//! after its request was over, and the render panicked).

use crate::dashboard::Dashboard;
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
    "/benchmarks",
    "/benchmarks/bench-unknown",
    "/compare?model=Qwen/Qwen2.5-0.5B-Instruct",
    "/costs",
    "/health",
    "/share",
    "/embed/status",
    "/embed/sessions",
    "/embed/orphans",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_whole_under_parallel_requests() {
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
                        let reply = request.send().await.map_err(|e| e.to_string())?;
                        let status = reply.status().as_u16();
                        let body = reply.text().await.map_err(|e| e.to_string())?;
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

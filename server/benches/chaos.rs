//! Chaos driver: deployment tests under every fault we can make, with the dashboard itself
//! killed (SIGKILL) and restarted, and at the end the one question that matters: is any
//! session still billing?
//!
//! `cargo bench -p server --bench chaos -- [--runs N] [--kills K] [--parallel P]
//! [--speed X] [--seed S] [--binary PATH]`
//!
//! The broker is the simulator, in this process on a loopback port (the same code as
//! `gpu-deploy-llm simulate`); the dashboard is `gpu-deploy-llm serve` of `--binary` (by
//! default `target/release/gpu-deploy-llm`) in a child process of its own, talking to the
//! broker over HTTP and to the simulated hosts over SSH as it would to a real cloud. The
//! driver keeps `P` runs going until `N` have started; meanwhile, every second or two, it
//! injects a fault at random: provisioning failures, creates that are slow and cut, the
//! broker offline, bursts of 5xx and malformed replies, every host's SSH cut, vLLM crashing
//! mid-benchmark, destroys the provider never confirms. `K` times, spread over the runs, it
//! kills the dashboard with SIGKILL and starts it again on the same data directory.
//!
//! Then the faults stop and it waits for every run to end and for the broker to hold no
//! active session. It fails (exit 1) when:
//! - a session is still active on the broker (provisioning, running or stopping) at the end;
//! - a session's reservation ran out before anything destroyed it (the broker ended it);
//! - a run has not ended, or ended without a cleanup record;
//! - a run says its cleanup was confirmed while one of its rentals is not confirmed
//!   destroyed, or the broker still has that rental active;
//! - a rental has no cost recorded.
//!
//! Everything is on 127.0.0.1 and stops by itself. `scripts/test.sh` runs a small level;
//! the documented level is `--runs 100 --kills 5` (docs/testing.md).

use gdl_model::runs::{Run, RunStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use server::simulator::{SimConfig, SimServer, Simulator};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    runs: usize,
    kills: usize,
    parallel: usize,
    speed: f64,
    seed: u64,
    binary: PathBuf,
}

impl Options {
    fn parse() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let number = |flag: &str, default: f64| {
            value(flag).map_or(default, |v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{flag} takes a number, got {v:?}"))
            })
        };
        Self {
            runs: number("--runs", 100.0) as usize,
            kills: number("--kills", 5.0) as usize,
            parallel: number("--parallel", 3.0).max(1.0) as usize,
            speed: number("--speed", 30.0),
            seed: number("--seed", 1.0) as u64,
            binary: value("--binary")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target/release/gpu-deploy-llm")),
        }
    }
}

fn main() {
    let options = Options::parse();
    assert!(
        options.binary.is_file(),
        "{} is not built (cargo leptos build --release, or --binary PATH)",
        options.binary.display()
    );
    let failures = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(chaos(&options));
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("FAIL: {f}");
        }
        std::process::exit(1);
    }
}

/// The dashboard in its child process, on a port it chose and announced.
struct Dashboard {
    child: Child,
    url: String,
}

impl Dashboard {
    fn start(binary: &Path, broker: &str, data: &Path, log: &Path) -> Self {
        let mut child = Command::new(binary)
            .args(["serve", "--addr", "127.0.0.1:0", "--shopper-url", broker])
            .arg("--data-dir")
            .arg(data)
            .args([
                "--allow-private-hosts",
                "--max-runs",
                "3",
                "--max-rentals",
                "3",
            ])
            .args(["--bench-requests", "2", "--bench-concurrency", "1"])
            .args(["--bench-max-tokens", "8", "--destroy-patience", "60"])
            .args(["--ready-timeout", "20", "--request-timeout", "10"])
            .args(["--reconcile-every", "3", "--orphan-grace-minutes", "1"])
            .args(["--breaker-open-secs", "1"])
            .env("RUST_LOG", "info")
            .env("GDL_LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = log.to_path_buf();
        // Copies the log to a file (kept for a failure's diagnosis) and finds the port.
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap();
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
                if let Some(rest) = line.split("dashboard on http://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the dashboard says where it listens");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// SIGKILL: no shutdown, no cleanup, whatever was in flight.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the dashboard is started, each time the same (its data directory kept).
struct Launch<'a> {
    binary: &'a Path,
    broker: &'a str,
    data: &'a Path,
    log: &'a Path,
}

/// Kills `dashboard` with SIGKILL, counts and says so, and starts it again after `down`.
async fn restart(
    dashboard: Dashboard,
    launch: &Launch<'_>,
    down: Duration,
    kills: &mut usize,
    of: usize,
    began: Instant,
) -> Dashboard {
    dashboard.kill();
    *kills += 1;
    println!(
        "  dashboard killed (SIGKILL) {kills}/{of} at {:.0} s",
        secs(began)
    );
    tokio::time::sleep(down).await;
    Dashboard::start(launch.binary, launch.broker, launch.data, launch.log)
}

/// What the driver did, for the report.
#[derive(Default)]
struct Tally {
    faults: BTreeMap<&'static str, u32>,
    refused_starts: u32,
}

async fn chaos(o: &Options) -> Vec<String> {
    let began = Instant::now();
    let sim = Simulator::new(SimConfig {
        speed: o.speed,
        seed: Some(o.seed),
        provision_failure_rate: 0.1,
        ..SimConfig::default()
    });
    let server = SimServer::start(sim.clone(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator starts");
    let broker = server.url();
    let work = std::env::temp_dir().join(format!("gdl-chaos-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).unwrap();
    let data = work.join("data");
    let log = work.join("dashboard.log");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut tally = Tally::default();
    let launch = Launch {
        binary: &o.binary,
        broker: &broker,
        data: &data,
        log: &log,
    };
    let mut dashboard = Dashboard::start(launch.binary, launch.broker, launch.data, launch.log);
    let mut ids: Vec<String> = Vec::new();
    let mut kills = 0;
    let mut next_fault = Instant::now() + Duration::from_secs(1);
    println!(
        "chaos: {} runs, {} dashboard kills, {} at a time, simulator speed {}, seed {}",
        o.runs, o.kills, o.parallel, o.speed, o.seed
    );

    // Keep P runs going until N have started, with faults and kills along the way.
    while ids.len() < o.runs {
        let active = running(&http, &dashboard.url).await.unwrap_or(o.parallel);
        if active < o.parallel {
            match start_run(&http, &dashboard.url).await {
                Some(id) => {
                    ids.push(id);
                    if ids.len().is_multiple_of(10) {
                        println!("  {} runs started ({:.0} s)", ids.len(), secs(began));
                    }
                }
                None => tally.refused_starts += 1,
            }
        }
        // The k-th kill once k/(K+1) of the runs have started, with runs in flight.
        if kills < o.kills && ids.len() * (o.kills + 1) >= o.runs * (kills + 1) && active > 0 {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..3000))).await;
            let down = Duration::from_millis(rng.gen_range(100..2000));
            dashboard = restart(dashboard, &launch, down, &mut kills, o.kills, began).await;
        }
        if Instant::now() >= next_fault {
            let fault = inject(&http, &broker, &mut rng).await;
            *tally.faults.entry(fault).or_default() += 1;
            next_fault = Instant::now() + Duration::from_millis(rng.gen_range(1500..4000));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    while kills < o.kills {
        dashboard = restart(
            dashboard,
            &launch,
            Duration::ZERO,
            &mut kills,
            o.kills,
            began,
        )
        .await;
    }

    // The faults stop; every run must end and nothing may be left billing.
    calm(&http, &broker).await;
    println!(
        "  all {} runs started; faults stopped at {:.0} s",
        ids.len(),
        secs(began)
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    while running(&http, &dashboard.url).await != Some(0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Pending, provisioning, running or stopping: what may still bill.
    let billing = |s: &gdl_model::shopper::Session| !s.status.is_terminal();
    while sim.sessions().iter().any(billing) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let runs = fetch_runs(&http, &dashboard.url, &ids).await;
    let sessions = sim.sessions();
    let mut failures = Vec::new();
    for s in sessions.iter().filter(|s| billing(s)) {
        failures.push(format!(
            "session {} is still {:?} on the broker",
            s.id, s.status
        ));
    }
    for id in sim.expired_sessions() {
        failures.push(format!(
            "session {id} billed until its reservation ran out: nothing destroyed it"
        ));
    }
    failures.extend(check_runs(&ids, &runs, &sessions));
    dashboard.kill();

    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for r in runs.values() {
        *statuses
            .entry(format!("{:?}", r.status).to_lowercase())
            .or_default() += 1;
    }
    let rentals: usize = runs.values().map(|r| r.rentals.len()).sum();
    let confirmed = runs
        .values()
        .flat_map(|r| &r.rentals)
        .filter(|r| r.destroyed == Some(true))
        .count();
    let unconfirmed_shown = runs
        .values()
        .filter(|r| r.cleanup.as_ref().is_some_and(|c| !c.destroyed_confirmed))
        .count();
    let cost: f64 = runs
        .values()
        .flat_map(|r| &r.rentals)
        .map(|r| r.cost_usd)
        .sum();
    println!("\nchaos: finished in {:.0} s", secs(began));
    println!("  runs started {}, ended {:?}", ids.len(), statuses);
    println!(
        "  dashboard kills {kills}; start attempts refused (3 in progress, 12 a minute, or down) {}",
        tally.refused_starts
    );
    println!("  faults injected {:?}", tally.faults);
    println!(
        "  broker sessions {}, rentals recorded {rentals}, confirmed destroyed {confirmed}, runs showing an unconfirmed cleanup {unconfirmed_shown}",
        sessions.len()
    );
    println!(
        "  sessions left active {}, ended by their reservation {}, rental cost recorded ${cost:.4}",
        sessions.iter().filter(|s| billing(s)).count(),
        sim.expired_sessions().len()
    );
    // Sessions no rental names: what the reconciler found (creates whose answer was lost,
    // sessions nothing owned) or what the broker ended itself, by how they ended.
    let named: std::collections::HashSet<_> = runs
        .values()
        .flat_map(|r| &r.rentals)
        .map(|r| r.session_id.clone())
        .collect();
    // What the reconciler destroyed because nothing owned it, from the dashboard's database
    // (the dashboard is stopped by now).
    let reconciled: std::collections::HashSet<_> = match server::store::Store::open(&data) {
        Ok(store) => store
            .reconciled(10_000)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.session.id)
            .collect(),
        Err(e) => {
            failures.push(format!("cannot read the dashboard's database: {e}"));
            Default::default()
        }
    };
    let mut unnamed: BTreeMap<String, usize> = BTreeMap::new();
    for s in sessions.iter().filter(|s| !named.contains(&s.id)) {
        let how = if reconciled.contains(&s.id) {
            "destroyed by the reconciler (nothing owned it)".to_owned()
        } else if let Some(error) = &s.error {
            // The broker ended it with a reason (its create or provisioning failed) before
            // the dashboard learnt of it: nothing of ours to destroy.
            format!("ended by the broker ({error})")
        } else {
            // Made by the broker, stopped, and known to nobody: a rental the records lost.
            failures.push(format!(
                "session {} ({}, created {}) is neither a rental of a run nor the reconciler's",
                s.id, s.status, s.created_at
            ));
            format!("unaccounted: {}", s.status)
        };
        *unnamed.entry(how).or_default() += 1;
    }
    println!("  sessions no rental names: {unnamed:?}");
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
        println!("chaos: OK, nothing left billing");
    } else {
        println!("chaos: the dashboard's log is kept in {}", log.display());
    }
    failures
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// Starts a small deployment test; `None` when the dashboard is busy or down.
async fn start_run(http: &reqwest::Client, url: &str) -> Option<String> {
    let config = json!({"model": "qwen2.5-0.5b", "max_price": 5, "reservation_hours": 12});
    let reply = http
        .post(format!("{url}/api/runs"))
        .json(&config)
        .send()
        .await
        .ok()?;
    if !reply.status().is_success() {
        return None;
    }
    let body: Value = reply.json().await.ok()?;
    body["id"].as_str().map(str::to_owned)
}

/// Runs in progress; `None` when the dashboard does not answer (killed, or starting).
async fn running(http: &reqwest::Client, url: &str) -> Option<usize> {
    let reply = http
        .get(format!("{url}/api/runs?status=running"))
        .send()
        .await
        .ok()?;
    let runs: Vec<Value> = reply.json().await.ok()?;
    Some(runs.len())
}

async fn fetch_runs(http: &reqwest::Client, url: &str, ids: &[String]) -> BTreeMap<String, Run> {
    let mut out = BTreeMap::new();
    for id in ids {
        let Ok(reply) = http.get(format!("{url}/api/runs/{id}")).send().await else {
            continue;
        };
        if let Ok(run) = reply.json::<Run>().await {
            out.insert(id.clone(), run);
        }
    }
    out
}

/// One fault at random, through the simulator's fault knobs.
async fn inject(http: &reqwest::Client, broker: &str, rng: &mut StdRng) -> &'static str {
    let faults = |body: Value| {
        let http = http.clone();
        let url = format!("{broker}/_sim/faults");
        async move {
            let mut current: Value = match http.get(&url).send().await {
                Ok(r) => r.json().await.unwrap_or(json!({})),
                Err(_) => return,
            };
            if let (Some(current), Some(change)) = (current.as_object_mut(), body.as_object()) {
                for (k, v) in change {
                    current.insert(k.clone(), v.clone());
                }
            }
            let _ = http.post(&url).json(&current).send().await;
        }
    };
    match rng.gen_range(0..9) {
        0 => {
            faults(json!({"failing_provisionings": 1})).await;
            "provisioning fails"
        }
        1 => {
            // A create that takes a while, with the broker cut in the middle of it.
            faults(json!({"create_delay_ms": 1500})).await;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1200))).await;
            let _ = http
                .post(format!("{broker}/_sim/offline"))
                .json(&json!({"ms": 1500}))
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(1600)).await;
            faults(json!({"create_delay_ms": 0})).await;
            "create cut mid-way"
        }
        2 => {
            let _ = http
                .post(format!("{broker}/_sim/offline"))
                .json(&json!({"ms": rng.gen_range(500..2500)}))
                .send()
                .await;
            "broker offline"
        }
        3 => {
            faults(json!({"error_burst": rng.gen_range(1..6), "malformed": rng.gen_range(0..3)}))
                .await;
            "5xx and malformed replies"
        }
        4 => {
            let _ = http
                .post(format!("{broker}/_sim/ssh"))
                .json(&json!({"down": true}))
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(300..2000))).await;
            let _ = http
                .post(format!("{broker}/_sim/ssh"))
                .json(&json!({"down": false}))
                .send()
                .await;
            "SSH cut"
        }
        5 => {
            faults(json!({"vllm_crash_after_requests": 2})).await;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(1000..3000))).await;
            faults(json!({"vllm_crash_after_requests": 0})).await;
            "vLLM crashes"
        }
        6 => {
            faults(json!({"unverified_destroys": 1})).await;
            "a destroy never confirmed"
        }
        7 => {
            faults(json!({"stale_creates": 1})).await;
            "stale offer"
        }
        _ => {
            faults(json!({"slow_ms": 800})).await;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(500..2500))).await;
            faults(json!({"slow_ms": 0})).await;
            "slow broker"
        }
    }
}

/// Every fault off, the broker and its hosts' SSH up.
async fn calm(http: &reqwest::Client, broker: &str) {
    let reset = json!({});
    for _ in 0..50 {
        let ok = http
            .post(format!("{broker}/_sim/faults"))
            .json(&reset)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let ssh = http
            .post(format!("{broker}/_sim/ssh"))
            .json(&json!({"down": false}))
            .send()
            .await
            .is_ok();
        if ok && ssh {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The records against the broker: every run ended, its cleanup recorded and never said
/// confirmed while a rental is not, and every rental's cost there.
fn check_runs(
    ids: &[String],
    runs: &BTreeMap<String, Run>,
    sessions: &[gdl_model::shopper::Session],
) -> Vec<String> {
    let mut failures = Vec::new();
    for id in ids {
        let Some(run) = runs.get(id) else {
            failures.push(format!("run {id} is not in the dashboard's records"));
            continue;
        };
        if !run.status.is_finished() || run.status == RunStatus::Running {
            failures.push(format!("run {id} has not ended ({:?})", run.status));
        }
        let Some(cleanup) = &run.cleanup else {
            failures.push(format!("run {id} ended without a cleanup record"));
            continue;
        };
        for rental in &run.rentals {
            let active = sessions
                .iter()
                .any(|s| s.id == rental.session_id && !s.status.is_terminal());
            if cleanup.destroyed_confirmed && (rental.destroyed != Some(true) || active) {
                failures.push(format!(
                    "run {id} says its cleanup was confirmed, but rental {} is {}",
                    rental.session_id,
                    if active {
                        "still active on the broker"
                    } else {
                        "not confirmed destroyed"
                    }
                ));
            }
            if !(rental.cost_usd.is_finite() && rental.cost_usd > 0.0) {
                failures.push(format!(
                    "run {id}: rental {} has no cost recorded ({})",
                    rental.session_id, rental.cost_usd
                ));
            }
        }
    }
    failures
}

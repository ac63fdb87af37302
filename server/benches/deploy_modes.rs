//! Time to the first served token, by deploy mode, on the embedded simulator: from the
//! Create session step's start (asking the broker) to the end of Verify deployment (the
//! first completion streamed back through the tunnel), for our Docker container and for the
//! vLLM the broker starts (entrypoint), on Vast.ai offers both.
//!
//! `cargo bench -p server --bench deploy_modes [-- SPEED RUNS]` (default 5 and 3). Every
//! simulated wait (SSH verification polls, the image pull, the model load) runs SPEED times
//! faster; the runner's own polling does not, so the contract seconds shown (real × SPEED)
//! overstate both modes a little, the lower SPEED the less. Each run uses the seed of its
//! number in both modes; everything stays on 127.0.0.1 and stops by itself.

use gdl_model::runs::{DeployMode, Run, RunStatus, StepName, TestConfig};
use server::simulator::SimConfig;
use server::Settings;
use std::time::Duration;

fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let speed = args.first().copied().unwrap_or(5.0);
    let runs = args.get(1).copied().unwrap_or(3.0) as u64;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("time to first served token on the simulator at speed {speed}, qwen2.5-0.5b on Vast.ai, {runs} runs per mode");
    println!(
        "{:>11} {:>4} {:>20} {:>10} {:>13}",
        "mode", "run", "GPU", "real s", "contract s"
    );
    for mode in [DeployMode::Docker, DeployMode::Entrypoint] {
        let mut contract = Vec::new();
        for seed in 1..=runs {
            let Some((gpu, real)) = runtime.block_on(first_token(mode, speed, seed)) else {
                println!("{:>11} {seed:>4} failed", mode.as_str());
                continue;
            };
            contract.push(real * speed);
            println!(
                "{:>11} {seed:>4} {gpu:>20} {real:>10.1} {:>13.0}",
                mode.as_str(),
                real * speed
            );
        }
        contract.sort_by(f64::total_cmp);
        if let Some(median) = contract.get(contract.len() / 2) {
            println!("{:>11} median {median:.0} contract s", mode.as_str());
        }
    }
}

/// One run in `mode`; the GPU it ran on and the real seconds to its first served token.
async fn first_token(mode: DeployMode, speed: f64, seed: u64) -> Option<(String, f64)> {
    let data_dir = std::env::temp_dir().join(format!("gdl-modes-{}", uuid::Uuid::new_v4()));
    let sim = SimConfig {
        speed,
        seed: Some(seed),
        provision_failure_rate: 0.0,
        ..SimConfig::default()
    };
    let settings = Settings::local(data_dir.clone(), sim);
    let state = server::start(settings).await.unwrap();
    let config = TestConfig {
        tune: None,
        model: "qwen2.5-0.5b".into(),
        max_price: 5.0,
        provider: Some(gdl_model::shopper::Provider::VastAi),
        quantization: None,
        reservation_hours: 1,
        gpu_count: 1,
        keep_on_failure: false,
        deploy_mode: mode,
        pin_offer: None,
        pin_gpu: None,
        capacity_search: false,
        workload: None,
        slo: None,
        search_budget_usd: None,
        search_seconds: None,
        probe: None,
        avoid_offers: Vec::new(),
        engine: Default::default(),
        engine_version: None,
        settings: Default::default(),
    };
    let id = state.dashboard.runner().start(config).await.unwrap().id;
    let done = tokio::time::timeout(Duration::from_secs(1800), async {
        loop {
            let run: Option<Run> = state
                .dashboard
                .hub()
                .with_state(|s| s.runs.get(&id).cloned());
            match run {
                Some(run) if run.status.is_finished() => return run,
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    })
    .await
    .expect("a run ends within 30 minutes");
    let _ = std::fs::remove_dir_all(&data_dir);
    if done.status != RunStatus::Passed {
        eprintln!("{} run {seed}: {:?}", mode.as_str(), done.error);
        return None;
    }
    let at = |name: StepName, end: bool| {
        let step = done.steps.iter().find(|s| s.name == name)?;
        if end {
            step.ended_at
        } else {
            step.started_at
        }
    };
    let asked = at(StepName::CreateSession, false)?;
    let served = at(StepName::VerifyDeployment, true)?;
    let gpu = done.offer.map(|o| o.gpu_type).unwrap_or_default();
    Some((gpu, (served - asked).num_milliseconds() as f64 / 1000.0))
}

//! Tuning within the Benchmark step, when the run asks for it (`tune`, issue 31): after the
//! capacity search, the engine is stopped and started again on the same host with other
//! settings, one at a time ([`crate::bench::tune`]), each measured by the same search; the
//! run's log tells each point as it is measured, and the record keeps them all.

use super::{Connected, Deps, ResolvedModel, Served};
use crate::bench::search::{Capacity, Limits};
use crate::bench::tune::{self, Restart, TunePlan};
use crate::bench::Engine;
use crate::runner::steps::install;
use crate::runner::vllm::{Deployment, Launch};
use gdl_model::engines::EngineSettings;
use gdl_model::tuning::{TuneRequest, Tuning};
use std::future::Future;
use std::time::Duration;

/// Warm-up requests after each restart, left out of the metrics.
const WARM_UP: u32 = 2;
/// How long a restarted engine may take to answer `/v1/models` once it reports healthy.
const READY: Duration = Duration::from_secs(60);

/// Restarts the run's engine on its host with other settings.
struct OnHost<'a> {
    d: &'a Deps<'a>,
    connected: &'a Connected,
    model: &'a ResolvedModel,
    api_key: &'a str,
    engine: &'a Engine,
}

impl Restart for OnHost<'_> {
    fn restart(
        &mut self,
        settings: &EngineSettings,
    ) -> impl Future<Output = Result<Engine, String>> + Send {
        let settings = settings.clone();
        async move {
            let config = self.d.ctx.config();
            let offer = &self.connected.offer;
            let launch = Launch::new(&Deployment {
                mode: config.deploy_mode,
                engine: crate::runner::engine_fit::Fit::of(&config).engine,
                model: self.model,
                gpu_count: offer.gpu_count,
                settings: &settings,
                compute_capability: compute_capability(offer),
            });
            let host = self.connected.host.as_ref();
            if let Some(stop) = launch.stop() {
                host.exec(&stop, Duration::from_secs(60))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            install::restart(self.d, host, &launch, self.api_key)
                .await
                .map_err(|e| e.message)?;
            let engine = self.engine.clone();
            engine.wait_ready(READY).await?;
            engine.warm_up(WARM_UP).await;
            Ok(engine)
        }
    }
}

fn compute_capability(offer: &super::Offer) -> Option<(u8, u8)> {
    gdl_model::gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb).map(|g| g.compute_capability)
}

/// Tunes the run's engine from its settings, whose capacity search (within `limits`) found
/// `measured`, within `request`'s budget; logs each point. The engine is left as the last trial left
/// it: the run's cleanup follows.
pub async fn run(
    d: &Deps<'_>,
    connected: &Connected,
    served: &Served,
    model: &ResolvedModel,
    engine: &Engine,
    (measured, limits): (Capacity, Limits),
    request: TuneRequest,
) -> Tuning {
    let config = d.ctx.config();
    // An FP8 KV cache is tried on Ada and newer (compute capability 8.9 and up), where the
    // GPUs have FP8 arithmetic; older cards convert in software, when they can at all.
    let fp8_cache = compute_capability(&connected.offer).is_some_and(|cc| cc >= (8, 9));
    let plan = TunePlan {
        usd_budget: request.usd_budget,
        time_budget: Duration::from_secs(request.seconds.into()),
        search: limits,
        restart_estimate: Duration::from_secs(60),
        fp8_cache,
        settle: false,
    };
    d.ctx.info(&format!(
        "Tuning: engine settings tried one restart at a time on this host, within ${:.2} and {} s{}",
        request.usd_budget,
        request.seconds,
        if fp8_cache {
            ""
        } else {
            " (no FP8 KV cache on this GPU)"
        }
    ));
    let mut on_host = OnHost {
        d,
        connected,
        model,
        api_key: served.api_key.as_str(),
        engine,
    };
    let tuning = tune::tune(
        &mut on_host,
        engine,
        &config.settings,
        Some(measured),
        &plan,
        |point| {
            let result = match (&point.error, point.capacity) {
                (Some(why), _) => format!("did not serve: {why}"),
                (None, Some(c)) => format!(
                    "capacity {c}{}",
                    point
                        .usd_per_million_output_tokens
                        .map(|u| format!(" · ${u:.3}/1M tokens"))
                        .unwrap_or_default()
                ),
                (None, None) => "no level met the SLOs".into(),
            };
            d.ctx.info(&format!(
                "Tuning, {}: {result} ({:.0} s, ${:.4})",
                point.change, point.seconds, point.cost_usd
            ));
        },
    )
    .await;
    let winner = tuning.winner();
    d.ctx.info(&format!(
        "Tuning ended ({:?}) after {:.0} s and ${:.4}: best {}{}",
        tuning.stop,
        tuning.seconds,
        tuning.cost_usd,
        winner.change,
        tuning
            .gain()
            .map(|g| format!(", {g:.2}× the capacity of the run's settings"))
            .unwrap_or_default()
    ));
    tuning
}

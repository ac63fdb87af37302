//! Tuning within the Benchmark step, when the run asks for it (`tune`, issue 31): after the
//! capacity search, the engine is stopped and started again on the same host with other
//! settings, one at a time ([`crate::bench::tune`]), each measured by the same search; the
//! run's log tells each point as it is measured, and the record keeps them all.
//!
//! A deployment tunes before it opens, or while it serves when asked
//! (`runner::serving::retune`): its engine is left running the best point, and [`settled`]
//! makes that point the run's configuration, so it serves, restarts after a crash and
//! resumes after a dashboard's restart with it.

use super::{Deps, ResolvedModel, Served};
use crate::bench::search::{Capacity, Limits};
use crate::bench::tune::{self, Restart, TunePlan};
use crate::bench::Engine;
use crate::runner::host::RemoteHost;
use crate::runner::steps::install;
use crate::runner::vllm::{Deployment, Launch};
use gdl_model::engines::EngineSettings;
use gdl_model::registry::Quantization;
use gdl_model::runs::OfferChoice;
use gdl_model::tuning::{TuneRequest, Tuning};
use std::future::Future;
use std::time::Duration;

/// Warm-up requests after each restart, left out of the metrics.
const WARM_UP: u32 = 2;
/// How long a restarted engine may take to answer `/v1/models` once it reports healthy.
const READY: Duration = Duration::from_secs(60);

/// What tuning works on: the run's host and GPU, its engine as started and measured.
#[derive(Clone, Copy)]
pub struct On<'a> {
    pub host: &'a dyn RemoteHost,
    pub gpu: &'a OfferChoice,
    pub served: &'a Served,
    pub model: &'a ResolvedModel,
    pub engine: &'a Engine,
}

/// Restarts the run's engine on its host with other settings.
struct OnHost<'a> {
    d: &'a Deps<'a>,
    on: On<'a>,
}

/// How the run's engine starts on `gpu` with `settings` and, when given, its weights
/// quantized as `weights` says (the same checkpoint, loaded otherwise).
fn launch_for(
    d: &Deps<'_>,
    offer: &OfferChoice,
    model: &ResolvedModel,
    settings: &EngineSettings,
    weights: Option<Quantization>,
) -> Launch {
    let config = d.ctx.config();
    let model = ResolvedModel {
        quantization: weights.unwrap_or(model.quantization),
        ..model.clone()
    };
    Launch::new(&Deployment {
        mode: config.deploy_mode,
        engine: crate::runner::engine_fit::Fit::of(&config).engine,
        model: &model,
        gpu_count: offer.gpu_count,
        settings,
        compute_capability: compute_capability(offer),
    })
}

impl Restart for OnHost<'_> {
    fn restart(
        &mut self,
        settings: &EngineSettings,
        weights: Option<Quantization>,
    ) -> impl Future<Output = Result<Engine, String>> + Send {
        let settings = settings.clone();
        async move {
            let On {
                host,
                gpu,
                served,
                model,
                engine,
            } = self.on;
            let launch = launch_for(self.d, gpu, model, &settings, weights);
            if let Some(stop) = launch.stop() {
                host.exec(&stop, Duration::from_secs(60))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            install::restart(self.d, host, &launch, served.api_key.as_str())
                .await
                .map_err(|e| e.message)?;
            let engine = engine.clone();
            engine.wait_ready(READY).await?;
            engine.warm_up(WARM_UP).await;
            Ok(engine)
        }
    }
}

/// The most copies of `model` that can serve side by side on `gpus` GPUs of `vram_gb`
/// each: a number above one dividing them, each copy's share still holding the model
/// ([`ResolvedModel::fits`]); `None` when only one copy over all of them does.
pub fn copies_to_try(model: &ResolvedModel, vram_gb: u32, gpus: u32) -> Option<u32> {
    (2..=gpus)
        .rev()
        .find(|n| gpus.is_multiple_of(*n) && model.fits(gpus / n, vram_gb, gpus))
}

fn compute_capability(offer: &OfferChoice) -> Option<(u8, u8)> {
    gdl_model::gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb).map(|g| g.compute_capability)
}

/// Tunes the run's engine `on` its host from its settings, whose capacity search (within
/// `limits`) found `measured` (`None`: measured first, as part of tuning), within
/// `request`'s budget; logs each point. With `settle` (a deployment, which serves next)
/// the engine is left running the best point; otherwise as the last trial left it (the
/// run's cleanup follows).
pub async fn run(
    d: &Deps<'_>,
    on: On<'_>,
    (measured, limits): (Option<Capacity>, Limits),
    request: TuneRequest,
    settle: bool,
) -> Tuning {
    let On {
        gpu, model, engine, ..
    } = on;
    let config = d.ctx.config();
    // An FP8 KV cache and FP8 weights are tried on Ada and newer (compute capability 8.9
    // and up), where the GPUs have FP8 arithmetic; older cards convert in software, when
    // they can at all. Weights are quantized only from 16 bits (a 4-bit checkpoint stays).
    let fp8_cache = compute_capability(gpu).is_some_and(|cc| cc >= (8, 9));
    let fp8_weights = fp8_cache && model.quantization == Quantization::None;
    let plan = TunePlan {
        usd_budget: request.usd_budget,
        time_budget: Duration::from_secs(request.seconds.into()),
        search: limits,
        restart_estimate: Duration::from_secs(60),
        fp8_cache,
        fp8_weights,
        copies: copies_to_try(model, gpu.vram_gb, config.gpu_count),
        settle,
    };
    d.ctx.info(&format!(
        "Tuning: engine settings tried one restart at a time on this host, within ${:.2} and {} s{}",
        request.usd_budget,
        request.seconds,
        match (fp8_cache, fp8_weights) {
            (false, _) => " (no FP8 on this GPU)",
            (true, false) => " (the weights are already quantized)",
            (true, true) => "",
        }
    ));
    if let Some(n) = plan.copies {
        d.ctx.info(&format!(
            "Tuning: {n} copies of the model side by side are tried too, each on {} of the {} GPUs",
            config.gpu_count / n,
            config.gpu_count
        ));
    }
    let mut on_host = OnHost { d, on };
    let tuning = tune::tune(
        &mut on_host,
        engine,
        &config.settings,
        measured,
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

/// After a deployment's tuning, which left its engine running the best point: that point's
/// settings and weights become the run's configuration (so a restart after a crash and a
/// dashboard's resume start the engine as it serves now) and the deployment's settings; the
/// launch returned is the one serving restarts with.
pub async fn settled(
    d: &Deps<'_>,
    gpu: &OfferChoice,
    served: Served,
    model: &ResolvedModel,
    tuning: &Tuning,
    live: &crate::deploy::Live,
) -> Served {
    let best = tuning.winner();
    if tuning.best == 0 {
        d.ctx
            .info("Serving with its own settings: tuning found none better");
        return served;
    }
    let (settings, weights) = (best.settings.clone(), best.weights);
    d.ctx
        .update(|run| {
            run.config.settings = settings.clone();
            if let Some(q) = weights {
                run.config.quantization = Some(q.as_str().to_owned());
            }
        })
        .await;
    // Weights quantized by an earlier tuning are the run's own now: still FP8.
    let loaded = weights.or(Some(model.quantization).filter(|q| *q == Quantization::Fp8));
    let words = gdl_model::tuning::setup_words(&best.settings, loaded);
    live.change(|x| x.settings = words.clone());
    d.ctx.info(&format!(
        "Serving with the best settings tuning found: {} ({words})",
        best.change
    ));
    Served {
        launch: launch_for(d, gpu, model, &best.settings, best.weights),
        api_key: served.api_key,
    }
}

#[cfg(test)]
mod tests {
    use super::copies_to_try;
    use gdl_model::registry::{resolve, Quantization};

    #[test]
    fn copies_are_tried_where_each_share_of_the_gpus_holds_the_model() {
        // 21 GB on one GPU, 11 on each of two.
        let m = resolve("qwen2.5-7b", Quantization::None).unwrap();
        assert_eq!(copies_to_try(&m, 24, 1), None, "one GPU");
        assert_eq!(copies_to_try(&m, 24, 2), Some(2), "a copy on each");
        assert_eq!(copies_to_try(&m, 16, 2), None, "only split over both");
        assert_eq!(copies_to_try(&m, 24, 4), Some(4));
        assert_eq!(copies_to_try(&m, 12, 4), Some(2), "two copies of two GPUs");
        assert_eq!(copies_to_try(&m, 24, 3), Some(3));
    }
}

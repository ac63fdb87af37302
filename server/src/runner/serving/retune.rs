//! A serving deployment tuned when asked (`POST /api/deployments/{id}/tune`, issue 31): its
//! serving loop closes the gateway (status `tuning`), measures the engine with its settings
//! and tries others one restart at a time on the same host ([`tune`]), then serves again
//! with the best point.

use super::{Ending, Link, Ticket};
use crate::runner::host::RemoteHost;
use crate::runner::steps::{tune, Deps, Served, Target};
use gdl_model::deployments::DeploymentStatus;
use gdl_model::tuning::{TuneRequest, Tuning};

/// Tunes the engine as asked while it serves (`POST /api/deployments/{id}/tune`), the
/// gateway refusing requests meanwhile (status `tuning`); it serves with the best point
/// after, and `served` says how to start it again. A stop or a shutdown asked meanwhile
/// ends it (the run's cleanup follows, as ever).
pub(super) async fn tune_now(
    d: &Deps<'_>,
    link: &Link<'_>,
    served: &mut Served,
    t: &Ticket,
    request: TuneRequest,
) -> Option<Ending> {
    let live = &t.live;
    live.change(|x| x.status = DeploymentStatus::Tuning);
    t.registry.flush(live).await;
    d.ctx
        .info("Tuning asked while serving: the gateway refuses requests until it ends");
    let host = link.again.as_deref().unwrap_or(link.first);
    let tuned = tokio::select! {
        tuned = while_serving(d, host, served, &link.target, request, live) => tuned,
        _ = live.stop.cancelled() => return Some(Ending::requested()),
        _ = d.ctx.cancel_token().cancelled() => return Some(Ending::shutdown(link.sealed)),
    };
    match tuned {
        Ok((tuning, settled)) => {
            *served = settled;
            let usd = tuning.winner().usd_per_million_output_tokens;
            live.change(|x| {
                x.benchmark_usd_per_mtok = usd.or(x.benchmark_usd_per_mtok);
                x.tuning = Some(tuning);
            });
        }
        Err(why) => d.ctx.warn(&format!("Tuning could not begin: {why}")),
    }
    live.change(|x| x.status = DeploymentStatus::Serving);
    t.registry.flush(live).await;
    None
}

/// Tunes a serving deployment's engine on its `host` as `request` says, the gateway closed
/// meanwhile (its status says tuning): the capacity search with the run's settings first,
/// then the trials, the engine left running the best point, which then becomes the run's
/// configuration ([`tune::settled`]). The tuning and how the engine starts from now on; or why
/// it could not begin (the engine is untouched then).
async fn while_serving(
    d: &Deps<'_>,
    host: &dyn RemoteHost,
    served: &Served,
    target: &Target,
    request: TuneRequest,
    live: &crate::deploy::Live,
) -> Result<(Tuning, Served), String> {
    let config = d.ctx.config();
    let plan = crate::runner::validate(&config).map_err(|e| e.to_string())?;
    let gpu = d
        .ctx
        .read(|run| run.offer.clone())
        .ok_or("its run chose no offer")?;
    let http = crate::runner::loadgen::host_client(None);
    let (engine, _) =
        crate::runner::steps::benchmark::engine_for(d, http, target, gpu.price_per_hour).await;
    let on = tune::On {
        host,
        gpu: &gpu,
        served,
        model: &plan.model,
        engine: &engine,
    };
    let limits = crate::runner::steps::benchmark::search_limits(&config);
    let tuning = tune::run(d, on, (None, limits), request, true).await;
    let settled = tune::settled(d, &gpu, served.clone(), &plan.model, &tuning, live).await;
    Ok((tuning, settled))
}

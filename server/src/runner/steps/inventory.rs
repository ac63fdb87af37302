//! Step 2, Query inventory: every offer with enough VRAM per GPU, enough GPUs, at or under
//! the price, on the chosen provider, that the run's engine version can run
//! (`runner::engine_fit`: the driver's CUDA, kernels for the GPU, the quantization), each
//! reason an offer was left out counted in the log. The broker's own `min_cuda` filter is
//! not used: it would hide the offers it drops from that count (and drops every offer
//! that reports no CUDA version, all but Vast.ai's). The entrypoint mode asks Vast.ai only:
//! the broker starts vLLM itself nowhere else.

use super::{Deps, Offers, ResolvedModel};
use crate::runner::engine_fit::{split, Fit, Verdict};
use crate::runner::error::StepError;
use gdl_model::code::ErrorCode;
use gdl_model::shopper::{InventoryQuery, Provider};

/// Past runs whose rentals inform the ranking.
const HISTORY_RUNS: u32 = 500;

pub async fn run(d: &Deps<'_>, model: &ResolvedModel) -> Result<Offers, StepError> {
    let test = d.ctx.config();
    let fit = Fit::of(&test);
    let engine = fit.engine;
    let provider = if test.deploy_mode.broker_launched() {
        Some(Provider::VastAi)
    } else {
        test.provider.clone()
    };
    // Each copy of the model (one unless the settings serve several side by side) is split
    // over its share of the GPUs, so each GPU holds that share's part of it.
    let per_gpu = model.vram_per_gpu(test.settings.gpus_per_copy(test.gpu_count));
    let query = InventoryQuery {
        provider: provider.clone(),
        min_vram: Some(per_gpu),
        max_price: Some(test.max_price),
        min_gpu_count: Some(test.gpu_count.max(1)),
        ..Default::default()
    };
    let offers = d.client.inventory_all(&query).await?;
    // What the engine cannot run (the driver's CUDA, no kernels for the GPU, the
    // quantization): left out before anything is rented, each reason counted.
    // A pinned offer the engine cannot run is refused here, saying why: not "gone".
    if let Some(pinned) = test
        .pin_offer
        .as_ref()
        .and_then(|id| offers.iter().find(|o| o.id.as_str() == id.as_str()))
    {
        if let Verdict::Cannot(why) = fit.check(pinned) {
            return Err(StepError::new(
                ErrorCode::NoOffers,
                format!(
                    "the offer you chose ({}, {}) cannot run {} {}: {}",
                    pinned.id,
                    pinned.gpu_type,
                    engine.engine.label(),
                    engine.version,
                    why.reason()
                ),
            )
            .hint("Pick an offer of another GPU on the Inventory tab, or leave the offer to the test."));
        }
    }
    let (offers, left) = split(offers, engine, &fit.quantization);
    if let Some(summary) = left.summary() {
        d.ctx.info(&format!(
            "{summary} ({} {} cannot run them)",
            engine.engine.label(),
            engine.version
        ));
    }
    if left.unknown_gpus > 0 {
        d.ctx.info(&format!(
            "{} offers of GPUs our catalogue does not know: kept, their architecture unchecked",
            left.unknown_gpus
        ));
    }
    let on = provider
        .as_ref()
        .map(|p| format!(" on {}", p.label()))
        .unwrap_or_default();
    if offers.is_empty() {
        return Err(StepError::new(
            ErrorCode::NoOffers,
            format!(
                "no offers with at least {} GB VRAM per GPU and {} GPU(s) at or under ${:.2}/h{on}",
                per_gpu,
                test.gpu_count.max(1),
                test.max_price
            ),
        )
        .hint("Raise the price, pick another provider, or choose a smaller or quantized model."));
    }
    d.ctx.info(&format!(
        "Found {} offers with ≥ {} GB VRAM per GPU under ${:.2}/h{on}",
        offers.len(),
        per_gpu,
        test.max_price
    ));
    // Kept from recent runs, a store that cannot be read ranks as if it had none.
    let history = match d.ctx.store().recent_runs(HISTORY_RUNS).await {
        Ok(runs) => super::select::History::from_runs(&runs),
        Err(e) => {
            d.ctx
                .warn(&format!("Ranking without our rental history: {e}"));
            Default::default()
        }
    };
    Ok(Offers {
        query,
        offers,
        history,
        fit,
    })
}

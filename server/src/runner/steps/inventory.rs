//! Step 2, Query inventory: every offer with enough VRAM per GPU, enough GPUs, at or under
//! the price, on the chosen provider, whose driver can run the vLLM build ([`MIN_CUDA`]).
//! The broker's `min_cuda` filter also drops offers that do not report a CUDA version (all
//! but Vast.ai's), so it is asked for only on Vast.ai; elsewhere offers that report an older
//! version are dropped here; so are offers of GPUs the deployed vLLM has no kernels for, or
//! cannot run the quantization on (`runner::engine_fit`). The entrypoint mode asks Vast.ai only: the broker starts vLLM
//! itself nowhere else.

use super::{Deps, Offers, ResolvedModel};
use crate::runner::engine_fit::{check, split, Verdict};
use crate::runner::error::StepError;
use crate::runner::vllm::MIN_CUDA;
use gdl_model::code::ErrorCode;
use gdl_model::shopper::{InventoryQuery, Provider};

/// Past runs whose rentals inform the ranking.
const HISTORY_RUNS: u32 = 500;

pub async fn run(d: &Deps<'_>, model: &ResolvedModel) -> Result<Offers, StepError> {
    let test = d.ctx.config();
    let provider = if test.deploy_mode.broker_launched() {
        Some(Provider::VastAi)
    } else {
        test.provider.clone()
    };
    let query = InventoryQuery {
        provider: provider.clone(),
        min_vram: Some(model.vram_per_gpu(test.gpu_count)),
        max_price: Some(test.max_price),
        min_gpu_count: Some(test.gpu_count.max(1)),
        min_cuda: (provider == Some(Provider::VastAi)).then_some(MIN_CUDA),
        ..Default::default()
    };
    let listed = d.client.inventory_all(&query).await?;
    let (offers, old): (Vec<_>, Vec<_>) = listed
        .into_iter()
        .partition(|o| o.cuda_version.is_none_or(|v| v >= MIN_CUDA));
    if !old.is_empty() {
        d.ctx.info(&format!(
            "Left out {} offers whose driver supports only CUDA below {MIN_CUDA} (vLLM needs it)",
            old.len()
        ));
    }
    // What the deployed vLLM cannot run (no kernels for the GPU, or the quantization):
    // left out before anything is rented, each reason counted.
    let engine = crate::runner::engine_fit::deployed();
    let quantization = test.quantization.as_deref().unwrap_or("none");
    // A pinned offer the engine cannot run is refused here, saying why: not "gone".
    if let Some(pinned) = test
        .pin_offer
        .as_ref()
        .and_then(|id| offers.iter().find(|o| o.id.as_str() == id.as_str()))
    {
        if let Verdict::Cannot(why) = check(pinned, engine, quantization) {
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
    let (offers, left) = split(offers, engine, quantization);
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
                model.vram_per_gpu(test.gpu_count),
                test.gpu_count.max(1),
                test.max_price
            ),
        )
        .hint("Raise the price, pick another provider, or choose a smaller or quantized model."));
    }
    d.ctx.info(&format!(
        "Found {} offers with ≥ {} GB VRAM per GPU under ${:.2}/h{on}",
        offers.len(),
        model.vram_per_gpu(test.gpu_count),
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
    })
}

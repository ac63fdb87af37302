//! Step 2, Query inventory: every offer with enough VRAM per GPU, enough GPUs, at or under
//! the price, on the chosen provider.

use super::{Deps, Offers, ResolvedModel};
use crate::runner::error::StepError;
use gdl_model::code::ErrorCode;
use gdl_model::shopper::InventoryQuery;

pub async fn run(d: &Deps<'_>, model: &ResolvedModel) -> Result<Offers, StepError> {
    let test = d.ctx.config();
    let query = InventoryQuery {
        provider: test.provider.clone(),
        min_vram: Some(model.vram_gb),
        max_price: Some(test.max_price),
        min_gpu_count: Some(test.gpu_count.max(1)),
        ..Default::default()
    };
    let offers = d.client.inventory_all(&query).await?;
    let on = test
        .provider
        .as_ref()
        .map(|p| format!(" on {}", p.label()))
        .unwrap_or_default();
    if offers.is_empty() {
        return Err(StepError::new(
            ErrorCode::NoOffers,
            format!(
                "no offers with at least {} GB VRAM and {} GPU(s) at or under ${:.2}/h{on}",
                model.vram_gb,
                test.gpu_count.max(1),
                test.max_price
            ),
        )
        .hint("Raise the price, pick another provider, or choose a smaller or quantized model."));
    }
    d.ctx.info(&format!(
        "Found {} offers with ≥ {} GB VRAM under ${:.2}/h{on}",
        offers.len(),
        model.vram_gb,
        test.max_price
    ));
    Ok(Offers { query, offers })
}

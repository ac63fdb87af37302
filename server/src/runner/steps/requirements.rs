//! Step 1, Calculate requirements: says what the model needs (VRAM from weights and KV
//! cache, the checkpoint served, a gated licence) and that the broker is ready.

use super::{Deps, ResolvedModel};
use crate::runner::error::StepError;
use crate::runner::Plan;
use gdl_model::runs::StepName;

pub async fn run(d: &Deps<'_>, plan: Plan) -> Result<ResolvedModel, StepError> {
    let model = plan.model;
    d.ctx
        .detail(
            StepName::CalculateRequirements,
            format!(
                "{} ({}): {} GB VRAM = {} GB weights + {} GB KV cache and runtime",
                model.name,
                model.quantization.label(),
                model.vram_gb,
                model.weights_gb,
                model.overhead_gb
            ),
        )
        .await;
    if model.served_repo != model.model {
        d.ctx.info(&format!(
            "Serving the pre-quantized checkpoint {}",
            model.served_repo
        ));
    }
    if model.gated {
        d.ctx.warn(
            "This model is gated on Hugging Face: the host needs an accepted licence and a token",
        );
    }
    d.ctx.info("Checking that the broker is ready");
    d.client.wait_for_ready().await?;
    Ok(model)
}

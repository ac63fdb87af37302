//! Step 1, Calculate requirements: says what the model needs (VRAM from weights and KV
//! cache, the checkpoint served), asks the Hugging Face Hub whether it is gated or private
//! (refusing it without a token, before anything is rented) and that the broker is ready.

use super::{Deps, ResolvedModel};
use crate::runner::error::StepError;
use crate::runner::hub;
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
    ask_the_hub(d, &model).await?;
    d.ctx.info("Checking that the broker is ready");
    d.client.wait_for_ready().await?;
    Ok(model)
}

/// Asks the Hub whether the served repository is gated or private; a Hub that cannot be
/// asked is said and the run goes on (the host's download is then the test), unless the
/// model registry knows the model is gated and there is no token.
async fn ask_the_hub(d: &Deps<'_>, model: &ResolvedModel) -> Result<(), StepError> {
    let access = &d.config.hub;
    let repo = &model.served_repo;
    match hub::ask(access, repo).await {
        Ok(answer) => {
            let mode = d.ctx.config().deploy_mode;
            let note = hub::judge(
                repo,
                &access.endpoint,
                &answer,
                access.token.is_some(),
                mode,
            )?;
            d.ctx.info(&note);
        }
        Err(why) => {
            d.ctx.warn(&format!(
                "could not ask the Hub ({}) whether {repo} is gated: {why}; going on",
                access.endpoint
            ));
            // The model registry knows its gated presets: judged as the Hub would answer.
            if model.gated {
                let known = hub::HubAnswer::Listed {
                    gated: Some("per the model registry".into()),
                    private: false,
                };
                let mode = d.ctx.config().deploy_mode;
                let has_token = access.token.is_some();
                let note = hub::judge(repo, hub::DEFAULT_ENDPOINT, &known, has_token, mode)?;
                d.ctx.info(&note);
            }
        }
    }
    Ok(())
}

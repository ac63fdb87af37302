//! The Tune card: a serving deployment's engine tuned on its host when asked (the same as
//! `POST /api/deployments/{id}/tune` and `gpu-deploy-llm tune`). A plain form, posted
//! without JavaScript too; the status and the "Tuned while serving" line follow live.

use crate::components::ErrorNote;
use crate::functions::TuneDeployment;
use gdl_model::deployments::{Deployment, DeploymentStatus};
use gdl_model::tuning::DEFAULT_TUNE_SECONDS;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The card, while the deployment serves or tunes.
#[component]
pub fn TuneCard(d: Memo<Deployment>) -> impl IntoView {
    let tune = ServerAction::<TuneDeployment>::new();
    let status = Memo::new(move |_| d.with(|d| d.status));
    let id = d.with_untracked(|d| d.id.to_string());
    let outcome = move || {
        match tune.value().get() {
        Some(Ok(Ok(_))) => Some(
            view! { <p class="small ok" data-testid="tune-asked">"Asked: it tunes now, refusing requests until it serves again with the best settings."</p> }
                .into_any(),
        ),
        Some(Ok(Err(error))) | Some(Err(crate::error::AppError(error))) => {
            Some(view! { <ErrorNote error/> }.into_any())
        }
        None => None,
    }
    };
    let shown = move || {
        matches!(
            status.get(),
            DeploymentStatus::Serving | DeploymentStatus::Tuning
        )
    };
    move || {
        let id = id.clone();
        shown().then(move || view! {
            <section class="card tune" data-testid="deployment-tune">
                <h2>"Tune its engine"</h2>
                <p class="muted small">
                    "Restarts the engine on this GPU with other settings, one at a time (KV cache, memory share, sequences at once, FP8 weights), each judged by its capacity at the SLOs, and serves with the best. Requests are refused meanwhile; the money and time are at most what you give here."
                </p>
                <ActionForm action=tune>
                    <input type="hidden" name="id" value=id/>
                    <div class="fields">
                        <label>
                            "Budget ($)"
                            <input type="number" name="usd_budget" min="0.01" max="100" step="0.01"
                                required data-testid="deployment-tune-usd"/>
                        </label>
                        <label>
                            "At most (s)"
                            <input type="number" name="seconds" value=DEFAULT_TUNE_SECONDS.to_string()
                                min="60" max="7200" step="1"/>
                        </label>
                    </div>
                    <div class="actions">
                        <button type="submit" data-testid="deployment-tune-button"
                            disabled=move || tune.pending().get() || status.get() != DeploymentStatus::Serving>
                            {move || if status.get() == DeploymentStatus::Tuning { "Tuning…" } else { "Tune" }}
                        </button>
                    </div>
                </ActionForm>
                {outcome}
            </section>
        })
    }
}

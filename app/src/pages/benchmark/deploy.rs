//! The benchmark page's Deploy card (issue 31): keep the benchmark's model serving on the
//! GPU type it was measured on (from any provider), with the best settings its tuning found (or
//! the test's own), stopped by the guards given here; the price is on the button.
//!
//! A plain form: without JavaScript it posts to `/_fn/deploy_benchmark` and follows the
//! redirect to the deployment's page; hydrated, the action does the same.

use crate::components::{ErrorNote, GuardFields};
use crate::format;
use crate::functions::{outcome, DeployBenchmark};
use gdl_model::runs::BenchmarkRecord;
use gdl_model::tuning::setup_words;
use leptos::prelude::*;

/// The card, for a benchmark one of our runs measured.
#[component]
pub fn DeployCard(r: BenchmarkRecord) -> impl IntoView {
    let deploy = ServerAction::<DeployBenchmark>::new();
    let error = move || deploy.value().get().and_then(|r| outcome(r).err());
    let own = setup_words(&r.engine_settings, None);
    let best = r
        .tuning
        .as_ref()
        .filter(|t| t.best > 0)
        .map(|t| t.winner().words());
    let settings = match &best {
        Some(best) => format!("the best settings its tuning found ({best})"),
        None if r.tuning.is_some() => {
            format!("its own settings, which tuning did not beat ({own})")
        }
        None => format!("the settings it was measured with ({own})"),
    };
    let what = format!(
        "Keeps {} serving behind this dashboard's OpenAI-compatible endpoint on {} (measured on {}), the cheapest such offer of any provider now, with {settings}.",
        r.model,
        format::gpu(&r.gpu_type, r.gpu_count),
        r.provider.label(),
    );
    let label = if best.is_some() {
        "Deploy with the best settings"
    } else {
        "Deploy with these settings"
    };
    let price = format::per_hour(r.price_per_hour);
    view! {
        <section class="card" data-testid="deploy-benchmark">
            <h2>"Deploy this"</h2>
            <p>{what}</p>
            <ActionForm action=deploy attr:class="deploy-benchmark">
                <input type="hidden" name="id" value=r.id.to_string()/>
                <div class="fields">
                    <GuardFields/>
                    {best.is_some().then(|| view! {
                        <label class="check">
                            <input type="checkbox" name="own_settings" value="true"/>
                            {format!("With the test's own settings instead ({own})")}
                        </label>
                    })}
                </div>
                <div class="actions">
                    <button type="submit" data-testid="deploy-benchmark-button" disabled=move || deploy.pending().get()
                        title="Rent, start and verify as a test does, then keep it serving until a guard stops it">
                        {move || if deploy.pending().get() {
                            "Deploying…".to_owned()
                        } else {
                            format!("{label} (measured at {price})")
                        }}
                    </button>
                </div>
            </ActionForm>
            {move || error().map(|e| view! { <ErrorNote error=e/> })}
        </section>
    }
}

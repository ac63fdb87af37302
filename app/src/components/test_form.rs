use crate::components::engine_fields::EngineFields;
use crate::components::ErrorNote;
use crate::functions::{outcome, CancelRun, StartRun};
use crate::live::use_live;
use gdl_model::registry::{Quantization, PRESETS};
use gdl_model::runs::DeployMode;
use gdl_model::shopper::Provider;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The model the form starts with: the smallest preset, quick to load.
const DEFAULT_MODEL: &str = "Qwen/Qwen2.5-0.5B-Instruct";

/// The test configuration form: model, provider, quantization, max $/h, reservation
/// hours, the engine with its version and settings, keep the instance on failure. Run starts a deployment test; Cancel stops the
/// one in progress.
#[component]
pub fn TestForm() -> AnyView {
    let store = use_live();
    let start = ServerAction::<StartRun>::new();
    let cancel = ServerAction::<CancelRun>::new();
    let running = move || {
        store.client.with(|c| {
            c.live
                .current_run()
                .filter(|r| !r.status.is_finished())
                .map(|r| r.id.clone())
        })
    };
    let error = move || {
        let started = start.value().get().and_then(|r| outcome(r).err());
        started.or_else(|| cancel.value().get().and_then(|r| outcome(r).err()))
    };
    view! {
        <section class="card test-form">
            <h2>"Deployment test"</h2>
            <ActionForm action=start>
                <div class="fields">
                    <label title="A preset, or any Hugging Face id that names its size (owner/Model-7B-Instruct)">
                        "Model"
                        <input type="text" name="config[model]" list="test-models" value=DEFAULT_MODEL
                            required autocomplete="off" spellcheck="false"
                            placeholder="qwen2.5-7b or owner/name"/>
                        <datalist id="test-models">
                            {PRESETS
                                .iter()
                                .map(|p| view! { <option value=p.id>{format!("{} ({} B)", p.name, p.params_b)}</option> })
                                .collect_view()}
                        </datalist>
                    </label>
                    <label>
                        "Provider"
                        <select name="config[provider]">
                            <option value="">"Any"</option>
                            {Provider::KNOWN
                                .iter()
                                .map(|p| {
                                    view! { <option value=p.as_str().to_owned()>{p.label().to_owned()}</option> }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "Quantization"
                        <select name="config[quantization]">
                            {Quantization::ALL
                                .iter()
                                .map(|q| view! { <option value=q.as_str()>{q.label()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "Max $/h"
                        <input type="number" name="config[max_price]" value="0.50" min="0.01" max="100" step="0.01" required/>
                    </label>
                    <label>
                        "Reservation (h)"
                        <input type="number" name="config[reservation_hours]" value="1" min="1" max="12" step="1" required/>
                    </label>
                    <label>
                        "GPUs"
                        <input type="number" name="config[gpu_count]" value="1" min="1" max="8" step="1" required/>
                    </label>
                    <EngineFields/>
                    <label>
                        "Start the engine with"
                        <select name="config[deploy_mode]">
                            {DeployMode::ALL
                                .into_iter()
                                .map(|m| view! { <option value=m.as_str() selected=m == DeployMode::default()>{m.label()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label class="check">
                        <input type="checkbox" name="config[keep_on_failure]" value="true"/>
                        "Keep the instance if the test fails"
                    </label>
                    <label class="check" title="The highest concurrency within p95 TTFT ≤ 1 s, p95 TPOT ≤ 100 ms and ≥ 99 % success, at most 64 and 5 minutes: the $ per 1M tokens there is the headline figure">
                        <input type="checkbox" name="config[capacity_search]" value="true"/>
                        "Find the capacity at the SLOs (longer)"
                    </label>
                </div>
                <div class="actions">
                    <button type="submit" disabled=move || running().is_some() || start.pending().get()>
                        {move || if start.pending().get() { "Starting…" } else { "Run test ▶" }}
                    </button>
                    {move || {
                        running()
                            .map(|id| {
                                view! {
                                    <button
                                        type="button"
                                        class="danger"
                                        on:click=move |_| {
                                            cancel.dispatch(CancelRun { id: id.clone() });
                                        }
                                    >
                                        "Cancel run"
                                    </button>
                                }
                            })
                    }}
                </div>
            </ActionForm>
            {move || error().map(|e| view! { <ErrorNote error=e/> })}
        </section>
    }    .into_any()
}

use crate::components::engine_fields::EngineFields;
use crate::components::workload_fields::WorkloadFields;
use crate::components::{ErrorNote, GuardFields};
use crate::functions::{outcome, CancelRun, Deploy, StartRun};
use crate::live::use_live;
use gdl_model::registry::{Quantization, PRESETS};
use gdl_model::runs::DeployMode;
use gdl_model::shopper::Provider;
use gdl_model::tuning::DEFAULT_TUNE_SECONDS;
use leptos::prelude::*;

/// The model the form starts with: the smallest preset, quick to load.
const DEFAULT_MODEL: &str = "Qwen/Qwen2.5-0.5B-Instruct";

/// The test configuration form: model, provider, quantization, max $/h, reservation
/// hours, the engine with its version and settings, keep the instance on failure. Run
/// starts a deployment test; Cancel stops the one in progress; Deploy keeps the same
/// configuration serving behind the gateway, with its guards (idle minutes, max spend, max
/// lifetime), and goes to the deployment's page.
///
/// A plain form: without JavaScript, Run posts to `/_fn/start_run` and Deploy (its
/// `formaction`) to `/_fn/deploy`; hydrated, the submit is sent as the button pressed asks.
#[component]
pub fn TestForm() -> AnyView {
    let store = use_live();
    let start = ServerAction::<StartRun>::new();
    let deploy = ServerAction::<Deploy>::new();
    let cancel = ServerAction::<CancelRun>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        use leptos::form::FromFormData;
        ev.prevent_default();
        let deploying = ev
            .submitter()
            .is_some_and(|b| b.has_attribute("data-deploy"));
        // Decoding fails only when the page is out of date: the server says what is wrong.
        if deploying {
            if let Ok(asked) = Deploy::from_event(&ev) {
                deploy.dispatch(asked);
            }
        } else if let Ok(asked) = StartRun::from_event(&ev) {
            start.dispatch(asked);
        }
    };
    let busy = move || start.pending().get() || deploy.pending().get();
    // A test in progress; a deployment's run is not one (its page stops it).
    let running = move || {
        store.client.with(|c| {
            let deploying =
                |id: &gdl_model::ids::RunId| c.live.deployments.values().any(|d| d.run_id == *id);
            c.live
                .runs_newest_first()
                .into_iter()
                .find(|r| !r.status.is_finished() && !deploying(&r.id))
                .map(|r| r.id)
        })
    };
    let error = move || {
        let started = start.value().get().and_then(|r| outcome(r).err());
        let deployed = || deploy.value().get().and_then(|r| outcome(r).err());
        started
            .or_else(deployed)
            .or_else(|| cancel.value().get().and_then(|r| outcome(r).err()))
    };
    view! {
        <section class="card test-form">
            <h2>"Deployment test"</h2>
            <form action="/_fn/start_run" method="post" on:submit=submit>
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
                    <WorkloadFields/>
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
                    <label title="After the capacity search, try engine settings one restart at a time on the same rental (KV cache, memory share, sequences at once, FP8 weights) and keep the one with the most capacity at the SLOs, spending at most this much; with Deploy, before it opens, and it serves with the best; empty: no tuning">
                        "Tune the engine, $ budget"
                        <input type="number" name="config[tune][usd_budget]" min="0.01" max="100" step="0.01"
                            placeholder="off" data-testid="tune-usd"/>
                    </label>
                    <label title="The longest tuning may take, seconds (60–7,200)">
                        "Tune for at most (s)"
                        <input type="number" name="config[tune][seconds]" value=DEFAULT_TUNE_SECONDS.to_string()
                            min="60" max="7200" step="1" required/>
                    </label>
                </div>
                <fieldset class="deploy-guards">
                    <legend>"Deploy: keep it serving until"</legend>
                    <GuardFields/>
                    <label class="check">
                        <input type="checkbox" name="benchmark" value="true"/>
                        "Benchmark first (its $ per 1M tokens is shown beside what serving costs)"
                    </label>
                </fieldset>
                <div class="actions">
                    <button type="submit" disabled=move || running().is_some() || busy()>
                        {move || if start.pending().get() { "Starting…" } else { "Run test ▶" }}
                    </button>
                    <button type="submit" class="secondary" formaction="/_fn/deploy" data-deploy=""
                        data-testid="deploy" disabled=busy
                        title="Rent, start and verify as a test does, then keep it serving behind this dashboard's OpenAI-compatible endpoint">
                        {move || if deploy.pending().get() { "Deploying…" } else { "Deploy" }}
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
            </form>
            {move || error().map(|e| view! { <ErrorNote error=e/> })}
        </section>
    }    .into_any()
}

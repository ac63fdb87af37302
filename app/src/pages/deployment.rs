//! One deployment (`/deployments/{id}`): what it is and what stops it first, its endpoint
//! with copyable examples, its live meter, its guards (editable while it runs), its keys,
//! and Stop. Rendered on the server with the deployment's data; the live channel keeps it
//! current (no polling).

mod endpoint;
pub(super) mod examples;
mod guards;
mod keys;
mod tune;
pub(super) mod words;

use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{ErrorNote, Loaded};
use crate::format;
use crate::functions::{get_deployment, outcome, DeploymentPage as Page, StopDeployment};
use crate::live::use_live;
use gdl_model::deployments::Deployment;
use gdl_model::ids::DeploymentId;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// One deployment, live.
#[component]
pub fn DeploymentPage() -> impl IntoView {
    view! {
        <LiveToolbar title="Deployment"/>
        <LiveContent loading="Loading the deployment…" content=content/>
    }
}

fn content() -> AnyView {
    let params = use_params_map();
    let id = move || DeploymentId::from(params.with(|p| p.get("id").unwrap_or_default()));
    let page = Resource::new(id, get_deployment);
    view! {
        <Loaded reply=page fallback="Reading the deployment…" let:answer>
            <Shown answer/>
        </Loaded>
    }
    .into_any()
}

/// The deployment as the live state has it (as read when it has none), and each part of
/// the page drawn again only when what it shows changes.
#[component]
fn Shown(answer: Page) -> impl IntoView {
    let store = use_live();
    let Page { deployment, fresh } = answer;
    let id = deployment.id.clone();
    let d = Memo::new(move |_| {
        store
            .client
            .with(|c| c.live.deployments.get(&id).cloned())
            .unwrap_or_else(|| deployment.clone())
    });
    // A key made for this person: the first one after Deploy, or one made with New key.
    let made = RwSignal::new(fresh);
    view! {
        <Summary d/>
        <endpoint::Endpoint d made/>
        <Meter d/>
        <guards::GuardsCard d/>
        <tune::TuneCard d/>
        <keys::Keys d made/>
    }
}

/// Status, what stops it first and when (or why it ended), where it runs, its run, Stop.
#[component]
fn Summary(d: Memo<Deployment>) -> impl IntoView {
    let store = use_live();
    let stop = ServerAction::<StopDeployment>::new();
    let status = move || d.with(|d| d.status);
    let finished = Memo::new(move |_| status().is_finished());
    let ends = move || {
        let now = words::now(store.now_ms.get());
        d.with(|d| words::ends(d, now)).map(|(_, text)| text)
    };
    let refused = move || stop.value().get().and_then(|r| outcome(r).err());
    let stopping = move || {
        let id = d.with_untracked(|d| d.id.to_string());
        view! {
            <details class="confirm-stop">
                <summary class="button danger" data-testid="stop">"Stop…"</summary>
                <p>"Stop it now? Its GPU is given back (the session destroyed and confirmed); the endpoint answers no more."</p>
                <ActionForm action=stop>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="danger" data-testid="confirm-stop"
                        disabled=move || stop.pending().get()>"Yes, stop it"</button>
                </ActionForm>
            </details>
        }
    };
    view! {
        <section class="card deployment" data-deployment=move || d.with(|d| d.id.to_string())
            data-status=move || status().as_str()>
            <h2>{move || d.with(|d| d.model.clone())}</h2>
            <p class="muted small">
                {move || d.with(|d| format!("{} · ", d.engine))}
                <span data-testid="deployment-settings">
                    {move || d.with(|d| if d.settings.is_empty() { "the engine's defaults".to_owned() } else { d.settings.clone() })}
                </span>
                {move || d.with(|d| format!(" · {}", d.id))}
            </p>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd><span class="dep-status" data-status=move || status().as_str()
                    data-testid="deployment-status">{move || words::status(status())}</span></dd>
                <Show when=move || !finished.get()>
                    <dt>"Stops"</dt>
                    <dd data-testid="deployment-ends">
                        {move || ends().unwrap_or_else(|| "when a guard is reached (it has not served yet)".into())}
                    </dd>
                </Show>
                <Show when=move || finished.get()>
                    <dt>"Ended"</dt>
                    <dd data-testid="stop-reason">{move || d.with(ended)}</dd>
                </Show>
                <dt>"Runs on"</dt>
                <dd>{move || d.with(words::placement)}</dd>
                <dt>"Price"</dt>
                <dd>{move || d.with(|d| d.price_per_hour.map(format::per_hour).unwrap_or_else(|| "not rented yet".into()))}</dd>
                <dt>"Provisioned by"</dt>
                <dd>{move || d.with(|d| {
                    let run = d.run_id.to_string();
                    view! { <a href=format!("/runs/{run}") data-testid="deployment-run">{format!("run {run}")}</a> }
                })}</dd>
                <dt>"Started"</dt>
                <dd>{move || d.with(|d| format::timestamp(&d.created_at))}</dd>
                {move || d.with(|d| d.tuning.as_ref().map(words::tuned)).map(|t| view! {
                    <dt>"Tuned while serving"</dt>
                    <dd data-testid="deployment-tuning">{t}</dd>
                })}
            </dl>
            {move || d.with(|d| d.message.clone()).filter(|_| !finished.get()).map(|m| view! {
                <p class="muted small">{m}</p>
            })}
            {move || (!finished.get()).then(stopping)}
            {move || refused().map(|error| view! { <ErrorNote error/> })}
        </section>
    }
}

/// Why and when it ended, in words.
fn ended(d: &Deployment) -> String {
    let reason = d
        .stop_reason
        .map(|r| r.label().to_owned())
        .unwrap_or_else(|| "it ended".into());
    let when = d
        .ended_at
        .map(|t| format!(" ({})", format::timestamp(&t)))
        .unwrap_or_default();
    let message = d
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    format!("{reason}{when}{message}")
}

/// What the gateway counted, and what serving has cost per 1M output tokens beside the
/// benchmark's estimate.
#[component]
fn Meter(d: Memo<Deployment>) -> impl IntoView {
    let m = move || d.with(|d| d.meter.clone());
    let ms = |v: Option<f64>| v.map(format::latency_ms).unwrap_or_else(|| "—".into());
    let pair = move |p50: fn(&gdl_model::deployments::Meter) -> Option<f64>,
                     p95: fn(&gdl_model::deployments::Meter) -> Option<f64>| {
        move || {
            let m = m();
            match (p50(&m), p95(&m)) {
                (None, None) => "— (streamed requests only)".to_owned(),
                (a, b) => format!("{} / {}", ms(a), ms(b)),
            }
        }
    };
    let served = move || {
        d.with(|d| match d.served_usd_per_mtok() {
            Some(usd) => words::per_mtok(usd),
            None => "— (no output tokens yet)".into(),
        })
    };
    let estimate = move || d.with(|d| d.benchmark_usd_per_mtok).map(words::per_mtok);
    view! {
        <section class="card meter">
            <h2>"Usage"</h2>
            <dl class="facts">
                <dt>"Requests"</dt>
                <dd data-testid="meter-requests" data-n=move || m().requests>
                    {move || format::count(m().requests as usize, "request", "requests")}
                </dd>
                <dt>"Errors"</dt>
                <dd data-testid="meter-errors">{move || format::count(m().errors as usize, "error", "errors")}</dd>
                <dt>"Tokens in"</dt>
                <dd>{move || format!("{} input tokens", m().input_tokens)}</dd>
                <dt>"Tokens out"</dt>
                <dd data-testid="meter-output">{move || format!("{} output tokens", m().output_tokens)}</dd>
                <dt>"Time to first token (p50 / p95)"</dt>
                <dd>{pair(|m| m.ttft_p50_ms, |m| m.ttft_p95_ms)}</dd>
                <dt>"Time per output token (p50 / p95)"</dt>
                <dd>{pair(|m| m.tpot_p50_ms, |m| m.tpot_p95_ms)}</dd>
                <dt>"Spend so far"</dt>
                <dd data-testid="meter-spend" data-usd=move || d.with(|d| d.spend_usd)>
                    {move || format!("{} (rent, provisioning included)", d.with(|d| format::small_usd(d.spend_usd)))}
                </dd>
                <dt>"Served cost"</dt>
                <dd data-testid="served-cost">{served}</dd>
                <dt>"Benchmark's estimate"</dt>
                <dd>{move || estimate().unwrap_or_else(|| "— (deploy with “Benchmark first” to have one)".into())}</dd>
            </dl>
            <p class="muted small">"Served cost is the rent so far over the output tokens served: it falls as the GPU is kept busy."</p>
        </section>
    }
}

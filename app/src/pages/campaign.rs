//! One campaign (`/campaigns/{id}`), live: what it measures and under which budgets, the
//! spend against the budget, each candidate's step, spend and measurement beside its
//! estimate, then the frontier of what was measured, the recommendation with how sure it
//! is, and the break-even against a serverless API. Rendered on the server with the
//! campaign's record; the live channel keeps it current (no polling).

mod answer;
mod candidates;

use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{ErrorNote, Loaded};
use crate::format;
use crate::functions::{get_campaign, outcome, StopCampaign};
use crate::live::use_live;
use gdl_model::campaigns::record::Campaign;
use gdl_model::ids::CampaignId;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// One campaign, live.
#[component]
pub fn CampaignPage() -> impl IntoView {
    view! {
        <LiveToolbar title="Campaign"/>
        <LiveContent loading="Loading the campaign…" content=content/>
    }
}

fn content() -> AnyView {
    let params = use_params_map();
    let id = move || CampaignId::from(params.with(|p| p.get("id").unwrap_or_default()));
    let page = Resource::new(id, get_campaign);
    view! {
        <Loaded reply=page fallback="Reading the campaign…" let:campaign>
            <Shown campaign/>
        </Loaded>
    }
    .into_any()
}

/// The campaign as the live state has it (as read when it has none).
#[component]
fn Shown(campaign: Campaign) -> impl IntoView {
    let store = use_live();
    let id = campaign.id.clone();
    let c = Memo::new(move |_| {
        store
            .client
            .with(|s| s.live.campaigns.get(&id).cloned())
            .unwrap_or_else(|| campaign.clone())
    });
    view! {
        <Summary c/>
        <candidates::Candidates c/>
        <answer::AnswerCard c/>
    }
}

/// What it measures, the spend against the budget, its message, Stop and the bundle.
#[component]
fn Summary(c: Memo<Campaign>) -> impl IntoView {
    let stop = ServerAction::<StopCampaign>::new();
    let status = move || c.with(|c| c.status);
    let finished = Memo::new(move |_| status().is_finished());
    let refused = move || stop.value().get().and_then(|r| outcome(r).err());
    let id = move || c.with(|c| c.id.to_string());
    let spend = move || c.with(|c| c.spend_usd);
    let budget = move || c.with(|c| c.request.budget_usd);
    let slo = move || {
        c.with(|c| {
            format!(
                "p95 time to first token ≤ {}, p95 time per output token ≤ {}",
                format::latency_ms(c.request.slo.ttft_p95_ms),
                format::latency_ms(c.request.slo.tpot_p95_ms)
            )
        })
    };
    let stopping = move || {
        view! {
            <details class="confirm-stop">
                <summary class="button danger" data-testid="stop-campaign">"Stop…"</summary>
                <p>"Stop it now? Its runs are cancelled and their GPUs given back (destroyed and confirmed); what was measured is kept and answered."</p>
                <ActionForm action=stop>
                    <input type="hidden" name="id" value=id()/>
                    <button type="submit" class="danger" data-testid="confirm-stop-campaign"
                        disabled=move || stop.pending().get()>"Yes, stop it"</button>
                </ActionForm>
            </details>
        }
    };
    view! {
        <section class="card campaign" data-campaign=id data-status=move || status().as_str()>
            <h2>{move || c.with(|c| c.request.model.clone())}</h2>
            <p class="muted small">{move || c.with(|c| format!("{} · {}", c.request.engine, c.id))}</p>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd><span class="dep-status" data-status=move || status().as_str()
                    data-testid="campaign-status">{move || status().as_str()}</span></dd>
                <dt>"Workload"</dt>
                <dd>{move || c.with(|c| c.request.workload.label())}</dd>
                <dt>"SLOs"</dt>
                <dd>{slo}</dd>
                <dt>"Spend"</dt>
                <dd data-testid="campaign-spend" data-usd=spend data-budget=budget>
                    <progress max=budget value=spend></progress>
                    " "{move || format!("{} of ${:.2} (projected {})", format::small_usd(spend()),
                        budget(), c.with(|c| format::small_usd(c.projected_usd)))}
                </dd>
                <dt>"Limits"</dt>
                <dd>{move || c.with(|c| format!("{} rentals at once, {} minutes at most",
                    c.request.parallel, c.request.time_budget_minutes))}</dd>
                <dt>"Started"</dt>
                <dd>{move || c.with(|c| format::timestamp(&c.created_at))}</dd>
            </dl>
            {move || c.with(|c| c.message.clone()).map(|m| view! {
                <p class="message" data-testid="campaign-message">{m}</p>
            })}
            <p class="downloads">
                <a href=move || format!("/api/campaigns/{}/bundle", id()) download=move || format!("{}.json", id())
                    data-testid="campaign-bundle">"Download the bundle"</a>
                " (what it asked, the candidates with their prices, and the command that runs it again)"
            </p>
            {move || (!finished.get()).then(stopping)}
            {move || refused().map(|error| view! { <ErrorNote error/> })}
        </section>
    }
}

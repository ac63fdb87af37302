//! The Campaigns tab: a new campaign (the model, the budgets, the workload and SLOs; Plan
//! lists the candidates ranked by estimate, each one can be left out, then Start), and
//! every campaign, newest first, live.

mod new;

use super::live_page::{appeared_or_ended, laid_over, LiveContent};
use crate::components::Loaded;
use crate::format;
use crate::functions::get_campaigns;
use crate::live::use_live;
use gdl_model::campaigns::record::{Campaign, CandidateStatus};
use gdl_model::compare::Goal;
use leptos::prelude::*;

/// The form and the list.
#[component]
pub fn CampaignsPage() -> impl IntoView {
    view! {
        <div class="toolbar">
            <h1>"Campaigns"</h1>
        </div>
        <LiveContent loading="Reading the campaigns…" content=content/>
    }
}

/// Drawn once the first paint is in the live store (the rows read it).
fn content() -> AnyView {
    let store = use_live();
    // Asked again when a campaign appears or ends.
    let changed = crate::live::changes(move || {
        store
            .client
            .with(|c| appeared_or_ended(&c.live.campaigns, |v| v.status.is_finished()))
    });
    let stored = Resource::new(move || changed.get(), |_| get_campaigns());
    view! {
        <new::NewCampaign/>
        <Loaded reply=stored fallback="Reading the campaigns…" let:list>
            <Table stored=list/>
        </Loaded>
    }
    .into_any()
}

#[component]
fn Table(stored: Vec<Campaign>) -> impl IntoView {
    let store = use_live();
    let all = Memo::new(move |_| {
        store
            .client
            .with(|c| laid_over(&stored, &c.live.campaigns, |v| (v.created_at, v.id.clone())))
    });
    move || {
        let list = all.get();
        if list.is_empty() {
            return view! {
                <section class="card">
                    <p class="empty" data-campaigns="0">
                        "No campaigns yet. Plan one above: it rents several GPU types at once under your budget and tells you which serves the model cheapest at your latency target."
                    </p>
                </section>
            }
            .into_any();
        }
        let count = list.len();
        let rows = list.into_iter().map(|c| view! { <Row c/> }).collect_view();
        view! {
            <section class="card table-wrap">
                <table class="campaigns" data-campaigns=count>
                    <thead>
                        <tr>
                            <th>"Campaign"</th>
                            <th>"Status"</th>
                            <th>"Model"</th>
                            <th class="num">"Measured"</th>
                            <th class="num">"Spend"</th>
                            <th>"Cheapest at the SLO"</th>
                            <th>"Started"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
        .into_any()
    }
}

#[component]
fn Row(c: Campaign) -> impl IntoView {
    let id = c.id.to_string();
    let measured = c
        .candidates
        .iter()
        .filter(|s| s.status == CandidateStatus::Measured)
        .count();
    let cheapest = c
        .answer
        .as_ref()
        .and_then(|a| {
            let r = a
                .comparison
                .recommendations
                .iter()
                .find(|r| r.goal == Goal::Cost)?;
            let p = a.comparison.points.get(r.point)?;
            Some(format!(
                "{} on {}, ${:.3} / 1M{}",
                format::gpu(&p.gpu_type, p.gpu_count),
                p.provider.label(),
                p.usd_per_million,
                a.doubt(Goal::Cost)
            ))
        })
        .unwrap_or_else(|| "—".into());
    view! {
        <tr data-campaign=id.clone() data-status=c.status.as_str()>
            <td><a href=format!("/campaigns/{id}")><code>{id.clone()}</code></a></td>
            <td><span class="dep-status" data-status=c.status.as_str()>{c.status.as_str()}</span></td>
            <td>{c.request.model.clone()}</td>
            <td class="num">{format!("{measured} of {}", c.candidates.len())}</td>
            <td class="num">{format!("{} of ${:.2}", format::small_usd(c.spend_usd), c.request.budget_usd)}</td>
            <td>{cheapest}</td>
            <td>{format::timestamp(&c.created_at)}</td>
        </tr>
    }
}

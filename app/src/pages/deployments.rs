//! The Deployments tab: every deployment, newest first, live: status, model, where it runs,
//! its price, spend, requests, idle time, and what stops it first with the time left.

use super::deployment::words;
use super::live_page::{appeared_or_ended, laid_over, LiveContent};
use crate::components::Loaded;
use crate::format;
use crate::functions::get_deployments;
use crate::live::use_live;
use chrono::{DateTime, Utc};
use gdl_model::deployments::Deployment;
use leptos::prelude::*;

/// Every deployment: as stored, with each one the live state holds as it is now.
#[component]
pub fn DeploymentsPage() -> impl IntoView {
    view! {
        <div class="toolbar">
            <h1>"Deployments"</h1>
        </div>
        <LiveContent loading="Reading the deployments…" content=content/>
    }
}

/// The table, drawn once the first paint is in the live store: the rows read the store, so
/// on the server they must come after it is written (a row drawn before would be asked
/// again, after its request was over, when the first paint arrived).
fn content() -> AnyView {
    let store = use_live();
    // Asked again when a deployment appears or ends.
    let changed = crate::live::changes(move || {
        store
            .client
            .with(|c| appeared_or_ended(&c.live.deployments, |v| v.status.is_finished()))
    });
    let stored = Resource::new(move || changed.get(), |_| get_deployments());
    view! {
        <Loaded reply=stored fallback="Reading the deployments…" let:list>
            <Table stored=list/>
        </Loaded>
    }
    .into_any()
}

#[component]
fn Table(stored: Vec<Deployment>) -> impl IntoView {
    let store = use_live();
    let all = Memo::new(move |_| {
        store.client.with(|c| {
            laid_over(&stored, &c.live.deployments, |v| {
                (v.created_at, v.id.clone())
            })
        })
    });
    move || {
        let list = all.get();
        if list.is_empty() {
            return view! {
                <section class="card">
                    <p class="empty" data-deployments="0">
                        "No deployments yet. On the dashboard, fill in the test form and press Deploy: the model then keeps serving behind an OpenAI-compatible endpoint until a guard stops it."
                    </p>
                </section>
            }
            .into_any();
        }
        let count = list.len();
        let rows = list.into_iter().map(|d| view! { <Row d/> }).collect_view();
        view! {
            <section class="card table-wrap">
                <table class="deployments" data-deployments=count>
                    <thead>
                        <tr>
                            <th>"Deployment"</th>
                            <th>"Status"</th>
                            <th>"Model"</th>
                            <th>"GPU"</th>
                            <th class="num">"Price"</th>
                            <th class="num">"Spend"</th>
                            <th class="num">"Requests"</th>
                            <th>"Idle for"</th>
                            <th>"Stops"</th>
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
fn Row(d: Deployment) -> impl IntoView {
    let store = use_live();
    let id = d.id.to_string();
    let status = d.status;
    let stops = {
        let d = d.clone();
        move || stops(&d, words::now(store.now_ms.get()))
    };
    let idle = {
        let d = d.clone();
        move || words::idle(&d, words::now(store.now_ms.get())).unwrap_or_else(|| "—".into())
    };
    view! {
        <tr data-deployment=id.clone() data-status=status.as_str()>
            <td><a href=format!("/deployments/{id}")><code>{id.clone()}</code></a></td>
            <td><span class="dep-status" data-status=status.as_str()>{words::status(status)}</span></td>
            <td>{d.model.clone()}<span class="muted small engine">{format!(" · {}", d.engine)}</span></td>
            <td>{words::placement(&d)}</td>
            <td class="num">{d.price_per_hour.map(format::per_hour).unwrap_or_else(|| "—".into())}</td>
            <td class="num">{format::small_usd(d.spend_usd)}</td>
            <td class="num">{d.meter.requests}</td>
            <td>{idle}</td>
            <td class="stops">{stops}</td>
        </tr>
    }
}

/// The Stops column: time left and the guard, or why it ended.
fn stops(d: &Deployment, now: DateTime<Utc>) -> String {
    if d.status.is_finished() {
        return match d.stop_reason {
            Some(r) => format!("ended: {}", r.label()),
            None => "ended".into(),
        };
    }
    words::ends(d, now)
        .map(|(_, text)| text)
        .unwrap_or_else(|| "when a guard is reached".into())
}

use crate::components::ErrorNote;
use crate::format;
use crate::functions::get_costs;
use gdl_model::costs::{CostParams, CostReport, CostSource, CostTotals};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeMap;

/// What renting cost: today, this month or a range of days (`/costs?period=range&from=...
/// &to=...`), by provider and GPU, from the broker's summary when it answers and from our
/// own records beside it, and each run's cost.
#[component]
pub fn CostsPage() -> impl IntoView {
    let query = use_query_map();
    let params =
        move || query.with(|q| CostParams::from_pairs(q.into_iter().map(|(k, v)| (k.as_ref(), v))));
    let data = Resource::new(params, get_costs);
    view! {
        <div class="toolbar">
            <h1>"Costs"</h1>
        </div>
        {move || view! { <PeriodForm p=params()/> }}
        <Transition fallback=|| view! { <p class="muted">"Adding up what was rented…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Ok(report)) => view! { <Report report/> }.into_any(),
                    Ok(Err(e)) | Err(crate::error::AppError(e)) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The period, as a plain GET form.
#[component]
fn PeriodForm(p: CostParams) -> impl IntoView {
    let period = p.period.clone().unwrap_or_else(|| "month".into());
    let option = move |value: &'static str, label: &'static str, chosen: &str| {
        view! { <option value=value selected=chosen == value>{label}</option> }
    };
    view! {
        <form class="card filters" method="get" action="/costs" data-costs-form="">
            <label>"Period"
                <select name="period">
                    {option("today", "today", &period)}
                    {option("month", "this month", &period)}
                    {option("range", "from … to …", &period)}
                </select>
            </label>
            <label>"From"
                <input type="date" name="from" value=p.from.clone().unwrap_or_default()/>
            </label>
            <label>"To"
                <input type="date" name="to" value=p.to.clone().unwrap_or_default()/>
            </label>
            <div class="actions">
                <button type="submit">"Show"</button>
            </div>
        </form>
    }
}

#[component]
fn Report(report: CostReport) -> impl IntoView {
    let headline = report.headline().clone();
    let (source, source_class) = match report.source {
        CostSource::Broker => ("the broker's figure (what it bills by the hour)", "broker"),
        CostSource::Ours => ("our own records (price × time of each rental)", "ours"),
    };
    let fallback = report.broker_error.clone().map(|e| {
        view! {
            <p class="muted small" data-broker-error=e.code.clone()>
                {format!("The broker's cost summary is not available ({}), so these are our own records.", e.message)}
            </p>
        }
    });
    let ours_beside = report.broker.is_some().then(|| {
        format!(
            "Our own records: {} over {} rentals.",
            format::small_usd(report.ours.total_usd),
            report.ours.sessions
        )
    });
    view! {
        <section class="card cost-total" data-source=source_class data-total=headline.total_usd>
            <h2>{format!("{}: {}", capitalised(&report.window.label()), format::small_usd(headline.total_usd))}</h2>
            <p class="muted small">{format!("{} sessions · {source}", headline.sessions)}</p>
            {ours_beside.map(|t| view! { <p class="muted small" data-ours=report.ours.total_usd>{t}</p> })}
            {fallback}
        </section>
        <div class="grid">
            <Breakdown title="By provider" rows=headline.by_provider.clone() kind="provider"/>
            <Breakdown title="By GPU" rows=headline.by_gpu.clone() kind="gpu"/>
        </div>
        <RunCosts report/>
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Totals by one key, most expensive first.
#[component]
fn Breakdown(
    title: &'static str,
    rows: BTreeMap<String, f64>,
    kind: &'static str,
) -> impl IntoView {
    let mut rows: Vec<(String, f64)> = rows.into_iter().collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let body = rows
        .into_iter()
        .map(|(name, usd)| {
            let label = name.clone();
            view! {
                <tr data-cost-by=kind data-name=name>
                    <td>{label}</td>
                    <td class="num">{format::small_usd(usd)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <h2>{title}</h2>
            <table>
                <tbody>{body}</tbody>
            </table>
        </section>
    }
}

/// Each run that rented in the window, with every rental attempt's cost.
#[component]
fn RunCosts(report: CostReport) -> impl IntoView {
    let CostTotals { sessions, .. } = report.ours;
    let rows = report
        .runs
        .into_iter()
        .map(|r| {
            view! {
                <tr data-run-cost=r.run_id.clone() data-usd=r.cost_usd>
                    <td><a href=format!("/runs/{}", r.run_id)><code>{r.run_id.clone()}</code></a></td>
                    <td>{format::timestamp(&r.created_at)}</td>
                    <td>{r.model}</td>
                    <td>{r.hardware}</td>
                    <td>{format!("{:?}", r.status).to_lowercase()}</td>
                    <td class="num">{r.rentals}</td>
                    <td class="num">{format::small_usd(r.cost_usd)}</td>
                    <td>{r.benchmark_id.map(|b| view! { <code>{b}</code> })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <h2>"Runs"</h2>
            <p class="muted small">
                {format!("{sessions} rentals by our tests in this period; a run's cost is every rental attempt's price × time, provisioning included.")}
            </p>
            <table class="run-costs">
                <thead>
                    <tr>
                        <th>"Run"</th>
                        <th>"Started"</th>
                        <th>"Model"</th>
                        <th>"GPU"</th>
                        <th>"Status"</th>
                        <th class="num">"Rentals"</th>
                        <th class="num">"Cost"</th>
                        <th>"Benchmark"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

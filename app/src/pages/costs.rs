use super::live_page::PageBanner;
use crate::components::Loaded;
use crate::format;
use crate::functions::get_costs;
use crate::url::{ask, query};
use gdl_model::costs::{CostParams, CostPeriod, CostReport, CostSource, CostTotals};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// What renting cost: today, this month or a range of days (`/costs?period=range&from=...
/// &to=...`), by provider and GPU, from the broker's summary when it answers and from our
/// own records beside it, and each run's cost.
#[component]
pub fn CostsPage() -> impl IntoView {
    let params = query::<CostParams>();
    let data = Resource::new(move || params.get(), |p| ask(p, get_costs));
    view! {
        <div class="toolbar">
            <h1>"Costs"</h1>
        </div>
        <PageBanner/>
        {move || view! { <PeriodForm p=params.get().unwrap_or_default()/> }}
        <Loaded reply=data fallback="Adding up what was rented…" let:report>
            <Report report/>
        </Loaded>
    }
}

/// The period, as a plain GET form.
#[component]
fn PeriodForm(p: CostParams) -> impl IntoView {
    let chosen = p.period.unwrap_or_default();
    let options = CostPeriod::ALL
        .into_iter()
        .map(|period| {
            let label = match period {
                CostPeriod::Today => "today",
                CostPeriod::Month => "this month",
                CostPeriod::Range => "from … to …",
            };
            view! { <option value=period.as_str() selected=period == chosen>{label}</option> }
        })
        .collect_view();
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    view! {
        <form class="card filters" method="get" action="/costs" data-costs-form="">
            <label>"Period"
                <select name="period">{options}</select>
            </label>
            <label>"From"
                <input type="date" name="from" value=day(p.from)/>
            </label>
            <label>"To"
                <input type="date" name="to" value=day(p.to)/>
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
                <tr data-run-cost=r.run_id.to_string() data-usd=r.cost_usd>
                    <td><a href=format!("/runs/{}", r.run_id)><code>{r.run_id.to_string()}</code></a></td>
                    <td>{format::timestamp(&r.created_at)}</td>
                    <td>{r.model}</td>
                    <td>{r.hardware}</td>
                    <td>{format!("{:?}", r.status).to_lowercase()}</td>
                    <td class="num">{r.rentals}</td>
                    <td class="num">{format::small_usd(r.cost_usd)}</td>
                    <td>{r.benchmark_id.map(|b| view! { <code>{b.to_string()}</code> })}</td>
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

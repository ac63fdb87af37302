use super::live_page::PageBanner;
use crate::components::Loaded;
use crate::format;
use crate::functions::get_costs;
use crate::url::{ask, query};
use gdl_model::costs::{
    CostBy, CostParams, CostPeriod, CostReport, CostRow, CostSource, CostTotals,
};
use gdl_model::provider::Provider;
use leptos::prelude::*;

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
            // Text, not `type="date"`: the browser would show the date in its locale's
            // order; every date on the dashboard reads YYYY-MM-DD.
            <label>"From"
                <input type="text" name="from" value=day(p.from) placeholder="YYYY-MM-DD"
                    pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" inputmode="numeric" maxlength="10" size="10"
                    title="The first day, as YYYY-MM-DD"/>
            </label>
            <label>"To"
                <input type="text" name="to" value=day(p.to) placeholder="YYYY-MM-DD"
                    pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" inputmode="numeric" maxlength="10" size="10"
                    title="The last day (included), as YYYY-MM-DD"/>
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
    let source_class = match report.source {
        CostSource::Broker => "broker",
        CostSource::Ours => "ours",
    };
    let title = format!(
        "{}: {}",
        capitalised(&report.window.label()),
        format::small_usd(headline.total_usd)
    );
    view! {
        <section class="card cost-total" data-source=source_class data-total=headline.total_usd>
            <h2>{title}</h2>
            {explanation(&report)}
        </section>
        <div class="grid">
            <Breakdown title="By provider" rows=report.breakdown(CostBy::Provider) kind="provider"/>
            <Breakdown title="By GPU" rows=report.breakdown(CostBy::Gpu) kind="gpu"/>
        </div>
        <RunCosts report/>
    }
}

/// Within a cent, the two figures are taken to agree.
const AGREE_USD: f64 = 0.01;

/// Which figure is billed, what ours is, and why they differ.
fn explanation(report: &CostReport) -> impl IntoView {
    let ours = &report.ours;
    let ours_line = format!(
        "Our own records: {} over {} (each rental's price × the time from its creation to its end, failed ones included).",
        format::small_usd(ours.total_usd),
        count(ours.sessions, "rental")
    );
    let Some(broker) = &report.broker else {
        let why = report
            .broker_error
            .as_ref()
            .map(|e| format!(" ({})", e.message))
            .unwrap_or_default();
        return view! {
            <p class="small" data-cost-explain="ours">
                {format!("Our own records: {}, each one's price × the time from its creation to its end.", count(ours.sessions, "rental"))}
            </p>
            <p class="muted small" data-broker-error=report.broker_error.as_ref().map(|e| e.code.clone())>
                {format!("The broker's cost summary is not available{why}, so these are our own records. What is billed is the broker's figure: ask again when it answers.")}
            </p>
        }
        .into_any();
    };
    let billed = format!(
        "Billed: the broker's figure, what cloud-gpu-shopper charges our consumer id for {} with the providers. Budget against this one.",
        count(broker.sessions, "session")
    );
    let agree = (broker.total_usd - ours.total_usd).abs() < AGREE_USD;
    let why = (!agree).then(|| {
        view! {
            <p class="muted small">"Why they differ:"</p>
            <ul class="muted small cost-explain" data-cost-explain="differ">
                <li>"The broker bills whole hours: a full hour's price for each hourly check a session is running at, and every clock hour a failed session touched. A rental that fails in minutes costs an hour there; a short one that ends between two checks costs nothing there."</li>
                <li>"The broker counts every session with our consumer id, whoever rented it; ours counts the rentals our runs recorded."</li>
                <li>"Ours is to the second, so it is the better guide to what a test used; the bill is the broker's."</li>
            </ul>
        }
    });
    view! {
        <p class="small" data-cost-explain="billed">{billed}</p>
        <p class="muted small" data-ours=ours.total_usd>
            {ours_line}
            {agree.then_some(" The two agree within a cent.")}
        </p>
        {why}
    }
    .into_any()
}

/// "1 rental", "3 rentals".
fn count(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A breakdown: every rental our records hold for each provider or GPU, what they cost by
/// our records, and what the broker bills for them.
#[component]
fn Breakdown(title: &'static str, rows: Vec<CostRow>, kind: &'static str) -> impl IntoView {
    let billed = rows.iter().any(|r| r.billed_usd.is_some());
    let body = rows
        .into_iter()
        .map(|row| {
            let label = if kind == "provider" {
                Provider::from_wire(&row.name).label().to_owned()
            } else {
                row.name.clone()
            };
            view! {
                <tr data-cost-by=kind data-name=row.name data-rentals=row.rentals>
                    <td>{label}</td>
                    <td class="num">{row.rentals}</td>
                    <td class="num">{format::small_usd(row.ours_usd)}</td>
                    {billed.then(|| view! { <td class="num">{row.billed_usd.map(format::small_usd)}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <h2>{title}</h2>
            <table>
                <thead>
                    <tr>
                        <th>{if kind == "provider" { "Provider" } else { "GPU" }}</th>
                        <th class="num">"Rentals"</th>
                        <th class="num">"Ours"</th>
                        {billed.then(|| view! { <th class="num">"Billed"</th> })}
                    </tr>
                </thead>
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use gdl_model::costs::{CostSource, CostWindow};

    fn report(broker_usd: Option<f64>) -> CostReport {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut ours = CostTotals::default();
        ours.add("vastai", "RTX 4090", 0.0021);
        ours.add("tensordock", "L4", 0.0010);
        let broker = broker_usd.map(|usd| {
            let mut b = CostTotals::default();
            b.add("tensordock", "L4", usd);
            b
        });
        CostReport {
            window: CostWindow {
                period: CostPeriod::Today,
                from: day,
                to: day,
            },
            source: if broker.is_some() {
                CostSource::Broker
            } else {
                CostSource::Ours
            },
            broker,
            broker_error: None,
            ours,
            runs: vec![],
        }
    }

    fn render(report: CostReport) -> String {
        let owner = Owner::new();
        owner.set();
        view! { <Report report/> }.to_html()
    }

    #[test]
    fn the_billed_figure_is_named_and_a_difference_explained() {
        let html = render(report(Some(0.292)));
        assert!(html.contains("Today (2026-11-24): $0.2920"), "{html}");
        assert!(
            html.contains("Billed: the broker's figure")
                || html.contains("Billed: the broker&#x27;s figure"),
            "{html}"
        );
        assert!(html.contains("for 1 session with"), "{html}");
        assert!(
            html.contains("Our own records: $0.0031 over 2 rentals"),
            "{html}"
        );
        assert!(html.contains("data-cost-explain=\"differ\""), "{html}");
        assert!(html.contains("bills whole hours"), "{html}");
        // Every rental is in the breakdown, the one the broker billed nothing for too.
        assert!(
            html.contains("data-cost-by=\"provider\" data-name=\"vastai\" data-rentals=\"1\""),
            "{html}"
        );
        assert!(html.contains("<td>Vast.ai</td>"), "{html}");
        assert!(html.contains(">Billed</th>"), "{html}");
    }

    #[test]
    fn agreeing_figures_say_so_and_ours_alone_says_what_is_billed() {
        let html = render(report(Some(0.0031)));
        assert!(html.contains("agree within a cent"), "{html}");
        assert!(!html.contains("data-cost-explain=\"differ\""), "{html}");
        let html = render(report(None));
        assert!(html.contains("data-cost-explain=\"ours\""), "{html}");
        assert!(html.contains("What is billed is the broker"), "{html}");
        assert!(!html.contains(">Billed</th>"), "{html}");
    }

    #[test]
    fn the_range_reads_as_iso_dates() {
        let owner = Owner::new();
        owner.set();
        let p = CostParams {
            period: Some(CostPeriod::Range),
            from: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
            to: chrono::NaiveDate::from_ymd_opt(2026, 11, 15),
        };
        let html = view! { <PeriodForm p/> }.to_html();
        assert!(!html.contains("type=\"date\""), "{html}");
        assert!(html.contains("value=\"2026-11-01\""), "{html}");
        assert!(html.contains("placeholder=\"YYYY-MM-DD\""), "{html}");
    }
}

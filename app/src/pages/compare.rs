use super::live_page::PageBanner;
use crate::components::chart::{
    along, fit_domain, fmt, number, place_labels, text_width, Axis, ChartFrame, Frame, WIDE,
};
use crate::components::Loaded;
use crate::format;
use crate::functions::get_comparison;
use crate::url::{ask, query};
use form::{CompareForm, GroupLine};
use gdl_model::compare::{CompareQuery, Comparison, FrontierPoint};
use leptos::prelude::*;

mod form;

/// One model across GPUs and providers (`/compare?model=Qwen/Qwen2.5-0.5B-Instruct`), in
/// one comparison group (the same workload, SLOs, quantization and engine; `workload=`,
/// `slo=`, `quantization=`, `engine=` choose it): $ per 1M output tokens at the SLO capacity
/// against per-user speed, the frontier highlighted, and what to rent for cost, speed or
/// balance, with the benchmarks each rests on.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = query::<CompareQuery>();
    let data = Resource::new(move || query.get(), |q| ask(q, get_comparison));
    let q = move || query.get().unwrap_or_default();
    view! {
        <div class="toolbar">
            <h1>"Compare"</h1>
        </div>
        <PageBanner/>
        <Loaded reply=data fallback="Reading the benchmarks…" let:answer>
            <CompareForm models=answer.0 q=q() c=answer.1.clone()/>
            {(!answer.1.model.is_empty()).then(|| view! {
                <GroupLine c=answer.1.clone() q=q()/>
                <Frontier c=answer.1/>
            })}
        </Loaded>
    }
}

/// The frontier chart with the recommendations under it (left out when `bare`: a page
/// that says them itself), and the table of points.
#[component]
pub(crate) fn Frontier(c: Comparison, #[prop(optional)] bare: bool) -> impl IntoView {
    if c.points.is_empty() {
        return view! {
            <section class="card">
                <p class="empty">
                    {format!("No benchmark of {} met its SLOs yet ({} measured).", c.model, format::count(c.without_slo.len(), "benchmark", "benchmarks"))}
                </p>
            </section>
        }
        .into_any();
    }
    let recommendations = c
        .recommendations
        .iter()
        .map(|r| {
            view! {
                <li data-goal=r.goal.as_str()>
                    <strong>{format!("For {}: ", r.goal.as_str())}</strong>
                    {r.text.clone()}
                </li>
            }
        })
        .collect_view();
    let rows = c
        .points
        .iter()
        .map(|p| {
            view! {
                <tr data-point=label(p) data-pareto=p.pareto.to_string()>
                    <td>{format!("{} ×{}{}", p.gpu_type, p.gpu_count, p.quantization.as_ref().map(|q| format!(" · {q}")).unwrap_or_default())}</td>
                    <td>{p.provider.label().to_owned()}</td>
                    <td class="num">{format!("${:.3}", p.usd_per_million)}</td>
                    <td class="num">{format!("{:.0}", p.tokens_per_s_per_user)}</td>
                    <td class="num">{p.benchmarks.len()}</td>
                    <td>{if p.pareto { "on the frontier" } else { "" }}</td>
                    <td data-external=p.external.to_string()>{external(p)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card compare">
            <h2>{format!("{}: price against speed", c.model)}</h2>
            <Chart points=c.points.clone()/>
            {c.points.iter().any(|p| p.external > 0).then(|| view! {
                <p class="muted small" data-testid="external-legend">
                    <svg class="frontier-chart legend-dot" width="12" height="12"><g class="point external"><circle cx="6" cy="6" r="4"/></g></svg>
                    " A hollow point rests on external benchmarks (measured by `gpu-deploy-llm bench` or imported), not on a deployment of this dashboard."
                </p>
            })}
            {(!bare).then(|| view! { <ul class="recommendations">{recommendations}</ul> })}
        </section>
        <section class="card table-wrap">
            <table class="frontier">
                <thead>
                    <tr>
                        <th>"GPU"</th>
                        <th>"Provider"</th>
                        <th class="num">"$ / 1M at SLO"</th>
                        <th class="num">"tok/s per user"</th>
                        <th class="num">"Benchmarks"</th>
                        <th></th>
                        <th>"Source"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="muted small">
                "Each point is the median over its benchmarks, at the highest load that met the SLOs; "
                "tok/s per user = 1000 / TPOT p50 there. "
                {without_slo(c.without_slo.len())}
            </p>
        </section>
    }
    .into_any()
}

/// What the chart leaves out: the benchmarks where no load level met the SLOs.
fn without_slo(n: usize) -> String {
    match n {
        0 => "Every benchmark of this model met its SLOs at some load.".into(),
        1 => "1 benchmark of this model did not meet its SLOs at any load level and is not shown.".into(),
        n => format!("{n} benchmarks of this model did not meet their SLOs at any load level and are not shown."),
    }
}

/// Whether a point rests on external benchmarks (measured by `bench` or imported): the
/// table's word for it.
fn external(p: &FrontierPoint) -> String {
    match (p.external, p.benchmarks.len()) {
        (0, _) => String::new(),
        (e, n) if e == n => "external".into(),
        (e, _) => format!("{e} external"),
    }
}

fn label(p: &FrontierPoint) -> String {
    p.label()
}

/// A point's classes: on the frontier, external.
fn point_class(p: &FrontierPoint) -> &'static str {
    match (p.pareto, p.external > 0) {
        (true, true) => "point pareto external",
        (true, false) => "point pareto",
        (false, true) => "point external",
        (false, false) => "point",
    }
}

/// The scatter: cost across, speed up, the frontier joined by a line; each axis fitted to
/// the points, each label nudged clear of the others and of the points.
#[component]
fn Chart(points: Vec<FrontierPoint>) -> impl IntoView {
    let frame = Frame::new(WIDE, 320.0);
    let domain = |f: fn(&FrontierPoint) -> f64| {
        let (lo, hi) = points
            .iter()
            .map(f)
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        fit_domain(lo, hi)
    };
    let (usd_lo, usd_hi) = domain(|p| p.usd_per_million);
    let (speed_lo, speed_hi) = domain(|p| p.tokens_per_s_per_user);
    let x = frame.x(usd_lo, usd_hi).nice();
    let y = frame.y(speed_lo, speed_hi).nice();
    let at = |p: &FrontierPoint| (x.at(p.usd_per_million), y.at(p.tokens_per_s_per_user));
    let mut frontier: Vec<&FrontierPoint> = points.iter().filter(|p| p.pareto).collect();
    frontier.sort_by(|a, b| a.usd_per_million.total_cmp(&b.usd_per_million));
    let frontier_at: Vec<(f64, f64)> = frontier.iter().map(|p| at(p)).collect();
    let line = frontier_at
        .iter()
        .map(|(cx, cy)| format!("{},{}", fmt(*cx), fmt(*cy)))
        .collect::<Vec<_>>()
        .join(" ");
    let texts: Vec<String> = points
        .iter()
        .map(|p| {
            let q = p.quantization.as_ref().map(|q| format!(" {q}"));
            format!(
                "{}{} ({})",
                p.gpu_type,
                q.unwrap_or_default(),
                p.provider.label()
            )
        })
        .collect();
    let spots: Vec<(f64, f64)> = points.iter().map(at).collect();
    let widths: Vec<f64> = texts.iter().map(|t| text_width(t)).collect();
    let placed = place_labels(
        &spots,
        &widths,
        &along(&frontier_at),
        frame.right_edge(),
        (frame.top, frame.floor()),
    );
    let dots = points
        .iter()
        .zip(texts)
        .zip(spots.iter().zip(placed))
        .map(|((p, text), (&(cx, cy), spot))| {
            let (tx, anchor) = spot.rect.anchor(spot.end);
            view! {
                <g class=point_class(p)>
                    <circle cx=fmt(cx) cy=fmt(cy) r=if p.pareto { "5" } else { "4" }>
                        <title>{format!("{}: ${:.3} per 1M tokens, {:.0} tok/s per user{}", label(p), p.usd_per_million, p.tokens_per_s_per_user, if p.external > 0 { " (external)" } else { "" })}</title>
                    </circle>
                    <text x=fmt(tx) y=fmt(spot.rect.y) text-anchor=anchor>{text}</text>
                </g>
            }
        })
        .collect_view();
    let desc = format!(
        "{} GPU and provider pairs; {} on the frontier (no other is both cheaper and faster).",
        points.len(),
        frontier.len()
    );
    view! {
        <ChartFrame frame class="frontier-chart" id="frontier"
            title="$ per 1M output tokens at the SLOs against tokens per second per user"
            desc
            x=Axis::usd(x, "$ per 1M output tokens at the SLOs")
            y=Axis::new(y, "speed per user (tok/s)", number)
            {..} data-points=points.len()>
            <polyline class="frontier-line" points=line fill="none"/>
            {dots}
        </ChartFrame>
    }
}

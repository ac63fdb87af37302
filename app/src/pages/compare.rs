use super::live_page::PageBanner;
use crate::components::chart::{
    along, fit_domain, fmt, number, place_labels, text_width, Axis, ChartFrame, Frame, WIDE,
};
use crate::components::Loaded;
use crate::format;
use crate::functions::get_comparison;
use crate::url::query;
use gdl_model::compare::CompareQuery;
use gdl_model::compare::{Comparison, FrontierPoint};
use gdl_model::engines::Engine;
use leptos::prelude::*;

/// One model across GPUs and providers (`/compare?model=Qwen/Qwen2.5-0.5B-Instruct`): $ per
/// 1M output tokens at the SLO capacity against per-user speed, the frontier highlighted,
/// and what to rent for cost, speed or balance, with the benchmarks each rests on.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = query::<CompareQuery>();
    let model = move || query.get().ok().and_then(|q| q.model).unwrap_or_default();
    let engine = move || query.get().ok().and_then(|q| q.engine);
    let settings = move || query.get().ok().and_then(|q| q.settings);
    let data = Resource::new(
        move || (model(), engine(), settings()),
        |(m, e, s)| get_comparison(m, e, s),
    );
    view! {
        <div class="toolbar">
            <h1>"Compare"</h1>
        </div>
        <PageBanner/>
        <Loaded reply=data fallback="Reading the benchmarks…" let:answer>
            <ModelForm models=answer.0 chosen=model() engine=engine() settings=settings() seen=answer.1.settings.clone()/>
            {(!answer.1.model.is_empty()).then(|| view! { <Frontier c=answer.1/> })}
        </Loaded>
    }
}

/// The model to compare, the engine and the engine settings, as a plain GET form.
#[component]
fn ModelForm(
    models: Vec<String>,
    chosen: String,
    engine: Option<Engine>,
    settings: Option<String>,
    seen: Vec<String>,
) -> impl IntoView {
    let settings_options = seen
        .into_iter()
        .map(|s| {
            let selected = settings.as_deref() == Some(s.as_str());
            let text = s.clone();
            view! { <option value=s selected=selected>{text}</option> }
        })
        .collect_view();
    let engines = Engine::ALL
        .into_iter()
        .map(|e| view! { <option value=e.as_str() selected=engine == Some(e)>{e.label()}</option> })
        .collect_view();
    let options = models
        .into_iter()
        .map(|m| {
            let selected = m == chosen;
            let text = m.clone();
            view! { <option value=m selected=selected>{text}</option> }
        })
        .collect_view();
    view! {
        <form class="card filters" method="get" action="/compare" data-compare-form="">
            <label>"Model"
                <select name="model">
                    <option value="">"choose a model benchmarked"</option>
                    {options}
                </select>
            </label>
            <label title="Records from before engines were kept count as vLLM">"Engine"
                <select name="engine"><option value="" selected=engine.is_none()>"any"</option>{engines}</select>
            </label>
            <label title="The engine settings the benchmarks ran with (default: none set)">"Settings"
                <select name="settings" data-testid="compare-settings">
                    <option value="" selected=settings.is_none()>"any"</option>
                    {settings_options}
                </select>
            </label>
            <div class="actions"><button type="submit">"Compare"</button></div>
        </form>
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
                    <td>{format!("{} ×{}", p.gpu_type, p.gpu_count)}</td>
                    <td>{p.provider.label().to_owned()}</td>
                    <td class="num">{format!("${:.3}", p.usd_per_million)}</td>
                    <td class="num">{format!("{:.0}", p.tokens_per_s_per_user)}</td>
                    <td class="num">{p.benchmarks.len()}</td>
                    <td>{if p.pareto { "on the frontier" } else { "" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card compare">
            <h2>{format!("{}: price against speed", c.model)}</h2>
            <Chart points=c.points.clone()/>
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

fn label(p: &FrontierPoint) -> String {
    format!("{} ×{} on {}", p.gpu_type, p.gpu_count, p.provider.label())
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
        .map(|p| format!("{} ({})", p.gpu_type, p.provider.label()))
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
                <g class=if p.pareto { "point pareto" } else { "point" }>
                    <circle cx=fmt(cx) cy=fmt(cy) r=if p.pareto { "5" } else { "4" }>
                        <title>{format!("{}: ${:.3} per 1M tokens, {:.0} tok/s per user", label(p), p.usd_per_million, p.tokens_per_s_per_user)}</title>
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

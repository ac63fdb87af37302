use super::live_page::PageBanner;
use crate::components::chart::{fmt, number, Axis, ChartFrame, Frame};
use crate::components::Loaded;
use crate::functions::get_comparison;
use crate::url::query;
use gdl_model::compare::CompareQuery;
use gdl_model::compare::{Comparison, FrontierPoint};
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 280.0;

/// One model across GPUs and providers (`/compare?model=Qwen/Qwen2.5-0.5B-Instruct`): $ per
/// 1M output tokens at the SLO capacity against per-user speed, the frontier highlighted,
/// and what to rent for cost, speed or balance, with the benchmarks each rests on.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = query::<CompareQuery>();
    let model = move || query.get().ok().and_then(|q| q.model).unwrap_or_default();
    let data = Resource::new(model, get_comparison);
    view! {
        <div class="toolbar">
            <h1>"Compare"</h1>
        </div>
        <PageBanner/>
        <Loaded reply=data fallback="Reading the benchmarks…" let:answer>
            <ModelForm models=answer.0 chosen=model()/>
            {(!answer.1.model.is_empty()).then(|| view! { <Frontier c=answer.1/> })}
        </Loaded>
    }
}

/// The model to compare, as a plain GET form.
#[component]
fn ModelForm(models: Vec<String>, chosen: String) -> impl IntoView {
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
            <div class="actions"><button type="submit">"Compare"</button></div>
        </form>
    }
}

#[component]
pub(crate) fn Frontier(c: Comparison) -> impl IntoView {
    if c.points.is_empty() {
        return view! {
            <section class="card">
                <p class="empty">
                    {format!("No benchmark of {} met the SLOs yet ({} without).", c.model, c.without_slo.len())}
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
                    <td>{p.provider.to_string()}</td>
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
            <ul class="recommendations">{recommendations}</ul>
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
                {format!("{} benchmarks of this model met no SLO and are not shown.", c.without_slo.len())}
            </p>
        </section>
    }
    .into_any()
}

fn label(p: &FrontierPoint) -> String {
    format!("{} ×{} on {}", p.gpu_type, p.gpu_count, p.provider)
}

/// The scatter: cost across, speed up, the frontier joined by a line.
#[component]
fn Chart(points: Vec<FrontierPoint>) -> impl IntoView {
    let frame = Frame::new(WIDTH, HEIGHT);
    let max_usd = points.iter().map(|p| p.usd_per_million).fold(0.0, f64::max) * 1.15;
    let max_speed = points
        .iter()
        .map(|p| p.tokens_per_s_per_user)
        .fold(0.0, f64::max)
        * 1.15;
    let x = frame.x(0.0, max_usd.max(1e-9));
    let y = frame.y(0.0, max_speed.max(1e-9));
    let mut frontier: Vec<&FrontierPoint> = points.iter().filter(|p| p.pareto).collect();
    frontier.sort_by(|a, b| a.usd_per_million.total_cmp(&b.usd_per_million));
    let line = frontier
        .iter()
        .map(|p| {
            format!(
                "{},{}",
                fmt(x.at(p.usd_per_million)),
                fmt(y.at(p.tokens_per_s_per_user))
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let dots = points
        .iter()
        .map(|p| {
            let (cx, cy) = (x.at(p.usd_per_million), y.at(p.tokens_per_s_per_user));
            // Labels sit above their point, clear of the line below it.
            view! {
                <g class=if p.pareto { "point pareto" } else { "point" }>
                    <circle cx=fmt(cx) cy=fmt(cy) r=if p.pareto { "5" } else { "4" }>
                        <title>{format!("{}: ${:.3} per 1M tokens, {:.0} tok/s per user", label(p), p.usd_per_million, p.tokens_per_s_per_user)}</title>
                    </circle>
                    <text x=fmt(cx + 7.0) y=fmt(cy - 7.0)>{format!("{} ({})", p.gpu_type, p.provider.label())}</text>
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
            x=Axis::new(x, "$ per 1M output tokens at the SLOs", |v| format!("${}", number(v)))
            y=Axis::new(y, "tok/s per user", number)
            {..} data-points=points.len()>
            <polyline class="frontier-line" points=line fill="none"/>
            {dots}
        </ChartFrame>
    }
}

use crate::components::ErrorNote;
use crate::functions::get_comparison;
use gdl_model::compare::{Comparison, FrontierPoint};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 34.0;

/// One model across GPUs and providers (`/compare?model=Qwen/Qwen2.5-0.5B-Instruct`): $ per
/// 1M output tokens at the SLO capacity against per-user speed, the frontier highlighted,
/// and what to rent for cost, speed or balance, with the benchmarks each rests on.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let model = move || query.with(|q| q.get("model").unwrap_or_default());
    let data = Resource::new(model, get_comparison);
    view! {
        <div class="toolbar">
            <h1>"Compare"</h1>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Reading the benchmarks…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Ok((models, comparison))) => view! {
                        <ModelForm models chosen=model()/>
                        {(!comparison.model.is_empty()).then(|| view! { <Frontier c=comparison/> })}
                    }
                    .into_any(),
                    Ok(Err(e)) | Err(crate::error::AppError(e)) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Transition>
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
                    <td>{p.provider.clone()}</td>
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
    let max_usd = points.iter().map(|p| p.usd_per_million).fold(0.0, f64::max) * 1.1;
    let max_speed = points
        .iter()
        .map(|p| p.tokens_per_s_per_user)
        .fold(0.0, f64::max)
        * 1.1;
    let x = move |usd: f64| LEFT + usd / max_usd.max(1e-9) * (WIDTH - LEFT - RIGHT);
    let y = move |s: f64| TOP + (1.0 - s / max_speed.max(1e-9)) * (HEIGHT - TOP - BOTTOM);
    let mut frontier: Vec<&FrontierPoint> = points.iter().filter(|p| p.pareto).collect();
    frontier.sort_by(|a, b| a.usd_per_million.total_cmp(&b.usd_per_million));
    let line = frontier
        .iter()
        .map(|p| {
            format!(
                "{:.1},{:.1}",
                x(p.usd_per_million),
                y(p.tokens_per_s_per_user)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let dots = points
        .iter()
        .map(|p| {
            let (cx, cy) = (x(p.usd_per_million), y(p.tokens_per_s_per_user));
            view! {
                <g class=if p.pareto { "point pareto" } else { "point" }>
                    <circle cx=format!("{cx:.1}") cy=format!("{cy:.1}") r=if p.pareto { "5" } else { "4" }>
                        <title>{format!("{}: ${:.3} per 1M tokens, {:.0} tok/s per user", label(p), p.usd_per_million, p.tokens_per_s_per_user)}</title>
                    </circle>
                    <text x=format!("{:.1}", cx + 7.0) y=format!("{:.1}", cy + 4.0)>{format!("{} ({})", p.gpu_type, p.provider)}</text>
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
        <svg class="frontier-chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby="frontier-title frontier-desc" data-points=points.len()>
            <title id="frontier-title">"$ per 1M output tokens at the SLOs against tokens per second per user"</title>
            <desc id="frontier-desc">{desc}</desc>
            <line class="axis" x1=LEFT y1=HEIGHT - BOTTOM x2=WIDTH - RIGHT y2=HEIGHT - BOTTOM/>
            <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=HEIGHT - BOTTOM/>
            <text class="tick" x=LEFT y=HEIGHT - 18.0>"$0"</text>
            <text class="tick" x=WIDTH - RIGHT y=HEIGHT - 18.0 text-anchor="end">{format!("${max_usd:.3} per 1M tokens →")}</text>
            <text class="tick" x=LEFT - 4.0 y=TOP + 8.0 text-anchor="end">{format!("{max_speed:.0}")}</text>
            <text class="tick" x=LEFT - 4.0 y=HEIGHT - BOTTOM text-anchor="end">"0"</text>
            <text class="tick" x=4.0 y=TOP + 24.0>"tok/s"</text>
            <polyline class="frontier-line" points=line fill="none"/>
            {dots}
        </svg>
    }
}

use crate::components::ErrorNote;
use crate::format;
use crate::functions::{get_benchmark, BenchmarkDetail};
use gdl_model::benchmark::Slo;
use gdl_model::runs::BenchmarkRecord;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 52.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// One benchmark (`/benchmarks/{id}`): what it ran on and with, the operating curve and
/// the TTFT and ITL distributions, drawn on the server as SVG; the raw samples to download.
#[component]
pub fn BenchmarkPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, get_benchmark);
    view! {
        <div class="toolbar">
            <h1>"Benchmark"</h1>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Reading the benchmark…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Ok(detail)) => view! { <Detail detail/> }.into_any(),
                    Ok(Err(e)) | Err(crate::error::AppError(e)) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(detail: BenchmarkDetail) -> impl IntoView {
    let r = detail.record.clone();
    let slo = r.slo.unwrap_or_default();
    let at = r.at_slo().cloned();
    let facts: Vec<(&str, String)> = vec![
        ("Model", r.model.clone()),
        ("Served", r.served_repo.clone()),
        ("Quantization", r.quantization.clone()),
        ("GPU", format::gpu(&r.gpu_type, r.gpu_count)),
        ("Provider", r.provider.label().to_owned()),
        ("Price", format::per_hour(r.price_per_hour)),
        (
            "Workload",
            r.workload
                .clone()
                .unwrap_or_else(|| "the load prompt (before workloads were kept)".into()),
        ),
        (
            "SLOs",
            format!(
                "p95 TTFT ≤ {:.0} ms, p95 TPOT ≤ {:.0} ms, ≥ {:.0} % success",
                slo.ttft_p95_ms,
                slo.tpot_p95_ms,
                slo.min_success * 100.0
            ),
        ),
        (
            "At SLO",
            at.as_ref()
                .map(|p| {
                    format!(
                        "concurrency {}{}",
                        p.concurrency,
                        p.usd_per_million_output_tokens
                            .map(|u| format!(", ${u:.3} per 1M output tokens"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| "no level met the SLOs".into()),
        ),
        (
            "Quality",
            format!(
                "{}/{} prompts as expected",
                r.prompts_matching, r.prompts_with_expected
            ),
        ),
        (
            "Test cost",
            r.test_cost_usd
                .map(format::small_usd)
                .unwrap_or_else(|| "—".into()),
        ),
        (
            "When",
            format!(
                "{}{}",
                format::timestamp(&r.created_at),
                if r.external {
                    " · external (bench)"
                } else {
                    ""
                }
            ),
        ),
    ];
    let facts = facts
        .into_iter()
        .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
        .collect_view();
    let run = (!r.run_id.is_empty()).then(|| {
        view! { <a href=format!("/runs/{}", r.run_id)>"the run"</a>" · " }
    });
    view! {
        <section class="card benchmark-facts" data-benchmark=r.id.clone()>
            <h2>{r.id.clone()}</h2>
            <dl class="facts">{facts}</dl>
            <p class="downloads small">
                {run}
                <a href=format!("/api/benchmarks/{}", r.id) download=format!("{}.json", r.id)>"raw samples (JSON)"</a>
                " · "
                <a href=format!("/compare?model={}", r.model)>"compare this model"</a>
            </p>
        </section>
        <section class="card">
            <h2>"Operating curve"</h2>
            <OperatingCurve r=r.clone() slo/>
            <Levels r=r.clone()/>
        </section>
        <div class="grid">
            <section class="card">
                <h2>"Time to first token"</h2>
                <Histogram values=detail.ttft_ms.clone() name="ttft" title="Time to first token of every load request, ms"/>
            </section>
            <section class="card">
                <h2>"Inter-token latency"</h2>
                <Histogram values=detail.itl_ms.clone() name="itl" title="Gaps between streamed chunks, ms"/>
            </section>
        </div>
    }
}

/// Output tok/s (line) and p95 TTFT (dashed) against concurrency; levels that broke an SLO
/// shaded; the capacity point ringed.
#[component]
fn OperatingCurve(r: BenchmarkRecord, slo: Slo) -> impl IntoView {
    let mut levels = r.phases.clone();
    levels.sort_by_key(|p| p.concurrency);
    let max_c = levels
        .iter()
        .map(|p| p.concurrency)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let max_tps = levels
        .iter()
        .map(|p| p.output_tokens_per_s)
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    let max_ttft = levels
        .iter()
        .map(|p| p.ttft_ms.p95)
        .fold(slo.ttft_p95_ms, f64::max)
        * 1.1;
    let x = move |c: u32| LEFT + (c as f64 / max_c) * (WIDTH - LEFT - RIGHT);
    let y_tps = move |v: f64| TOP + (1.0 - v / max_tps) * (HEIGHT - TOP - BOTTOM);
    let y_ttft = move |v: f64| TOP + (1.0 - v / max_ttft) * (HEIGHT - TOP - BOTTOM);
    let path = |f: &dyn Fn(&gdl_model::benchmark::PhaseMetrics) -> (f64, f64)| {
        levels
            .iter()
            .map(|p| {
                let (a, b) = f(p);
                format!("{a:.1},{b:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let tps = path(&|p| (x(p.concurrency), y_tps(p.output_tokens_per_s)));
    let ttft = path(&|p| (x(p.concurrency), y_ttft(p.ttft_ms.p95)));
    let band = (WIDTH - LEFT - RIGHT) / max_c / 2.0;
    let breaches = levels
        .iter()
        .filter(|p| p.meets_slo == Some(false))
        .map(|p| {
            view! {
                <rect class="breach" x=format!("{:.1}", (x(p.concurrency) - band).max(LEFT)) y=TOP
                    width=format!("{:.1}", band * 2.0) height=HEIGHT - TOP - BOTTOM>
                    <title>{format!("concurrency {} broke an SLO", p.concurrency)}</title>
                </rect>
            }
        })
        .collect_view();
    let capacity = r.at_slo().map(|p| {
        view! {
            <circle class="capacity" cx=format!("{:.1}", x(p.concurrency)) cy=format!("{:.1}", y_tps(p.output_tokens_per_s)) r="7" data-capacity=p.concurrency>
                <title>{format!("capacity at the SLOs: concurrency {}, {:.0} tok/s", p.concurrency, p.output_tokens_per_s)}</title>
            </circle>
        }
    });
    let points = levels
        .iter()
        .map(|p| view! {
            <circle class="level" cx=format!("{:.1}", x(p.concurrency)) cy=format!("{:.1}", y_tps(p.output_tokens_per_s)) r="3">
                <title>{format!("concurrency {}: {:.0} tok/s, p95 TTFT {:.0} ms", p.concurrency, p.output_tokens_per_s, p.ttft_ms.p95)}</title>
            </circle>
        })
        .collect_view();
    let slo_y = y_ttft(slo.ttft_p95_ms);
    let desc = format!(
        "{} load levels from concurrency 1 to {max_c:.0}; {} broke an SLO; output up to {:.0} tok/s.",
        levels.len(),
        levels.iter().filter(|p| p.meets_slo == Some(false)).count(),
        max_tps / 1.1
    );
    view! {
        <svg class="curve" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby="curve-title curve-desc" data-levels=levels.len()>
            <title id="curve-title">"Output tokens per second and p95 time to first token against concurrency"</title>
            <desc id="curve-desc">{desc}</desc>
            {breaches}
            <line class="axis" x1=LEFT y1=HEIGHT - BOTTOM x2=WIDTH - RIGHT y2=HEIGHT - BOTTOM/>
            <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=HEIGHT - BOTTOM/>
            <line class="axis" x1=WIDTH - RIGHT y1=TOP x2=WIDTH - RIGHT y2=HEIGHT - BOTTOM/>
            <line class="slo-line" x1=LEFT y1=format!("{slo_y:.1}") x2=WIDTH - RIGHT y2=format!("{slo_y:.1}")/>
            <text class="tick" x=LEFT - 4.0 y=TOP + 8.0 text-anchor="end">{format!("{:.0}", max_tps)}</text>
            <text class="tick" x=LEFT - 4.0 y=HEIGHT - BOTTOM text-anchor="end">"0"</text>
            <text class="tick" x=WIDTH - RIGHT + 4.0 y=TOP + 8.0>{format!("{max_ttft:.0} ms")}</text>
            <text class="tick" x=WIDTH - RIGHT + 4.0 y=format!("{:.1}", slo_y + 3.0)>"SLO"</text>
            <text class="tick" x=LEFT y=HEIGHT - 10.0>"tok/s (line) · p95 TTFT (dashed) · concurrency →"</text>
            <text class="tick" x=WIDTH - RIGHT y=HEIGHT - 10.0 text-anchor="end">{format!("{max_c:.0}")}</text>
            <polyline class="tps" points=tps fill="none"/>
            <polyline class="ttft" points=ttft fill="none"/>
            {points}
            {capacity}
        </svg>
    }
}

/// Each level's figures.
#[component]
fn Levels(r: BenchmarkRecord) -> impl IntoView {
    let rows = r
        .phases
        .iter()
        .map(|p| {
            view! {
                <tr data-level=p.concurrency>
                    <td class="num">{p.concurrency}</td>
                    <td class="num">{format!("{}/{}", p.completed, p.completed + p.failed)}</td>
                    <td class="num ttft">{format!("{:.1}", p.ttft_ms.p50)}</td>
                    <td class="num">{format!("{:.1}", p.ttft_ms.p95)}</td>
                    <td class="num">{format!("{:.1}", p.tpot_ms.p50)}</td>
                    <td class="num tps">{format!("{:.1}", p.output_tokens_per_s)}</td>
                    <td class="num">{p.goodput_rps.map(|g| format!("{g:.2}")).unwrap_or_else(|| "—".into())}</td>
                    <td class="num cost">{p.usd_per_million_output_tokens.map(|u| format!("${u:.3}")).unwrap_or_else(|| "—".into())}</td>
                    <td>{match p.meets_slo { Some(true) => "met", Some(false) => "broken", None => "—" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="levels">
                <thead>
                    <tr>
                        <th class="num">"Concurrency"</th>
                        <th class="num">"OK"</th>
                        <th class="num">"TTFT p50 ms"</th>
                        <th class="num">"TTFT p95 ms"</th>
                        <th class="num">"TPOT p50 ms"</th>
                        <th class="num">"Output tok/s"</th>
                        <th class="num">"Goodput req/s"</th>
                        <th class="num">"$ / 1M"</th>
                        <th>"SLOs"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// A histogram of `values` in 20 bins, with p50 and p99 marked.
#[component]
fn Histogram(values: Vec<f64>, name: &'static str, title: &'static str) -> impl IntoView {
    const BINS: usize = 20;
    const H: f64 = 140.0;
    if values.is_empty() {
        return view! { <p class="muted">"No samples."</p> }.into_any();
    }
    let d = gdl_model::benchmark::Dist::of(&values);
    let span = (d.max - d.min).max(1e-6);
    let mut counts = [0usize; BINS];
    for v in &values {
        let i = (((v - d.min) / span) * BINS as f64).floor() as usize;
        counts[i.min(BINS - 1)] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1) as f64;
    let w = (WIDTH - 20.0) / BINS as f64;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let h = n as f64 / top * (H - 24.0);
            let from = d.min + span * i as f64 / BINS as f64;
            view! {
                <rect class="bar" x=format!("{:.1}", 10.0 + i as f64 * w) y=format!("{:.1}", H - 18.0 - h) width=format!("{:.1}", w - 1.0) height=format!("{h:.1}")>
                    <title>{format!("{n} from {from:.1} ms")}</title>
                </rect>
            }
        })
        .collect_view();
    let desc = format!(
        "{} values from {:.1} to {:.1} ms; p50 {:.1} ms, p99 {:.1} ms.",
        d.count, d.min, d.max, d.p50, d.p99
    );
    let id = format!("{name}-title");
    let desc_id = format!("{name}-desc");
    let labelled_by = format!("{id} {desc_id}");
    view! {
        <svg class="histogram" viewBox=format!("0 0 {WIDTH} {H}") role="img" aria-labelledby=labelled_by data-count=d.count>
            <title id=id>{title}</title>
            <desc id=desc_id>{desc}</desc>
            {bars}
            <text class="tick" x="10" y=H - 4.0>{format!("{:.1} ms", d.min)}</text>
            <text class="tick" x=WIDTH - 10.0 y=H - 4.0 text-anchor="end">{format!("{:.1} ms", d.max)}</text>
            <text class="tick" x=WIDTH / 2.0 y=H - 4.0 text-anchor="middle">{format!("p50 {:.1} · p99 {:.1}", d.p50, d.p99)}</text>
        </svg>
    }
    .into_any()
}

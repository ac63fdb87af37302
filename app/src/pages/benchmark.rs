use super::live_page::PageBanner;
use crate::components::chart::{fmt, number, Axis, ChartFrame, Frame};
use crate::components::Loaded;
use crate::format;
use crate::functions::get_benchmark;
use gdl_model::benchmark::Slo;
use gdl_model::ids::BenchmarkId;
use gdl_model::runs::BenchmarkDetail;
use gdl_model::runs::BenchmarkRecord;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;

/// One benchmark (`/benchmarks/{id}`): what it ran on and with, the operating curve and
/// the TTFT and ITL distributions, drawn on the server as SVG; the raw samples to download.
#[component]
pub fn BenchmarkPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || BenchmarkId::from(params.with(|p| p.get("id").unwrap_or_default()));
    let data = Resource::new(id, get_benchmark);
    view! {
        <div class="toolbar">
            <h1>"Benchmark"</h1>
        </div>
        <PageBanner/>
        <Loaded reply=data fallback="Reading the benchmark…" let:detail>
            <Detail detail/>
        </Loaded>
    }
}

#[component]
fn Detail(detail: BenchmarkDetail) -> impl IntoView {
    let r = detail.benchmark.clone();
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
        <section class="card benchmark-facts" data-benchmark=r.id.to_string()>
            <h2>{r.id.to_string()}</h2>
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
                <Histogram values=detail.ttft_ms() name="ttft" title="Time to first token of every load request, ms"/>
            </section>
            <section class="card">
                <h2>"Inter-token latency"</h2>
                <Histogram values=detail.itl_ms() name="itl" title="Gaps between streamed chunks, ms"/>
            </section>
        </div>
    }
}

/// Output tok/s (line, left axis) and p95 TTFT (dashed, right axis) against concurrency
/// (a log scale: levels double); levels that broke an SLO shaded; the capacity point
/// ringed; the TTFT SLO a dotted line.
#[component]
fn OperatingCurve(r: BenchmarkRecord, slo: Slo) -> impl IntoView {
    let mut levels = r.phases.clone();
    levels.sort_by_key(|p| p.concurrency);
    let frame = Frame::new(WIDTH, HEIGHT).with_right_axis();
    let max_c = levels
        .iter()
        .map(|p| p.concurrency)
        .max()
        .unwrap_or(1)
        .max(2) as f64;
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
    let x = frame.x(1.0, max_c).logarithmic();
    let y_tps = frame.y(0.0, max_tps);
    let y_ttft = frame.y(0.0, max_ttft);
    let line = |f: &dyn Fn(&gdl_model::benchmark::PhaseMetrics) -> (f64, f64)| {
        levels
            .iter()
            .map(|p| {
                let (a, b) = f(p);
                format!("{a:.1},{b:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let tps = line(&|p| (x.at(p.concurrency as f64), y_tps.at(p.output_tokens_per_s)));
    let ttft = line(&|p| (x.at(p.concurrency as f64), y_ttft.at(p.ttft_ms.p95)));
    let breaches = levels
        .iter()
        .filter(|p| p.meets_slo == Some(false))
        .map(|p| {
            // Half-way to the neighbouring levels on the log scale.
            let (from, to) = (x.at(p.concurrency as f64 / 1.41), x.at(p.concurrency as f64 * 1.41));
            let from = from.max(frame.left);
            let to = to.min(frame.width - frame.right);
            view! {
                <rect class="breach" x=fmt(from) y=frame.top width=fmt(to - from) height=frame.floor() - frame.top>
                    <title>{format!("concurrency {} broke an SLO", p.concurrency)}</title>
                </rect>
            }
        })
        .collect_view();
    let capacity = r.at_slo().map(|p| {
        view! {
            <circle class="capacity" cx=fmt(x.at(p.concurrency as f64)) cy=fmt(y_tps.at(p.output_tokens_per_s)) r="7" data-capacity=p.concurrency>
                <title>{format!("capacity at the SLOs: concurrency {}, {:.0} tok/s", p.concurrency, p.output_tokens_per_s)}</title>
            </circle>
        }
    });
    let points = levels
        .iter()
        .map(|p| view! {
            <circle class="level" cx=fmt(x.at(p.concurrency as f64)) cy=fmt(y_tps.at(p.output_tokens_per_s)) r="3">
                <title>{format!("concurrency {}: {:.0} tok/s, p95 TTFT {:.0} ms", p.concurrency, p.output_tokens_per_s, p.ttft_ms.p95)}</title>
            </circle>
        })
        .collect_view();
    let slo_y = y_ttft.at(slo.ttft_p95_ms);
    let desc = format!(
        "{} load levels from concurrency 1 to {max_c:.0}; {} broke an SLO; output up to {:.0} tok/s.",
        levels.len(),
        levels.iter().filter(|p| p.meets_slo == Some(false)).count(),
        max_tps / 1.1
    );
    let (left, right) = (frame.left, frame.width - frame.right);
    view! {
        <ChartFrame frame class="curve" id="curve"
            title="Output tokens per second and p95 time to first token against concurrency"
            desc
            x=Axis::new(x, "concurrency (requests at once, log scale)", number)
            y=Axis::new(y_tps, "output tok/s (line)", number)
            y2=Axis::new(y_ttft, "p95 TTFT, ms (dashed)", number)
            {..} data-levels=levels.len()>
            {breaches}
            <line class="slo-line" x1=left y1=fmt(slo_y) x2=right y2=fmt(slo_y)>
                <title>{format!("SLO: p95 TTFT ≤ {:.0} ms", slo.ttft_p95_ms)}</title>
            </line>
            <text class="tick slo" x=left + 4.0 y=fmt(slo_y - 4.0)>{format!("TTFT SLO {:.0} ms", slo.ttft_p95_ms)}</text>
            <polyline class="tps" points=tps fill="none"/>
            <polyline class="ttft" points=ttft fill="none"/>
            {points}
            {capacity}
        </ChartFrame>
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
    if values.is_empty() {
        return view! { <p class="muted">"No samples."</p> }.into_any();
    }
    let frame = Frame::new(WIDTH, 200.0);
    let d = gdl_model::benchmark::Dist::of(&values);
    let span = (d.max - d.min).max(1e-6);
    let mut counts = [0usize; BINS];
    for v in &values {
        let i = (((v - d.min) / span) * BINS as f64).floor() as usize;
        counts[i.min(BINS - 1)] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1) as f64;
    let x = frame.x(d.min, d.min + span);
    let y = frame.y(0.0, top);
    let bins = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let from = d.min + span * i as f64 / BINS as f64;
            let to = d.min + span * (i + 1) as f64 / BINS as f64;
            let (x0, x1) = (x.at(from), x.at(to));
            view! {
                <rect class="bin" x=fmt(x0 + 0.5) y=fmt(y.at(n as f64)) width=fmt((x1 - x0 - 1.0).max(0.5)) height=fmt(frame.floor() - y.at(n as f64)) data-n=n>
                    <title>{format!("{n} from {from:.1} to {to:.1} ms")}</title>
                </rect>
            }
        })
        .collect_view();
    let marks = [("p50", d.p50), ("p99", d.p99)]
        .into_iter()
        .map(|(label, v)| {
            view! {
                <line class=format!("mark {label}") x1=fmt(x.at(v)) y1=frame.top x2=fmt(x.at(v)) y2=frame.floor()/>
                <text class="tick mark-label" x=fmt(x.at(v) + 3.0) y=frame.top + 10.0>{format!("{label} {v:.1}")}</text>
            }
        })
        .collect_view();
    let desc = format!(
        "{} values from {:.1} to {:.1} ms; p50 {:.1} ms, p99 {:.1} ms.",
        d.count, d.min, d.max, d.p50, d.p99
    );
    view! {
        <ChartFrame frame class="histogram" id=name title desc
            x=Axis::new(x, "ms", number)
            y=Axis::new(y, "requests", number)
            {..} data-count=d.count>
            {bins}
            {marks}
        </ChartFrame>
    }
    .into_any()
}

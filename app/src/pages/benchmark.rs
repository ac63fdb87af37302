use super::live_page::PageBanner;
mod charts;
mod deploy;
mod tuning;

use crate::components::Loaded;
use crate::format;
use crate::functions::get_benchmark;
use charts::{Histogram, OperatingCurve};
use deploy::DeployCard;
use gdl_model::ids::BenchmarkId;
use gdl_model::runs::BenchmarkDetail;
use gdl_model::runs::BenchmarkRecord;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tuning::TuningTable;

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
        (
            "Engine",
            r.engine_label()
                .unwrap_or_else(|| "not named (measured with bench)".into()),
        ),
        (
            "Engine settings",
            Some(r.engine_settings.summary())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "the engine's defaults".into()),
        ),
        ("Quantization", format::quantization(&r.quantization)),
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
            "Prompt lengths",
            r.input
                .as_ref()
                .map(|i| i.describe())
                .unwrap_or_else(|| "not counted (before prompt lengths were kept)".into()),
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
    let repeatable = !(r.external || r.run_id.is_empty());
    let bundle = if !repeatable {
        view! {
            <p class="downloads small" data-testid="benchmark-no-bundle">
                "No bundle: measured by gpu-deploy-llm bench against a server this dashboard did not deploy, so there is no test to run again."
            </p>
        }
        .into_any()
    } else {
        view! {
            <p class="downloads" data-testid="benchmark-bundle-line">
                <a href=format!("/api/benchmarks/{}/bundle", r.id) download=format!("{}.json", r.id)
                    data-testid="benchmark-bundle">"Download the bundle"</a>
                {format!(" (the test as it ran, its GPU and price, and the command that runs it again: gpu-deploy-llm test --from {}.json)", r.id)}
            </p>
        }
        .into_any()
    };
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
            {bundle}
        </section>
        {r.tuning.clone().map(|tuning| view! { <TuningTable tuning/> })}
        {repeatable.then(|| view! { <DeployCard r=r.clone()/> })}
        <section class="card">
            <h2>"Operating curve"</h2>
            <OperatingCurve r=r.clone() slo/>
            <Levels r=r.clone()/>
        </section>
        <div class="grid">
            <section class="card">
                <h2>"Time to first token"</h2>
                <Histogram values=detail.ttft_ms() name="ttft" what="TTFT" title="Time to first token of every load request, ms"/>
            </section>
            <section class="card">
                <h2>"Inter-token latency"</h2>
                <Histogram values=detail.itl_ms() name="itl" what="gap between chunks" title="Gaps between streamed chunks, ms"/>
            </section>
        </div>
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

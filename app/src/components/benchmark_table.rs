use crate::format;
use crate::live::use_live;
use gdl_model::runs::BenchmarkRecord;
use leptos::prelude::*;

/// Every benchmark, newest first, with its headline metrics (vLLM conventions).
#[component]
pub fn BenchmarkTable() -> impl IntoView {
    let store = use_live();
    let rows = move || {
        store.client.with(|c| {
            let mut list: Vec<BenchmarkRecord> = c.live.benchmarks.values().cloned().collect();
            list.sort_by_key(|b| std::cmp::Reverse(b.created_at));
            list
        })
    };
    view! {
        <Show
            when=move || !rows().is_empty()
            fallback=|| view! {
                <section class="card">
                    <p class="empty">
                        "No benchmarks recorded yet. A deployment test stores time to first token, time per output token, throughput and $ per million tokens here."
                    </p>
                </section>
            }
        >
            <section class="card table-wrap">
                <table class="benchmarks">
                    <thead>
                        <tr>
                            <th>"When"</th>
                            <th>"Model"</th>
                            <th>"GPU"</th>
                            <th>"Provider"</th>
                            <th class="num">"$/h"</th>
                            <th class="num">"TTFT p50"</th>
                            <th class="num">"TPOT p50"</th>
                            <th class="num">"Output tok/s"</th>
                            <th class="num">"$ / 1M tokens"</th>
                            <th class="num">"Quality"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=rows key=|b| b.id.clone() let:b>
                            <BenchmarkRow b/>
                        </For>
                    </tbody>
                </table>
                <p class="muted small">
                    "vLLM conventions: TTFT = request to first token; TPOT = (end − TTFT) / (tokens − 1), decode only, per request; "
                    "throughput and $ per 1M output tokens at the phase with the highest output rate (its concurrency shown)."
                </p>
            </section>
        </Show>
    }
}

#[component]
fn BenchmarkRow(b: BenchmarkRecord) -> impl IntoView {
    let best = b.best_phase().cloned().unwrap_or_default();
    let c1 = b.phases.first().cloned().unwrap_or_default();
    view! {
        <tr data-benchmark=b.id.clone()>
            <td>{format::timestamp(&b.created_at)}</td>
            <td>{b.model.rsplit('/').next().unwrap_or_default().to_owned()}</td>
            <td>{format::gpu(&b.gpu_type, b.gpu_count)}</td>
            <td>{b.provider.label().to_owned()}</td>
            <td class="num">{format!("{:.3}", b.price_per_hour)}</td>
            <td class="num ttft">{format!("{:.0} ms", c1.ttft_ms.p50)}</td>
            <td class="num tpot">{format!("{:.1} ms", c1.tpot_ms.p50)}</td>
            <td class="num tps">{format!("{:.0} @ c={}", best.output_tokens_per_s, best.concurrency)}</td>
            <td class="num cost">
                {best.usd_per_million_output_tokens.map(|c| format!("${c:.3}")).unwrap_or_else(|| "—".into())}
            </td>
            <td class="num">{format!("{}/{}", b.prompts_matching, b.prompts_with_expected)}</td>
        </tr>
    }
}

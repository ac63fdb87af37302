use crate::format;
use crate::functions::BenchmarksBefore;
use crate::live::use_live;
use gdl_model::ids::BenchmarkId;
use gdl_model::runs::{BenchmarkFilters, BenchmarkRecord, BenchmarkSort};
use leptos::prelude::*;

/// Older benchmarks fetched per click.
const OLDER_PAGE: u32 = 50;

/// Benchmarks, newest first, with their headline metrics (vLLM conventions): the newest
/// from the live state, older ones fetched on demand ("Show older").
#[component]
pub fn BenchmarkTable() -> impl IntoView {
    let store = use_live();
    let older = RwSignal::new(Vec::<BenchmarkRecord>::new());
    let fetch = ServerAction::<BenchmarksBefore>::new();
    // No more to fetch once a page comes back short.
    let exhausted = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(Ok(page))) = fetch.value().get() {
            exhausted.set(page.len() < OLDER_PAGE as usize);
            older.update(|o| o.extend(page));
        }
    });
    let query = crate::url::query::<BenchmarkFilters>();
    let filters = move || query.get().unwrap_or_default();
    let refused = move || {
        query
            .get()
            .err()
            .map(|error| view! { <super::ErrorNote error/> })
    };
    // Every benchmark known here, newest first (what "Show older" continues from).
    let all = move || {
        let mut list: Vec<BenchmarkRecord> = store
            .client
            .with(|c| c.live.benchmarks.values().cloned().collect());
        let newest: std::collections::HashSet<BenchmarkId> =
            list.iter().map(|b| b.id.clone()).collect();
        older.with(|o| list.extend(o.iter().filter(|b| !newest.contains(&b.id)).cloned()));
        list.sort_by_key(|b| std::cmp::Reverse(b.created_at));
        list
    };
    // The ones shown: filtered and sorted as the URL says.
    let rows = move || {
        let f = filters();
        let mut list: Vec<BenchmarkRecord> = all().into_iter().filter(|b| f.passes(b)).collect();
        f.sort(&mut list);
        list
    };
    let show_older = move |_| {
        if let Some(oldest) = all().last() {
            fetch.dispatch(BenchmarksBefore {
                before: oldest.created_at,
                limit: OLDER_PAGE,
            });
        }
    };
    view! {
        {move || view! { <FilterForm f=filters()/> }}
        {refused}
        <Show
            when=move || !all().is_empty()
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
                            <th>"Engine"</th>
                            <th>"Quant"</th>
                            <th>"GPU"</th>
                            <th>"Provider"</th>
                            <th class="num">"Price"</th>
                            <th class="num">"TTFT p50"</th>
                            <th class="num">"TPOT p50"</th>
                            <th class="num">"Output tok/s"</th>
                            <th class="num" title="The highest load that met the SLOs (p95 TTFT, p95 TPOT, success)">"At SLO"</th>
                            <th class="num" title="$ per 1M output tokens at the SLO capacity: the headline figure">"$ / 1M at SLO"</th>
                            <th class="num" title="$ per 1M output tokens at the fastest level">"$ / 1M best"</th>
                            <th class="num">"Quality"</th>
                            <th class="num" title="What the whole test cost: every rental attempt's price × time, provisioning included">"Test cost"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=rows key=|b| format!("{}|{:?}", b.id, b.test_cost_usd) let:b>
                            <BenchmarkRow b/>
                        </For>
                    </tbody>
                </table>
                <p class="actions">
                    <button type="button" class="secondary" data-action="older"
                        disabled=move || exhausted.get() || fetch.pending().get()
                        on:click=show_older>
                        {move || if exhausted.get() { "No older benchmarks" } else { "Show older" }}
                    </button>
                    {move || {
                        fetch
                            .value()
                            .get()
                            .and_then(|reply| crate::functions::outcome(reply).err())
                            .map(|e| view! { <span class="error small">{e.to_string()}</span> })
                    }}
                </p>
                <p class="downloads small">
                    "Export every benchmark: "
                    <a href="/api/benchmarks/export?format=csv" download="" data-export="csv">"CSV"</a>
                    " · "
                    <a href="/api/benchmarks/export?format=json" download="" data-export="json">"JSON"</a>
                </p>
                <p class="muted small">
                    "At SLO: the highest load whose p95 TTFT ≤ 1 s, p95 TPOT ≤ 100 ms and ≥ 99 % success (unless the record says otherwise), and its $ per 1M output tokens. "
                    "vLLM conventions: TTFT = request to first token; TPOT = (end − TTFT) / (tokens − 1), decode only, per request; "
                    "throughput and $ per 1M output tokens at the phase with the highest output rate (its concurrency shown)."
                </p>
            </section>
        </Show>
    }
}

/// The filters and sort, as a plain GET form (`/benchmarks?...`).
#[component]
fn FilterForm(f: BenchmarkFilters) -> impl IntoView {
    let chosen = f.sort.unwrap_or_default();
    let engines = gdl_model::engines::Engine::ALL
        .into_iter()
        .map(|e| view! { <option value=e.as_str() selected=f.engine == Some(e)>{e.label()}</option> })
        .collect_view();
    let sorts = BenchmarkSort::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected=s == chosen>{s.label()}</option> })
        .collect_view();
    view! {
        <form class="card filters" method="get" action="/benchmarks" data-benchmark-filters="">
            <label>"Model" <input type="text" name="model" placeholder="Qwen2.5" value=f.model.clone().unwrap_or_default()/></label>
            <label>"Provider"
                <select name="provider">{super::provider_options(f.provider.as_ref(), &[("external", "external (bench)")])}</select>
            </label>
            <label>"GPU" <input type="text" name="gpu" placeholder="4090" value=f.gpu.clone().unwrap_or_default()/></label>
            <label title="Records from before engines were kept count as vLLM">"Engine"
                <select name="engine"><option value="" selected=f.engine.is_none()>"any"</option>{engines}</select>
            </label>
            <label>"Sort by"
                <select name="sort">{sorts}</select>
            </label>
            <div class="actions">
                <button type="submit">"Apply"</button>
                <a href="/benchmarks">"Clear"</a>
                <a href="/compare">"Compare a model across GPUs"</a>
            </div>
        </form>
    }
}

#[component]
fn BenchmarkRow(b: BenchmarkRecord) -> impl IntoView {
    let best = b.best_phase().cloned().unwrap_or_default();
    let c1 = b.phases.first().cloned().unwrap_or_default();
    let at_slo = b.at_slo().cloned();
    view! {
        <tr data-benchmark=b.id.to_string()>
            <td><a href=format!("/benchmarks/{}", b.id) title="Charts and configuration">{format::timestamp(&b.created_at)}</a></td>
            <td title=b.model.clone()>
                <a href=format!("/compare?model={}", b.model) title="Compare this model across GPUs and providers">
                    {b.model.rsplit('/').next().unwrap_or_default().to_owned()}
                </a>
                {b.external.then(|| view! { <span class="badge" title="Measured with gpu-deploy-llm bench on a server we did not deploy">"external"</span> })}
            </td>
            <td class="engine" title=Some(b.engine_settings.summary()).filter(|s| !s.is_empty())>{b.engine_label().unwrap_or_else(|| "—".into())}</td>
            <td>{format::quantization(&b.quantization)}</td>
            <td>{format::gpu(&b.gpu_type, b.gpu_count)}</td>
            <td>{b.provider.label().to_owned()}</td>
            <td class="num">{format::per_hour(b.price_per_hour)}</td>
            <td class="num ttft">{format!("{:.0} ms", c1.ttft_ms.p50)}</td>
            <td class="num tpot">{format!("{:.1} ms", c1.tpot_ms.p50)}</td>
            <td class="num tps">{format!("{:.0} @ c={}", best.output_tokens_per_s, best.concurrency)}</td>
            <td class="num capacity">
                {at_slo.as_ref().map(|p| format!("c={}{}", p.concurrency, if b.capacity.is_some() { " (search)" } else { "" })).unwrap_or_else(|| "—".into())}
            </td>
            <td class="num slo-cost">
                {at_slo.and_then(|p| p.usd_per_million_output_tokens).map(|c| format!("${c:.3}")).unwrap_or_else(|| "—".into())}
            </td>
            <td class="num cost">
                {best.usd_per_million_output_tokens.map(|c| format!("${c:.3}")).unwrap_or_else(|| "—".into())}
            </td>
            <td class="num">{format!("{}/{}", b.prompts_matching, b.prompts_with_expected)}</td>
            <td class="num test-cost">{b.test_cost_usd.map(format::small_usd).unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

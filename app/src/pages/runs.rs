use super::live_page::PageBanner;
use crate::components::Loaded;
use crate::format;
use crate::functions::get_runs;
use crate::live::use_live;
use crate::url::{ask, query};
use gdl_model::query::PAGE_ROWS;
use gdl_model::registry::PRESETS;
use gdl_model::runs::{Run, RunFilters, RunStatus};
use leptos::prelude::*;

/// Every run, newest first, filtered and paged as the URL says (`/runs?status=failed
/// &model=qwen2.5-0.5b&page=2`): the history the dashboard keeps beyond its five newest.
/// Asked again when a run starts or ends, so the list stays current.
#[component]
pub fn RunsPage() -> impl IntoView {
    let filters = query::<RunFilters>();
    let store = use_live();
    // Asked again when a run starts or changes state.
    let runs_changed = crate::live::changes(move || {
        store.client.with(|c| {
            c.live
                .runs
                .values()
                .map(|r| format!("{}:{}", r.id, r.status.as_str()))
                .collect::<Vec<_>>()
                .join(",")
        })
    });
    // The runs, with the filters they were asked with (for the pager's links).
    let data = Resource::new(
        move || (filters.get(), runs_changed.get()),
        |(filters, _)| async move {
            let asked = filters.clone().unwrap_or_default();
            let reply = ask(filters, get_runs).await;
            reply.map(|answer| answer.map(|runs| (asked, runs)))
        },
    );
    view! {
        <div class="toolbar">
            <h1>"Runs"</h1>
        </div>
        <PageBanner/>
        {move || view! { <FilterForm f=filters.get().unwrap_or_default()/> }}
        <Loaded reply=data fallback="Reading the runs…" let:answer>
            <RunTable f=answer.0 runs=answer.1/>
        </Loaded>
    }
}

/// The status and model filters, as a plain GET form (`/runs?...`).
#[component]
fn FilterForm(f: RunFilters) -> impl IntoView {
    let statuses = std::iter::once(view! { <option value="">"any"</option> }.into_any())
        .chain(RunStatus::ALL.into_iter().map(|s| {
            view! { <option value=s.as_str() selected=f.status == Some(s)>{s.as_str()}</option> }
                .into_any()
        }))
        .collect_view();
    view! {
        <form class="card filters" method="get" action="/runs" data-run-filters="">
            <label>"Status" <select name="status">{statuses}</select></label>
            <label>"Model"
                <input type="text" name="model" list="run-models" placeholder="qwen2.5-0.5b or owner/name"
                    value=f.model.clone().unwrap_or_default()/>
            </label>
            <datalist id="run-models">
                {PRESETS.iter().map(|p| view! { <option value=p.id>{p.name}</option> }).collect_view()}
            </datalist>
            <div class="actions">
                <button type="submit">"Apply"</button>
                <a href="/runs">"Clear"</a>
            </div>
        </form>
    }
}

/// A page of runs, with links to the newer and older pages.
#[component]
fn RunTable(runs: Vec<Run>, f: RunFilters) -> impl IntoView {
    if runs.is_empty() {
        let text = if f == RunFilters::default() {
            "No runs yet. Start a deployment test from the dashboard; every run is kept here."
        } else {
            "No run matches these filters."
        };
        return view! { <section class="card"><p class="empty" data-runs="0">{text}</p></section> }
            .into_any();
    }
    let limit = f.limit.unwrap_or(PAGE_ROWS);
    let page = f.page.unwrap_or(1).max(1);
    let full = runs.len() as u32 == limit;
    let count = runs.len();
    let rows = runs
        .into_iter()
        .map(|r| view! { <RunRow r/> })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <table class="runs" data-runs=count>
                <thead>
                    <tr>
                        <th>"Run"</th>
                        <th>"Started"</th>
                        <th>"Status"</th>
                        <th>"Model"</th>
                        <th>"GPU"</th>
                        <th class="num">"Cost"</th>
                        <th>"Error"</th>
                        <th>"Benchmark"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(page > 1 || full).then(|| view! {
                <nav class="pager small" aria-label="Pages of runs" data-page=page>
                    {(page > 1).then(|| view! { <a href=format!("/runs?{}", f.query_at(page - 1)) rel="prev">"← Newer"</a> })}
                    <span>{format!(" page {page} ")}</span>
                    {full.then(|| view! { <a href=format!("/runs?{}", f.query_at(page + 1)) rel="next">"Older →"</a> })}
                </nav>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn RunRow(r: Run) -> impl IntoView {
    let status = r.status.as_str();
    let gpu = r
        .offer
        .as_ref()
        .map(|o| {
            format!(
                "{} on {}",
                format::gpu(&o.gpu_type, o.gpu_count),
                o.provider.label()
            )
        })
        .unwrap_or_else(|| "—".into());
    let cost = format::small_usd(r.cost_usd(chrono::Utc::now()));
    let id = r.id.to_string();
    view! {
        <tr data-run=id.clone() data-status=status>
            <td><a href=format!("/runs/{id}")><code>{format::short_id(&id).to_owned()}</code></a></td>
            <td>{format::timestamp(&r.created_at)}</td>
            <td><span class=format!("status {status}")>{status}</span></td>
            <td>
                {r.config.model.clone()}
                <span class="muted small engine">{format!(" · {}", r.config.engine_label())}</span>
            </td>
            <td>{gpu}</td>
            <td class="num">{cost}</td>
            <td class="error-text" title=r.error.clone().unwrap_or_default()>
                {r.error_code.map(|c| c.to_string()).unwrap_or_default()}
            </td>
            <td>
                {r.benchmark_id.map(|b| {
                    let b = b.to_string();
                    view! { <a href=format!("/benchmarks/{b}")>{format::short_id(&b).to_owned()}</a> }
                })}
            </td>
        </tr>
    }
}

//! Compare's filters as a plain GET form (a link reproduces the view), and the line that
//! names the comparison group shown with links to the others.

use gdl_model::compare::{CompareGroup, CompareQuery, Comparison};
use gdl_model::engines::Engine;
use leptos::prelude::*;

/// `(value, benchmarks)` for each value of one part of the groups, in the groups' order
/// (the most benchmarks first).
fn values(groups: &[CompareGroup], part: fn(&CompareGroup) -> &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for g in groups {
        match out.iter_mut().find(|(v, _)| v == part(g)) {
            Some((_, n)) => *n += g.benchmarks,
            None => out.push((part(g).to_owned(), g.benchmarks)),
        }
    }
    out
}

/// A select of one group part: "any" (chosen for you), then each value with its count.
fn group_select(
    name: &'static str,
    label: &'static str,
    title: &'static str,
    chosen: Option<String>,
    values: Vec<(String, usize)>,
) -> impl IntoView {
    let options = values
        .into_iter()
        .map(|(v, n)| {
            let selected = chosen.as_deref() == Some(v.as_str());
            let text = format!("{v} ({n})");
            view! { <option value=v selected=selected>{text}</option> }
        })
        .collect_view();
    view! {
        <label title=title>{label}
            <select name=name data-testid=format!("compare-{name}")>
                <option value="" selected=chosen.is_none()>"the most benchmarks"</option>
                {options}
            </select>
        </label>
    }
}

/// The model to compare, the comparison group (engine, workload, SLOs, quantization) and
/// the engine settings.
#[component]
pub(super) fn CompareForm(models: Vec<String>, q: CompareQuery, c: Comparison) -> impl IntoView {
    let chosen = q.model.clone().unwrap_or_default();
    let settings_options = c
        .settings
        .into_iter()
        .map(|s| {
            let selected = q.settings.as_deref() == Some(s.as_str());
            let text = s.clone();
            view! { <option value=s selected=selected>{text}</option> }
        })
        .collect_view();
    let engines = Engine::ALL
        .into_iter()
        .map(|e| view! { <option value=e.as_str() selected=q.engine == Some(e)>{e.label()}</option> })
        .collect_view();
    let options = models
        .into_iter()
        .map(|m| {
            let selected = m == chosen;
            let text = m.clone();
            view! { <option value=m selected=selected>{text}</option> }
        })
        .collect_view();
    let groups = c.groups;
    view! {
        <form class="card filters" method="get" action="/compare" data-compare-form="">
            <label>"Model"
                <select name="model">
                    <option value="">"choose a model benchmarked"</option>
                    {options}
                </select>
            </label>
            <label title="Records from before engines were kept count as vLLM">"Engine"
                <select name="engine"><option value="" selected=q.engine.is_none()>"any"</option>{engines}</select>
            </label>
            {group_select("workload", "Workload", "The requests measured with (records from before it was kept: synthetic 64 in / 96 out)",
                q.workload, values(&groups, |g| &g.workload))}
            {group_select("slo", "SLOs", "p95 TTFT and TPOT bounds in ms (ok: the share of requests that had to succeed, when not 99 %)",
                q.slo, values(&groups, |g| &g.slo))}
            {group_select("quantization", "Quantization", "The weights' quantization",
                q.quantization, values(&groups, |g| &g.quantization))}
            <label title="The engine settings the benchmarks ran with (default: none set)">"Settings"
                <select name="settings" data-testid="compare-settings">
                    <option value="" selected=q.settings.is_none()>"any"</option>
                    {settings_options}
                </select>
            </label>
            <div class="actions"><button type="submit">"Compare"</button></div>
        </form>
    }
}

/// Which group the frontier shows, why, and the other groups as links.
#[component]
pub(super) fn GroupLine(c: Comparison, q: CompareQuery) -> impl IntoView {
    let others: Vec<CompareGroup> = c
        .groups
        .iter()
        .filter(|g| Some(*g) != c.group.as_ref())
        .cloned()
        .collect();
    let open =
        q.workload.is_none() || q.slo.is_none() || q.quantization.is_none() || q.engine.is_none();
    let shown =
        match &c.group {
            Some(g) => format!(
            "Like with like: {} measured with the workload {}, SLOs {}, quantization {} and {}{}. ",
            crate::format::count(g.benchmarks, "benchmark", "benchmarks"),
            g.workload,
            g.slo,
            g.quantization,
            g.engine.map_or("an engine not named", |e| e.label()),
            if open { " (the group with the most benchmarks)" } else { "" }
        ),
            None => "No group of this model's benchmarks matches these filters. ".to_owned(),
        };
    let left_out = match (c.left_out, others.len()) {
        (0, _) => String::new(),
        (n, k) => format!(
            "{} in {} left out: ",
            crate::format::count(n, "benchmark", "benchmarks"),
            crate::format::count(k, "other group", "other groups")
        ),
    };
    let links = others
        .into_iter()
        .map(|g| {
            let href = format!(
                "/compare?{}",
                gdl_model::query::encode(&g.query(&c.model, q.settings.clone()))
            );
            let text = format!("{} ({})", g.label(), g.benchmarks);
            view! { <li><a href=href data-group="">{text}</a></li> }
        })
        .collect_view();
    view! {
        <section class="card">
            <p data-testid="compare-group">{shown}{left_out}</p>
            <ul class="groups">{links}</ul>
        </section>
    }
}

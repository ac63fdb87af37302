//! The tuning table of a benchmark whose test asked to tune its engine (issue 31): each
//! setting tried on the same rental, in order, with its capacity at the SLOs, its $ per
//! million output tokens there, the change against the test's own settings, and what
//! trying it took and cost; the best marked.

use crate::format;
use gdl_model::tuning::{TuneStop, Tuning};
use leptos::prelude::*;

#[component]
pub fn TuningTable(tuning: Tuning) -> impl IntoView {
    let first = tuning.points.first().and_then(|p| p.capacity);
    let rows = tuning
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let against = match (p.capacity, first) {
                (Some(c), Some(f)) if f > 0 => format!("{:.2}×", f64::from(c) / f64::from(f)),
                _ => "—".into(),
            };
            let verdict = match (&p.error, i == tuning.best) {
                (Some(why), _) => format!("did not serve: {why}"),
                (None, true) => "best".into(),
                (None, false) if i == 0 => "the test's own".into(),
                (None, false) => "dropped".into(),
            };
            let settings = p.words();
            view! {
                <tr data-testid="tuning-point" data-best=(i == tuning.best).to_string()>
                    <td>{p.change.clone()}</td>
                    <td class="small">{settings}</td>
                    <td class="num">{p.capacity.map(|c| c.to_string()).unwrap_or_else(|| "none".into())}</td>
                    <td class="num">{p.usd_per_million_output_tokens.map(|u| format!("${u:.3}")).unwrap_or_else(|| "—".into())}</td>
                    <td class="num">{against}</td>
                    <td class="num">{format!("{:.0} s", p.seconds)}</td>
                    <td class="num">{format::small_usd(p.cost_usd)}</td>
                    <td>{verdict}</td>
                </tr>
            }
        })
        .collect_view();
    let ended = match tuning.stop {
        TuneStop::Done => "every change worth trying was tried",
        TuneStop::UsdBudget => "the next trial would have gone over the $ budget",
        TuneStop::TimeBudget => "the next trial would have gone over the time budget",
        TuneStop::Failed => "the engine did not start again with the best settings",
    };
    let winner = tuning.winner();
    let summary = format!(
        "Best: {}{}. Tuning took {:.0} s and cost {}; it ended because {ended}.",
        winner.change,
        tuning
            .gain()
            .map(|g| format!(", {g:.2}× the capacity of the test's own settings"))
            .unwrap_or_default(),
        tuning.seconds,
        format::small_usd(tuning.cost_usd),
    );
    view! {
        <section class="card" data-testid="tuning">
            <h2>"Tuning on the same rental"</h2>
            <p data-testid="tuning-summary">{summary}</p>
            <div class="table-wrap">
                <table class="levels">
                    <thead>
                        <tr>
                            <th>"Change"</th>
                            <th>"Settings"</th>
                            <th class="num">"Capacity at the SLOs"</th>
                            <th class="num">"$ / 1M at it"</th>
                            <th class="num">"Against the test's own"</th>
                            <th class="num">"Took"</th>
                            <th class="num">"Cost"</th>
                            <th>"Result"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

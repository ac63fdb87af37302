//! The candidates of a campaign: each one's estimate, where it is (its run's step while it
//! runs), what it spent and measured, and how far the estimate was off.

use crate::format;
use crate::live::use_live;
use gdl_model::campaigns::record::{Campaign, CandidateState, CandidateStatus};
use leptos::prelude::*;

/// One row per candidate, in the order ranked.
#[component]
pub fn Candidates(c: Memo<Campaign>) -> impl IntoView {
    let tunes = move || c.with(|c| c.request.tune.is_some());
    let rows = move || {
        let tunes = tunes();
        c.with(|c| c.candidates.clone())
            .into_iter()
            .map(|s| view! { <Row s tunes/> })
            .collect_view()
    };
    view! {
        <section class="card table-wrap">
            <h2>"Candidates"</h2>
            <table class="candidates" data-candidates=move || c.with(|c| c.candidates.len())>
                <thead>
                    <tr>
                        <th>"Candidate"</th>
                        <th class="num">"Price"</th>
                        <th>"Status"</th>
                        <th class="num">"Spent"</th>
                        <th class="num">"Levels"</th>
                        <th class="num">"$ / 1M at SLO"</th>
                        <th class="num">"tok/s per user"</th>
                        <th class="num">"Estimated $ / 1M"</th>
                        <th class="num">"Estimate off by"</th>
                        {move || tunes().then(|| view! { <th>"Tuned"</th> })}
                        <th>"Note"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="muted small">
                "The estimate is a roofline: decode speed from the GPU's memory bandwidth and the model's bytes per token, prefill from its compute. "
                "Off by = (estimate − measured) / measured, on $ per 1M output tokens at the SLO capacity."
            </p>
        </section>
    }
}

#[component]
fn Row(s: CandidateState, tunes: bool) -> impl IntoView {
    let store = use_live();
    let run = s.runs.last().cloned();
    let status = s.status;
    // Where its run is, from the live state, while it runs.
    let step = move || {
        let run = run.clone()?;
        (status == CandidateStatus::Running)
            .then(|| {
                store.client.with(|c| {
                    c.live
                        .runs
                        .get(&run)
                        .and_then(|r| r.current_step())
                        .map(|s| s.label())
                })
            })
            .flatten()
    };
    let usd = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("${v:.3}"));
    let estimated = match (&s.candidate.measured_before, s.candidate.estimate) {
        (Some(_), _) => format!(
            "{} (measured before)",
            usd(s.candidate.rank_usd_per_million)
        ),
        (None, Some(e)) => usd(e.usd_per_million),
        (None, None) => "—".into(),
    };
    let error = s
        .estimate_error
        .map_or("—".to_owned(), |e| format!("{:+.0} %", e * 100.0));
    let key = s.candidate.key.to_string();
    let runs = s
        .runs
        .iter()
        .map(|r| view! { <a href=format!("/runs/{r}")><code>{r.to_string()}</code></a>" " })
        .collect_view();
    view! {
        <tr data-candidate=key.clone() data-status=status.as_str()>
            <td>{key.clone()}<br/><span class="muted small">{runs}</span></td>
            <td class="num">{format::per_hour(s.candidate.price_per_hour)}</td>
            <td>
                <span class="dep-status" data-status=status.as_str()>{status.label()}</span>
                {move || step().map(|s| view! { <span class="muted small step">{format!(" · {s}")}</span> })}
            </td>
            <td class="num">{format::small_usd(s.spend_usd)}</td>
            <td class="num" data-points=s.points>{s.points}</td>
            <td class="num" data-measured=s.usd_per_million>{usd(s.usd_per_million)}</td>
            <td class="num">{s.tokens_per_s_per_user.map_or("—".to_owned(), |v| format!("{v:.0}"))}</td>
            <td class="num">{estimated}</td>
            <td class="num" data-testid="estimate-error" data-error=s.estimate_error>{error}</td>
            {tunes.then(|| view! { <td class="small" data-testid="tuned">{tuned(&s)}</td> })}
            <td class="small">{s.note.clone().or(s.candidate.note.clone()).unwrap_or_default()}</td>
        </tr>
    }
}

/// What tuning found on the candidate's rental: the best change, its $ per 1M at the SLO
/// and its gain in capacity.
fn tuned(s: &CandidateState) -> String {
    let Some(t) = &s.tuned else {
        return "—".into();
    };
    let usd = t
        .usd_per_million
        .map_or("—".to_owned(), |v| format!("${v:.3}"));
    let gain = t
        .gain
        .map(|g| format!(", {g:.2}× the capacity"))
        .unwrap_or_default();
    if t.change == "default" {
        format!("nothing beat its settings ({} tried)", t.points)
    } else {
        format!("{}: {usd}{gain}", t.change)
    }
}

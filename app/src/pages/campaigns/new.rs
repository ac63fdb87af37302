//! A new campaign: the model, the budgets, the workload and SLOs. Plan lists the candidates
//! ranked by estimate (nothing rented); each can be left out; Start begins the campaign
//! and opens its page.

use crate::components::ErrorNote;
use crate::format;
use crate::functions::{outcome, plan_campaign, start_campaign};
use gdl_model::benchmark::Slo;
use gdl_model::campaigns::{CampaignPlan, CampaignRequest, Candidate, CandidateKey, WorkloadSpec};
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use gdl_model::tuning::{TuneRequest, DEFAULT_TUNE_SECONDS};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The form's fields as typed.
#[derive(Clone, Copy)]
struct Fields {
    model: RwSignal<String>,
    budget: RwSignal<String>,
    minutes: RwSignal<String>,
    parallel: RwSignal<String>,
    input: RwSignal<String>,
    output: RwSignal<String>,
    trace: RwSignal<String>,
    ttft: RwSignal<String>,
    tpot: RwSignal<String>,
    max_price: RwSignal<String>,
    tune_usd: RwSignal<String>,
}

impl Fields {
    fn new() -> Self {
        let s = |v: &str| RwSignal::new(v.to_owned());
        Self {
            model: s("qwen2.5-7b"),
            budget: s("2"),
            minutes: s("60"),
            parallel: s("3"),
            input: s("512"),
            output: s("128"),
            trace: s(""),
            ttft: s("1000"),
            tpot: s("100"),
            max_price: s(""),
            tune_usd: s(""),
        }
    }

    /// The request the fields spell, measuring `only` those candidates (all when empty)
    /// and leaving `exclude` out; a field that is not a number is refused here, the rest by
    /// the server's check.
    fn request(
        &self,
        only: Vec<CandidateKey>,
        exclude: Vec<CandidateKey>,
    ) -> Result<CampaignRequest, ApiError> {
        fn number<T: std::str::FromStr>(
            field: RwSignal<String>,
            name: &str,
        ) -> Result<T, ApiError> {
            let text = field.get_untracked();
            text.trim().parse().map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("{name} must be a number, not {text:?}"),
                )
                .with_hint("Write it in digits, such as 2 or 0.5.")
            })
        }
        let max_price = self.max_price.get_untracked();
        Ok(CampaignRequest {
            model: self.model.get_untracked().trim().to_owned(),
            quantizations: Vec::new(),
            engine: Default::default(),
            engine_version: None,
            settings: Default::default(),
            workload: WorkloadSpec {
                input_tokens: number(self.input, "Input tokens")?,
                output_tokens: number(self.output, "Output tokens")?,
                seed: 0,
                trace: Some(self.trace.get_untracked()).filter(|t| !t.is_empty()),
            },
            slo: Slo {
                ttft_p95_ms: number(self.ttft, "TTFT p95")?,
                tpot_p95_ms: number(self.tpot, "TPOT p95")?,
                ..Slo::default()
            },
            budget_usd: number(self.budget, "Budget")?,
            time_budget_minutes: number(self.minutes, "Time budget")?,
            parallel: number(self.parallel, "Rentals at once")?,
            max_price: if max_price.trim().is_empty() {
                None
            } else {
                Some(number(self.max_price, "Max price")?)
            },
            providers: Vec::new(),
            gpus: Vec::new(),
            lemon_ratio: 0.6,
            exclude,
            only,
            tune: if self.tune_usd.get_untracked().trim().is_empty() {
                None
            } else {
                Some(TuneRequest {
                    usd_budget: number(self.tune_usd, "Tune budget")?,
                    seconds: DEFAULT_TUNE_SECONDS,
                })
            },
        })
    }
}

/// The form, the plan and Start.
#[component]
pub fn NewCampaign() -> impl IntoView {
    let f = Fields::new();
    let left_out = RwSignal::new(Vec::<CandidateKey>::new());
    let refused = RwSignal::new(None::<ApiError>);
    let plan = Action::new(move |r: &CampaignRequest| plan_campaign(r.clone()));
    let start = Action::new(move |r: &CampaignRequest| start_campaign(r.clone()));
    let planned = move || plan.value().get().map(outcome);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(reply) = start.value().get() {
            match outcome(reply) {
                Ok(c) => navigate(&format!("/campaigns/{}", c.id), Default::default()),
                Err(e) => refused.set(Some(e)),
            }
        }
    });
    let on_plan = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        refused.set(None);
        left_out.set(Vec::new());
        match f.request(Vec::new(), Vec::new()) {
            Ok(r) => {
                plan.dispatch(r);
            }
            Err(e) => refused.set(Some(e)),
        }
    };
    let on_start = move |_| {
        refused.set(None);
        // The candidates ticked: one that appeared since the plan is not measured unseen.
        let left = left_out.get_untracked();
        let only: Vec<CandidateKey> = plan
            .value()
            .get_untracked()
            .and_then(|reply| outcome(reply).ok())
            .map(|p| p.candidates.into_iter().map(|c| c.key))
            .into_iter()
            .flatten()
            .filter(|k| !left.contains(k))
            .collect();
        match f.request(only, left) {
            Ok(r) => {
                start.dispatch(r);
            }
            Err(e) => refused.set(Some(e)),
        }
    };
    let field = move |label: &'static str,
                      name: &'static str,
                      value: RwSignal<String>,
                      title: &'static str| {
        view! {
            <label title=title>{label}
                <input name=name prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
            </label>
        }
    };
    view! {
        <form class="card filters campaign-form" data-testid="campaign-form" on:submit=on_plan>
            {field("Model", "model", f.model, "A preset alias or a Hugging Face id")}
            {field("Budget, $", "budget_usd", f.budget, "The most the whole campaign may spend: a hard limit")}
            {field("Time budget, min", "time_budget_minutes", f.minutes, "The longest it may take")}
            {field("Rentals at once", "parallel", f.parallel, "How many GPUs are rented at the same time (1–8)")}
            {field("Input tokens", "input_tokens", f.input, "Prompt length of the benchmark's requests")}
            {field("Output tokens", "output_tokens", f.output, "Answer length of the benchmark's requests")}
            <label title="Synthetic requests of the lengths above, or a shipped trace's requests (lengths and shared prefixes; the lengths above then only name the estimate's basis)">"Requests"
                <select name="trace" prop:value=f.trace on:change=move |ev| f.trace.set(event_target_value(&ev))>
                    <option value="">"Synthetic"</option>
                    <option value="chat">"Chat trace"</option>
                    <option value="rag">"RAG trace"</option>
                </select>
            </label>
            {field("TTFT p95, ms", "ttft_p95_ms", f.ttft, "The SLO on time to first token")}
            {field("TPOT p95, ms", "tpot_p95_ms", f.tpot, "The SLO on time per output token")}
            {field("Max price, $/h", "max_price", f.max_price, "Highest price for one rental; empty: any")}
            {field("Tune each, $", "tune_usd", f.tune_usd, "After each candidate's search, try engine settings on its rental (KV cache, memory share, sequences at once) within this much, each rental planned 30 minutes longer; the best is shown beside the campaign's own figures. Empty: no tuning")}
            <div class="actions">
                <button type="submit" data-testid="plan-campaign" disabled=move || plan.pending().get()>"Plan"</button>
            </div>
        </form>
        {move || refused.get().map(|error| view! { <ErrorNote error/> })}
        {move || match planned() {
            None => ().into_any(),
            Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
            Some(Ok(p)) => view! { <Plan p left_out start_pending=start.pending() on_start/> }.into_any(),
        }}
    }
}

/// The candidates ranked, each with a box to leave it out, and Start.
#[component]
fn Plan(
    p: CampaignPlan,
    left_out: RwSignal<Vec<CandidateKey>>,
    start_pending: Memo<bool>,
    on_start: impl Fn(leptos::ev::MouseEvent) + 'static,
) -> impl IntoView {
    let n = p.candidates.len();
    let rows = p
        .candidates
        .into_iter()
        .map(|c| view! { <PlanRow c left_out/> })
        .collect_view();
    let chosen = move || n - left_out.with(Vec::len);
    view! {
        <section class="card table-wrap plan" data-testid="campaign-plan" data-candidates=n>
            <h2>{format!("{} ranked by estimate", format::count(n, "candidate", "candidates"))}</h2>
            <table class="candidates">
                <thead>
                    <tr>
                        <th>"Measure"</th>
                        <th>"Candidate"</th>
                        <th class="num">"Price"</th>
                        <th class="num">"Offers"</th>
                        <th class="num">"Batch at SLO"</th>
                        <th class="num">"tok/s per user"</th>
                        <th class="num">"$ / 1M at SLO"</th>
                        <th>"Basis"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="actions">
                <button type="button" data-testid="start-campaign" on:click=on_start
                    disabled=move || start_pending.get() || chosen() == 0>
                    {move || format!("Start: measure {}", format::count(chosen(), "candidate", "candidates"))}
                </button>
            </div>
        </section>
    }
}

#[component]
fn PlanRow(c: Candidate, left_out: RwSignal<Vec<CandidateKey>>) -> impl IntoView {
    let key = c.key.clone();
    let text = key.to_string();
    let checked = {
        let key = key.clone();
        move || left_out.with(|l| !l.contains(&key))
    };
    let toggle = move |_| {
        left_out.update(|l| match l.iter().position(|k| *k == key) {
            Some(i) => {
                l.remove(i);
            }
            None => l.push(key.clone()),
        })
    };
    let e = c.estimate;
    let basis = match (&c.measured_before, &c.note) {
        (Some(b), _) => format!("measured before ({b})"),
        (None, Some(note)) => note.clone(),
        (None, None) => "estimated".into(),
    };
    view! {
        <tr data-candidate=text.clone()>
            <td><input type="checkbox" prop:checked=checked on:change=toggle aria-label=format!("measure {text}")/></td>
            <td>{text.clone()}</td>
            <td class="num">{format::per_hour(c.price_per_hour)}</td>
            <td class="num">{c.offers}</td>
            <td class="num">{e.map_or("—".to_owned(), |e| e.concurrency.to_string())}</td>
            <td class="num">{e.map_or("—".to_owned(), |e| format!("{:.0}", e.tokens_per_s_per_user))}</td>
            <td class="num">{c.rank_usd_per_million.map_or("—".to_owned(), |v| format!("${v:.3}"))}</td>
            <td class="small">{basis}</td>
        </tr>
    }
}

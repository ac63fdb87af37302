//! `campaign`: asks a running dashboard to measure several GPU types at once under a budget
//! (`POST /api/campaigns`), follows it with one progress line per candidate and the spend
//! against the budget (bars on a terminal, a line per change elsewhere), then prints the
//! candidates and the answer. `--plan` lists the candidates with their estimates only.
//! Ctrl-C asks the dashboard to stop the campaign and follows it until its rentals are
//! destroyed.

use super::deploy::{refused, remote};
use super::output::{print, printable, table, FAILED, OK};
use super::shutdown_signal;
use crate::config::CampaignArgs;
use gdl_model::benchmark::Slo;
use gdl_model::campaigns::bundle::Bundle;
use gdl_model::campaigns::record::{Campaign, CampaignStatus, CandidateState};
use gdl_model::campaigns::{CampaignPlan, CampaignRequest, Candidate, WorkloadSpec};
use gdl_model::shopper::Provider;
use gdl_model::tuning::TuneRequest;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// How often the campaign is read while it runs.
const POLL: Duration = Duration::from_secs(1);

/// The request: from `--from`'s file (its budget replaced by `--budget`), else from the
/// options; a sentence saying what is wrong with the file otherwise.
fn request(args: &CampaignArgs) -> Result<CampaignRequest, String> {
    let Some(path) = &args.from else {
        return Ok(from_options(args));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut request = Bundle::read(&text)
        .map_err(|e| format!("{} is {e}", path.display()))?
        .request;
    if let Some(budget) = args.budget {
        request.budget_usd = budget;
    }
    Ok(request)
}

fn from_options(args: &CampaignArgs) -> CampaignRequest {
    CampaignRequest {
        model: args.model.clone().unwrap_or_default(),
        quantizations: args.quantizations.clone(),
        engine: Default::default(),
        engine_version: None,
        settings: Default::default(),
        workload: WorkloadSpec {
            input_tokens: args.input_tokens,
            output_tokens: args.output_tokens,
            seed: args.seed,
            trace: args.trace.clone(),
        },
        slo: Slo {
            ttft_p95_ms: args.ttft_ms,
            tpot_p95_ms: args.tpot_ms,
            ..Slo::default()
        },
        budget_usd: args.budget.unwrap_or_default(),
        time_budget_minutes: args.time_minutes,
        parallel: args.parallel,
        max_price: args.max_price,
        providers: args
            .providers
            .iter()
            .map(|p| Provider::from_wire(p))
            .collect(),
        gpus: args.gpus.clone(),
        lemon_ratio: 0.6,
        exclude: Vec::new(),
        only: Vec::new(),
        tune: args.tune_usd.map(|usd_budget| TuneRequest {
            usd_budget,
            seconds: args.tune_seconds,
        }),
    }
}

/// `gpu-deploy-llm campaign`: 0 with an answer, 1 without one (or when the dashboard
/// failed), 2 on bad input.
pub async fn campaign(args: CampaignArgs) -> anyhow::Result<i32> {
    let remote = match remote(&args.dashboard) {
        Ok(remote) => remote,
        Err(code) => return Ok(code),
    };
    let asked = match request(&args) {
        Ok(asked) => asked,
        Err(problem) => return Ok(super::output::bad_input(
            &problem,
            "Save a campaign's bundle from its page (Download the bundle), then pass that file.",
        )),
    };
    if args.plan {
        let plan: CampaignPlan = match remote.post(&["api", "campaigns", "plan"], &asked).await {
            Ok(plan) => plan,
            Err(e) => return Ok(refused(&e)),
        };
        print(args.json, &plan, || plan_table(&plan.candidates));
        return Ok(OK);
    }
    let started: Campaign = match remote.post(&["api", "campaigns"], &asked).await {
        Ok(c) => c,
        Err(e) => return Ok(refused(&e)),
    };
    eprintln!(
        "campaign {} started: {} candidates, budget ${:.2}, {} at once",
        started.id,
        started.candidates.len(),
        asked.budget_usd,
        asked.parallel
    );
    let id = started.id.to_string();
    let mut shown = Shown::new(&started);
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let mut stopping = false;
    let ended = loop {
        let now: Campaign = match remote.get(&["api", "campaigns", &id], "").await {
            Ok(c) => c,
            Err(e) => return Ok(refused(&e)),
        };
        shown.update(&now);
        if now.status.is_finished() {
            break now;
        }
        tokio::select! {
            _ = &mut stop, if !stopping => {
                stopping = true;
                shown.line("stopping the campaign: its rentals are destroyed, what was measured is kept");
                let asked: Result<Campaign, _> =
                    remote.post(&["api", "campaigns", &id, "stop"], &serde_json::json!({})).await;
                if let Err(e) = asked {
                    return Ok(refused(&e));
                }
            }
            _ = tokio::time::sleep(POLL) => {}
        }
    };
    drop(shown);
    print(args.json, &ended, || summary(&ended));
    Ok(match (ended.status, &ended.answer) {
        (CampaignStatus::Finished | CampaignStatus::Stopped, Some(_)) => OK,
        _ => FAILED,
    })
}

/// The progress: a line per candidate and one for the spend.
struct Shown {
    bars: Option<(MultiProgress, Vec<ProgressBar>, ProgressBar)>,
    last: Vec<String>,
    budget: f64,
}

impl Shown {
    fn new(c: &Campaign) -> Self {
        let budget = c.request.budget_usd;
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bars = terminal.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let lines = c
                .candidates
                .iter()
                .map(|_| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.enable_steady_tick(Duration::from_millis(150));
                    bar
                })
                .collect();
            let spend = multi.add(ProgressBar::new((budget * 10_000.0) as u64));
            spend.set_style(
                ProgressStyle::with_template("  [{bar:30}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("#>-"),
            );
            (multi, lines, spend)
        });
        Self {
            bars,
            last: vec![String::new(); c.candidates.len()],
            budget,
        }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some((multi, _, _)) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    fn update(&mut self, c: &Campaign) {
        let spend = format!(
            "spent ${:.4} of ${:.2} (projected ${:.4})",
            c.spend_usd, self.budget, c.projected_usd
        );
        for (i, candidate) in c.candidates.iter().enumerate() {
            let text = progress_line(candidate);
            match &self.bars {
                Some((_, lines, _)) => {
                    if let Some(bar) = lines.get(i) {
                        bar.set_message(text.clone());
                        if candidate.status.is_finished() {
                            bar.disable_steady_tick();
                        }
                    }
                }
                None if self.last.get(i) != Some(&text) => eprintln!("{text}"),
                None => {}
            }
            if let Some(last) = self.last.get_mut(i) {
                *last = text;
            }
        }
        if let Some((_, _, bar)) = &self.bars {
            bar.set_position((c.spend_usd.min(self.budget) * 10_000.0) as u64);
            bar.set_message(spend);
        }
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        if let Some((multi, lines, spend)) = self.bars.take() {
            for bar in lines {
                bar.finish();
            }
            spend.finish();
            let _ = multi.clear();
        }
    }
}

/// "RTX 4090 ×1 on Vast.ai · measured · $0.0123 spent · 8 levels · $0.215/1M at the SLO".
fn progress_line(c: &CandidateState) -> String {
    let mut text = format!(
        "{} · {} · ${:.4} spent",
        c.candidate.key,
        c.status.label(),
        c.spend_usd
    );
    if c.points > 0 {
        text.push_str(&format!(" · {} levels", c.points));
    }
    if let Some(usd) = c.usd_per_million {
        text.push_str(&format!(" · ${usd:.3}/1M at the SLO"));
    }
    if let Some(note) = &c.note {
        text.push_str(&format!(" · {}", printable(note)));
    }
    text
}

fn usd(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("${v:.3}"))
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:+.0} %", v * 100.0))
}

/// The candidates with their estimates, ranked (`--plan`).
fn plan_table(list: &[Candidate]) -> String {
    let rows = list
        .iter()
        .map(|c| {
            let e = c.estimate.as_ref();
            vec![
                c.key.to_string(),
                format!("${:.3}/h", c.price_per_hour),
                c.offers.to_string(),
                e.map_or("-".into(), |e| e.concurrency.to_string()),
                e.map_or("-".into(), |e| {
                    format!("{:.0} tok/s", e.tokens_per_s_per_user)
                }),
                usd(c.rank_usd_per_million),
                match (&c.measured_before, &c.note) {
                    (Some(b), _) => format!("measured before ({b})"),
                    (None, Some(note)) => printable(note),
                    (None, None) => "estimated".into(),
                },
            ]
        })
        .collect();
    table(
        &[
            "candidate",
            "price",
            "offers",
            "batch at SLO",
            "per user",
            "$/1M at SLO",
            "basis",
        ],
        rows,
    )
}

/// The ended campaign: each candidate, then the answer.
fn summary(c: &Campaign) -> String {
    let rows = c
        .candidates
        .iter()
        .map(|s| {
            vec![
                s.candidate.key.to_string(),
                s.status.label().to_owned(),
                format!("${:.4}", s.spend_usd),
                usd(s.usd_per_million),
                s.tokens_per_s_per_user
                    .map_or("-".into(), |v| format!("{v:.0} tok/s")),
                usd(s.candidate.estimate.and_then(|e| e.usd_per_million)),
                percent(s.estimate_error),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "candidate",
            "status",
            "spent",
            "$/1M at SLO",
            "per user",
            "estimated $/1M",
            "estimate off by",
        ],
        rows,
    );
    out.push_str(&format!(
        "\nspent ${:.4} of ${:.2}; {}\n",
        c.spend_usd,
        c.request.budget_usd,
        c.message.as_deref().map(printable).unwrap_or_default()
    ));
    out.push_str(&tuned_lines(c));
    if let Some(answer) = &c.answer {
        for r in &answer.comparison.recommendations {
            out.push_str(&format!(
                "{}: {}{}\n",
                r.goal.as_str(),
                printable(&r.text),
                answer.doubt(r.goal)
            ));
        }
        if let Some(sentence) = answer.break_even_sentence() {
            out.push_str(&format!("{sentence}\n"));
        }
    }
    out
}

/// What tuning found on each candidate, when the campaign tuned: a line each.
fn tuned_lines(c: &Campaign) -> String {
    let mut out = String::new();
    for s in &c.candidates {
        let Some(t) = &s.tuned else { continue };
        let settings = if t.settings.is_empty() {
            "the engine's defaults"
        } else {
            &t.settings
        };
        out.push_str(&format!(
            "tuned {}: {} ({}), {} at SLO{}; {} setting(s) tried for ${:.4}\n",
            s.candidate.key,
            printable(&t.change),
            printable(settings),
            usd(t.usd_per_million),
            t.gain
                .map(|g| format!(", {g:.2}x the capacity"))
                .unwrap_or_default(),
            t.points,
            t.cost_usd
        ));
    }
    out
}

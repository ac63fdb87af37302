//! One campaign's loop. Each second it: ends what a stop asks to end; records the runs that
//! ended (what each measured, what it cost); cuts short a run whose rent would pass the
//! budget; and launches the next candidates while fewer than `parallel` run and the ledger
//! says the projected spend, with the new one's planned cost, stays within the $ and time
//! budgets. A candidate the budget cannot afford while nothing else runs is not measured,
//! and the record says so. At the end it works out the answer from what was measured.

use super::again::{measure_again, measured_again, not_again, spreads, try_again};
use super::launch::candidate_config;
use crate::live::Hub;
use crate::runner::owned::Owned;
use crate::runner::Runner;
use crate::store::StoreError;
use chrono::{DateTime, Duration, Utc};
use gdl_model::campaigns::budget::{Ledger, RentalPlan};
use gdl_model::campaigns::record::{
    Answer, Campaign, CampaignStatus, CandidateState, CandidateStatus, GoalConfidence, Tuned,
};
use gdl_model::campaigns::verdict::{self, break_even, default_serverless_price};
use gdl_model::campaigns::CampaignRequest;
use gdl_model::compare::{compare, Goal};
use gdl_model::ids::RunId;
use gdl_model::live::LiveEvent;
use gdl_model::runs::{BenchmarkRecord, Run, RunStatus};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// The longest capacity search of a candidate: the dashboard's own limit.
fn search_limit() -> Duration {
    Duration::from_std(crate::runner::steps::benchmark::SEARCH.time_budget)
        .unwrap_or(Duration::minutes(5))
}
/// How often the loop looks.
const TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// A candidate's run in progress: its index and ledger entry.
struct Running {
    candidate: usize,
    entry: usize,
    run: RunId,
    /// What the candidate's earlier runs (slow hosts replaced) cost.
    before_usd: f64,
}

/// Runs the campaign in `record` to its end.
pub async fn drive(
    runner: &Runner,
    hub: &Hub,
    record: &Mutex<Campaign>,
    stop: &CancellationToken,
    owned: &Owned,
    params_b: f64,
) {
    let (request, created) = {
        let r = record.lock().unwrap();
        (r.request.clone(), r.created_at)
    };
    let deadline = created + Duration::minutes(i64::from(request.time_budget_minutes));
    let mut ledger = Ledger::new(request.budget_usd, deadline);
    let mut running: Vec<Running> = Vec::new();
    let mut records: Vec<BenchmarkRecord> = Vec::new();
    let mut published: Option<Campaign> = None;
    // Whether the too-close-to-call look was taken (once a campaign).
    let mut looked_again = false;
    loop {
        let now = Utc::now();
        let stopping = stop.is_cancelled() || now >= deadline;
        // Ended runs: what they measured and cost.
        let mut still = Vec::new();
        for r in running.drain(..) {
            match runner.live_run(&r.run) {
                Some(run) if !run.status.is_finished() => {
                    let spent = r.before_usd + run.cost_usd(now);
                    set(record, r.candidate, |c| c.spend_usd = spent);
                    let cut = ledger.must_end_by(r.entry, now).is_some_and(|by| by <= now);
                    if stopping || cut {
                        let _ = runner.cancel(&r.run).await;
                        if cut && !stopping {
                            set(record, r.candidate, |c| {
                                c.note = Some(
                                    "cut short: going on would pass the campaign's budget".into(),
                                )
                            });
                        }
                    }
                    still.push(r);
                }
                _ => {
                    runner.ended(&r.run).await;
                    let run = runner.store().run(&r.run).await.ok().flatten();
                    let ended = run.as_ref().and_then(|x| x.ended_at).unwrap_or(now);
                    ledger.end(r.entry, ended);
                    if let Some(b) = finished(runner, record, &r, run, stopping).await {
                        records.push(b);
                    }
                }
            }
        }
        running = still;
        // The next candidates, while the budgets allow.
        if !stopping {
            while running.len() < request.parallel as usize {
                let Some(i) = next_waiting(record) else { break };
                let price = record.lock().unwrap().candidates[i]
                    .candidate
                    .price_per_hour;
                // Renting and starting, then a search as long as the time budget allows,
                // then tuning for as long as it may take, when the campaign tunes.
                let tuning = tune_time(&request, &record.lock().unwrap().candidates[i]);
                let plan = RentalPlan::within(deadline - now - tuning, search_limit())
                    .map(|p| RentalPlan {
                        planned: p.planned + tuning,
                        ..p
                    })
                    .and_then(|p| ledger.may_launch(price, p.planned, now).map(|()| p));
                match plan {
                    Ok(plan) => {
                        let config = {
                            let r = record.lock().unwrap();
                            candidate_config(&request, &r.candidates[i], plan.search)
                        };
                        match runner.start_for_campaign(config).await {
                            Ok(run) => {
                                let entry = ledger.start(price, now, now + plan.planned);
                                let mut before_usd = 0.0;
                                set(record, i, |c| {
                                    c.status = CandidateStatus::Running;
                                    c.runs.push(run.id.clone());
                                    before_usd = c.spend_usd;
                                });
                                running.push(Running {
                                    candidate: i,
                                    entry,
                                    run: run.id,
                                    before_usd,
                                });
                            }
                            Err(e) => set(record, i, |c| {
                                if c.again() {
                                    not_again(c, &format!("its run could not start: {e}"));
                                } else {
                                    c.status = CandidateStatus::Failed;
                                    c.note = Some(format!("its run could not start: {e}"));
                                }
                            }),
                        }
                    }
                    Err(why) if running.is_empty() => {
                        set(record, i, |c| {
                            if c.again() {
                                not_again(c, &why);
                            } else {
                                c.status = CandidateStatus::NotMeasured;
                                c.note = Some(format!("not measured: {why}"));
                            }
                        });
                    }
                    Err(_) => break,
                }
            }
        }
        publish(runner, hub, (record, owned), &ledger, now, &mut published).await;
        let waiting = next_waiting(record).is_some();
        if running.is_empty() && (stopping || !waiting) {
            // Everything measured: when the cost recommendation is too close to call, the
            // two that decide it are measured again, once, within the budgets.
            if !stopping && !looked_again {
                looked_again = true;
                if measure_again(record, &records) {
                    continue;
                }
            }
            break;
        }
        tokio::select! {
            _ = stop.cancelled(), if !stop.is_cancelled() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
    let end = End {
        stopped: stop.is_cancelled(),
        deadline,
        params_b,
    };
    finish(record, &end, &records);
    publish(
        runner,
        hub,
        (record, owned),
        &ledger,
        Utc::now(),
        &mut published,
    )
    .await;
}

/// How a campaign came to its end.
struct End {
    stopped: bool,
    deadline: DateTime<Utc>,
    params_b: f64,
}

/// How long candidate `c`'s tuning may take: none when the campaign does not tune or it
/// is measured again (see [`candidate_config`]).
fn tune_time(request: &CampaignRequest, c: &CandidateState) -> Duration {
    match request.tune {
        Some(t) if !c.again() => Duration::seconds(i64::from(t.seconds)),
        _ => Duration::zero(),
    }
}

/// The first candidate not started yet.
fn next_waiting(record: &Mutex<Campaign>) -> Option<usize> {
    record
        .lock()
        .unwrap()
        .candidates
        .iter()
        .position(|c| c.status == CandidateStatus::Waiting)
}

fn set(record: &Mutex<Campaign>, i: usize, change: impl FnOnce(&mut CandidateState)) {
    if let Some(c) = record.lock().unwrap().candidates.get_mut(i) {
        change(c);
    }
}

/// Records what the candidate of ended run `r` measured; its benchmark when it has one. A
/// host its probe found slow puts the candidate back in line, that offer avoided.
async fn finished(
    runner: &Runner,
    record: &Mutex<Campaign>,
    r: &Running,
    run: Option<Run>,
    stopping: bool,
) -> Option<BenchmarkRecord> {
    let run = run?;
    let i = r.candidate;
    let spent = r.before_usd + run.cost_usd(run.ended_at.unwrap_or_else(Utc::now));
    if !stopping && run.status == RunStatus::Failed && run.benchmark_id.is_none() {
        if let Some(again) = try_again(record, i, &run) {
            set(record, i, |c| {
                c.spend_usd = spent;
                c.status = CandidateStatus::Waiting;
                c.note = Some(again);
            });
            return None;
        }
    }
    let bench = match &run.benchmark_id {
        Some(id) => runner
            .store()
            .benchmark(id.as_str())
            .await
            .ok()
            .flatten()
            .map(|(b, _)| b),
        None => None,
    };
    set(record, i, |c| {
        c.spend_usd = spent;
        if c.again() {
            measured_again(c, bench.as_ref(), &run);
            return;
        }
        match &bench {
            Some(b) => {
                c.benchmark = Some(b.id.clone());
                c.points = b.phases.len() as u32;
                c.tuned = b.tuning.as_ref().map(Tuned::of);
                let at = b.at_slo();
                c.measured(
                    at.and_then(|p| p.usd_per_million_output_tokens),
                    at.filter(|p| p.tpot_ms.p50 > 0.0)
                        .map(|p| 1000.0 / p.tpot_ms.p50),
                );
                c.status = if c
                    .note
                    .as_deref()
                    .is_some_and(|n| n.starts_with("cut short"))
                {
                    CandidateStatus::CutShort
                } else if b.capacity.is_some() {
                    CandidateStatus::Measured
                } else {
                    CandidateStatus::SloNotMet
                };
            }
            None if run.status == RunStatus::Cancelled || stopping => {
                c.status = CandidateStatus::CutShort;
                c.note
                    .get_or_insert_with(|| "stopped before it measured anything".into());
            }
            None => {
                c.status = CandidateStatus::Failed;
                c.note = Some(run.error.clone().unwrap_or_else(|| "its run failed".into()));
            }
        }
    });
    bench
}

/// Works out the spend so far and, when the record changed since `last`, saves it (under
/// the campaign's lease) and publishes it to every open page. Once another replica has
/// taken the campaign over, nothing is saved or published.
async fn publish(
    runner: &Runner,
    hub: &Hub,
    (record, owned): (&Mutex<Campaign>, &Owned),
    ledger: &Ledger,
    now: DateTime<Utc>,
    last: &mut Option<Campaign>,
) {
    let snapshot = {
        let mut r = record.lock().unwrap();
        r.spend_usd = r.candidates.iter().map(|c| c.spend_usd).sum();
        r.projected_usd = ledger.projected(now).max(r.spend_usd);
        r.clone()
    };
    if last.as_ref() == Some(&snapshot) || owned.is_lost() {
        return;
    }
    let store = runner.store();
    match store
        .save_campaign_owned(&snapshot, &owned.lease, owned.ttl)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Fenced(_)) => return owned.lose(),
        Err(e) => {
            tracing::warn!(campaign = %snapshot.id, error = %e, "could not save the campaign")
        }
    }
    hub.publish([LiveEvent::CampaignUpsert {
        campaign: snapshot.clone(),
    }]);
    *last = Some(snapshot);
}

/// The end: candidates never started are not measured, and the answer is worked out from
/// what was.
fn finish(record: &Mutex<Campaign>, end: &End, records: &[BenchmarkRecord]) {
    let now = Utc::now();
    {
        let mut r = record.lock().unwrap();
        let stopped = end.stopped;
        let why = if stopped {
            "not measured: the campaign was stopped first"
        } else if now >= end.deadline {
            "not measured: the time budget ran out first"
        } else {
            "not measured: the budget did not allow it"
        };
        for c in &mut r.candidates {
            if c.status == CandidateStatus::Waiting && c.again() {
                not_again(c, why.trim_start_matches("not measured: "));
            } else if c.status == CandidateStatus::Waiting {
                c.status = CandidateStatus::NotMeasured;
                c.note = Some(why.into());
            }
        }
        r.answer = answer(&r, records, end.params_b);
        r.status = if stopped {
            CampaignStatus::Stopped
        } else {
            CampaignStatus::Finished
        };
        r.ended_at = Some(now);
        r.message = Some(r.outcome());
    }
}

/// The frontier and recommendations of `records`, how sure each is, and the break-even of
/// the cheapest against the default serverless price.
fn answer(c: &Campaign, records: &[BenchmarkRecord], params_b: f64) -> Option<Answer> {
    let model = records.first()?.model.clone();
    let comparison = compare(&model, records);
    if comparison.recommendations.is_empty() {
        return None;
    }
    let spreads = spreads(&comparison, records);
    let confidence = Goal::ALL
        .into_iter()
        .filter_map(|goal| {
            verdict::confidence(&comparison, goal, &spreads)
                .map(|confidence| GoalConfidence { goal, confidence })
        })
        .collect();
    let serverless = default_serverless_price(params_b);
    let cheapest = comparison
        .recommendations
        .iter()
        .find(|r| r.goal == Goal::Cost)
        .map(|r| &comparison.points[r.point]);
    let break_even = cheapest.and_then(|p| {
        let b = records.iter().find(|r| p.benchmarks.contains(&r.id))?;
        let at = b.at_slo()?;
        let (input, output) = c.request.workload.mean_lengths();
        Some(break_even(
            b.price_per_hour,
            at.output_tokens_per_s,
            input,
            output,
            &serverless,
        ))
    });
    Some(Answer {
        comparison,
        confidence,
        break_even,
        serverless: Some(serverless),
    })
}

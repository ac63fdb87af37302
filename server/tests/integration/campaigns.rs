//! Campaigns (issue 29) on the embedded simulator: four GPU types measured at once under a
//! $2 budget, and the recommendation is the GPU the simulator's own timing and price model
//! makes cheapest at the SLO (worked out here from the simulator's profile, not from the
//! campaign's output); nothing is left running and the spend is the sum of the rentals' costs.
//! A budget too small for every candidate stops early, within it, naming what it did not
//! measure.

use crate::dashboard::Dashboard;
use crate::recovery::nothing_running;
use crate::runs::{post, run};
use crate::support::eventually;
use gdl_model::campaigns::bundle::Bundle;
use gdl_model::campaigns::record::{Campaign, CampaignStatus, CandidateStatus};
use gdl_model::campaigns::{CampaignPlan, Candidate, CandidateKey};
use gdl_model::code::ErrorCode;
use gdl_model::compare::Goal;
use serde_json::{json, Value};
use server::simulator::llm::LlmProfile;
use std::time::Duration;

const MODEL: &str = "qwen2.5-7b";
/// The TPOT target: the simulated GPUs reach different batches within it.
const TPOT_MS: f64 = 45.0;

/// The campaign request with `extra` fields on top.
fn request(extra: Value) -> Value {
    let mut r = json!({
        "model": MODEL, "budget_usd": 2, "parallel": 3,
        "workload": {"input_tokens": 64, "output_tokens": 24},
        "slo": {"ttft_p95_ms": 2000, "tpot_p95_ms": TPOT_MS, "min_success": 0.99}
    });
    r.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    r
}

/// $ per 1M output tokens at the SLO as the simulator's model makes it: a token every
/// `ms_per_token × (1 + 0.12 × (streams − 1))`, so the largest batch within the TPOT
/// target, its throughput, and the offer's price; `None` when not even one stream meets it.
fn simulated_cost(c: &Candidate) -> Option<f64> {
    simulated_cost_within(c, TPOT_MS)
}

/// [`simulated_cost`] with a TPOT target of `tpot_ms`.
fn simulated_cost_within(c: &Candidate, tpot_ms: f64) -> Option<f64> {
    let p = LlmProfile::for_hardware(MODEL, &c.broker_gpu_type, c.key.gpu_count, String::new());
    let tpot = |n: u32| p.ms_per_token * (1.0 + 0.12 * f64::from(n - 1));
    let batch = (1..=64).filter(|n| tpot(*n) <= tpot_ms).max()?;
    let tokens_per_s = f64::from(batch) * 1000.0 / tpot(batch);
    Some(c.price_per_hour / (tokens_per_s * 3600.0) * 1e6)
}

async fn plan(d: &Dashboard, body: Value) -> Vec<Candidate> {
    let (status, plan) = post(d, "/api/campaigns/plan", body).await;
    assert_eq!(status, 200, "{plan}");
    serde_json::from_value::<CampaignPlan>(plan)
        .unwrap()
        .candidates
}

async fn campaign(d: &Dashboard, id: &str) -> Campaign {
    d.get(&format!("/api/campaigns/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn ended(d: &Dashboard, id: &str) -> Campaign {
    eventually(Duration::from_secs(240), || async {
        let c = campaign(d, id).await;
        c.status.is_finished().then_some(c)
    })
    .await
}

/// The sum of the campaign's runs' rental costs, as the runs recorded them.
async fn rentals_cost(d: &Dashboard, c: &Campaign) -> f64 {
    let mut sum = 0.0;
    for candidate in &c.candidates {
        for id in &candidate.runs {
            let r = run(d, id.as_str()).await;
            sum += r.cost_usd(r.ended_at.unwrap());
        }
    }
    sum
}

/// Nothing left running, and the campaign's spend the sum of its rentals' costs (returned).
async fn settled(d: &Dashboard, done: &Campaign) -> f64 {
    nothing_running(d).await;
    let sum = rentals_cost(d, done).await;
    assert!(
        (done.spend_usd - sum).abs() < 1e-9,
        "{} vs {sum}",
        done.spend_usd
    );
    sum
}

/// Starts the campaign `body` asks for and waits for its end.
async fn run_to_end(d: &Dashboard, body: Value) -> Campaign {
    let (status, started) = post(d, "/api/campaigns", body).await;
    assert_eq!(status, 201, "{started}");
    ended(d, started["id"].as_str().unwrap()).await
}

/// Four candidates whose simulated costs stand 25 % apart, each with `min_offers` offers at
/// least: the others to leave out, and the cheapest's GPU type.
async fn four_apart(d: &Dashboard, min_offers: u32) -> (Vec<CandidateKey>, String) {
    // Every GPU type and provider that runs the model; four whose costs stand apart.
    let all = plan(d, request(json!({}))).await;
    assert!(all.len() >= 4, "{all:?}");
    assert!(all.iter().all(|c| c.estimate.is_some() || c.note.is_some()));
    // Of candidates with offers to spare: the simulator's inventory drifts, and a run
    // whose offer is gone (or failed, or was slow) rents the next of the same GPU type.
    let mut by_cost: Vec<(f64, &Candidate)> = all
        .iter()
        .filter(|c| c.offers >= min_offers)
        .filter_map(|c| Some((simulated_cost(c)?, c)))
        .collect();
    by_cost.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut chosen = vec![by_cost[0]];
    for &(cost, c) in &by_cost[1..] {
        if chosen.len() < 4 && cost > chosen.last().unwrap().0 * 1.25 {
            chosen.push((cost, c));
        }
    }
    assert_eq!(chosen.len(), 4, "four candidates 25 % apart: {by_cost:?}");
    let cheapest = chosen[0].1.key.gpu_type.clone();
    // The others are left out, as a person deselects them before starting.
    let exclude = all
        .iter()
        .filter(|c| chosen.iter().all(|(_, k)| k.key != c.key))
        .map(|c| c.key.clone())
        .collect();
    (exclude, cheapest)
}

/// Starts the campaign of the four candidates (all at once, right after planning: the
/// simulator's inventory drifts, and an offer planned long before may be gone when its
/// turn comes); its id.
async fn start_four(d: &Dashboard, exclude: &[CandidateKey]) -> String {
    let (status, started) = post(
        d,
        "/api/campaigns",
        request(json!({"exclude": exclude, "parallel": 4})),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(
        started["candidates"].as_array().unwrap().len(),
        4,
        "{started}"
    );
    started["id"].as_str().unwrap().to_owned()
}

/// The GPU types the simulator makes cheapest at the prices the measurements paid: those
/// that could be the cheapest once the measuring itself is allowed for. A measured p95 runs
/// slower than the model's steady per-token time on a busy machine (timers, two cores shared
/// with the rest of the suite), which can cost a candidate a batch step at the TPOT target:
/// each candidate's cost is a range, from the model's at the target to the model's at the
/// target less [`TIMING_MARGIN`], and a type belongs here when its lower end is within the
/// verdict's noise of the least upper end (too close to call otherwise).
async fn cheapest_as_paid(d: &Dashboard, done: &Campaign) -> Vec<String> {
    let mut costs = Vec::new();
    for c in &done.candidates {
        let Some(id) = &c.benchmark else { continue };
        let b: Value = d
            .get(&format!("/api/benchmarks/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let paid = Candidate {
            price_per_hour: b["benchmark"]["price_per_hour"].as_f64().unwrap(),
            ..c.candidate.clone()
        };
        let best = simulated_cost(&paid);
        let worst = simulated_cost_within(&paid, TPOT_MS / (1.0 + TIMING_MARGIN)).or(best);
        if let (Some(best), Some(worst)) = (best, worst) {
            costs.push((best, worst, c.candidate.key.gpu_type.clone()));
        }
    }
    let least_worst = costs.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    costs
        .into_iter()
        .filter(|(best, ..)| {
            (best - least_worst) / least_worst < gdl_model::campaigns::verdict::NOISE
        })
        .map(|(.., gpu)| gpu)
        .collect()
}

/// How much slower than the model a measured p95 TPOT may run on the test machine.
const TIMING_MARGIN: f64 = 0.15;

/// The GPU type the campaign recommends for cost, as the catalogue names it.
fn recommended(done: &Campaign) -> Option<&'static str> {
    let answer = done.answer.as_ref()?;
    let cost = answer
        .comparison
        .recommendations
        .iter()
        .find(|r| r.goal == Goal::Cost)?;
    gdl_model::gpus::lookup(&answer.comparison.points[cost.point].gpu_type).map(|g| g.name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_recommends_the_gpu_the_simulator_makes_cheapest_at_the_slo() {
    let d = Dashboard::start(None).await;
    let (exclude, cheapest) = four_apart(&d, 2).await;
    let id = start_four(&d, &exclude).await;

    let done = ended(&d, &id).await;
    assert_eq!(done.status, CampaignStatus::Finished, "{done:?}");
    // Every candidate measured (a slow one may meet the SLOs at no level: still measured).
    for c in &done.candidates {
        assert!(
            matches!(
                c.status,
                CandidateStatus::Measured | CandidateStatus::SloNotMet
            ),
            "{c:?}"
        );
    }
    let winner = done
        .candidates
        .iter()
        .find(|c| c.candidate.key.gpu_type == cheapest)
        .unwrap();
    assert_eq!(winner.status, CandidateStatus::Measured, "{winner:?}");
    let answer = done.answer.clone().expect("an answer");
    assert_eq!(recommended(&done), Some(cheapest.as_str()), "{answer:?}");
    // Each candidate measured says how far its estimate was from the measurement (printed
    // for the README's figures: run with --nocapture).
    for c in &done.candidates {
        eprintln!(
            "estimate vs measured: {} {:?}: $/1M {:?} vs {:?} (error {:?}), tok/s per user {:?} vs {:?} (error {:?})",
            c.candidate.key,
            c.status,
            c.candidate.estimate.and_then(|e| e.usd_per_million),
            c.usd_per_million,
            c.estimate_error,
            c.candidate.estimate.map(|e| e.tokens_per_s_per_user),
            c.tokens_per_s_per_user,
            c.speed_error
        );
        if c.status != CandidateStatus::Measured {
            continue;
        }
        let priced = c
            .candidate
            .estimate
            .and_then(|e| e.usd_per_million)
            .is_some();
        assert!(c.speed_error.is_some(), "{c:?}");
        assert_eq!(c.estimate_error.is_some(), priced, "{c:?}");
    }
    assert!(answer.break_even.is_some());
    // Like with like: the frontier holds only benchmarks of the campaign's workload and SLOs.
    let workload = done.request.workload.label();
    for id in answer.comparison.points.iter().flat_map(|p| &p.benchmarks) {
        let b: gdl_model::runs::BenchmarkDetail = d
            .get(&format!("/api/benchmarks/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let measured = (b.benchmark.workload.as_deref(), b.benchmark.slo);
        assert_eq!(
            measured,
            (Some(workload.as_str()), Some(done.request.slo)),
            "{id}"
        );
    }

    let sum = settled(&d, &done).await;
    assert!(sum > 0.0);
    assert!(done.spend_usd <= 2.0);
}

/// Acceptance 2: with two provisionings in ten failing (and one more sure to) and one
/// host decoding six times slower than its GPU should, the failed rentals are replaced
/// inside their runs or by another run, the slow host by another offer of its GPU type
/// after the quick probe, and the answer is still the simulator's cheapest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_slow_rentals_are_replaced_and_the_recommendation_stays_right() {
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    // Offers enough that four candidates have four each in their price band: a slow host
    // and each failed rental are ruled out, and a kind whose offers all went that way could
    // not be measured. The only failures are the ones asked for (no stale "ghost" offers).
    // (At three in ten, the slow host's kind lost its three other offers too about one run
    // in twenty: 0.3³, more when the sure failure fell there.)
    let d = Dashboard::start_custom(None, dir, |s| {
        let sim = s.sim_mut();
        sim.provision_failure_rate = 0.2;
        sim.offers_per_provider = 256;
        sim.ghosts = false;
    })
    .await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| {
        f.slow_hosts = 1;
        f.slow_host_factor = 6.0;
        f.failing_provisionings = 1;
    });
    let (exclude, _) = four_apart(&d, 4).await;
    let id = start_four(&d, &exclude).await;
    let done = ended(&d, &id).await;
    assert_eq!(done.status, CampaignStatus::Finished, "{done:#?}");
    // Replaced rentals may cost more than the offers planned: the answer is the GPU the
    // simulator makes cheapest at the prices the measurements paid.
    let cheapest = cheapest_as_paid(&d, &done).await;
    let answer = recommended(&done).map(str::to_owned);
    assert!(
        answer.as_ref().is_some_and(|a| cheapest.contains(a)),
        "{answer:?} is not among {cheapest:?}: {done:#?}"
    );

    // The slow host: found by the probe, its run failed `slow_host` before the search, and
    // another offer of its GPU type measured the candidate.
    let slowed: Vec<_> = done
        .candidates
        .iter()
        .filter(|c| !c.slow_hosts.is_empty())
        .collect();
    assert_eq!(slowed.len(), 1, "{done:#?}");
    let c = slowed[0];
    assert!(
        matches!(
            c.status,
            CandidateStatus::Measured | CandidateStatus::SloNotMet
        ),
        "{c:?}"
    );
    let lemon = run(&d, c.slow_hosts[0].run.as_str()).await;
    assert_eq!(lemon.error_code, Some(ErrorCode::SlowHost), "{lemon:?}");
    assert!(lemon.benchmark_id.is_none());
    assert!(c.slow_hosts[0].message.contains("a slow host"), "{c:?}");
    let measured = run(&d, c.runs.last().unwrap().as_str()).await;
    assert!(measured.benchmark_id.is_some(), "{measured:?}");
    assert_ne!(
        measured.offer.as_ref().map(|o| o.offer_id.to_string()),
        Some(c.slow_hosts[0].offer.clone()),
        "not the slow host again"
    );
    let log = d
        .get(&format!("/api/runs/{}/logs?format=text", lemon.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        log.contains("Probe: ") && log.contains("a slow host"),
        "{log}"
    );

    // Failed provisionings: each rental that failed was given back and another rented.
    let mut failed_rentals = 0;
    for c in &done.candidates {
        for id in &c.runs {
            let r = run(&d, id.as_str()).await;
            failed_rentals += r.rentals.iter().filter(|x| x.failure.is_some()).count();
            assert!(r.rentals.iter().all(|x| x.destroyed == Some(true)), "{r:?}");
        }
    }
    assert!(failed_rentals >= 1, "{done:#?}");

    settled(&d, &done).await;
    assert!(done.spend_usd <= done.request.budget_usd);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_too_small_for_every_candidate_stops_within_it_and_says_what_it_left_out() {
    let d = Dashboard::start(None).await;
    let all = plan(&d, request(json!({}))).await;
    // Enough for the cheapest candidate's planned 15 minutes and no other's.
    let cheapest = all
        .iter()
        .map(|c| c.price_per_hour)
        .fold(f64::INFINITY, f64::min);
    let budget = cheapest * 0.25 * 1.05;
    let total: f64 = all.iter().map(|c| c.price_per_hour * 0.25).sum();
    assert!(total > budget, "the budget must be too small for all");
    let done = run_to_end(&d, request(json!({"budget_usd": budget, "parallel": 1}))).await;
    assert_eq!(done.status, CampaignStatus::Finished, "{done:?}");
    let left_out = done.not_measured();
    assert!(!left_out.is_empty(), "{done:?}");
    assert!(done.message.as_deref().unwrap().contains("Not measured"));
    assert!(done
        .candidates
        .iter()
        .filter(|c| c.status == CandidateStatus::NotMeasured)
        .all(|c| c.note.as_deref().unwrap().contains("budget")));
    assert!(done.spend_usd <= budget, "{} > {budget}", done.spend_usd);
    nothing_running(&d).await;
}

/// Two candidates too close to call (the two the simulator's model makes closest in cost):
/// both are measured again, once, their figures the median of their two
/// measurements, and the answer rests on both; far apart, nothing is measured twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_too_close_to_call_are_measured_again_once() {
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    let d = Dashboard::start_custom(None, dir, |s| {
        let sim = s.sim_mut();
        sim.offers_per_provider = 96;
        sim.ghosts = false;
    })
    .await;
    for attempt in 0..2 {
        let all = plan(&d, request(json!({}))).await;
        // The two whose costs the simulator's model makes closest (the inventory drifts, so
        // which two is found here, not fixed).
        let offered: Vec<(f64, &Candidate)> = all
            .iter()
            // Offers for the first measurement and the repeat, with one to spare for drift.
            .filter(|c| c.offers >= 3)
            .filter_map(|c| Some((simulated_cost(c)?, c)))
            .collect();
        let apart = |a: f64, b: f64| (a - b).abs() / a.min(b);
        let twins = offered
            .iter()
            .enumerate()
            .flat_map(|(i, a)| offered[i + 1..].iter().map(move |b| (a, b)))
            .min_by(|x, y| apart(x.0 .0, x.1 .0).total_cmp(&apart(y.0 .0, y.1 .0)))
            .map(|(a, b)| (a.1, b.1))
            .expect("two candidates with offers");
        let only = [twins.0.key.clone(), twins.1.key.clone()];
        // Budget for both measurements of both, whatever GPUs the drift made the twins (the
        // budget's own limits are another test's).
        let done = run_to_end(
            &d,
            request(json!({"only": only, "parallel": 2, "budget_usd": 20})),
        )
        .await;
        assert_eq!(done.status, CampaignStatus::Finished, "{done:#?}");
        // The simulator's inventory drifts: the repeat's GPU type may have no offer left by
        // then, which the campaign says ("is gone"). That is not what this test is about: it
        // looks again, once.
        let gone = done.candidates.iter().any(|c| {
            c.repeats.is_empty() && c.note.as_deref().is_some_and(|n| n.contains("is gone"))
        });
        if gone && attempt == 0 {
            eprintln!("the repeat's offers drifted away; once more");
            settled(&d, &done).await;
            continue;
        }
        // The first measurement of each, as the campaign had them before looking again.
        let mut first = Vec::new();
        for c in &done.candidates {
            let id = c.benchmark.as_ref().expect("measured");
            let record = crate::runs::benchmark(&d, id.as_str()).await;
            first.push(
                record
                    .at_slo()
                    .unwrap()
                    .usd_per_million_output_tokens
                    .unwrap(),
            );
        }
        let (lo, hi) = (first[0].min(first[1]), first[0].max(first[1]));
        let close = (hi - lo) / lo < gdl_model::campaigns::verdict::NOISE;
        eprintln!("first measurements {first:?}: too close to call {close}");
        let answer = done.answer.as_ref().unwrap();
        for c in &done.candidates {
            if close {
                assert_eq!(c.repeats.len(), 1, "{c:#?}");
                assert_eq!(c.status, CandidateStatus::Measured, "{c:#?}");
                assert!(
                    c.note.as_deref().unwrap().contains("measured twice"),
                    "{c:#?}"
                );
                let point = answer
                    .comparison
                    .points
                    .iter()
                    .find(|p| p.benchmarks.contains(c.benchmark.as_ref().unwrap()))
                    .unwrap();
                assert_eq!(point.benchmarks.len(), 2, "{point:?}");
                assert!((point.usd_per_million - c.usd_per_million.unwrap()).abs() < 1e-9);
            } else {
                assert!(c.repeats.is_empty(), "{c:#?}");
            }
        }
        settled(&d, &done).await;
        return;
    }
    unreachable!("the second attempt returns or fails");
}

/// A rental is planned as 10 minutes to start and a capacity search as long as the time
/// budget leaves it (5 minutes at most): 12 minutes give a search of under 2, and 10 none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_time_budget_shortens_the_search_and_a_shorter_one_rents_nothing() {
    let d = Dashboard::start(None).await;
    let all = plan(&d, request(json!({}))).await;
    let first = all[0].key.clone();
    let done = run_to_end(
        &d,
        request(json!({"time_budget_minutes": 10, "only": [first]})),
    )
    .await;
    let c = &done.candidates[0];
    assert_eq!(c.status, CandidateStatus::NotMeasured, "{c:?}");
    assert!(c.runs.is_empty(), "nothing rented: {c:?}");
    assert!(c.note.as_deref().unwrap().contains("time budget"), "{c:?}");

    let done = run_to_end(
        &d,
        request(json!({"time_budget_minutes": 12, "only": [first]})),
    )
    .await;
    let c = &done.candidates[0];
    let measured = run(&d, c.runs[0].as_str()).await;
    let seconds = measured.config.search_seconds.unwrap();
    assert!((100..=120).contains(&seconds), "{seconds}");
    let usd = measured.config.search_budget_usd.unwrap();
    let expected = c.candidate.price_per_hour * f64::from(seconds) / 3600.0;
    assert!(
        (usd - expected).abs() < 1e-3 * expected.max(1e-6),
        "{usd} vs {expected}"
    );
    let log = d
        .get(&format!("/api/runs/{}/logs?format=text", measured.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        log.contains(&format!("at most 64 and {seconds} s")),
        "{log}"
    );
    nothing_running(&d).await;
}

#[tokio::test]
async fn bad_campaigns_are_refused_with_every_problem_and_start_nothing() {
    let d = Dashboard::start(None).await;
    let (status, body) = post(
        &d,
        "/api/campaigns",
        json!({"model": MODEL, "budget_usd": 0, "parallel": 12}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("budget_usd") && message.contains("parallel"),
        "{message}"
    );
    assert!(body["hint"].as_str().unwrap().contains("budget_usd"));
    let (status, body) = post(&d, "/api/campaigns", json!({"model": MODEL})).await;
    assert_eq!(status, 400, "{body}");
    // Tuning that costs more than the campaign, or leaves no time to measure.
    let (status, body) = post(
        &d,
        "/api/campaigns",
        json!({"model": MODEL, "budget_usd": 1, "time_budget_minutes": 15,
            "tune": {"usd_budget": 2, "seconds": 600}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("tune.usd_budget must not be more than budget_usd")
            && message.contains("tune.seconds leaves no time"),
        "{message}"
    );
    let list: Vec<Campaign> = d.get("/api/campaigns").await.json().await.unwrap();
    assert!(list.is_empty());
    let missing = d.get("/api/campaigns/camp-nope").await;
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "campaign_not_found");
    nothing_running(&d).await;
}

/// A campaign that tunes (issue 31): each candidate's run tunes its engine after its
/// search, within the tuning budget; the best settings are kept beside the campaign's own
/// figures (which stay those of its settings), the whole within the campaign's budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_that_tunes_keeps_each_candidates_best_settings_within_its_budgets() {
    let d = Dashboard::start(None).await;
    // Two sequences at once: a raised limit is among the settings tried.
    let body = request(json!({"gpus": ["RTX 4090"], "budget_usd": 3, "parallel": 3,
        "settings": {"max_num_seqs": 2}, "tune": {"usd_budget": 0.4, "seconds": 600}}));
    let done = run_to_end(&d, body).await;
    assert_eq!(done.status, CampaignStatus::Finished, "{done:?}");
    let measured: Vec<_> = done
        .candidates
        .iter()
        .filter(|c| c.benchmark.is_some())
        .collect();
    assert!(!measured.is_empty(), "{done:?}");
    for c in measured {
        let tuned = c.tuned.as_ref().expect("tuned on its rental");
        assert!(tuned.points >= 2, "{tuned:?}");
        assert!(tuned.cost_usd <= 0.4 + 1e-9, "{tuned:?}");
        assert!(
            tuned.gain.is_none_or(|g| g >= 1.0),
            "never worse: {tuned:?}"
        );
        // Its own figure is still its settings' (the campaign's), like with like.
        let b = crate::runs::benchmark(&d, c.benchmark.as_ref().unwrap().as_str()).await;
        assert_eq!(b.engine_settings.max_num_seqs, Some(2));
        let at = b.at_slo().and_then(|p| p.usd_per_million_output_tokens);
        assert_eq!(c.usd_per_million, at);
        assert_eq!(
            tuned.usd_per_million,
            b.tuning.unwrap().winner().usd_per_million_output_tokens
        );
    }
    assert!(done.spend_usd <= 3.0, "{}", done.spend_usd);
    let page = d
        .get(&format!("/campaigns/{}", done.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(">Tuned</th>"), "the tuned column");
    assert_eq!(
        page.matches(r#"data-testid="tuned""#).count(),
        done.candidates.len(),
        "a cell a candidate"
    );
    settled(&d, &done).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_campaign_destroys_its_rentals_and_keeps_what_it_measured() {
    let d = Dashboard::start(None).await;
    let (status, started) = post(&d, "/api/campaigns", request(json!({"parallel": 2}))).await;
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    // Once a candidate rents, stop the campaign.
    eventually(Duration::from_secs(60), || async {
        let c = campaign(&d, &id).await;
        c.candidates
            .iter()
            .any(|c| !c.runs.is_empty())
            .then_some(())
    })
    .await;
    let (status, stopping) = post(&d, &format!("/api/campaigns/{id}/stop"), json!({})).await;
    assert_eq!(status, 202, "{stopping}");
    let done = ended(&d, &id).await;
    assert_eq!(done.status, CampaignStatus::Stopped, "{done:?}");
    assert!(done
        .candidates
        .iter()
        .all(|c| c.status.is_finished() && c.status != CandidateStatus::Waiting));
    assert!(done
        .candidates
        .iter()
        .filter(|c| c.runs.is_empty())
        .all(|c| c.note.as_deref().unwrap().contains("stopped")));
    settled(&d, &done).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_plans_runs_with_progress_and_answers_as_json() {
    let d = Dashboard::start(None).await;
    let run_cli = |args: Vec<String>| {
        let url = d.url.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut command = crate::process::client(&args, Some(&url), None);
            crate::process::output_within(&mut command, Duration::from_secs(240))
        })
    };
    let base = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "campaign",
            MODEL,
            "--budget",
            "2",
            "--provider",
            "vastai",
            "--input-tokens",
            "64",
            "--output-tokens",
            "24",
            "--tpot-ms",
            "45",
            "--ttft-ms",
            "2000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    // The plan: a table, and as JSON what REST answers; nothing rented.
    let table = run_cli(base(&["--plan"])).await.unwrap();
    assert_eq!(table.status.code(), Some(0), "{}", table.stderr);
    assert!(table.stdout.contains("$/1M at SLO") && table.stdout.contains("on Vast.ai"));
    let planned = run_cli(base(&["--plan", "--json"])).await.unwrap();
    let plan: CampaignPlan = planned.json();
    assert!(!plan.candidates.is_empty());
    nothing_running(&d).await;

    // Two candidates: progress on stderr, the ended campaign as JSON on stdout.
    let two: Vec<String> = plan
        .candidates
        .iter()
        .take(2)
        .map(|c| c.key.gpu_type.clone())
        .collect();
    let mut args = base(&["--json", "--parallel", "2"]);
    for gpu in &two {
        args.extend(["--gpu".to_string(), gpu.clone()]);
    }
    let out = run_cli(args).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("started:") && out.stderr.contains("running"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("spent"), "{}", out.stderr);
    let ended: Campaign = out.json();
    assert_eq!(ended.status, CampaignStatus::Finished);
    assert!(ended.answer.is_some());
    nothing_running(&d).await;

    // Its bundle: an attachment with the request exactly, each candidate's offer and price
    // as planned, and the command; `--from` plans the same campaign again.
    let response = d.get(&format!("/api/campaigns/{}/bundle", ended.id)).await;
    assert_eq!(response.status().as_u16(), 200);
    let disposition = response.headers()[reqwest::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{}.json\"", ended.id)
    );
    let text = response.text().await.unwrap();
    let bundle = Bundle::read(&text).unwrap();
    assert_eq!(bundle.request, ended.request);
    assert_eq!(bundle.candidates.len(), ended.candidates.len());
    assert_eq!(
        bundle.command,
        format!("gpu-deploy-llm campaign --from {}.json", ended.id)
    );
    let file = std::env::temp_dir().join(format!("{}-{}.json", ended.id, uuid::Uuid::new_v4()));
    // Its two GPU types were just rented (the simulator lists a rented machine no more), so
    // the bundle runs again here without its GPU filter: its provider filter (Vast.ai) is
    // what shows the request came from the file.
    let mut broad = bundle.clone();
    broad.request.gpus.clear();
    std::fs::write(&file, serde_json::to_string(&broad).unwrap()).unwrap();
    let from = file.to_string_lossy().into_owned();
    let again = run_cli(vec![
        "campaign".into(),
        "--from".into(),
        from.clone(),
        "--plan".into(),
        "--json".into(),
    ])
    .await
    .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", again.stderr);
    let replanned: CampaignPlan = again.json();
    assert!(!replanned.candidates.is_empty());
    assert!(
        replanned
            .candidates
            .iter()
            .all(|c| c.key.provider.as_str() == "vastai"),
        "{replanned:?}"
    );
    std::fs::write(&file, "{\"kind\": \"a shopping list\", \"version\": 1}").unwrap();
    let refused = run_cli(vec![
        "campaign".into(),
        "--from".into(),
        from,
        "--plan".into(),
    ])
    .await
    .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("not a campaign bundle"),
        "{}",
        refused.stderr
    );
    let _ = std::fs::remove_file(&file);
    let missing = d.get("/api/campaigns/camp-nope/bundle").await;
    assert_eq!(missing.status().as_u16(), 404);

    // Bad input: exit 2 with the problems named; nothing started.
    let bad = run_cli(vec![
        "campaign".into(),
        MODEL.into(),
        "--budget".into(),
        "0".into(),
    ])
    .await
    .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("budget_usd"), "{}", bad.stderr);
}

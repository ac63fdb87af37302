use super::budget::Ledger;
use super::estimate::{estimate, relative_error, Hardware, ModelSize, NoEstimate};
use super::verdict::{break_even, confidence, default_serverless_price, spread, Confidence};
use super::*;
use crate::compare::{compare, Goal};
use crate::gpus::lookup;
use crate::runs::BenchmarkRecord;
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

pub(super) fn offer(
    id: &str,
    provider: &str,
    gpu: &str,
    count: u32,
    vram: u32,
    price: f64,
) -> Offer {
    serde_json::from_value(serde_json::json!({
        "id": id, "provider": provider, "gpu_type": gpu, "gpu_count": count,
        "vram_gb": vram, "price_per_hour": price
    }))
    .unwrap()
}

pub(super) fn request(json: serde_json::Value) -> CampaignRequest {
    serde_json::from_value(json).unwrap()
}

fn hardware(gpu: &str, vram: u32, price: f64) -> Hardware {
    Hardware {
        gpu: lookup(gpu).unwrap(),
        gpu_count: 1,
        vram_gb: vram,
        price_per_hour: price,
    }
}

const BF16_8B: ModelSize = ModelSize {
    params_b: 8.0,
    bytes_per_param: 2.0,
};

#[test]
fn a_request_out_of_bounds_names_every_problem() {
    let bad = request(serde_json::json!({
        "model": " ", "budget_usd": 0, "time_budget_minutes": 2, "parallel": 9,
        "lemon_ratio": 1.5, "workload": {"input_tokens": 0, "output_tokens": 9000},
        "quantizations": ["int3"], "max_price": -1
    }));
    let problems = bad.check().unwrap_err();
    for part in [
        "model",
        "budget_usd",
        "time_budget_minutes",
        "parallel",
        "lemon_ratio",
        "input_tokens",
        "output_tokens",
        "int3",
        "max_price",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(part)),
            "{part}: {problems:?}"
        );
    }
    let unknown = serde_json::from_value::<CampaignRequest>(
        serde_json::json!({"model": "m", "budget_usd": 1, "budget": 2}),
    );
    assert!(unknown.is_err(), "unknown fields are refused");
}

#[test]
fn decode_is_bound_by_bandwidth_and_a_larger_batch_by_compute() {
    let slo = Slo {
        ttft_p95_ms: 10_000.0,
        tpot_p95_ms: 1_000.0,
        min_success: 0.99,
    };
    let h100 = hardware("H100 SXM", 80, 2.0);
    let e = estimate(&BF16_8B, &h100, 128, 128, &slo).unwrap();
    // 16 GB of weights at 70 % of 3,350 GB/s and the engine's 2 ms a step: about 113
    // tokens/s alone.
    assert!((e.single_stream_tokens_per_s - 113.3).abs() < 1.0, "{e:?}");
    assert_eq!(e.concurrency, estimate::MAX_CONCURRENCY);
    // At 64 sequences the step is slower than alone, and the GPU serves far more.
    assert!(e.tokens_per_s_per_user < e.single_stream_tokens_per_s);
    assert!(e.tokens_per_s > 20.0 * e.single_stream_tokens_per_s);
    // A tighter TPOT target lowers the capacity and raises the cost per token.
    let tight = Slo {
        tpot_p95_ms: 1000.0 / e.single_stream_tokens_per_s * 1.05,
        ..slo
    };
    let t = estimate(&BF16_8B, &h100, 128, 128, &tight).unwrap();
    assert!(t.concurrency < e.concurrency && t.concurrency >= 1, "{t:?}");
    assert!(t.usd_per_million.unwrap() > e.usd_per_million.unwrap());
}

#[test]
fn what_does_not_fit_or_cannot_meet_the_slo_says_so() {
    let l4 = hardware("L4", 24, 0.4);
    let big = ModelSize {
        params_b: 32.0,
        bytes_per_param: 2.0,
    };
    match estimate(&big, &l4, 512, 128, &Slo::default()) {
        Err(NoEstimate::DoesNotFit { need_gb, have_gb }) => {
            assert!(need_gb > 64.0 && (have_gb - 21.6).abs() < 0.01)
        }
        other => panic!("{other:?}"),
    }
    let strict = Slo {
        tpot_p95_ms: 5.0,
        ..Slo::default()
    };
    let e = estimate(&BF16_8B, &l4, 512, 128, &strict).unwrap();
    assert_eq!((e.concurrency, e.usd_per_million), (0, None));
}

#[test]
fn candidates_group_offers_follow_the_filters_and_prefer_a_measurement() {
    let offers = [
        offer("a", "vastai", "RTX_4090", 1, 24, 0.40),
        offer("b", "vastai", "NVIDIA GeForce RTX 4090", 1, 24, 0.35),
        offer("c", "tensordock", "RTX 4090", 1, 24, 0.30),
        offer("d", "tensordock", "H100 SXM", 1, 80, 2.20),
        offer("e", "vastai", "L4", 1, 24, 0.20),
        offer("f", "vastai", "RTX 4090", 2, 24, 0.80),
    ];
    let r = request(serde_json::json!({
        "model": "m", "budget_usd": 5, "max_price": 1.0,
        "exclude": [{"gpu_type": "RTX 4090", "gpu_count": 2, "provider": "vastai", "quantization": "none"}]
    }));
    // The L4 does not fit (as Select offer would say).
    let list = candidates(&r, 7.62, &offers, |o, _| o.gpu_type != "L4", &[]);
    let keys: Vec<String> = list.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(
        keys,
        ["RTX 4090 ×1 on TensorDock", "RTX 4090 ×1 on Vast.ai"],
        "names read into one card, the H100 over the price, the L4 unfit, ×2 excluded"
    );
    assert_eq!((list[1].offers, list[1].price_per_hour), (2, 0.35));
    assert!(list
        .iter()
        .all(|c| c.estimate.is_some() && c.measured_before.is_none()));
    // Only the ones named, when some are (the ticked ones of a plan).
    let mut named = r.clone();
    named.only = vec![list[1].key.clone()];
    let only = candidates(&named, 7.62, &offers, |o, _| o.gpu_type != "L4", &[]);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].key, list[1].key);

    // A measurement of the dearer one ranks it first, and says so.
    let before = [Measured {
        key: list[1].key.clone(),
        benchmark: "bench-1".into(),
        usd_per_million: 0.001,
        tokens_per_s_per_user: 50.0,
    }];
    let again = candidates(&r, 7.62, &offers, |o, _| o.gpu_type != "L4", &before);
    assert_eq!(again[0].key, list[1].key);
    assert_eq!(
        again[0].measured_before.as_ref().map(|b| b.as_str()),
        Some("bench-1")
    );
    assert_eq!(again[0].rank_usd_per_million, Some(0.001));

    // Each quantization asked for is its own candidate.
    let both = request(serde_json::json!({
        "model": "m", "budget_usd": 5, "quantizations": ["none", "awq"], "providers": ["tensordock"],
        "gpus": ["rtx 4090"]
    }));
    let list = candidates(&both, 7.62, &offers, |_, _| true, &[]);
    let quants: Vec<&str> = list.iter().map(|c| c.key.quantization.as_str()).collect();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(quants.contains(&"awq") && quants.contains(&"none"));
}

#[test]
fn a_campaign_ledger_refuses_what_would_pass_either_budget() {
    let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
    let mut l = Ledger::new(1.0, t0 + Duration::minutes(90));
    let a = l.start(0.5, t0, t0 + Duration::hours(1));
    let b = l.start(0.4, t0, t0 + Duration::hours(1));
    assert!((l.projected(t0) - 0.9).abs() < 1e-9);
    let why = l.may_launch(0.2, Duration::hours(1), t0).unwrap_err();
    assert!(why.contains("$1.10") && why.contains("$1.00"), "{why}");
    let late = l.may_launch(0.01, Duration::hours(2), t0).unwrap_err();
    assert!(late.contains("time budget"), "{late}");
    // `a` ends early: room for a small one.
    l.end(a, t0 + Duration::minutes(12));
    assert!((l.spent(t0 + Duration::hours(3)) - (0.1 + 0.4 * 3.0)).abs() < 1e-9);
    assert!(l
        .may_launch(0.2, Duration::hours(1), t0 + Duration::minutes(12))
        .is_ok());
    // `b` runs long: where it must be cut so the whole stays within $1.
    l.replan(b, t0 + Duration::hours(4));
    let by = l.must_end_by(b, t0 + Duration::minutes(70)).unwrap();
    assert_eq!(
        by,
        t0 + Duration::minutes(90),
        "the time budget comes first"
    );
    let mut money = Ledger::new(0.5, t0 + Duration::hours(10));
    let c = money.start(1.0, t0, t0 + Duration::hours(2));
    assert_eq!(
        money.must_end_by(c, t0).unwrap(),
        t0 + Duration::minutes(30)
    );
}

proptest! {
    /// Whatever the prices and plans, launching only what `may_launch` allows keeps the
    /// projection, and so the spend of rentals destroyed when their work ends, within the
    /// budget.
    #[test]
    fn launching_only_what_fits_never_passes_the_budget(
        budget in 0.1f64..20.0,
        asks in prop::collection::vec((0.05f64..5.0, 1i64..180, 0i64..60), 1..30),
    ) {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
        let mut l = Ledger::new(budget, t0 + Duration::hours(24));
        let mut now = t0;
        for (price, minutes, gap) in asks {
            now += Duration::minutes(gap);
            // Rentals whose work is over are destroyed, as the campaign does.
            for i in 0..l.entries.len() {
                let end = l.entries[i].planned_end;
                if end <= now {
                    l.end(i, end);
                }
            }
            let planned = Duration::minutes(minutes);
            if l.may_launch(price, planned, now).is_ok() {
                l.start(price, now, now + planned);
            }
            prop_assert!(l.projected(now) <= budget + 1e-9);
        }
        for i in 0..l.entries.len() {
            let end = l.entries[i].planned_end;
            l.end(i, end);
        }
        prop_assert!(l.spent(now + Duration::hours(30)) <= budget + 1e-9);
    }
}

fn record(id: &str, gpu: &str, usd: f64, tpot: f64) -> BenchmarkRecord {
    let mut r: BenchmarkRecord = serde_json::from_value(serde_json::json!({
        "id": id, "run_id": "r", "created_at": "2026-11-24T01:00:00Z",
        "model": "m", "served_repo": "m", "quantization": "none", "provider": "vastai",
        "gpu_type": gpu, "gpu_count": 1, "price_per_hour": 0.3,
        "prompts_matching": 4, "prompts_with_expected": 4, "phases": []
    }))
    .unwrap();
    let mut p = crate::benchmark::PhaseMetrics {
        concurrency: 4,
        meets_slo: Some(true),
        usd_per_million_output_tokens: Some(usd),
        ..Default::default()
    };
    p.tpot_ms.p50 = tpot;
    r.phases.push(p);
    r
}

#[test]
fn two_candidates_within_the_noise_are_too_close_to_call() {
    let clear = compare(
        "m",
        &[
            record("a", "RTX 4090", 0.10, 20.0),
            record("b", "L40S", 0.20, 15.0),
        ],
    );
    assert_eq!(
        confidence(&clear, Goal::Cost, &[]),
        Some(Confidence::Clear { margin: Some(1.0) })
    );
    let close = compare(
        "m",
        &[
            record("a", "RTX 4090", 0.100, 20.0),
            record("b", "L40S", 0.103, 15.0),
        ],
    );
    match confidence(&close, Goal::Cost, &[]) {
        Some(Confidence::TooCloseToCall {
            runner_up,
            margin,
            noise,
        }) => {
            assert_eq!(close.points[runner_up].gpu_type, "L40S");
            assert!((margin - 0.03).abs() < 1e-9 && noise == verdict::NOISE);
        }
        other => panic!("{other:?}"),
    }
    // Apart by 10 %, but one measured 0.08–0.12 on repeats: its own spread is the noise.
    let wide = compare(
        "m",
        &[
            record("a", "RTX 4090", 0.10, 20.0),
            record("b", "L40S", 0.11, 15.0),
        ],
    );
    assert!(matches!(
        confidence(&wide, Goal::Cost, &[]),
        Some(Confidence::Clear { .. })
    ));
    let spreads = [spread(&[0.08, 0.10, 0.12]), 0.0];
    assert!((spreads[0] - 0.4).abs() < 1e-9);
    assert!(matches!(
        confidence(&wide, Goal::Cost, &spreads),
        Some(Confidence::TooCloseToCall { .. })
    ));
    let alone = compare("m", &[record("a", "RTX 4090", 0.10, 20.0)]);
    assert_eq!(
        confidence(&alone, Goal::Speed, &[]),
        Some(Confidence::Clear { margin: None })
    );
}

#[test]
fn too_close_to_call_measures_both_again_and_a_second_look_may_settle_it() {
    let close = compare(
        "m",
        &[
            record("a", "RTX 4090", 0.100, 20.0),
            record("b", "L40S", 0.103, 15.0),
            record("c", "H100 SXM", 0.300, 60.0),
        ],
    );
    let again = verdict::measure_again(&close, &[]);
    let names: Vec<&str> = again
        .iter()
        .map(|i| close.points[*i].gpu_type.as_str())
        .collect();
    assert_eq!(names, ["RTX 4090", "L40S"]);
    // Measured again, each twice: the medians are 8 % apart and each pair 1 % wide: clear.
    let twice = compare(
        "m",
        &[
            record("a", "RTX 4090", 0.100, 20.0),
            record("a2", "RTX 4090", 0.101, 20.0),
            record("b", "L40S", 0.108, 15.0),
            record("b2", "L40S", 0.109, 15.0),
        ],
    );
    let usd = |id: &crate::ids::BenchmarkId| match id.as_str() {
        "a" => Some(0.100),
        "a2" => Some(0.101),
        "b" => Some(0.108),
        "b2" => Some(0.109),
        _ => None,
    };
    let spreads = verdict::spreads(&twice, usd);
    assert!(
        spreads.iter().all(|s| (0.009..0.011).contains(s)),
        "{spreads:?}"
    );
    assert!(verdict::measure_again(&twice, &spreads).is_empty());
    // A clear answer is not measured again.
    let clear = compare(
        "m",
        &[
            record("a", "RTX 4090", 0.10, 20.0),
            record("b", "L40S", 0.20, 15.0),
        ],
    );
    assert!(verdict::measure_again(&clear, &[]).is_empty());
}

#[test]
fn renting_breaks_even_above_the_rent_over_the_apis_price_of_a_request() {
    let api = default_serverless_price(7.62);
    assert!(api.label.contains(verdict::PRICES_AS_OF));
    assert_eq!(api.output_per_million, 0.18);
    // $0.30/h: $7.20 a day; 1,000 in + 1,000 out on the API: $0.00036 a request.
    let b = break_even(0.30, 100.0, 1000, 1000, &api);
    assert!((b.requests_per_day.unwrap() - 20_000.0).abs() < 1e-6);
    // 100 tokens/s of 1,000-token answers: 8,640 requests a day, below the break-even.
    assert!((b.capacity_per_day - 8_640.0).abs() < 1e-9);
    assert!(!b.within_capacity);
    let free = verdict::ServerlessPrice {
        label: "free".into(),
        input_per_million: 0.0,
        output_per_million: 0.0,
    };
    assert_eq!(break_even(0.3, 100.0, 10, 10, &free).requests_per_day, None);
}

#[test]
fn the_estimates_error_is_relative_to_the_measurement() {
    assert_eq!(relative_error(Some(1.25), Some(1.0)), Some(0.25));
    assert_eq!(relative_error(Some(0.5), Some(1.0)), Some(-0.5));
    assert_eq!(relative_error(None, Some(1.0)), None);
    assert_eq!(relative_error(Some(1.0), Some(0.0)), None);
}

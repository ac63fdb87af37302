use super::*;
use crate::runner::history::tests::past;

fn offer(id: &str, price: f64, reliability: f64, available: bool) -> Offer {
    serde_json::from_value(serde_json::json!({
        "id": id, "provider": "vastai", "gpu_type": "RTX 4090", "gpu_count": 1,
        "vram_gb": 24, "price_per_hour": price, "reliability": reliability,
        "available": available
    }))
    .unwrap()
}

#[test]
fn ranking_is_price_then_confidence_then_reliability_and_skips_old_drivers() {
    let with = |id: &str, price: f64, confidence: f64, cuda: Option<f64>| {
        let mut o = offer(id, price, 0.9, true);
        o.availability_confidence = confidence;
        o.cuda_version = cuda;
        o
    };
    let offers = vec![
        with("old-driver", 0.10, 0.9, Some(12.4)),
        with("unsure", 0.20, 0.3, None),
        with("sure", 0.20, 0.9, Some(13.0)),
        with("dear", 0.50, 1.0, Some(13.1)),
    ];
    let none = History::default();
    let ids: Vec<&str> = rank(&offers, &none).iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["old-driver", "sure", "unsure", "dear"]);
    // A fresh listing is checked against what the run deploys (vLLM 0.31.0: CUDA 13.0).
    let listed = super::super::Offers {
        query: Default::default(),
        offers: Vec::new(),
        history: History::default(),
        fit: crate::runner::engine_fit::Fit::of(
            &serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap(),
        ),
    };
    let fresh = listed.rank_fresh(&offers);
    let ids: Vec<&str> = fresh.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["sure", "unsure", "dear"]);
    let why = reason(&offers[2], &fresh, &none);
    assert!(
        why.starts_with("cheapest of 3 offers at $0.200/h; 2 at that price"),
        "{why}"
    );
}

#[test]
fn a_failed_machine_is_ruled_out_and_its_gpu_type_after_two_failures() {
    let mut ex = Exclusions::default();
    let a = offer("a", 0.3, 0.9, true);
    let b = offer("b", 0.3, 0.9, true);
    let c = offer("c", 0.3, 0.9, true);
    ex.failed(&a);
    assert!(!ex.allows(&a) && ex.allows(&b));
    ex.failed(&b);
    assert!(!ex.allows(&c), "RTX 4090 on vastai failed twice");
    let mut other = offer("d", 0.3, 0.9, true);
    other.gpu_type = "L4".into();
    assert!(ex.allows(&other));
}

#[test]
fn a_pinned_test_allows_only_its_gpu_type_and_count() {
    let config = |pin: &str| -> TestConfig {
        serde_json::from_value(serde_json::json!({
            "model": "qwen2.5-0.5b", "max_price": 1, "pin_offer": pin
        }))
        .unwrap()
    };
    let chosen = offer("a", 0.3, 0.9, true);
    let mut l4 = offer("l4", 0.2, 0.9, true);
    l4.gpu_type = "L4".into();
    let mut two = offer("two", 0.6, 0.9, true);
    two.gpu_count = 2;
    let same = offer("b", 0.4, 0.9, true);
    let pinned = Exclusions::for_test(&config("a"), &chosen);
    assert_eq!(
        pinned.pinned().map(PinnedGpu::gpu).as_deref(),
        Some("RTX 4090")
    );
    assert!(pinned.allows(&same) && !pinned.allows(&l4) && !pinned.allows(&two));
    let mut free = config("a");
    free.pin_offer = None;
    let mut gpu_only = free.clone();
    let free = Exclusions::for_test(&free, &chosen);
    assert!(free.pinned().is_none() && free.allows(&l4) && free.allows(&two));
    // A bundle run again: a GPU type and count without an offer stays on them too.
    gpu_only.pin_gpu = Some(PinnedGpu::of(&chosen));
    let gpu_only = Exclusions::for_test(&gpu_only, &chosen);
    assert!(gpu_only.allows(&same) && !gpu_only.allows(&l4) && !gpu_only.allows(&two));
}

#[test]
fn cheapest_first_then_most_reliable_and_never_unavailable() {
    let offers = [
        offer("dear", 0.9, 0.99, true),
        offer("cheap-shaky", 0.3, 0.90, true),
        offer("cheap-solid", 0.3, 0.99, true),
        offer("gone", 0.1, 1.0, false),
    ];
    let ids: Vec<&str> = rank(&offers, &History::default())
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(ids, ["cheap-solid", "cheap-shaky", "dear"]);
}

#[test]
fn a_gpu_that_often_failed_to_start_for_us_goes_last_and_the_reason_says_so() {
    let history = History::from_runs(&[
        past(&[("RTX 3090", true), ("RTX 3090", true), ("L4", false)]),
        past(&[
            ("RTX 3090", false),
            ("L4", true),
            ("L4", false),
            ("L4", false),
        ]),
    ]);
    let gpu = |id: &str, gpu: &str, price: f64| {
        let mut o = offer(id, price, 0.9, true);
        o.gpu_type = gpu.into();
        o
    };
    let offers = [
        gpu("cheap-3090", "RTX 3090", 0.10),
        gpu("l4", "L4", 0.20),
        gpu("a4000", "RTX A4000", 0.20),
    ];
    let ranked = rank(&offers, &history);
    let ids: Vec<&str> = ranked.iter().map(|o| o.id.as_str()).collect();
    // 2 of 3 RTX 3090 rentals failed: last, cheap as it is. L4 (1 of 4) and the A4000
    // (none yet) tie on price, confidence and reliability; fewer failures first.
    assert_eq!(ids, ["a4000", "l4", "cheap-3090"]);
    let why = reason(ranked[0], &ranked, &history);
    assert!(
        why.contains(
            "put last from our history: RTX 3090 on Vast.ai (2 of our 3 rentals failed to start)"
        ),
        "{why}"
    );
    let why = reason(ranked[1], &ranked, &history);
    assert!(
        why.contains("1 of our 4 past rentals of this GPU there failed to start"),
        "{why}"
    );
    // Two rentals are not enough history to hold against a kind.
    let young = History::from_runs(&[past(&[("RTX 3090", true), ("RTX 3090", true)])]);
    assert_eq!(rank(&offers, &young)[0].id, "cheap-3090");
}

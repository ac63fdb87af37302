use super::*;
use crate::benchmark::PhaseMetrics;

const MODEL: &str = "Qwen/Qwen2.5-0.5B-Instruct";

/// A record whose one level met its SLOs on `gpu`, recorded `minute` minutes past one.
fn record(id: &str, gpu: &str, workload: Option<&str>, minute: u32) -> BenchmarkRecord {
    let mut r: BenchmarkRecord = serde_json::from_value(serde_json::json!({
        "id": id, "run_id": "r", "created_at": format!("2026-11-24T01:{minute:02}:00Z"),
        "model": MODEL, "served_repo": "x", "quantization": "none",
        "provider": "vastai", "gpu_type": gpu, "gpu_count": 1, "price_per_hour": 0.3,
        "prompts_matching": 4, "prompts_with_expected": 4, "phases": []
    }))
    .unwrap();
    r.workload = workload.map(str::to_owned);
    let mut p = PhaseMetrics {
        concurrency: 4,
        usd_per_million_output_tokens: Some(0.2),
        meets_slo: Some(true),
        ..Default::default()
    };
    p.tpot_ms.p50 = 10.0;
    r.phases = vec![p];
    r
}

fn ids(c: &Comparison) -> Vec<&str> {
    let mut ids: Vec<&str> = c
        .points
        .iter()
        .flat_map(|p| p.benchmarks.iter().map(|b| b.as_str()))
        .collect();
    ids.sort();
    ids
}

const LONG: &str = "synthetic 512 in / 128 out";

#[test]
fn the_largest_group_is_shown_alone_and_a_filter_chooses_another() {
    let records = [
        record("a", "H100", Some(LONG), 1),
        record("b", "A100", Some(LONG), 2),
        record("c", "H100", Some(DEFAULT_WORKLOAD), 3),
    ];
    let c = compare_group(MODEL, &CompareQuery::default(), &records);
    assert_eq!(ids(&c), ["a", "b"], "never the other workload's c");
    assert_eq!(c.group.as_ref().unwrap().workload, LONG);
    assert_eq!(c.group.as_ref().unwrap().benchmarks, 2);
    assert_eq!(c.left_out, 1);
    assert_eq!(c.groups.len(), 2);
    let q: CompareQuery = crate::query::decode(
        "workload=synthetic+64+in+%2F+96+out&slo=ttft1000-tpot100&quantization=none",
    )
    .unwrap();
    let other = compare_group(MODEL, &q, &records);
    assert_eq!(ids(&other), ["c"]);
    assert_eq!(other.left_out, 2);
    let none = CompareQuery {
        quantization: Some("awq".into()),
        ..CompareQuery::default()
    };
    let empty = compare_group(MODEL, &none, &records);
    assert!(empty.group.is_none() && empty.points.is_empty() && empty.left_out == 3);
}

#[test]
fn two_slos_are_two_groups_and_a_tie_goes_to_the_newest() {
    let mut strict = record("s", "H100", Some(LONG), 9);
    strict.slo = Some(Slo {
        ttft_p95_ms: 500.0,
        tpot_p95_ms: 50.0,
        min_success: 0.95,
    });
    let loose = record("l", "H100", Some(LONG), 1);
    let c = compare_group(MODEL, &CompareQuery::default(), &[loose, strict]);
    assert_eq!(ids(&c), ["s"], "the newer of two groups of one");
    assert_eq!(c.group.unwrap().slo, "ttft500-tpot50-ok95");
    assert_eq!(c.groups[1].slo, "ttft1000-tpot100");
}

#[test]
fn old_records_are_the_default_group_and_external_ones_only_join_what_they_match() {
    let old = record("old", "H100", None, 1);
    let mut kept = record("new", "A100", Some(DEFAULT_WORKLOAD), 2);
    kept.slo = Some(Slo::default());
    let mut bench = record("ext", "L4", Some(DEFAULT_WORKLOAD), 3);
    bench.external = true;
    bench.slo = Some(Slo::default());
    bench.engine = Some(crate::engines::Engine::Vllm);
    let mut unknown = record("imp", "T4", None, 4);
    unknown.external = true;
    let c = compare_group(
        MODEL,
        &CompareQuery::default(),
        &[old, kept, bench, unknown],
    );
    assert_eq!(ids(&c), ["ext", "new", "old"]);
    assert_eq!(c.left_out, 1, "the external record that kept no SLOs");
    let ext = c.points.iter().find(|p| p.gpu_type == "L4").unwrap();
    assert_eq!(ext.external, 1, "marked");
    assert!(c
        .points
        .iter()
        .filter(|p| p.gpu_type != "L4")
        .all(|p| p.external == 0));
    let g = c.group.unwrap();
    assert_eq!((g.benchmarks, g.external), (3, 1));
    assert_eq!(c.groups[1].workload, UNKNOWN);
    assert_eq!(c.groups[1].slo, UNKNOWN);
}

#[test]
fn a_group_that_can_draw_a_frontier_is_chosen_before_a_larger_one_that_cannot() {
    // Three imports that met no SLO (as the old dashboard's never did), one measured run.
    let mut records: Vec<BenchmarkRecord> = (0..3)
        .map(|k| {
            let mut r = record(&format!("old{k}"), "RTX 4090", Some("imported"), 30 + k);
            r.phases[0].meets_slo = None;
            r
        })
        .collect();
    records.push(record("run", "L4", Some(LONG), 1));
    let c = compare_group(MODEL, &CompareQuery::default(), &records);
    let shown = c.group.clone().expect("a group");
    assert_eq!((shown.workload.as_str(), shown.measured), (LONG, 1));
    assert_eq!(ids(&c), ["run"]);
    assert_eq!(c.left_out, 3);
    assert_eq!(c.groups[1].measured, 0, "{:?}", c.groups);
}

#[test]
fn a_campaign_weighing_quantizations_gets_a_point_for_each() {
    let mut awq = record("awq", "RTX 4090", Some(LONG), 2);
    awq.quantization = "awq".into();
    let plain = record("plain", "RTX 4090", Some(LONG), 1);
    let c = crate::compare::compare(MODEL, &[plain.clone(), awq]);
    let mut labels: Vec<String> = c
        .points
        .iter()
        .map(crate::compare::FrontierPoint::label)
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            "RTX 4090 ×1 on Vast.ai · awq",
            "RTX 4090 ×1 on Vast.ai · none"
        ]
    );
    assert!(
        c.recommendations[0].text.contains(" · "),
        "{:?}",
        c.recommendations
    );
    // One quantization: one point, none named.
    let again = record("again", "RTX 4090", Some(LONG), 3);
    let one = crate::compare::compare(MODEL, &[plain, again]);
    assert_eq!(one.points.len(), 1);
    assert_eq!(one.points[0].quantization, None);
}

use super::*;

fn sample(ttft: f64, chunks: &[f64], tokens: u32) -> Sample {
    Sample {
        start_ms: 0.0,
        ttft_ms: Some(ttft),
        chunk_ms: chunks.to_vec(),
        e2e_ms: chunks.last().copied(),
        prompt_tokens: 10,
        output_tokens: tokens,
        first_chunk_ms: Some(ttft - 5.0),
        usage_reported: true,
        error: None,
    }
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn percentiles_interpolate_like_numpy() {
    let v = [1.0, 2.0, 3.0, 4.0];
    close(percentile(&v, 50.0), 2.5);
    close(percentile(&v, 90.0), 3.7);
    close(percentile(&v, 99.0), 3.97);
    close(percentile(&[5.0], 99.0), 5.0);
    assert_eq!(percentile(&[], 50.0), 0.0);
}

#[test]
fn ttft_tpot_itl_e2el_on_a_hand_made_set() {
    let samples = vec![
        // 100 ms to first token, then 4 more tokens in chunks at 120, 140, 160, 180.
        sample(100.0, &[100.0, 120.0, 140.0, 160.0, 180.0], 5),
        // 200 ms TTFT, 3 tokens in two chunks (one chunk carries two tokens).
        sample(200.0, &[200.0, 260.0], 3),
        // A single-token reply: counts for TTFT and E2EL, not for TPOT.
        sample(50.0, &[50.0], 1),
        // A failed request: counted as failed, in no distribution.
        Sample {
            error: Some("HTTP 500".into()),
            ..Default::default()
        },
    ];
    let m = phase_metrics(&samples, 2, 2.0, Some(0.36));
    assert_eq!((m.completed, m.failed), (3, 1));
    close(m.ttft_ms.mean, (100.0 + 200.0 + 50.0) / 3.0);
    close(m.ttft_ms.p50, 100.0);
    // TPOT: (180-100)/4 = 20 and (260-200)/2 = 30; the 1-token reply is skipped.
    assert_eq!(m.tpot_ms.count, 2);
    close(m.tpot_ms.mean, 25.0);
    // ITL pooled over chunk gaps: 20, 20, 20, 20, 60.
    assert_eq!(m.itl_ms.count, 5);
    close(m.itl_ms.p50, 20.0);
    close(m.itl_ms.max, 60.0);
    close(m.e2el_ms.max, 260.0);
    // 9 output tokens in 2 s = 4.5 tok/s; $0.36/h → 0.36 / (4.5 × 3600) × 1e6 = $22.22.
    assert_eq!(m.total_output_tokens, 9);
    close(m.output_tokens_per_s, 4.5);
    close(
        m.usd_per_million_output_tokens.unwrap(),
        0.36 / (4.5 * 3600.0) * 1e6,
    );
    close(m.requests_per_s, 1.5);
}

#[test]
fn slos_judge_levels_and_count_goodput() {
    let fast = sample(100.0, &[100.0, 120.0, 140.0], 3);
    let slow_start = sample(1500.0, &[1500.0, 1510.0], 2);
    let failed = Sample {
        error: Some("HTTP 500".into()),
        ..Default::default()
    };
    let samples = vec![fast.clone(), fast.clone(), slow_start, failed];
    let mut m = phase_metrics(&samples, 4, 2.0, None);
    assert_eq!(
        m.first_chunk_ms.min, 95.0,
        "the first chunk is kept apart from TTFT"
    );
    close(m.tokens_per_chunk, 7.0 / 7.0);
    let slo = Slo::default();
    slo.judge(&mut m, &samples);
    close(m.goodput_rps.unwrap(), 1.0);
    assert_eq!(
        m.meets_slo,
        Some(false),
        "a failure and a slow start break it"
    );
    let mut good = phase_metrics(&[fast.clone(), fast], 1, 1.0, None);
    slo.judge(&mut good, &[]);
    assert_eq!(good.meets_slo, Some(true));
    let old: Sample = serde_json::from_str(r#"{"start_ms":0,"ttft_ms":1,"chunk_ms":[1],"e2e_ms":1,"prompt_tokens":1,"output_tokens":1}"#).unwrap();
    assert!(
        old.usage_reported,
        "records from before say nothing: usage was read"
    );
}

#[test]
fn cost_needs_price_and_throughput() {
    assert_eq!(usd_per_million(0.0, 100.0), None);
    assert_eq!(usd_per_million(1.0, 0.0), None);
    close(usd_per_million(3.6, 1000.0).unwrap(), 1.0);
}

//! Formatting helpers shared by the pages. Pure functions: the same output on the server
//! and in the browser, so hydration never sees different text.

use chrono::{DateTime, Utc};

/// `$0.412/h` style price with three decimals.
pub fn per_hour(usd: f64) -> String {
    format!("${usd:.3}/h")
}

/// A UTC timestamp as `2026-03-05 14:03 UTC`.
pub fn timestamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A duration in seconds as `45 s`, `3 min 05 s` or `2 h 07 min`.
pub fn duration(secs: f64) -> String {
    let total = secs.max(0.0).round() as u64;
    match total {
        0..=59 => format!("{total} s"),
        60..=3599 => format!("{} min {:02} s", total / 60, total % 60),
        _ => format!("{} h {:02} min", total / 3600, (total % 3600) / 60),
    }
}

/// A latency in milliseconds as people read it: `< 1 ms` under a millisecond (a `0 ms`
/// reads like a glitch), whole milliseconds up to a second, then seconds (`1.25 s`).
pub fn latency_ms(ms: f64) -> String {
    match ms {
        m if m < 1.0 => "< 1 ms".into(),
        m if m < 1000.0 => format!("{m:.0} ms"),
        m => format!("{:.2} s", m / 1000.0),
    }
}

/// `n` and the noun, singular for one: `1 session`, `2 sessions`, `0 sessions`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A quantization as the test form names it (`none` reads `FP16 / BF16`); a name this
/// version does not know as it is.
pub fn quantization(wire: &str) -> String {
    gdl_model::registry::Quantization::parse(wire)
        .map(|q| q.label().to_owned())
        .unwrap_or_else(|| wire.to_owned())
}

/// The first 8 characters of an id, for narrow tables.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A small amount of dollars: `$0.0123`, `< $0.0001`, `$0`.
pub fn small_usd(amount: f64) -> String {
    match amount {
        a if a <= 0.0 => "$0".into(),
        a if a < 0.0001 => "< $0.0001".into(),
        a => format!("${a:.4}"),
    }
}

/// `RTX 4090 × 2`.
pub fn gpu(gpu_type: &str, count: u32) -> String {
    format!("{gpu_type} × {count}")
}

/// One line about a benchmark: TTFT and TPOT at concurrency 1, the best throughput and
/// its $ per 1M output tokens.
pub fn benchmark_headline(b: &gdl_model::runs::BenchmarkRecord) -> String {
    let c1 = b.phases.first();
    let best = b.best_phase();
    match (c1, best) {
        (Some(c1), Some(best)) => format!(
            "TTFT {:.0} ms · TPOT {:.1} ms · {:.0} output tok/s at concurrency {} · {} per 1M output tokens · quality {}/{}",
            c1.ttft_ms.p50,
            c1.tpot_ms.p50,
            best.output_tokens_per_s,
            best.concurrency,
            best.usd_per_million_output_tokens.map(|c| format!("${c:.3}")).unwrap_or_else(|| "—".into()),
            b.prompts_matching,
            b.prompts_with_expected
        ),
        _ => "no load phase completed".into(),
    }
}

/// `text` as a URL query value: letters, digits, `-`, `_`, `.` and `/` stay (paths and
/// model ids read better with them), every other byte is percent-encoded. The server's
/// login redirect uses it for its `next` path too.
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values() {
        assert_eq!(query_value("Qwen/Qwen2.5-0.5B"), "Qwen/Qwen2.5-0.5B");
        assert_eq!(query_value("a b&c=d"), "a%20b%26c%3Dd");
    }

    #[test]
    fn formats() {
        assert_eq!(per_hour(0.4123), "$0.412/h");
        assert_eq!(duration(4.4), "4 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        assert_eq!(duration(7620.0), "2 h 07 min");
        assert_eq!(short_id("3f0c1e9a-aaaa"), "3f0c1e9a");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(gpu("RTX 4090", 2), "RTX 4090 × 2");
        assert_eq!(small_usd(0.0), "$0");
        assert_eq!(small_usd(0.00002), "< $0.0001");
        assert_eq!(small_usd(0.01234), "$0.0123");
        assert_eq!(latency_ms(0.0), "< 1 ms");
        assert_eq!(latency_ms(0.4), "< 1 ms");
        assert_eq!(latency_ms(1.0), "1 ms");
        assert_eq!(latency_ms(212.4), "212 ms");
        assert_eq!(latency_ms(1250.0), "1.25 s");
        assert_eq!(count(1, "session", "sessions"), "1 session");
        assert_eq!(count(2, "session", "sessions"), "2 sessions");
        assert_eq!(count(0, "session", "sessions"), "0 sessions");
        assert_eq!(quantization("none"), "FP16 / BF16");
        assert_eq!(quantization("AWQ"), "AWQ 4-bit");
        assert_eq!(quantization("int3"), "int3");
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-05T14:03:11.5Z").unwrap();
        assert_eq!(timestamp(&t.with_timezone(&Utc)), "2026-03-05 14:03 UTC");
    }
}

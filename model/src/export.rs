//! Benchmark records as a CSV table (one row per benchmark, the Benchmarks tab's columns)
//! for spreadsheets; the JSON export is the records themselves.
//!
//! # Examples
//!
//! ```
//! use gdl_model::export::{benchmarks_csv, CSV_COLUMNS};
//! use gdl_model::runs::BenchmarkRecord;
//!
//! let record: BenchmarkRecord = serde_json::from_str(r#"{"id":"b-1","run_id":"run-1",
//!     "created_at":"2026-11-24T01:00:00Z","model":"Qwen/Qwen2.5-0.5B-Instruct",
//!     "served_repo":"Qwen/Qwen2.5-0.5B-Instruct","quantization":"none","provider":"vastai",
//!     "gpu_type":"RTX 4090","gpu_count":1,"price_per_hour":0.4,"prompts_matching":3,
//!     "prompts_with_expected":4,"phases":[],"workload":"synthetic 128 in / 128 out, chat"}"#)?;
//! let csv = benchmarks_csv(&[record]);
//! let lines: Vec<&str> = csv.split("\r\n").collect();
//! assert_eq!(lines[0], CSV_COLUMNS.join(","));
//! assert!(lines[1].starts_with("b-1,2026-11-24T01:00:00+00:00,Qwen/Qwen2.5-0.5B-Instruct,"));
//! // A field with a comma is quoted (RFC 4180).
//! assert!(lines[1].ends_with(",false,\"synthetic 128 in / 128 out, chat\""));
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::runs::BenchmarkRecord;

/// The CSV header: the column names, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "created_at",
    "model",
    "quantization",
    "engine",
    "engine_settings",
    "gpu_type",
    "gpu_count",
    "provider",
    "price_per_hour",
    "ttft_p50_ms",
    "tpot_p50_ms",
    "best_output_tokens_per_s",
    "best_concurrency",
    "slo_concurrency",
    "usd_per_million_at_slo",
    "usd_per_million_best",
    "prompts_matching",
    "prompts_with_expected",
    "test_cost_usd",
    "external",
    "workload",
];

/// `records` as CSV (RFC 4180: fields with commas, quotes or line breaks are quoted).
///
/// A header line of [`CSV_COLUMNS`], then one row per record, every line ending in `\r\n`.
/// Figures a record lacks (no phase, no SLO level) are empty fields; see the
/// [module example](self).
pub fn benchmarks_csv(records: &[BenchmarkRecord]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in records {
        let c1 = r.phases.first();
        let best = r.best_phase();
        let slo = r.at_slo();
        let num = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
        let row = [
            text(r.id.as_str()),
            r.created_at.to_rfc3339(),
            text(&r.model),
            text(&r.quantization),
            text(&r.engine_label().unwrap_or_default()),
            text(&r.engine_settings.summary()),
            text(&r.gpu_type),
            r.gpu_count.to_string(),
            text(r.provider.as_str()),
            format!("{:.4}", r.price_per_hour),
            num(c1.map(|p| p.ttft_ms.p50)),
            num(c1.map(|p| p.tpot_ms.p50)),
            num(best.map(|p| p.output_tokens_per_s)),
            best.map(|p| p.concurrency.to_string()).unwrap_or_default(),
            slo.map(|p| p.concurrency.to_string()).unwrap_or_default(),
            num(slo.and_then(|p| p.usd_per_million_output_tokens)),
            num(best.and_then(|p| p.usd_per_million_output_tokens)),
            r.prompts_matching.to_string(),
            r.prompts_with_expected.to_string(),
            num(r.test_cost_usd),
            r.external.to_string(),
            text(r.workload.as_deref().unwrap_or_default()),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A text cell that a spreadsheet cannot take for a formula: one starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return (text from the broker or an imported file) gets a
/// leading `'`, which spreadsheets show as text and do not evaluate.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_record_quoted_where_needed() {
        let record: BenchmarkRecord = serde_json::from_value(serde_json::json!({
            "id": "b-1", "run_id": "r", "created_at": "2026-11-24T01:00:00Z",
            "model": "org/model, \"v2\"", "served_repo": "org/model", "quantization": "awq",
            "provider": "vastai", "gpu_type": "RTX 4090", "gpu_count": 1, "price_per_hour": 0.4,
            "prompts_matching": 3, "prompts_with_expected": 4, "phases": [],
            "test_cost_usd": 0.02
        }))
        .unwrap();
        let csv = benchmarks_csv(&[record]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0].split(',').count(), CSV_COLUMNS.len());
        assert!(
            lines[1].starts_with("b-1,2026-11-24T01:00:00+00:00,\"org/model, \"\"v2\"\"\",awq,")
        );
        assert!(
            lines[1].contains(",awq,vLLM 0.6.4,,RTX 4090,"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains(",0.0200,false,"));
        assert_eq!(lines.len(), 3, "header, one row, and the final line break");
    }

    #[test]
    fn text_a_spreadsheet_would_evaluate_is_kept_as_text() {
        let record: BenchmarkRecord = serde_json::from_value(serde_json::json!({
            "id": "b-1", "run_id": "r", "created_at": "2026-11-24T01:00:00Z",
            "model": "=HYPERLINK(\"http://x\",\"y\")", "served_repo": "m",
            "quantization": "+1", "provider": "vastai", "gpu_type": "@SUM(A1)",
            "gpu_count": 1, "price_per_hour": 0.4, "prompts_matching": 0,
            "prompts_with_expected": 0, "phases": [], "workload": "-2+3"
        }))
        .unwrap();
        let csv = benchmarks_csv(&[record]);
        let row = csv.split("\r\n").nth(1).unwrap();
        for cell in [
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            "'+1",
            "'@SUM(A1)",
            "'-2+3",
        ] {
            assert!(row.contains(cell), "{cell} in {row}");
        }
        assert!(
            !row.split(',').any(|c| c.starts_with(['=', '+', '-', '@'])),
            "{row}"
        );
    }
}

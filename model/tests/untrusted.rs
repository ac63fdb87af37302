//! Property tests: everything the model parses from outside (broker bodies, live-channel
//! frames in both directions, legacy benchmark files, query strings, dates, error codes)
//! answers with a value or an error on any input, and never panics.
//!
//! 100,000 cases per property by default; `PROPTEST_CASES=1000000 cargo test -p gdl-model
//! --release --test untrusted` runs a longer search (docs/testing.md).

use gdl_model::code::ErrorCode;
use gdl_model::compare::CompareQuery;
use gdl_model::costs::{CostParams, CostWindow};
use gdl_model::inventory::InventoryFilters;
use gdl_model::live::{ClientFrame, LiveEvent, ServerFrame};
use gdl_model::query::decode;
use gdl_model::runs::{BenchmarkFilters, ExportQuery, LogQuery, RunFilters};
use gdl_model::sessions::SessionFilters;
use gdl_model::shopper::{
    BrokerErrorBody, CostSummary, CreateSessionResponse, Health, InventoryPage, InventoryQuery,
    Offer, Ready, Session, SessionDiagnostics, SessionList,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Field names the wire types use, so that generated objects reach past the first field.
const KEYS: &[&str] = &[
    "id",
    "type",
    "kind",
    "seq",
    "epoch",
    "event",
    "events",
    "state",
    "status",
    "session",
    "sessions",
    "offer",
    "offers",
    "offer_id",
    "provider",
    "gpu_type",
    "gpu_count",
    "vram_gb",
    "price_per_hour",
    "location",
    "reliability",
    "available",
    "availability_confidence",
    "cuda_version",
    "ssh_host",
    "ssh_port",
    "ssh_user",
    "ssh_private_key",
    "created_at",
    "expires_at",
    "error",
    "error_type",
    "message",
    "consumer_id",
    "total",
    "limit",
    "offset",
    "run",
    "runs",
    "run_id",
    "line",
    "logs",
    "benchmark",
    "benchmarks",
    "record",
    "phases",
    "concurrency",
    "ttft_ms",
    "mean",
    "p50",
    "count",
    "timestamp",
    "model",
    "model_id",
    "workload",
    "slo",
    "capacity",
    "last_seq",
    "nonce",
    "sent_at_ms",
    "reason",
    "reconciled",
    "disk_gb",
    "requested_gb",
    "recommended_gb",
    "minimum_gb",
    "breakdown",
    "hash_id",
    "template_hash_id",
    "compatible_templates",
    "reservation_hours",
    "new_expires_at",
    "avg_tokens_per_second",
    "avg_time_to_first_token_ms",
    "prompts_tested",
    "prompts_passed",
    "total_tokens_generated",
    "cost_per_million_tokens",
    "throughput_tokens_per_second",
    "snapshot",
    "status_view",
    "services",
    "database",
    "uptime",
    "request_id",
    "retry_count",
    "storage_policy",
    "launch_mode",
    "docker_image",
    "exposed_ports",
    "api_port",
    "text",
];

/// Strings a broker, a browser or an old file could send: words, dates, numbers as text,
/// and anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KEYS).prop_map(str::to_owned),
        prop::sample::select(&[
            "running",
            "provisioning",
            "stopped",
            "failed",
            "vastai",
            "tensordock",
            "bluelobster",
            "hello",
            "ping",
            "snapshot",
            "closing",
            "today",
            "month",
            "range",
            "2026-12-02T10:00:00Z",
            "2026-12-02 10:00:00",
            "0001-01-01T00:00:00Z",
            "2026-02-30",
            "9999-99-99",
            "NaN",
            "-1",
            "1e309",
            "",
            "null",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

/// Any JSON value, with objects keyed mostly by the wire types' own field names.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Parses `text` as every body and frame the dashboard reads from outside. Errors are
/// fine; a panic fails the property.
fn parse_everything(text: &str) {
    let _ = serde_json::from_str::<Offer>(text);
    let _ = serde_json::from_str::<InventoryPage>(text);
    let _ = serde_json::from_str::<Session>(text);
    let _ = serde_json::from_str::<SessionList>(text);
    let _ = serde_json::from_str::<CreateSessionResponse>(text);
    let _ = serde_json::from_str::<SessionDiagnostics>(text);
    let _ = serde_json::from_str::<BrokerErrorBody>(text);
    let _ = serde_json::from_str::<Health>(text);
    let _ = serde_json::from_str::<Ready>(text);
    let _ = serde_json::from_str::<CostSummary>(text);
    let _ = serde_json::from_str::<ServerFrame>(text);
    let _ = serde_json::from_str::<ClientFrame>(text);
    let _ = serde_json::from_str::<LiveEvent>(text);
    let _ = gdl_model::legacy::import(text, "fuzz.json");
    let _ = gdl_model::time::parse_lenient(text);
    let _ = ErrorCode::parse(text);
}

/// Decodes `query` as every query string a page, REST or the CLI reads.
fn decode_everything(query: &str) {
    let _ = decode::<RunFilters>(query);
    let _ = decode::<LogQuery>(query);
    let _ = decode::<BenchmarkFilters>(query);
    let _ = decode::<ExportQuery>(query);
    let _ = decode::<InventoryFilters>(query);
    let _ = decode::<InventoryQuery>(query);
    let _ = decode::<SessionFilters>(query);
    let _ = decode::<CompareQuery>(query);
    if let Ok(params) = decode::<CostParams>(query) {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let _ = CostWindow::parse(&params, today);
    }
}

/// A query string's value: numbers of every size, dates, words, percent escapes (valid or
/// not) and anything at all.
fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| x.to_string()),
        "[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}",
        "(%[0-9a-fA-F]{0,2}|[a-z+ ,.-]){0,12}",
        text(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn json_bodies_and_frames_never_panic(value in json()) {
        parse_everything(&value.to_string());
    }

    #[test]
    fn any_text_never_panics(text in text()) {
        parse_everything(&text);
        decode_everything(&text);
    }

    #[test]
    fn query_strings_never_panic(
        pairs in prop::collection::vec(
            (prop_oneof![
                prop::sample::select(&[
                    "status", "model", "limit", "offset", "page", "per_page", "sort", "order",
                    "provider", "gpu", "gpu_type", "min_vram", "max_price", "period", "from",
                    "to", "format", "level", "after", "before", "goal", "slo_ms", "fit",
                    "min_gpu_count", "min_cuda", "location", "q", "id", "ids", "since",
                ][..]).prop_map(str::to_owned),
                text(),
            ], query_value()),
            0..8,
        )
    ) {
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        decode_everything(&query);
        decode_everything(&format!("?{query}"));
    }
}

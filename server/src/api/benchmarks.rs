//! Stored benchmarks over REST: pages of records, one with its raw samples, a model
//! compared across GPUs and providers, every record exported, the old dashboard's files
//! imported.

use super::{json_body, Query};
use crate::service::{Dashboard, ServiceError};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdl_model::compare::{CompareQuery, Comparison};
use gdl_model::error::ApiError;
use gdl_model::ids::BenchmarkId;
use gdl_model::legacy::{ImportReport, OldFile};
use gdl_model::runs::bundle::BenchmarkBundle;
use gdl_model::runs::{BenchmarkDetail, BenchmarkPage, BenchmarkRecord, ExportQuery};

/// The stored benchmarks, newest first.
///
/// Benchmark records in pages (`limit` 1–500 with `offset`), each with the whole test's
/// cost; `engine` (`vllm`, `sglang`) keeps one engine's (records from before engines were
/// kept count as vLLM).
#[utoipa::path(get, path = "/api/benchmarks", tag = "benchmarks", params(BenchmarkPage),
    responses((status = 200, body = Vec<BenchmarkRecord>), (status = 400, body = ApiError)))]
pub async fn list(
    State(d): State<Dashboard>,
    Query(query): Query<BenchmarkPage>,
) -> Result<Json<Vec<BenchmarkRecord>>, ServiceError> {
    Ok(Json(d.history().benchmarks_of(&query).await?))
}

/// One benchmark with its raw samples.
///
/// The record and every sample it was computed from, as `{benchmark, samples: [{phase,
/// sample}]}`. 404 for an unknown id.
#[utoipa::path(get, path = "/api/benchmarks/{id}", tag = "benchmarks", params(("id" = String, Path)),
    responses((status = 200, body = BenchmarkDetail), (status = 404, body = ApiError)))]
pub async fn get(
    State(d): State<Dashboard>,
    Path(id): Path<BenchmarkId>,
) -> Result<Json<BenchmarkDetail>, ServiceError> {
    Ok(Json(d.history().benchmark(&id).await?))
}

/// One model across GPUs and providers.
///
/// The price-performance frontier of the model's benchmarks (a model id, or a preset's alias
/// such as `qwen2.5-0.5b`; ids with `/` work as a query value) and the recommendations for
/// cost, speed and balance, over one comparison group: benchmarks with the same workload,
/// SLOs, quantization and engine. `workload`, `slo`, `quantization` and `engine` choose the
/// group; where they leave a choice, the group with the most benchmarks is shown. The
/// answer names the group (`group`), lists the model's groups (`groups`) and counts the
/// benchmarks of other groups (`left_out`); a point's `external` counts its benchmarks
/// measured by `bench` or imported. 400 without a model.
#[utoipa::path(get, path = "/api/compare", tag = "benchmarks", params(CompareQuery),
    responses(
        (status = 200, body = Comparison),
        (status = 400, description = "No model given", body = ApiError),
    ))]
pub async fn compare(
    State(d): State<Dashboard>,
    Query(q): Query<CompareQuery>,
) -> Result<Json<Comparison>, ServiceError> {
    let Some(model) = q.model else {
        return Err(ServiceError::invalid(
            "model is required",
            "GET /api/compare?model=Qwen/Qwen2.5-0.5B-Instruct",
        ));
    };
    let q = CompareQuery {
        model: Some(model),
        ..q
    };
    let (_, comparison) = d.history().compare(&q).await?;
    Ok(Json(comparison))
}

/// Every stored benchmark, as a download.
///
/// Newest first: CSV with the Benchmarks tab's columns (`format=csv`, the default), or the
/// records as a JSON array (`format=json`).
#[utoipa::path(get, path = "/api/benchmarks/export", tag = "benchmarks", params(ExportQuery),
    responses(
        (status = 200, description = "text/csv, or a JSON array of BenchmarkRecord", content_type = "text/csv"),
        (status = 400, body = ApiError),
    ))]
pub async fn export(
    State(d): State<Dashboard>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ServiceError> {
    let export = d.history().export(q.format.unwrap_or_default()).await?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let disposition = format!(
        "attachment; filename=\"benchmarks-{stamp}.{}\"",
        export.extension
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(export.content_type),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        export.body,
    )
        .into_response())
}

/// Imports the old dashboard's benchmark files.
///
/// The JSON of one `<id>.json` file of the old Python dashboard, or an array of them, stored
/// as external benchmarks. Answers what was imported and why the rest was skipped; 400 when
/// nothing could be.
#[utoipa::path(post, path = "/api/benchmarks/import", tag = "benchmarks",
    request_body(content = serde_json::Value, description = "One old record, or an array of them"),
    responses(
        (status = 200, body = ImportReport),
        (status = 400, description = "Not JSON, or nothing importable", body = ApiError),
    ))]
pub async fn import(
    State(d): State<Dashboard>,
    body: axum::body::Bytes,
) -> Result<Json<ImportReport>, ServiceError> {
    let value: serde_json::Value = json_body(
        &body,
        "the body is not JSON",
        "POST the text of an old <id>.json file, or a JSON array of them.",
    )?;
    let records = match value {
        serde_json::Value::Array(records) => records,
        record => vec![record],
    };
    let files = records
        .iter()
        .enumerate()
        .map(|(i, record)| OldFile {
            name: match record["id"].as_str() {
                Some(id) => format!("record {id}"),
                None => format!("record {}", i + 1),
            },
            text: record.to_string(),
        })
        .collect();
    let report = d.import_benchmarks(files).await?;
    if report.imported.is_empty() {
        return Err(ServiceError::invalid(
            match report.skipped.as_slice() {
                [] => "no benchmark records given".to_owned(),
                skipped => format!("nothing imported: {}", skipped.join("; ")),
            },
            "Send the old dashboard's ~/.gpu-deploy-llm/benchmarks/<id>.json files (not index.json).",
        ));
    }
    Ok(Json(report))
}

/// A benchmark's bundle, to run it again.
///
/// The configuration of the run that measured it, exactly as the run recorded it (the
/// engine, the version it deployed and its settings, the workload with its seed, the SLOs,
/// the capacity search), the GPU type and count, provider and offer price it ran on, and
/// the command that runs it again: `gpu-deploy-llm test --from bench-….json`, which rents
/// the same GPU type and count on the same provider (not the old offer). Sent as an
/// attachment named after the benchmark. 404 `benchmark_not_found` for an unknown id; 409
/// `benchmark_not_repeatable` for a benchmark no run of this dashboard measured (from
/// `gpu-deploy-llm bench`, or imported).
#[utoipa::path(get, path = "/api/benchmarks/{id}/bundle", tag = "benchmarks", params(("id" = String, Path)),
    responses(
        (status = 200, body = BenchmarkBundle),
        (status = 404, body = ApiError),
        (status = 409, description = "Not measured by a run of ours", body = ApiError),
    ))]
pub async fn bundle(
    State(d): State<Dashboard>,
    Path(id): Path<BenchmarkId>,
) -> Result<Response, ServiceError> {
    let bundle = d.history().bundle(&id).await?;
    let name = format!("{}.json", bundle.benchmark);
    Ok(super::attached(Json(&bundle).into_response(), &name))
}

//! Campaigns over REST: plan one, start it, list and read them, stop one.

use super::json_body;
use crate::service::{Dashboard, ServiceError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdl_model::campaigns::bundle::Bundle;
use gdl_model::campaigns::record::Campaign;
use gdl_model::campaigns::{CampaignPlan, CampaignRequest};
use gdl_model::error::ApiError;
use gdl_model::ids::CampaignId;

const SHAPE: &str = r#"Send at least {"model": "qwen2.5-0.5b", "budget_usd": 2}; optional: quantizations, engine, engine_version, settings, workload {input_tokens, output_tokens, seed}, slo {ttft_p95_ms, tpot_p95_ms, min_success}, time_budget_minutes, parallel, max_price, providers, gpus, lemon_ratio, exclude, only."#;

fn request(body: &[u8]) -> Result<CampaignRequest, ServiceError> {
    json_body(
        body,
        "the campaign request is not valid JSON of the expected shape",
        SHAPE,
    )
}

/// Plans a campaign without renting anything.
///
/// The body is a `CampaignRequest`. The answer lists the candidates (one per GPU type,
/// count, provider and quantization with offers that can run the model), each with its
/// cheapest offer, the estimate of its capacity and $ per 1M output tokens at the SLO, or a
/// measurement this installation already has, ranked cheapest first. 400 on bad input.
#[utoipa::path(post, path = "/api/campaigns/plan", tag = "campaigns", request_body = CampaignRequest,
    responses((status = 200, body = CampaignPlan), (status = 400, body = ApiError)))]
pub async fn plan(
    State(d): State<Dashboard>,
    body: axum::body::Bytes,
) -> Result<Json<CampaignPlan>, ServiceError> {
    Ok(Json(d.plan_campaign(&request(&body)?).await?))
}

/// Starts a campaign.
///
/// It plans the candidates as `POST /api/campaigns/plan` does (leave some out with
/// `exclude`, or name the ones to measure with `only`), then rents up to `parallel` at once
/// and measures each with the SLO capacity search, keeping the projected spend within
/// `budget_usd` and the time within `time_budget_minutes`. The answer (201) is the campaign
/// as it begins. 400 on bad input, and when no offer within the filters can run the model.
#[utoipa::path(post, path = "/api/campaigns", tag = "campaigns", request_body = CampaignRequest,
    responses((status = 201, body = Campaign), (status = 400, body = ApiError)))]
pub async fn start(
    State(d): State<Dashboard>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Campaign>), ServiceError> {
    let request = request(&body)?;
    Ok((StatusCode::CREATED, Json(d.start_campaign(request).await?)))
}

/// The campaigns, newest first.
///
/// Each with its status, candidates (step, spend, what each measured, the estimate's
/// error), the spend against the budget and, once something was measured, the answer.
#[utoipa::path(get, path = "/api/campaigns", tag = "campaigns",
    responses((status = 200, body = Vec<Campaign>)))]
pub async fn list(State(d): State<Dashboard>) -> Result<Json<Vec<Campaign>>, ServiceError> {
    Ok(Json(d.campaigns_list().await?))
}

/// One campaign.
///
/// As it is now: its candidates, spend and projected spend, and the answer (frontier,
/// recommendations with how sure each is, break-even against a serverless price) once
/// something was measured. 404 `campaign_not_found` for an unknown id.
#[utoipa::path(get, path = "/api/campaigns/{id}", tag = "campaigns", params(("id" = String, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = ApiError)))]
pub async fn get(
    State(d): State<Dashboard>,
    Path(id): Path<CampaignId>,
) -> Result<Json<Campaign>, ServiceError> {
    Ok(Json(d.campaign(&id).await?))
}

/// Stops a campaign.
///
/// Answers at once (202) with the campaign, now `stopping`: its runs are cancelled and their
/// sessions destroyed and confirmed; what was measured is kept and answered, and it ends
/// `stopped`. 404 for an unknown id.
#[utoipa::path(post, path = "/api/campaigns/{id}/stop", tag = "campaigns", params(("id" = String, Path)),
    responses((status = 202, body = Campaign), (status = 404, body = ApiError)))]
pub async fn stop(
    State(d): State<Dashboard>,
    Path(id): Path<CampaignId>,
) -> Result<(StatusCode, Json<Campaign>), ServiceError> {
    Ok((StatusCode::ACCEPTED, Json(d.stop_campaign(&id).await?)))
}

/// A campaign's bundle, to run it again.
///
/// What the campaign asked, exactly (the workload with its seed, the engine and settings,
/// the SLOs, the budgets, the candidates left out), each candidate with the offer and price
/// it was planned at, and the command that runs it again:
/// `gpu-deploy-llm campaign --from camp-….json`. Sent as an attachment named after the
/// campaign. 404 `campaign_not_found` for an unknown id.
#[utoipa::path(get, path = "/api/campaigns/{id}/bundle", tag = "campaigns", params(("id" = String, Path)),
    responses((status = 200, body = Bundle), (status = 404, body = ApiError)))]
pub async fn bundle(
    State(d): State<Dashboard>,
    Path(id): Path<CampaignId>,
) -> Result<Response, ServiceError> {
    let c = d.campaign(&id).await?;
    let name = format!("{}.json", c.id);
    Ok(super::attached(Json(Bundle::of(&c)).into_response(), &name))
}

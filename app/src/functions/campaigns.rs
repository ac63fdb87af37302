//! Campaigns' server functions: plan one (nothing rented), start it, list and read them,
//! stop one. A campaign page stays current through the live channel, not by polling.

use super::Reply;
use gdl_model::campaigns::record::Campaign;
use gdl_model::campaigns::{CampaignPlan, CampaignRequest};
use gdl_model::ids::CampaignId;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The candidates `request` would measure, ranked by estimate; nothing is rented.
/// JSON-encoded: the request nests its workload and SLOs.
#[server(prefix = "/_fn", endpoint = "plan_campaign", input = Json)]
pub async fn plan_campaign(request: CampaignRequest) -> Reply<CampaignPlan> {
    Ok(crate::backend::backend()?.plan_campaign(request).await)
}

/// Starts a campaign (the campaign form's Start).
#[server(prefix = "/_fn", endpoint = "start_campaign", input = Json)]
pub async fn start_campaign(request: CampaignRequest) -> Reply<Campaign> {
    Ok(crate::backend::backend()?.start_campaign(request).await)
}

/// Campaigns, newest first (the Campaigns tab).
#[server(prefix = "/_fn", endpoint = "campaigns")]
pub async fn get_campaigns() -> Reply<Vec<Campaign>> {
    Ok(crate::backend::backend()?.campaigns().await)
}

/// One campaign (its page).
#[server(prefix = "/_fn", endpoint = "campaign")]
pub async fn get_campaign(id: CampaignId) -> Reply<Campaign> {
    Ok(crate::backend::backend()?.campaign(id).await)
}

/// Stops a campaign: its runs are cancelled and their sessions destroyed and confirmed.
#[server(prefix = "/_fn", endpoint = "stop_campaign")]
pub async fn stop_campaign(id: CampaignId) -> Reply<Campaign> {
    Ok(crate::backend::backend()?.stop_campaign(id).await)
}

//! Campaigns: plan one (its candidates ranked by estimate), start it, list and read them,
//! stop one. The work is [`crate::campaign`]'s.

use super::{Dashboard, ServiceResult};
use gdl_model::campaigns::record::Campaign;
use gdl_model::campaigns::{CampaignPlan, CampaignRequest};
use gdl_model::ids::CampaignId;

impl Dashboard {
    /// The candidates a campaign would measure, ranked, before anything is rented.
    pub async fn plan_campaign(&self, request: &CampaignRequest) -> ServiceResult<CampaignPlan> {
        let planned = self.campaigns().plan(request).await?;
        Ok(CampaignPlan {
            candidates: planned.candidates,
        })
    }

    /// Starts a campaign.
    pub async fn start_campaign(&self, request: CampaignRequest) -> ServiceResult<Campaign> {
        Ok(self.campaigns().start(request).await?)
    }

    /// Campaigns, newest first.
    pub async fn campaigns_list(&self) -> ServiceResult<Vec<Campaign>> {
        Ok(self.campaigns().list().await?)
    }

    /// One campaign as it is now.
    pub async fn campaign(&self, id: &CampaignId) -> ServiceResult<Campaign> {
        Ok(self.campaigns().read(id).await?)
    }

    /// Stops a campaign; its runs' sessions are destroyed and confirmed.
    pub async fn stop_campaign(&self, id: &CampaignId) -> ServiceResult<Campaign> {
        Ok(self.campaigns().stop(id).await?)
    }
}

//! The broker as the pages see it: its status, our sessions, the live state the first paint
//! renders, and the inventory filtered and sorted. Everything answers from the monitor's
//! latest view, waiting at most the dashboard's patience for a broker that is slow.

use super::{Dashboard, ServiceError, ServiceResult};
use crate::monitor::{BrokerView, REFRESH_PATIENCE};
use gdl_model::code::ErrorCode;
use gdl_model::inventory::{InventoryFilters, InventoryView, ModelFit};
use gdl_model::live::{LiveState, LiveStats};
use gdl_model::prices;
use gdl_model::sessions::SessionsView;
use gdl_model::shopper::Offer;
use gdl_model::status::StatusView;

impl Dashboard {
    /// The broker's status and offer counts; `fresh` polls the broker first.
    pub async fn status(&self, fresh: bool) -> StatusView {
        self.view(fresh).await.status
    }

    /// Our sessions on the broker; `fresh` polls the broker first.
    pub async fn sessions(&self, fresh: bool) -> SessionsView {
        self.view(fresh).await.sessions
    }

    async fn view(&self, fresh: bool) -> BrokerView {
        if fresh {
            self.monitor().refresh(REFRESH_PATIENCE).await
        } else {
            self.monitor().settled_view(self.parts.patience).await
        }
    }

    /// The live state (what a snapshot carries) once the broker was checked, waiting at
    /// most a moment for the first check.
    pub async fn live_state(&self) -> LiveState {
        self.monitor().settled_view(self.parts.patience).await;
        self.hub().clone_state()
    }

    /// The live channel's counters.
    pub fn live_stats(&self) -> LiveStats {
        self.hub().stats()
    }

    /// The offers that pass `filters`, sorted as they ask, with those that fit the model
    /// they name marked, the price comparison (among the fitting ones only, when a model
    /// is named), and, when none pass, which filter left nothing. Answers from the last
    /// list read; a broker that has not listed its offers yet is a `shopper_timeout` with
    /// a hint.
    pub async fn inventory(&self, filters: &InventoryFilters) -> ServiceResult<InventoryView> {
        filters.check()?;
        let model = filters.fit_model().transpose()?;
        let engine = filters.fit_engine()?;
        let listed = self.monitor().offers(false, self.parts.patience).await;
        if listed.at.is_none() {
            return Err(listed.error.map(ServiceError::from).unwrap_or_else(|| {
                ServiceError::new(
                    ErrorCode::ShopperTimeout,
                    "the broker has not listed its offers yet",
                    "A cold inventory takes the broker several seconds; reload in a moment (the dashboard keeps reading it in the background).",
                )
            }));
        }
        let mut offers: Vec<Offer> = listed
            .offers
            .iter()
            .filter(|o| filters.admits(o))
            .cloned()
            .collect();
        filters.sort(&mut offers);
        let fetched_at = offers.iter().filter_map(|o| o.fetched_at).max();
        let fit = model.map(|m| ModelFit::of(m, filters.gpus.unwrap_or(1), &offers, engine));
        // Offers too small for the model would pull the cheapest price down to a GPU
        // that cannot serve it.
        let prices = match &fit {
            Some(fit) => {
                let fitting: Vec<Offer> = offers
                    .iter()
                    .filter(|o| fit.fitting.contains(&o.id))
                    .cloned()
                    .collect();
                prices::compare(&fitting)
            }
            None => prices::compare(&offers),
        };
        let none = offers
            .is_empty()
            .then(|| filters.why_none(listed.offers.as_slice()))
            .flatten();
        Ok(InventoryView {
            offers,
            fetched_at,
            fit,
            listed_at: listed.at,
            stale: listed.error,
            none,
            prices,
        })
    }
}

//! How our past rentals of each provider's GPU type went, from the store: how many failed
//! to start (the ranking puts kinds that often failed last) and how long SSH verification
//! took (a create warns when a kind took most of the budget before).

use gdl_model::shopper::{Offer, Provider};
use std::collections::HashMap;

/// How our past rentals of each provider's GPU type went.
#[derive(Clone, Debug, Default)]
pub struct History {
    kinds: HashMap<(Provider, String), Kind>,
}

/// The tally of one provider's GPU type.
#[derive(Clone, Copy, Debug, Default)]
struct Kind {
    rented: u32,
    /// Given up because the machine did not start.
    failed: u32,
    /// Of those, given up because the broker's SSH verification ran out.
    ssh_timeouts: u32,
    /// Reported running, and the longest that took (seconds from creation).
    verified: u32,
    slowest_verify_secs: f64,
}

impl History {
    /// Rentals of a kind needed before its history counts.
    const MIN_RENTALS: u32 = 3;

    /// The tally of every rental of `runs`.
    pub fn from_runs(runs: &[gdl_model::runs::Run]) -> Self {
        let mut kinds: HashMap<(Provider, String), Kind> = HashMap::new();
        for rental in runs.iter().flat_map(|r| &r.rentals) {
            let kind = kinds
                .entry((rental.offer.provider.clone(), rental.offer.gpu_type.clone()))
                .or_default();
            kind.rented += 1;
            if let Some(failure) = &rental.failure {
                kind.failed += 1;
                kind.ssh_timeouts += u32::from(failure.contains("SSH verification timeout"));
            }
            if let Some(secs) = rental.running_after_secs {
                kind.verified += 1;
                kind.slowest_verify_secs = kind.slowest_verify_secs.max(secs);
            }
        }
        Self { kinds }
    }

    fn kind(&self, offer: &Offer) -> Kind {
        self.kinds
            .get(&(offer.provider.clone(), offer.gpu_type.clone()))
            .copied()
            .unwrap_or_default()
    }

    /// (failed, rented) for `offer`'s provider and GPU type.
    pub(crate) fn tally(&self, offer: &Offer) -> (u32, u32) {
        let kind = self.kind(offer);
        (kind.failed, kind.rented)
    }

    /// A warning when `offer`'s kind took most of `budget_minutes` (the SSH verification
    /// budget asked for) to verify in our history. Asking for more would not help: the
    /// broker's stuck check ends any session still provisioning 10 minutes after its
    /// creation, whatever the budget.
    pub fn slow_verification(&self, offer: &Offer, budget_minutes: u32) -> Option<String> {
        let kind = self.kind(offer);
        let budget = budget_minutes.min(10) as f64 * 60.0;
        (kind.verified > 0 && kind.slowest_verify_secs >= 0.8 * budget).then(|| {
            format!(
                "{} on {} took up to {:.1} min to verify SSH in our history; the broker gives up at {:.0} min, so this rental may not start",
                offer.gpu_type,
                offer.provider.label(),
                kind.slowest_verify_secs / 60.0,
                budget / 60.0
            )
        })
    }

    /// The share of `offer`'s kind that failed to start (0 with no history).
    pub(crate) fn failure_rate(&self, offer: &Offer) -> f64 {
        match self.tally(offer) {
            (_, 0) => 0.0,
            (failed, rented) => failed as f64 / rented as f64,
        }
    }

    /// Whether `offer`'s kind failed often enough to go last.
    pub(crate) fn demoted(&self, offer: &Offer) -> bool {
        let (failed, rented) = self.tally(offer);
        rented >= Self::MIN_RENTALS && failed * 2 >= rented
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn offer(id: &str) -> Offer {
        serde_json::from_value(serde_json::json!({
            "id": id, "provider": "vastai", "gpu_type": "RTX 4090", "gpu_count": 1,
            "vram_gb": 24, "price_per_hour": 0.3, "reliability": 0.9, "available": true
        }))
        .unwrap()
    }

    /// A past run with one rental per `(gpu, failed)`.
    pub(crate) fn past(rentals: &[(&str, bool)]) -> gdl_model::runs::Run {
        let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let mut run = gdl_model::runs::Run::new("r".into(), config, chrono::Utc::now());
        for (i, (gpu, failed)) in rentals.iter().enumerate() {
            let mut o = offer(&format!("o{i}"));
            o.gpu_type = gpu.to_string();
            run.rentals.push(gdl_model::runs::Rental {
                attempt: i as u32 + 1,
                session_id: format!("s{i}").into(),
                offer: gdl_model::runs::OfferChoice::of(&o),
                created_at: chrono::Utc::now(),
                expires_at: None,
                failure: failed.then(|| "SSH verification timeout".to_owned()),
                cost_usd: 0.0,
                destroyed: Some(true),
                ended_at: None,
                running_after_secs: None,
            });
        }
        run
    }

    #[test]
    fn a_kind_that_verified_slowly_before_is_flagged() {
        let mut run = past(&[("RTX 4090", false), ("RTX 4090", false)]);
        run.rentals[0].running_after_secs = Some(95.0);
        run.rentals[1].running_after_secs = Some(500.0);
        let history = History::from_runs(&[run]);
        let o = offer("o");
        let warning = history.slow_verification(&o, 10).unwrap();
        assert!(warning.contains("took up to 8.3 min"), "{warning}");
        assert!(warning.contains("gives up at 10 min"), "{warning}");
        assert!(
            history.slow_verification(&o, 30).is_some(),
            "the stuck check caps it at 10"
        );
        assert!(history
            .slow_verification(&o, 20)
            .unwrap()
            .contains("at 10 min"));
        let mut other = o.clone();
        other.gpu_type = "L4".into();
        assert_eq!(history.slow_verification(&other, 10), None);
        let quick = History::from_runs(&[past(&[("RTX 4090", false)])]);
        assert_eq!(quick.slow_verification(&o, 10), None);
    }
}

//! A deployment's guards: what stops it by itself (idle time, spend, lifetime), and the
//! bounds each takes.

use serde::{Deserialize, Serialize};

/// The idle time a deployment is stopped after, unless set.
pub const DEFAULT_IDLE_MINUTES: f64 = 30.0;
/// The longest idle time, spend and lifetime a guard takes (a week; $10,000).
pub const MAX_IDLE_MINUTES: f64 = 7.0 * 24.0 * 60.0;
/// The largest spend guard (USD).
pub const MAX_SPEND_USD: f64 = 10_000.0;
/// The longest lifetime guard (hours).
pub const MAX_LIFETIME_HOURS: f64 = 7.0 * 24.0;
/// Deployment keys one deployment may have (revoked ones included).
pub const MAX_KEYS: usize = 50;
/// The longest key label.
pub const MAX_LABEL: usize = 64;

/// What stops a deployment by itself: whichever comes first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// Stop after this many minutes without a request (default 30; fractions allowed).
    #[serde(default = "default_idle")]
    pub idle_minutes: f64,
    /// Stop once the deployment's rent (provisioning included) reaches this many dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spend_usd: Option<f64>,
    /// Stop this many hours after the deployment started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lifetime_hours: Option<f64>,
}

fn default_idle() -> f64 {
    DEFAULT_IDLE_MINUTES
}

impl Default for Guards {
    fn default() -> Self {
        Self {
            idle_minutes: DEFAULT_IDLE_MINUTES,
            max_spend_usd: None,
            max_lifetime_hours: None,
        }
    }
}

impl Guards {
    /// Each guard within its bounds, or what is wrong (naming the field).
    pub fn check(&self) -> Result<(), String> {
        let within = |name: &str, value: f64, max: f64| {
            if value.is_finite() && value > 0.0 && value <= max {
                Ok(())
            } else {
                Err(format!(
                    "{name} must be more than 0 and at most {max} (got {value})"
                ))
            }
        };
        within("idle_minutes", self.idle_minutes, MAX_IDLE_MINUTES)?;
        if let Some(spend) = self.max_spend_usd {
            within("max_spend_usd", spend, MAX_SPEND_USD)?;
        }
        if let Some(hours) = self.max_lifetime_hours {
            within("max_lifetime_hours", hours, MAX_LIFETIME_HOURS)?;
        }
        Ok(())
    }
}

//! What the reconciler did on its own: sessions of this installation that nothing owned,
//! destroyed once their grace period ran out (`--orphan-grace-minutes`).

use crate::sessions::SessionView;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One session the reconciler destroyed because nothing owned it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reconciled {
    /// The session as the broker listed it then.
    pub session: SessionView,
    /// When the reconciler asked for the destroy.
    pub destroyed_at: DateTime<Utc>,
    /// Whether the broker confirmed it stopped (else the reconciler asks again next time).
    pub confirmed: bool,
    /// What happened, in words.
    pub message: String,
    /// What it cost from its creation until the destroy, USD (price × time).
    pub cost_usd: f64,
}

/// Records the live state keeps, newest first (the rest are in the database).
pub const RECONCILED_KEPT: usize = 10;

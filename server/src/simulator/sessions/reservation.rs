//! What a session costs and how long it has left: extend, diagnostics (uptime, time to
//! expiry) and the broker's cost records (one per full hour running, per started hour for a
//! failed session).

use super::{terminal, SimSession};
use crate::simulator::{sanitize, SimError, Simulator};
use chrono::{DateTime, Utc};
use gdl_model::shopper::{CostSummary, SessionStatus};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;

impl Simulator {
    /// `POST /api/v1/sessions/:id/extend`: the body is validated before the id is looked up.
    pub(crate) fn extend_session(&self, id: &str, body: &[u8]) -> Result<Value, SimError> {
        let hours = extend_hours(body)?;
        if hours == 0 {
            return Err(SimError::standard(400, "additional_hours is required"));
        }
        if hours < 0 {
            return Err(SimError::standard(
                400,
                "additional_hours must be at least 1",
            ));
        }
        if hours > 12 {
            return Err(SimError::standard(
                400,
                "additional_hours must be at most 12",
            ));
        }
        let scaled_hour = self.scaled(3600.0);
        let mut state = self.state();
        let s = state
            .sessions
            .get_mut(id)
            .ok_or_else(|| SimError::standard(404, "record not found"))?;
        let status = s.session.status;
        if status.is_terminal() || status == SessionStatus::Stopping {
            return Err(terminal(id, status));
        }
        let elapsed_hours = s.created.elapsed().as_secs_f64() / scaled_hour.as_secs_f64();
        if elapsed_hours + hours as f64 > 12.0 {
            return Err(SimError::standard(
                400,
                format!(
                    "extension would exceed 12-hour hard max: session {id} has been running for {elapsed_hours:.1} hours, requested {hours} more hours"
                ),
            ));
        }
        s.expires += scaled_hour * hours as u32;
        s.session.reservation_hours += hours as u32;
        let new_expires = s
            .session
            .expires_at
            .map(|t| t + chrono::Duration::hours(hours));
        s.session.expires_at = new_expires;
        Ok(json!({"message": "session extended", "session_id": id, "new_expires_at": new_expires}))
    }

    /// `GET /api/v1/sessions/:id/diagnostics`.
    pub(crate) fn diagnostics(&self, id: &str) -> Result<Value, SimError> {
        let state = self.state();
        let s = state
            .sessions
            .get(id)
            .ok_or_else(|| SimError::standard(404, "record not found"))?;
        if s.session.status != SessionStatus::Running {
            return Err(SimError::standard(
                400,
                "session is not running; diagnostics only available for running sessions",
            ));
        }
        let hour = self.scaled(3600.0).as_secs_f64();
        let uptime_min = (s.created.elapsed().as_secs_f64() / hour * 60.0) as i64;
        let left_min = (s
            .expires
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            / hour
            * 60.0) as i64;
        let session = &s.session;
        Ok(json!({
            "session_id": session.id, "status": session.status, "provider": session.provider,
            "gpu_type": session.gpu_type, "gpu_count": session.gpu_count,
            "ssh_host": session.ssh_host, "ssh_port": session.ssh_port, "ssh_user": session.ssh_user,
            "created_at": session.created_at, "expires_at": session.expires_at,
            "uptime": hours_minutes(uptime_min),
            "time_to_expiry": if left_min <= 0 { "expired".to_string() } else { hours_minutes(left_min) },
            "ssh_available": session.ssh_host.is_some(),
            "note": "Full SSH diagnostics (GPU status, health checks) require client-side SSH access. The private key is not stored server-side for security."
        }))
    }

    /// `GET /api/v1/costs?session_id=`.
    pub(crate) fn session_cost(&self, id: &str) -> Result<Value, SimError> {
        let state = self.state();
        let s = state.sessions.get(id).ok_or_else(|| {
            SimError::standard(404, format!("session not found: {}", sanitize(id)))
        })?;
        let cost = self.cost_of(s);
        Ok(json!({"session_id": id, "total_cost": cost, "currency": "USD"}))
    }

    /// The cost summary of the sessions created in `period` (optionally one consumer's).
    pub(crate) fn cost_summary(
        &self,
        consumer_id: Option<&str>,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
    ) -> CostSummary {
        let state = self.state();
        let mut summary = CostSummary {
            consumer_id: consumer_id.map(str::to_owned),
            ..Default::default()
        };
        let mut by_provider = BTreeMap::new();
        let mut by_gpu = BTreeMap::new();
        for s in state.sessions.values() {
            if consumer_id.is_some_and(|c| s.session.consumer_id != c)
                || s.session.created_at < start
                || s.session.created_at >= end
            {
                continue;
            }
            let hours = self.billed_hours(s);
            if hours == 0 {
                continue;
            }
            let cost = hours as f64 * s.session.price_per_hour;
            summary.total_cost += cost;
            summary.session_count += 1;
            summary.hours_used += hours as f64;
            *by_provider
                .entry(s.session.provider.to_string())
                .or_insert(0.0) += cost;
            *by_gpu.entry(s.session.gpu_type.clone()).or_insert(0.0) += cost;
        }
        summary.by_provider = by_provider;
        summary.by_gpu_type = by_gpu;
        summary.period_start = Some(start);
        summary.period_end = Some(end);
        summary
    }

    /// Hourly records: one per full (scaled) hour running, or per started hour for a
    /// failed session, as the broker's tracker writes them.
    fn billed_hours(&self, s: &SimSession) -> u32 {
        let hour = self.scaled(3600.0).as_secs_f64();
        let until = s.ended.unwrap_or_else(Instant::now);
        if s.session.error.is_some() {
            let lived = until.saturating_duration_since(s.created).as_secs_f64();
            (lived / hour).ceil() as u32
        } else {
            s.running_since
                .map(|r| (until.saturating_duration_since(r).as_secs_f64() / hour).floor() as u32)
                .unwrap_or(0)
        }
    }

    fn cost_of(&self, s: &SimSession) -> f64 {
        self.billed_hours(s) as f64 * s.session.price_per_hour
    }
}

fn hours_minutes(minutes: i64) -> String {
    if minutes >= 60 {
        format!("{}h {}m", minutes / 60, minutes % 60)
    } else {
        format!("{minutes}m")
    }
}

/// `additional_hours` as the broker's binder reads it (0 when absent).
fn extend_hours(body: &[u8]) -> Result<i64, SimError> {
    match super::validate::bind_json(body)?.get("additional_hours") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or(0)),
        Some(other) => Err(super::validate::go_type_error(
            "ExtendSessionRequest.additional_hours",
            other,
            "int",
        )),
    }
}

/// The range `/costs` sums (`cost/tracker.go`): `period=daily` is today, `monthly` this
/// month; otherwise `start_date`/`end_date` (`YYYY-MM-DD`, UTC midnight), where only an end
/// starts at the 1st of its month, only a start ends at the 1st of the next, and neither is
/// this month. Server-local time is UTC here.
pub(crate) fn cost_range(
    period: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), SimError> {
    use chrono::{Datelike, NaiveDate};
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let first_of = |d: NaiveDate, ahead: u32| {
        let (mut year, mut month) = (d.year(), d.month() + ahead);
        if month > 12 {
            month -= 12;
            year += 1;
        }
        NaiveDate::from_ymd_opt(year, month, 1).and_then(midnight)
    };
    let parse = |key: &str, value: Option<&str>| -> Result<Option<NaiveDate>, SimError> {
        match value.filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    SimError::standard(
                        400,
                        format!("invalid {key} format, expected YYYY-MM-DD: {v}"),
                    )
                }),
        }
    };
    let today = now.date_naive();
    let range = match period {
        Some("daily") => midnight(today).zip(today.succ_opt().and_then(midnight)),
        Some("monthly") => first_of(today, 0).zip(first_of(today, 1)),
        _ => match (parse("start_date", start)?, parse("end_date", end)?) {
            (Some(s), Some(e)) => midnight(s).zip(midnight(e)),
            (Some(s), None) => midnight(s).zip(first_of(s, 1)),
            (None, Some(e)) => first_of(e, 0).zip(midnight(e)),
            (None, None) => first_of(today, 0).zip(first_of(today, 1)),
        },
    };
    range.ok_or_else(|| SimError::standard(500, "date out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_the_broker() {
        assert_eq!(hours_minutes(12), "12m");
        assert_eq!(hours_minutes(90), "1h 30m");
    }
}

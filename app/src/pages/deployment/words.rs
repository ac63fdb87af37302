//! How the deployment pages put a deployment into words: plain functions, the same on the
//! server and in the browser, tested without either.

use crate::format;
use chrono::{DateTime, Utc};
use gdl_model::deployments::{Deadline, Deployment, DeploymentStatus, Guards, StopReason};

/// The status as a person reads it.
pub fn status(s: DeploymentStatus) -> &'static str {
    match s {
        DeploymentStatus::Starting => "starting",
        DeploymentStatus::Serving => "serving",
        DeploymentStatus::Recovering => "recovering (requests fail fast)",
        DeploymentStatus::Tuning => "tuning its engine (requests fail fast)",
        DeploymentStatus::Stopping => "stopping",
        DeploymentStatus::Stopped => "stopped",
        DeploymentStatus::Failed => "failed",
    }
}

/// Its last tuning while it served, in a sentence: the best point, its gain and cost.
pub fn tuned(t: &gdl_model::tuning::Tuning) -> String {
    let best = t.winner();
    let gain = t
        .gain()
        .map(|g| format!(", {g:.2}× the capacity of the settings it served with"))
        .unwrap_or_default();
    format!(
        "best: {} ({}){gain}; {} settings tried in {:.0} s for {}",
        best.change,
        best.words(),
        t.points.len(),
        t.seconds,
        crate::format::small_usd(t.cost_usd)
    )
}

/// The guard (or limit) a deadline is, with its value: `idle for 30 min`.
pub fn guard(reason: StopReason, guards: &Guards) -> String {
    match reason {
        StopReason::Idle => format!("idle for {}", minutes(guards.idle_minutes)),
        StopReason::Spend => match guards.max_spend_usd {
            Some(max) => format!("spend reaches ${max:.2}"),
            None => "the spend limit".into(),
        },
        StopReason::Lifetime => match guards.max_lifetime_hours {
            Some(h) => format!("{} after it started", hours(h)),
            None => "the lifetime limit".into(),
        },
        other => other.label().into(),
    }
}

/// What stops it first and when, as of `now`: `in 29 min 40 s: idle for 30 min`; `None`
/// when it has ended or nothing is due yet.
pub fn ends(d: &Deployment, now: DateTime<Utc>) -> Option<(Deadline, String)> {
    let due = d.deadline(now)?;
    let left = (due.at - now).num_milliseconds().max(0) as f64 / 1000.0;
    Some((
        due,
        format!(
            "in {}: {}",
            format::duration(left),
            guard(due.reason, &d.guards)
        ),
    ))
}

/// How long since it was last used: `4 min 10 s`; `None` before it serves.
pub fn idle(d: &Deployment, now: DateTime<Utc>) -> Option<String> {
    if d.status.is_finished() {
        return None;
    }
    let last = d.last_activity()?;
    Some(format::duration(
        (now - last).num_milliseconds().max(0) as f64 / 1000.0,
    ))
}

/// `30 min`, `0.5 min`, `2 h 30 min` for a guard's minutes.
pub fn minutes(m: f64) -> String {
    if m >= 60.0 {
        format::duration(m * 60.0)
    } else {
        format!("{} min", trim(m))
    }
}

/// `8 h`, `1.5 h`.
pub fn hours(h: f64) -> String {
    format!("{} h", trim(h))
}

/// A number without trailing zeros: `30`, `0.5`, `1.25`.
fn trim(x: f64) -> String {
    let text = format!("{x:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `$2.410 per 1M output tokens`.
pub fn per_mtok(usd: f64) -> String {
    format!("${usd:.3} per 1M output tokens")
}

/// Where it runs: `RTX 4090 on Vast.ai`, or what is known of it.
pub fn placement(d: &Deployment) -> String {
    match (&d.gpu, &d.provider) {
        (Some(g), Some(p)) => format!("{g} on {p}"),
        (Some(g), None) => g.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => "not rented yet".into(),
    }
}

/// The browser's clock when it ticks (ms since the epoch), else the server's.
pub fn now(now_ms: f64) -> DateTime<Utc> {
    if now_ms > 0.0 {
        DateTime::from_timestamp_millis(now_ms as i64).unwrap_or_else(Utc::now)
    } else {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn serving(guards: Guards) -> (Deployment, DateTime<Utc>) {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let mut d = Deployment::new(
            "dep-1".into(),
            "run-1".into(),
            "qwen2.5-0.5b".into(),
            "vLLM 0.31.0".into(),
            guards,
            start,
        );
        d.status = DeploymentStatus::Serving;
        d.serving_since = Some(start);
        d.price_per_hour = Some(0.40);
        (d, start)
    }

    #[test]
    fn the_first_guard_is_named_with_its_value_and_time_left() {
        let (mut d, start) = serving(Guards::default());
        let (due, text) = ends(&d, start + Duration::seconds(20)).unwrap();
        assert_eq!(due.reason, StopReason::Idle);
        assert_eq!(text, "in 29 min 40 s: idle for 30 min");
        d.guards.max_spend_usd = Some(0.10);
        let (_, text) = ends(&d, start).unwrap();
        assert_eq!(text, "in 15 min 00 s: spend reaches $0.10");
        d.guards.max_lifetime_hours = Some(0.1);
        assert_eq!(
            ends(&d, start).unwrap().1,
            "in 6 min 00 s: 0.1 h after it started"
        );
        d.status = DeploymentStatus::Stopped;
        assert_eq!(ends(&d, start), None);
    }

    #[test]
    fn idle_time_counts_from_the_last_request() {
        let (mut d, start) = serving(Guards::default());
        d.meter.last_request_at = Some(start + Duration::minutes(2));
        assert_eq!(
            idle(&d, start + Duration::seconds(190)).as_deref(),
            Some("1 min 10 s")
        );
        d.status = DeploymentStatus::Failed;
        assert_eq!(idle(&d, start), None);
    }

    #[test]
    fn guards_read_in_units() {
        assert_eq!(minutes(30.0), "30 min");
        assert_eq!(minutes(0.5), "0.5 min");
        assert_eq!(minutes(150.0), "2 h 30 min");
        assert_eq!(hours(8.0), "8 h");
        assert_eq!(hours(1.25), "1.25 h");
        assert_eq!(per_mtok(2.41), "$2.410 per 1M output tokens");
    }
}

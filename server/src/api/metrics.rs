//! `GET /metrics`: the Health tab's figures in Prometheus' text exposition format (0.0.4),
//! and the time to running of the sessions the broker lists, as a histogram per provider
//! and GPU (what the broker's team asked for), and each deployment's figures as the
//! gateway sees them (`deployments`).

mod deployments;

use crate::runner::reconcile::ReconcileCounters;
use crate::serve::connections::ConnectionStats;
use crate::service::Dashboard;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gdl_model::breaker::BreakerPhase;
use gdl_model::health::HealthView;
use gdl_model::sessions::SessionView;
use gdl_model::status::BrokerState;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Upper bounds (seconds) of the time-to-running histogram's buckets.
const TTR_BUCKETS: &[f64] = &[30.0, 60.0, 120.0, 180.0, 300.0, 450.0, 600.0, 900.0];

/// The figures as Prometheus text.
pub async fn metrics(
    State(d): State<Dashboard>,
    State(conns): State<Arc<ConnectionStats>>,
) -> Response {
    let view = d.health_now(false);
    let sessions = d.monitor().view().sessions.sessions;
    let mut text = render(&view, &sessions);
    let orphans = d.hub().with_state(|s| s.orphans().len());
    text += &reconciler(d.runner().reconcile_counters(), orphans);
    text += &connections(&conns);
    let watched = d.runner().deployments().watched();
    let mut live: Vec<_> = watched.iter().map(|l| l.snapshot()).collect();
    text += &deployments::render(&mut live);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// A counter's value now, as a sample.
fn read(n: &std::sync::atomic::AtomicU64) -> f64 {
    n.load(Ordering::Relaxed) as f64
}

/// The accept loop's figures: open connections, and how often the cap held new ones back.
fn connections(c: &ConnectionStats) -> String {
    let mut t = Text::default();
    t.one(
        "gdl_http_connections",
        "gauge",
        "HTTP connections open (live channels included).",
        read(&c.open),
    );
    t.one(
        "gdl_http_connections_total",
        "counter",
        "HTTP connections accepted since start.",
        read(&c.accepted),
    );
    t.one(
        "gdl_http_connection_cap_reached_total",
        "counter",
        "Times new connections had to wait because --max-connections were open.",
        read(&c.at_cap),
    );
    t.out
}

/// What the reconciler did since this process started, and the orphans now.
fn reconciler(c: &ReconcileCounters, orphans: usize) -> String {
    let mut t = Text::default();
    t.one(
        "gdl_orphans",
        "gauge",
        "Sessions of this installation that bill and that no run in progress owns.",
        orphans as f64,
    );
    t.one(
        "gdl_reconciler_passes_total",
        "counter",
        "Reconciler passes that listed the broker's sessions.",
        read(&c.passes),
    );
    t.one(
        "gdl_reconciler_failed_listings_total",
        "counter",
        "Reconciler passes the broker did not answer (asked again with backoff).",
        read(&c.failed_listings),
    );
    t.one(
        "gdl_reconciler_destroyed_total",
        "counter",
        "Sessions the reconciler destroyed with the broker's confirmation: unowned ones and rentals runs still owed.",
        read(&c.destroyed),
    );
    t.one(
        "gdl_reconciler_destroyed_usd_total",
        "counter",
        "What the unowned sessions the reconciler destroyed had cost, USD.",
        read(&c.destroyed_micro_usd) / 1e6,
    );
    t.out
}

/// Metric families, each with its `# HELP` and `# TYPE` once, before its samples.
#[derive(Default)]
struct Text {
    out: String,
}

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.out, "{{{}}}", pairs.join(","));
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// Renders `view` and the sessions' time to running.
pub fn render(view: &HealthView, sessions: &[SessionView]) -> String {
    let mut t = Text::default();
    let b = &view.broker;
    t.family(
        "gdl_broker_state",
        "gauge",
        "The broker's state: 1 for the current one.",
    );
    for state in [
        BrokerState::Ready,
        BrokerState::Starting,
        BrokerState::Offline,
    ] {
        let name = state.label().to_ascii_lowercase();
        t.sample(
            "gdl_broker_state",
            &[("state", &name)],
            flag(b.state == state),
        );
    }
    t.family(
        "gdl_breaker_state",
        "gauge",
        "The circuit breaker around broker calls: 1 for the current phase.",
    );
    for phase in [
        BreakerPhase::Closed,
        BreakerPhase::Open,
        BreakerPhase::HalfOpen,
    ] {
        let name = match phase {
            BreakerPhase::Closed => "closed",
            BreakerPhase::Open => "open",
            BreakerPhase::HalfOpen => "half_open",
        };
        t.sample(
            "gdl_breaker_state",
            &[("phase", name)],
            flag(b.breaker.phase == phase),
        );
    }
    t.one(
        "gdl_breaker_failures",
        "gauge",
        "Broker failures in a row.",
        b.breaker.failures as f64,
    );
    let opened = b
        .breaker
        .transitions
        .iter()
        .filter(|x| x.to == BreakerPhase::Open)
        .count();
    t.one(
        "gdl_breaker_recent_openings",
        "gauge",
        "Times the breaker opened among its latest transitions (at most 20 kept).",
        opened as f64,
    );
    t.one(
        "gdl_broker_calls_total",
        "counter",
        "Broker calls made.",
        b.calls_total as f64,
    );
    t.one(
        "gdl_broker_call_failures_total",
        "counter",
        "Broker calls that failed (nothing answered, a timeout, a 5xx, a reply that is not the API).",
        b.calls_failed as f64,
    );
    t.family(
        "gdl_broker_call_latency_milliseconds",
        "summary",
        "Broker call latency over the last hour.",
    );
    for (q, v) in [("0.5", b.latency_p50_ms), ("0.99", b.latency_p99_ms)] {
        if let Some(v) = v {
            t.sample(
                "gdl_broker_call_latency_milliseconds",
                &[("quantile", q)],
                v,
            );
        }
    }
    t.sample(
        "gdl_broker_call_latency_milliseconds_count",
        &[],
        b.calls_last_hour as f64,
    );
    t.one(
        "gdl_broker_retried_calls_total",
        "counter",
        "Broker calls that needed a retry.",
        b.retried as f64,
    );
    if let Some(rate) = b.retry_success_rate {
        t.one(
            "gdl_broker_retry_success_ratio",
            "gauge",
            "Share of retried broker calls that then succeeded.",
            rate,
        );
    }
    if let Some(at) = b.inventory_at {
        let age = (view.at - at).num_milliseconds().max(0) as f64 / 1000.0;
        t.one(
            "gdl_inventory_age_seconds",
            "gauge",
            "Age of the offers last read from the broker.",
            age,
        );
    }
    let l = &view.live;
    t.one(
        "gdl_live_connections",
        "gauge",
        "Live-channel connections open.",
        l.connections_current as f64,
    );
    t.one(
        "gdl_live_connections_total",
        "counter",
        "Live-channel connections since start.",
        l.connections_total as f64,
    );
    t.one(
        "gdl_live_messages_sent_total",
        "counter",
        "Frames sent on the live channel.",
        l.messages_sent as f64,
    );
    t.one(
        "gdl_live_queue_depth_max",
        "gauge",
        "Deepest client queue seen.",
        l.queue_depth_max as f64,
    );
    t.one(
        "gdl_live_overflows_total",
        "counter",
        "Clients dropped for falling too far behind.",
        l.overflows as f64,
    );
    t.one(
        "gdl_live_send_failures_total",
        "counter",
        "Sends that failed.",
        l.send_failures as f64,
    );
    t.one(
        "gdl_live_replays_total",
        "counter",
        "Reconnections resumed by replay.",
        l.replays as f64,
    );
    t.one(
        "gdl_live_snapshots_total",
        "counter",
        "Snapshots sent.",
        l.snapshots as f64,
    );
    t.one(
        "gdl_live_seq",
        "gauge",
        "The last event number published.",
        l.seq as f64,
    );
    let r = &view.runner;
    t.one(
        "gdl_runs_active",
        "gauge",
        "Deployment tests in progress.",
        r.active_runs as f64,
    );
    t.one(
        "gdl_runs_max",
        "gauge",
        "Deployment tests allowed at once.",
        r.max_runs as f64,
    );
    t.one(
        "gdl_cleanups_unconfirmed",
        "gauge",
        "Recent runs whose session the broker did not confirm destroyed.",
        r.cleanups_unconfirmed as f64,
    );
    t.one(
        "gdl_store_bytes",
        "gauge",
        "The database and its write-ahead log.",
        view.store.size_bytes as f64,
    );
    if let Some(at) = view.store.last_write_at {
        t.one(
            "gdl_store_last_write_timestamp_seconds",
            "gauge",
            "When the database was last written (Unix time).",
            at.timestamp_millis() as f64 / 1000.0,
        );
    }
    time_to_running(&mut t, sessions);
    t.out
}

/// The histogram of seconds from creation to running, per provider and GPU.
fn time_to_running(t: &mut Text, sessions: &[SessionView]) {
    let mut series: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for s in sessions {
        if let Some(secs) = s.time_to_running_secs {
            series
                .entry((s.provider.as_str().to_owned(), s.gpu_type.clone()))
                .or_default()
                .push(secs);
        }
    }
    let name = "gdl_time_to_running_seconds";
    t.family(
        name,
        "histogram",
        "Seconds from a session's creation to running, for the sessions the broker lists.",
    );
    for ((provider, gpu), values) in series {
        let labels = |le: &str| {
            [
                ("provider", provider.clone()),
                ("gpu", gpu.clone()),
                ("le", le.to_owned()),
            ]
        };
        for bound in TTR_BUCKETS {
            let count = values.iter().filter(|v| **v <= *bound).count();
            let l = labels(&number(*bound));
            let refs: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.sample(&format!("{name}_bucket"), &refs, count as f64);
        }
        let l = labels("+Inf");
        let refs: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
        t.sample(&format!("{name}_bucket"), &refs, values.len() as f64);
        let pg = [("provider", provider.as_str()), ("gpu", gpu.as_str())];
        t.sample(&format!("{name}_sum"), &pg, values.iter().sum());
        t.sample(&format!("{name}_count"), &pg, values.len() as f64);
    }
}

//! `/metrics` read by an independent Prometheus text parser, and `GET /api/health`: the
//! breaker's state, the live channel's figures and the time to running per provider and
//! GPU, through a broker outage.

use crate::dashboard::Dashboard;
use crate::support::eventually;
use futures::StreamExt;
use gdl_model::breaker::BreakerPhase;
use gdl_model::health::HealthView;
use prometheus_parse::{Scrape, Value};
use std::time::Duration;

async fn scrape(d: &Dashboard) -> Scrape {
    let r = d.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    // Every line is a comment or `name{labels} value`, and each family says its type once.
    for line in text.lines() {
        assert!(
            line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line.contains(' '),
            "{line}"
        );
    }
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text")
}

fn gauge(s: &Scrape, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    s.samples
        .iter()
        .find(|m| m.metric == name && label.is_none_or(|(k, v)| m.labels.get(k) == Some(v)))
        .and_then(|m| match m.value {
            Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[tokio::test]
async fn metrics_carry_the_breaker_the_live_channel_and_time_to_running() {
    let d = Dashboard::start(None).await;
    let server = d.state.simulator.as_ref().unwrap();
    // A session that goes running while the monitor watches: its time to running is known.
    let id = crate::support::create(server, &d.broker()).await.session.id;
    let s = eventually(Duration::from_secs(60), || async {
        let s = scrape(&d).await;
        s.samples
            .iter()
            .any(|m| m.metric == "gdl_time_to_running_seconds")
            .then_some(s)
    })
    .await;
    let ttr = s
        .samples
        .iter()
        .find(|m| m.metric == "gdl_time_to_running_seconds")
        .unwrap();
    assert!(ttr.labels.get("provider").is_some() && ttr.labels.get("gpu").is_some());
    assert!(
        matches!(&ttr.value, Value::Histogram(buckets) if buckets.last().is_some_and(|b| b.count >= 1.0)),
        "{:?} (session {id})",
        ttr.value
    );
    assert_eq!(
        gauge(&s, "gdl_breaker_state", Some(("phase", "closed"))),
        Some(1.0)
    );
    assert_eq!(
        gauge(&s, "gdl_broker_state", Some(("state", "ready"))),
        Some(1.0)
    );
    assert_eq!(gauge(&s, "gdl_live_connections", None), Some(0.0));
    assert!(gauge(&s, "gdl_broker_calls_total", None).unwrap() > 0.0);
    // A live connection open (its snapshot read, so it is registered): the gauge counts
    // it, and lets it go once it is closed.
    let ws = d.url.replace("http://", "ws://") + "/ws?new";
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a first frame")
        .unwrap()
        .unwrap();
    assert!(first.into_text().unwrap().contains("snapshot"));
    let open = scrape(&d).await;
    assert_eq!(gauge(&open, "gdl_live_connections", None), Some(1.0));
    assert!(gauge(&open, "gdl_live_connections_total", None).unwrap() >= 1.0);
    socket.close(None).await.unwrap();
    eventually(Duration::from_secs(10), || async {
        (gauge(&scrape(&d).await, "gdl_live_connections", None) == Some(0.0)).then_some(())
    })
    .await;
    assert!(gauge(&s, "gdl_store_bytes", None).unwrap() > 0.0);

    // An outage: the breaker opens, and both /metrics and /api/health say so.
    server.simulator().set_offline(true);
    let s = eventually(Duration::from_secs(30), || async {
        let s = scrape(&d).await;
        (gauge(&s, "gdl_breaker_state", Some(("phase", "open"))) == Some(1.0)).then_some(s)
    })
    .await;
    assert_eq!(
        gauge(&s, "gdl_broker_state", Some(("state", "offline"))),
        Some(1.0)
    );
    assert!(gauge(&s, "gdl_breaker_failures", None).unwrap() >= 5.0);
    let health: HealthView = d.get("/api/health").await.json().await.unwrap();
    assert_eq!(health.broker.breaker.phase, BreakerPhase::Open);
    assert!(health.broker.calls_failed >= 5);
    assert!(!health.history.is_empty());
    assert!(health
        .broker
        .breaker
        .last_error
        .unwrap()
        .contains("cannot reach the broker"));
    server.simulator().set_offline(false);
}

#[tokio::test]
async fn every_reply_carries_the_request_id_and_errors_quote_it() {
    let d = Dashboard::start(None).await;
    let asked = d
        .http
        .get(format!("{}/api/runs/run-nope", d.url))
        .header("x-request-id", "trace-me.42")
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 404);
    assert_eq!(asked.headers()["x-request-id"], "trace-me.42");
    let body: serde_json::Value = asked.json().await.unwrap();
    assert_eq!(body["request_id"], "trace-me.42", "{body}");
    // None given, or not a sane one: a new id, the same in the header and the body.
    for given in [None, Some("evil id\twith spaces")] {
        let mut request = d.http.get(format!("{}/api/runs/run-nope", d.url));
        if let Some(id) = given {
            request = request.header("x-request-id", id);
        }
        let r = request.send().await.unwrap();
        let header = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(header.len(), 12, "{header}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["request_id"], header.as_str());
    }
    let page = d.get("/").await;
    assert!(page.headers().contains_key("x-request-id"), "pages too");
}

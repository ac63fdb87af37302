//! Every typed client error, provoked against the simulator over real HTTP.

use crate::support::{client, create, eventually, rentable_offer, request, sim};
use gdl_model::shopper::{InventoryQuery, SessionStatus};
use server::shopper::{ShopperClient, ShopperError, Timeouts};
use server::simulator::Faults;
use std::time::Duration;

#[tokio::test]
async fn unreachable_when_nothing_listens() {
    let c = client("http://127.0.0.1:9");
    let err = c.health().await.unwrap_err();
    assert!(matches!(err, ShopperError::Unreachable { .. }), "{err:?}");
    assert_eq!(err.code().as_str(), "shopper_unreachable");
    assert!(err.hint().contains("SHOPPER_URL"));
}

#[tokio::test]
async fn unreachable_while_the_simulator_is_offline_then_back() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    c.health().await.unwrap();
    server.simulator().set_offline(true);
    eventually(Duration::from_secs(3), || async {
        matches!(c.health().await, Err(ShopperError::Unreachable { .. })).then_some(())
    })
    .await;
    server.simulator().set_offline(false);
    eventually(Duration::from_secs(3), || async { c.health().await.ok() }).await;
}

#[tokio::test]
async fn timeout_when_the_broker_is_slow() {
    let server = sim(200.0).await;
    server.simulator().update_faults(|f| f.slow_ms = 3_000);
    let c = client(&server.url());
    let err = c.list_sessions(&Default::default()).await;
    // The request timeout is 5 s; the probe timeout (1 s) is what trips here.
    let probe = c.ready().await.unwrap_err();
    assert!(matches!(probe, ShopperError::Timeout { .. }), "{probe:?}");
    assert_eq!(probe.code().as_str(), "shopper_timeout");
    assert!(
        err.is_ok(),
        "3 s is within the 5 s request timeout: {err:?}"
    );
}

#[tokio::test]
async fn not_ready_on_503_health_and_wait_for_ready_gives_up() {
    let server = sim(200.0).await;
    server.simulator().update_faults(|f| f.not_ready = true);
    let c = client(&server.url());
    assert!(matches!(
        c.health().await,
        Err(ShopperError::NotReady { .. })
    ));
    let err = c.wait_for_ready().await.unwrap_err();
    assert!(
        matches!(&err, ShopperError::NotReady { detail } if detail.contains("still not ready")),
        "{err:?}"
    );
    assert_eq!(err.code().as_str(), "shopper_not_ready");
}

#[tokio::test]
async fn wait_for_ready_returns_once_ready() {
    let server = sim(200.0).await;
    server.simulator().update_faults(|f| f.not_ready = true);
    // Patient enough that a loaded machine cannot make the flip below come too late.
    let c = ShopperClient::new(
        &server.url(),
        Timeouts {
            ready_wait: Duration::from_secs(60),
            ..Timeouts::default()
        },
    )
    .unwrap();
    let sim = server.simulator().clone();
    let flip = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        sim.update_faults(|f| f.not_ready = false);
        tokio::time::Instant::now()
    });
    assert!(c.wait_for_ready().await.unwrap().ready);
    assert!(
        flip.is_finished(),
        "ready only after the broker became ready"
    );
}

#[tokio::test]
async fn not_found_json_and_plain_text() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    match c.get_session("nope").await.unwrap_err() {
        ShopperError::NotFound {
            message,
            request_id,
        } => {
            assert_eq!(message, "record not found");
            assert!(request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    match c.delete_session("nope").await.unwrap_err() {
        ShopperError::NotFound { message, .. } => assert_eq!(message, "session not found: nope"),
        other => panic!("{other:?}"),
    }
    // A broker mounted elsewhere: Gin's plain-text 404 for an unknown route.
    let wrong = client(&format!("{}/not-the-broker", server.url()));
    match wrong.get_session("x").await.unwrap_err() {
        ShopperError::NoSuchRoute { message } => assert_eq!(message, "404 page not found"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn duplicate_create_is_409_with_the_existing_id() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let offer = rentable_offer(&server, &c).await;
    let first = c
        .create_session(&request(c.consumer_id(), &offer))
        .await
        .unwrap();
    match c
        .create_session(&request(c.consumer_id(), &offer))
        .await
        .unwrap_err()
    {
        ShopperError::Duplicate {
            existing_session_id,
            ..
        } => {
            assert_eq!(
                existing_session_id.as_deref(),
                Some(first.session.id.as_str())
            );
        }
        other => panic!("{other:?}"),
    }
    // Another consumer may target the same offer.
    c.create_session(&request("someone-else", &offer))
        .await
        .unwrap();
}

#[tokio::test]
async fn terminal_state_on_done_and_extend_after_stop() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let created = create(&server, &c).await;
    let id = created.session.id;
    c.delete_session(&id).await.unwrap();
    assert_eq!(
        c.get_session(&id).await.unwrap().status,
        SessionStatus::Stopped
    );
    let done = c.done(&id).await.unwrap_err();
    assert!(
        matches!(done, ShopperError::TerminalState { .. }),
        "{done:?}"
    );
    assert_eq!(done.code().as_str(), "session_terminal");
    let extend = c.extend(&id, 1).await.unwrap_err();
    assert!(
        matches!(extend, ShopperError::TerminalState { .. }),
        "{extend:?}"
    );
    // DELETE stays idempotent.
    c.delete_session(&id).await.unwrap();
}

#[tokio::test]
async fn stale_inventory_is_503_with_offer_and_leaves_a_failed_record() {
    let server = sim(200.0).await;
    server.simulator().update_faults(|f| f.stale_creates = 1);
    let c = client(&server.url());
    let offer = rentable_offer(&server, &c).await;
    match c
        .create_session(&request(c.consumer_id(), &offer))
        .await
        .unwrap_err()
    {
        ShopperError::StaleInventory {
            offer_id,
            provider,
            message,
            ..
        } => {
            assert_eq!(offer_id.as_deref(), Some(offer.id.as_str()));
            assert_eq!(provider.as_ref(), Some(&offer.provider));
            assert_eq!(
                message,
                "The provider no longer has this machine for rent (provider code no_such_ask)",
                "the provider's code, said plainly"
            );
        }
        other => panic!("{other:?}"),
    }
    let sessions = c.our_sessions().await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].status, SessionStatus::Failed);
    assert!(sessions[0]
        .error_text()
        .unwrap()
        .starts_with("provider create failed"));
    // The stale offer is gone from the listing.
    let again = c.inventory_all(&InventoryQuery::default()).await.unwrap();
    assert!(again.iter().all(|o| o.id != offer.id));
}

#[tokio::test]
async fn rate_limited_carries_retry_after() {
    let server = sim(200.0).await;
    server.simulator().update_faults(|f| f.rate_limited = 1);
    let c = client(&server.url());
    let err = c.inventory(&InventoryQuery::default()).await.unwrap_err();
    assert_eq!(
        err,
        ShopperError::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    assert!(err.hint().contains("1.0 s"));
}

#[tokio::test]
async fn server_error_keeps_the_request_id_and_retries_recover() {
    let server = sim(200.0).await;
    server.simulator().update_faults(|f| f.error_burst = 1);
    let c = client(&server.url());
    match c.list_sessions(&Default::default()).await.unwrap_err() {
        ShopperError::Server {
            status,
            request_id,
            message,
            ..
        } => {
            assert_eq!(status, 500);
            assert_eq!(message, "internal server error");
            assert!(request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    // With retries, a short burst of 5xx is absorbed on idempotent calls.
    server.simulator().update_faults(|f| f.error_burst = 2);
    let patient = c.clone().with_retries(2);
    assert!(patient.list_sessions(&Default::default()).await.is_ok());
}

#[tokio::test]
async fn malformed_body_is_a_decode_error_with_a_snippet() {
    let server = sim(200.0).await;
    server.simulator().update_faults(|f| f.malformed = 1);
    let c = client(&server.url());
    match c.inventory(&InventoryQuery::default()).await.unwrap_err() {
        ShopperError::Decode {
            status, snippet, ..
        } => {
            assert_eq!(status, 200);
            assert!(snippet.starts_with("{\"offers\":[{"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_request_carries_the_brokers_message() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let err = c
        .inventory(&InventoryQuery {
            provider: Some(gdl_model::shopper::Provider::from_wire("nope")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "shopper_rejected");
    assert!(
        err.to_string().contains("provider not found: nope"),
        "{err}"
    );
    let created = create(&server, &c).await;
    let too_long = c.extend(&created.session.id, 13).await.unwrap_err();
    assert!(
        too_long
            .to_string()
            .contains("additional_hours must be at most 12"),
        "{too_long}"
    );
}

#[tokio::test]
async fn faults_can_be_flipped_over_http() {
    let server = sim(200.0).await;
    let http = crate::support::http();
    let faults: Faults = http
        .post(format!("{}/_sim/faults", server.url()))
        .json(&serde_json::json!({"not_ready": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(faults.not_ready);
    let c = client(&server.url());
    assert!(matches!(
        c.ready().await,
        Err(ShopperError::NotReady { .. })
    ));
    let mut offline = server.simulator().watch_offline();
    http.post(format!("{}/_sim/offline", server.url()))
        .json(&serde_json::json!({"ms": 300}))
        .send()
        .await
        .unwrap();
    // Seen even if the window is already over (a loaded machine may be that slow).
    tokio::time::timeout(Duration::from_secs(3), offline.changed())
        .await
        .expect("it went offline")
        .unwrap();
    eventually(Duration::from_secs(3), || async {
        (!server.simulator().is_offline()).then_some(())
    })
    .await;
}

/// A broker on loopback that answers its API without end: a reply body larger than any
/// inventory (streamed, with no length), and an inventory whose `total` never ends.
async fn endless_broker() -> String {
    use axum::body::Body;
    use axum::routing::get;
    let offer = serde_json::json!({"id": "vastai-1", "provider": "vastai", "gpu_type": "L4",
        "gpu_count": 1, "vram_gb": 24, "price_per_hour": 0.3, "available": true});
    let app = axum::Router::new()
        .route(
            "/api/v1/sessions",
            get(|| async {
                // 1 MiB chunks of a JSON string that never closes: 64 MiB in all.
                let chunk = axum::body::Bytes::from(vec![b'x'; 1 << 20]);
                let stream = futures::stream::iter(
                    std::iter::once(axum::body::Bytes::from_static(b"{\"sessions\":[\""))
                        .chain(std::iter::repeat_n(chunk, 64))
                        .map(Ok::<_, std::io::Error>),
                );
                Body::from_stream(stream)
            }),
        )
        .route(
            "/api/v1/inventory",
            get(move || {
                let offer = offer.clone();
                async move {
                    axum::Json(
                        serde_json::json!({"offers": [offer], "count": 1, "total": u32::MAX}),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_broker_that_does_not_end_is_refused_as_a_bad_reply() {
    let url = endless_broker().await;
    let c = client(&url).with_limits(server::shopper::ReplyLimits {
        max_reply_bytes: 4 << 20,
        max_pages: 7,
    });
    let big = c.list_sessions(&Default::default()).await.unwrap_err();
    assert_eq!(big.code().as_str(), "shopper_bad_response", "{big:?}");
    assert!(big.to_string().contains("larger than 4 MB"), "{big}");
    assert!(!big.hint().is_empty());
    let endless = c
        .inventory_all(&InventoryQuery::default())
        .await
        .unwrap_err();
    assert_eq!(
        endless.code().as_str(),
        "shopper_bad_response",
        "{endless:?}"
    );
    assert!(endless.to_string().contains("within 7 pages"), "{endless}");
}

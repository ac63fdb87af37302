//! Sessions, inventory and costs through the client: the simulator's lifecycle as the
//! contract describes it.

use crate::support::{client, create, eventually, rentable_offer, request, sim};
use gdl_model::shopper::{CostQuery, InventoryQuery, SessionQuery, SessionStatus};
use server::shopper::ShopperError;
use std::time::Duration;

#[tokio::test]
async fn inventory_filters_sort_and_pages() {
    // At speed 1 the listing is not refreshed (its prices drifting) between the reads.
    let server = sim(1.0).await;
    let c = client(&server.url());
    let all = c.inventory(&InventoryQuery::default()).await.unwrap();
    assert_eq!(all.count as usize, all.offers.len());
    assert_eq!(all.total, all.count);
    assert!(
        all.total >= 60,
        "three providers with a few dozen offers each: {}",
        all.total
    );
    for pair in all.offers.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.availability_confidence > b.availability_confidence
                || (a.availability_confidence == b.availability_confidence
                    && a.price_per_hour <= b.price_per_hour),
            "sorted by confidence desc, then price asc"
        );
    }
    let vast = c
        .inventory(&InventoryQuery {
            provider: Some(gdl_model::shopper::Provider::VastAi),
            min_vram: Some(24),
            max_price: Some(1.0),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!vast.offers.is_empty());
    assert!(vast
        .offers
        .iter()
        .all(|o| o.provider == gdl_model::shopper::Provider::VastAi
            && o.vram_gb >= 24
            && o.price_per_hour <= 1.0));
    let page = c
        .inventory(&InventoryQuery {
            limit: Some(7),
            offset: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.count, 7);
    assert_eq!(page.total, all.total);
    assert_eq!(page.offers[0].id, all.offers[5].id);
    let walked = c
        .inventory_all(&InventoryQuery {
            limit: Some(9),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(walked.len() as u32, all.total);
    let one = c.offer(&all.offers[0].id).await.unwrap();
    assert_eq!(one.id, all.offers[0].id);
    assert!(matches!(
        c.offer("vastai-1").await,
        Err(ShopperError::NotFound { .. })
    ));
}

#[tokio::test]
async fn session_goes_pending_provisioning_running_then_stops() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let created = create(&server, &c).await;
    assert_eq!(created.session.status, SessionStatus::Provisioning);
    assert!(
        created.session.ssh_host.is_none(),
        "the host is learned later"
    );
    assert!(created
        .ssh_private_key
        .expose_pem()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(
        !format!("{created:?}").contains("BEGIN RSA"),
        "the key never prints"
    );
    let id = created.session.id.clone();
    let running = eventually(Duration::from_secs(10), || async {
        let s = c.get_session(&id).await.unwrap();
        (s.status == SessionStatus::Running).then_some(s)
    })
    .await;
    assert!(running.ssh_host.is_some() && running.ssh_port.is_some());
    let diag = c.diagnostics(&id).await.unwrap();
    assert!(diag.ssh_available);
    let extended = c.extend(&id, 2).await.unwrap();
    assert!(extended.new_expires_at.is_some());
    assert_eq!(c.get_session(&id).await.unwrap().reservation_hours, 3);
    c.done(&id).await.unwrap();
    let stopped = c.get_session(&id).await.unwrap();
    assert_eq!(stopped.status, SessionStatus::Stopped);
    assert!(stopped.error_text().is_none());
    let diag = c.diagnostics(&id).await.unwrap_err();
    assert!(
        diag.to_string().contains("session is not running"),
        "{diag}"
    );
}

#[tokio::test]
async fn failed_provisioning_turns_stopped_and_keeps_the_error() {
    let server = sim(200.0).await;
    server
        .simulator()
        .update_faults(|f| f.fail_provisioning_with = Some("SSH verification timeout".into()));
    let c = client(&server.url());
    let id = create(&server, &c).await.session.id;
    let failed = eventually(Duration::from_secs(10), || async {
        let s = c.get_session(&id).await.unwrap();
        s.status.is_terminal().then_some(s)
    })
    .await;
    assert_eq!(failed.error_text(), Some("SSH verification timeout"));
    let stopped = eventually(Duration::from_secs(10), || async {
        let s = c.get_session(&id).await.unwrap();
        (s.status == SessionStatus::Stopped).then_some(s)
    })
    .await;
    assert_eq!(
        stopped.error_text(),
        Some("SSH verification timeout"),
        "error kept after failed -> stopped"
    );
}

#[tokio::test]
async fn our_sessions_include_every_version_but_not_others() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let offers = c.inventory_all(&InventoryQuery::default()).await.unwrap();
    let rentable: Vec<_> = offers
        .iter()
        .filter(|o| server.simulator().is_rentable(&o.id))
        .take(3)
        .collect();
    c.create_session(&request(c.consumer_id(), rentable[0]))
        .await
        .unwrap();
    // A clock tick apart, so "newest first" has an order to get right.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let newer = c
        .create_session(&request("gpu-deploy-llm/v0.0.1", rentable[1]))
        .await
        .unwrap();
    c.create_session(&request("bench-123-1", rentable[2]))
        .await
        .unwrap();
    let ours = c.our_sessions().await.unwrap();
    let consumers: Vec<_> = ours.iter().map(|s| s.consumer_id.as_str()).collect();
    assert_eq!(ours.len(), 2, "{consumers:?}");
    assert!(consumers.contains(&"gpu-deploy-llm/v0.0.1"));
    assert!(ours[0].created_at > ours[1].created_at, "newest first");
    assert_eq!(ours[0].id, newer.session.id, "newest first");
    let exact = c
        .list_sessions(&SessionQuery {
            consumer_id: Some(c.consumer_id().into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        exact.count, 1,
        "the broker itself matches consumer_id exactly"
    );
}

#[tokio::test]
async fn reservation_expiry_stops_a_running_session() {
    // At speed 3600 a one-hour reservation lasts one second.
    let server = sim(3600.0).await;
    let c = client(&server.url());
    let id = create(&server, &c).await.session.id;
    let stopped = eventually(Duration::from_secs(10), || async {
        let s = c.get_session(&id).await.unwrap();
        (s.status == SessionStatus::Stopped).then_some(s)
    })
    .await;
    assert!(stopped.error_text().is_none(), "expiry is not an error");
}

#[tokio::test]
async fn costs_summarise_sessions() {
    let server = sim(3600.0).await;
    let c = client(&server.url());
    let offer = rentable_offer(&server, &c).await;
    // Two (scaled) hours reserved: it runs past one full hour, which is billed.
    let mut two_hours = request(c.consumer_id(), &offer);
    two_hours.reservation_hours = 2;
    let created = c.create_session(&two_hours).await.unwrap();
    let id = created.session.id;
    eventually(Duration::from_secs(10), || async {
        let s = c.get_session(&id).await.unwrap();
        (s.status == SessionStatus::Stopped).then_some(())
    })
    .await;
    let cost = c.session_cost(&id).await.unwrap();
    assert_eq!(cost.currency, "USD");
    let summary = c
        .costs(&CostQuery {
            consumer_id: Some(c.consumer_id().into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(cost.total_cost > 0.0, "an hour was billed: {cost:?}");
    assert!((summary.total_cost - cost.total_cost).abs() < 1e-9);
    assert_eq!(summary.session_count, 1);
    assert!(summary.period_start.is_some() && summary.period_end.is_some());
    let bad = c
        .costs(&CostQuery {
            start_date: Some("03/05/2026".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("invalid start_date format"),
        "{bad}"
    );
    assert!(matches!(
        c.session_cost("nope").await,
        Err(ShopperError::NotFound { .. })
    ));
}

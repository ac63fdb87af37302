use super::*;

#[test]
fn session_keeps_error_and_tolerates_missing_fields() {
    let json = r#"{"id":"3f0c1e9a-0000-4000-8000-000000000001","consumer_id":"gpu-deploy-llm/v0.1.0",
        "provider":"vastai","gpu_type":"RTX 4090","gpu_count":1,"status":"stopped",
        "error":"SSH verification timeout","workload_type":"llm","reservation_hours":1,
        "price_per_hour":0.41,"created_at":"2026-03-05T14:00:00.123Z",
        "expires_at":"2026-03-05T15:00:00.123-00:00"}"#;
    let s: Session = serde_json::from_str(json).unwrap();
    assert_eq!(s.status, SessionStatus::Stopped);
    assert_eq!(s.error_text(), Some("SSH verification timeout"));
    assert!(s.ssh_host.is_none());
    let minimal: Session = serde_json::from_str(
        r#"{"id":"x","status":"pending","created_at":"2026-03-05T14:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(minimal.error_text(), None);
    assert!(minimal.expires_at.is_none());
}

#[test]
fn all_six_statuses_round_trip() {
    for status in SessionStatus::ALL {
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(json, format!("\"{}\"", status.as_str()));
        let back: SessionStatus = serde_json::from_str(&json).unwrap();
        assert_eq!(back, status);
    }
    assert!(serde_json::from_str::<SessionStatus>("\"dismissed\"").is_err());
}

#[test]
fn null_lists_are_empty() {
    let page: InventoryPage =
        serde_json::from_str(r#"{"offers":null,"count":0,"total":0}"#).unwrap();
    assert!(page.offers.is_empty());
    let list: SessionList = serde_json::from_str(r#"{"sessions":null}"#).unwrap();
    assert!(list.sessions.is_empty());
}

#[test]
fn create_response_holds_key_without_leaking_it() {
    let json = r#"{"session":{"id":"s1","status":"provisioning","created_at":"2026-03-05T14:00:00Z"},
        "ssh_private_key":"-----BEGIN RSA PRIVATE KEY-----\nsecret","retries_attempted":1}"#;
    let r: CreateSessionResponse = serde_json::from_str(json).unwrap();
    assert!(r.ssh_private_key.expose_pem().contains("secret"));
    assert!(!format!("{r:?}").contains("secret"));
    assert_eq!(r.retries_attempted, 1);
}

#[test]
fn structured_create_error_parses() {
    let json = r#"{"error":"offer x from vastai unavailable (stale inventory): gone","error_type":"stale_inventory",
        "offer_id":"vastai-1","provider":"vastai","retry_suggested":true,
        "message":"The selected offer is no longer available.","request_id":"r1"}"#;
    let e: BrokerErrorBody = serde_json::from_str(json).unwrap();
    assert_eq!(e.error_type.as_deref(), Some("stale_inventory"));
    assert_eq!(e.offer_id.as_deref(), Some("vastai-1"));
    let plain: BrokerErrorBody = serde_json::from_str(r#"{"error":"record not found"}"#).unwrap();
    assert!(plain.request_id.is_none());
}

#[test]
fn inventory_query_pairs_skip_unset() {
    let q = InventoryQuery {
        provider: Some(Provider::VastAi),
        min_vram: Some(24),
        limit: Some(10),
        ..Default::default()
    };
    let pairs = q.to_pairs();
    assert_eq!(
        pairs,
        vec![
            ("provider", "vastai".to_string()),
            ("min_vram", "24".to_string()),
            ("limit", "10".to_string())
        ]
    );
}

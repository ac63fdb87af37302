use super::*;
use crate::query::decode;

#[test]
fn session_view_keeps_error_of_stopped_session() {
    let s: Session = serde_json::from_str(
        r#"{"id":"a","status":"stopped","error":"SSH verification timeout",
            "created_at":"2026-03-05T14:00:00Z","consumer_id":"gpu-deploy-llm/v0.0.9"}"#,
    )
    .unwrap();
    let v = SessionView::from_session(&s, None);
    assert!(v.ended_badly());
    assert_eq!(v.error.as_deref(), Some("SSH verification timeout"));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["error"], "SSH verification timeout");
    assert_eq!(json["status"], "stopped");
}

fn view(id: usize, status: &str, provider: &str) -> SessionView {
    let s: Session = serde_json::from_value(serde_json::json!({
        "id": format!("s{id}"), "status": status, "provider": provider,
        "created_at": "2026-03-05T14:00:00Z", "consumer_id": "gpu-deploy-llm/v0.1.0",
        "price_per_hour": 0.2
    }))
    .unwrap();
    SessionView::from_session(&s, None)
}

#[test]
fn paging_never_hides_a_session_that_costs_money() {
    let mut all: Vec<SessionView> = (0..60).map(|i| view(i, "stopped", "vastai")).collect();
    all.insert(30, view(100, "running", "tensordock"));
    all.insert(50, view(101, "provisioning", "vastai"));
    let f = SessionFilters::default();
    let mut seen = std::collections::HashSet::new();
    let pages = f.page_of(all.clone()).pages;
    assert_eq!(pages, 3);
    for page in 1..=pages {
        let p = SessionFilters {
            page: Some(page),
            ..f.clone()
        }
        .page_of(all.clone());
        assert!(p.rows.iter().any(|s| s.id == "s100") && p.rows.iter().any(|s| s.id == "s101"));
        assert!(
            p.rows[..2].iter().all(|s| s.status.is_active()),
            "active first"
        );
        assert!(p.rows.len() <= SESSIONS_PAGE + 2);
        seen.extend(p.rows.into_iter().map(|s| s.id));
    }
    assert_eq!(seen.len(), 62, "every session is on some page");
    let far = SessionFilters {
        page: Some(99),
        ..f
    }
    .page_of(all.clone());
    assert_eq!(far.page, 3, "a page past the end shows the last");
    let q: SessionFilters = decode("status=active&provider=vastai&page=").unwrap();
    let p = q.page_of(all.clone());
    assert_eq!(
        p.rows.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["s101"]
    );
    assert_eq!(q.query_at(2), "status=active&provider=vastai&page=2");
    let stopped = decode::<SessionFilters>("status=stopped")
        .unwrap()
        .page_of(all);
    assert_eq!(stopped.matching, 60);
}

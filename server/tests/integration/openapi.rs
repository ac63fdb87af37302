//! The OpenAPI document: every route the router mounts under `/api` is in it with its
//! methods, every operation in it is answered by a real route, and every schema it refers
//! to is defined.

use crate::dashboard::Dashboard;
use serde_json::Value;
use std::collections::BTreeSet;

/// `(method, path)` of every `.route("/api/...", ...)` in the router's source, without the
/// catch-all.
fn mounted() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/api.rs");
    let mut routes = BTreeSet::new();
    for call in source.split(".route(").skip(1) {
        let Some(path) = call
            .trim_start()
            .strip_prefix('"')
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        if !path.starts_with("/api/") || path.contains('*') {
            continue;
        }
        // The method router: up to the call's closing parenthesis on its own.
        let handler = call.split("\n        .route").next().unwrap_or(call);
        let handler = handler.split("\n}").next().unwrap_or(handler);
        for method in ["get", "post", "put", "delete", "patch"] {
            let spelled = [
                format!(" {method}("),
                format!("({method}("),
                format!(".{method}("),
                format!("::{method}("),
            ];
            if spelled.iter().any(|s| handler.contains(s.as_str())) {
                routes.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_every_operation_is_a_route() {
    let d = Dashboard::start(None).await;
    let doc: Value = d.get("/api/openapi.json").await.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let mounted = mounted();
    assert!(
        mounted.len() >= 16,
        "the router's routes were read: {mounted:?}"
    );
    assert_eq!(
        mounted.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "mounted but not documented"
    );
    assert_eq!(
        documented.difference(&mounted).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not mounted"
    );
    // Each documented operation reaches its handler, not the catch-all.
    for (method, path) in &documented {
        let url = format!(
            "{}{}",
            d.url,
            path.replace("{id}", "no-such-id")
                .replace("{action}", "cleanup")
                .replace("{key_id}", "no-such-key")
        );
        let request = match method.as_str() {
            "get" => d.http.get(&url),
            "post" => d.http.post(&url),
            "delete" => d.http.delete(&url),
            "put" => d.http.put(&url),
            other => panic!("unexpected method {other}"),
        };
        let reply = request.send().await.unwrap();
        let text = reply.text().await.unwrap();
        assert!(
            !text.contains("no such API endpoint"),
            "{method} {path}: {text}"
        );
    }
    // The browsable page and its assets are the dashboard's own.
    let page = d.get("/api/docs").await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"src="/api/docs/docs.js""#), "{html}");
    for fetched in ["src=\"http", "src=\"//", "href=\"//"] {
        assert!(!html.contains(fetched), "nothing from the web: {fetched}");
    }
    assert!(
        !html.contains("<link rel=\"stylesheet\" href=\"http"),
        "nothing from the web"
    );
    let script = d.get("/api/docs/docs.js").await;
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("data-text"));
    // Every schema referred to is defined.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "{name} is referred to but not defined"
        );
    }
    for name in [
        "Run",
        "SessionView",
        "CostReport",
        "InventoryView",
        "ApiError",
        "TestConfig",
    ] {
        assert!(schemas.contains_key(name), "{name} missing");
    }
}

/// Issue 26: every operation says what it does (a summary and a description), and no
/// rustdoc intra-doc link (`` [`TestConfig`] ``) is left for a Markdown reader to show raw.
#[tokio::test]
async fn every_operation_is_described_in_plain_markdown() {
    let d = Dashboard::start(None).await;
    let doc: Value = d.get("/api/openapi.json").await.json().await.unwrap();
    let mut undescribed = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for field in ["summary", "description"] {
                if op[field].as_str().is_none_or(|t| t.trim().is_empty()) {
                    undescribed.push(format!("{method} {path}: no {field}"));
                }
            }
        }
    }
    assert!(undescribed.is_empty(), "{undescribed:#?}");
    let text = doc.to_string();
    assert!(!text.contains("[`"), "an intra-doc link is left");
}

/// Issue 26: `/api/docs` is drawn on the server with its Markdown rendered (no raw
/// backticks, no `` [`TestConfig`] ``), every operation and schema on it, and a link back
/// to the dashboard.
#[tokio::test]
async fn the_docs_page_renders_markdown_and_links_back_to_the_dashboard() {
    let d = Dashboard::start(None).await;
    let doc: Value = d.get("/api/openapi.json").await.json().await.unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let html = d.get("/api/docs").await.text().await.unwrap();
    assert!(!html.contains('`'), "a raw backtick is on the page");
    assert!(!html.contains("[`"), "a raw intra-doc link is on the page");
    assert!(html.contains("<code>"), "code spans are rendered");
    assert!(html.contains("href=\"/\""), "a link back to the dashboard");
    assert!(
        html.contains(&format!("data-routes=\"{operations}\"")),
        "every operation is drawn"
    );
    assert!(html.contains("data-route=\"POST /api/runs\""));
    assert!(html.contains("id=\"schema-TestConfig\""));
    assert_eq!(html.matches("<details class=\"op\"").count(), operations);
}

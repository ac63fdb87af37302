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
        );
        let request = match method.as_str() {
            "get" => d.http.get(&url),
            "post" => d.http.post(&url),
            "delete" => d.http.delete(&url),
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
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "nothing from the web"
    );
    let script = d.get("/api/docs/docs.js").await;
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("/api/openapi.json"));
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

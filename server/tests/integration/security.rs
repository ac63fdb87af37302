//! Access control and browser-side protections over real HTTP and WebSockets.

use crate::dashboard::Dashboard;
use futures::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const TOKEN: &str = "correct-horse-battery-staple";

async fn with_token() -> Dashboard {
    let dir = std::env::temp_dir().join(format!("gdl-sec-{}", uuid::Uuid::new_v4()));
    Dashboard::start_with(None, dir, Some(TOKEN)).await
}

/// Logs in with the right token, asking to go to `next`: a client that follows no redirects
/// (so the reply's own redirect can be read) and that reply.
async fn log_in(d: &Dashboard, next: &str) -> (reqwest::Client, reqwest::Response) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{}/login", d.url))
        .form(&[("token", TOKEN), ("next", next)])
        .send()
        .await
        .unwrap();
    (http, login)
}

#[tokio::test]
async fn rest_server_functions_and_pages_need_the_token() {
    let d = with_token().await;
    let get = |path: &str| d.http.get(format!("{}{path}", d.url));
    let denied = get("/api/status").send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let body: serde_json::Value = denied.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert!(body["hint"].as_str().unwrap().contains("Bearer"));
    assert_eq!(
        get("/api/status")
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get("/api/status")
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let server_fn = |auth: bool| {
        let r = d
            .http
            .post(format!("{}/_fn/live_state", d.url))
            .header("content-type", "application/x-www-form-urlencoded");
        if auth {
            r.bearer_auth(TOKEN)
        } else {
            r
        }
    };
    assert_eq!(server_fn(false).send().await.unwrap().status(), 401);
    assert_eq!(server_fn(true).send().await.unwrap().status(), 200);

    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = no_redirect
        .get(format!("{}/sessions", d.url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login?next=/sessions");
    assert_eq!(
        get("/healthz").send().await.unwrap().status(),
        200,
        "health stays open"
    );
}

/// What the dashboard knows of the broker and its own figures (`/metrics`, `/api/health`)
/// is behind the access token like the rest of the API: only `/healthz` stays open.
#[tokio::test]
async fn metrics_and_health_need_the_token() {
    let d = with_token().await;
    for path in ["/metrics", "/api/health"] {
        let get = || d.http.get(format!("{}{path}", d.url));
        let denied = get().send().await.unwrap();
        assert_eq!(denied.status(), 401, "{path}");
        let body: serde_json::Value = denied.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{path}");
        let wrong = get().bearer_auth("wrong").send().await.unwrap();
        assert_eq!(wrong.status(), 401, "{path} with a wrong token");
        let allowed = get().bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(allowed.status(), 200, "{path} with the token");
        let text = allowed.text().await.unwrap();
        match path {
            "/metrics" => assert!(text.contains("# TYPE gdl_live_connections gauge"), "{text}"),
            _ => {
                serde_json::from_str::<gdl_model::health::HealthView>(&text).expect(&text);
            }
        }
    }
}

#[tokio::test]
async fn login_sets_a_strict_cookie_that_then_works() {
    let d = with_token().await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = no_redirect
        .get(format!("{}/login?next=/benchmarks", d.url))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("name=\"token\""));
    let wrong = no_redirect
        .post(format!("{}/login", d.url))
        .form(&[("token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = no_redirect
        .post(format!("{}/login", d.url))
        .form(&[("token", TOKEN), ("next", "/benchmarks")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/benchmarks");
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains(TOKEN),
        "the cookie is a session id, not the token"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = d
        .http
        .get(format!("{}/benchmarks", d.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<h1>Benchmarks</h1>"));
}

#[tokio::test]
async fn the_websocket_needs_the_token_and_the_same_origin() {
    let d = with_token().await;
    let url = d.url.replace("http://", "ws://") + "/ws";
    let err = tokio_tungstenite::connect_async(&url).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let mut request = url.clone().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("authorized upgrade");
    use futures::SinkExt;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            r#"{"type":"hello"}"#.into(),
        ))
        .await
        .unwrap();
    assert!(matches!(
        socket.next().await,
        Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))
    ));

    let mut cross = url.into_client_request().unwrap();
    cross.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    cross
        .headers_mut()
        .insert("origin", HeaderValue::from_static("http://evil.example"));
    let err = tokio_tungstenite::connect_async(cross).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test]
async fn cross_origin_posts_are_refused_and_same_origin_ones_pass() {
    let d = Dashboard::start(None).await;
    let post = |origin: &str| {
        d.http
            .post(format!("{}/api/runs", d.url))
            .header("origin", origin)
            .json(&serde_json::json!({"model": "qwen2.5-0.5b"}))
    };
    let evil = post("http://evil.example").send().await.unwrap();
    assert_eq!(evil.status(), 403);
    let body: serde_json::Value = evil.json().await.unwrap();
    assert_eq!(body["code"], "origin_refused");
    let own = post(&d.url).send().await.unwrap();
    assert_eq!(own.status(), 400, "same origin gets through to validation");
    let with = |origin: &str, site: &str| {
        d.http
            .post(format!("{}/api/runs", d.url))
            .header("origin", origin)
            .header("sec-fetch-site", site)
            .json(&serde_json::json!({}))
    };
    assert_eq!(
        with("null", "cross-site").send().await.unwrap().status(),
        403,
        "an opaque cross-site origin"
    );
    assert_eq!(
        with("null", "same-origin").send().await.unwrap().status(),
        400,
        "the page's own form"
    );
    assert_eq!(
        with(&d.url, "cross-site").send().await.unwrap().status(),
        403,
        "the browser says cross-site"
    );
    let big = d
        .http
        .post(format!("{}/api/runs", d.url))
        .header("content-type", "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413, "request bodies are limited");
    // Server functions read their bodies themselves: limited all the same.
    for (path, content_type) in [
        ("/_fn/start_run", "application/x-www-form-urlencoded"),
        ("/_fn/cancel_run", "application/json"),
    ] {
        let big = d
            .http
            .post(format!("{}{path}", d.url))
            .header("content-type", content_type)
            .body(vec![b'a'; 200 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), 413, "{path}");
    }
}

#[tokio::test]
async fn pages_carry_security_headers_with_the_script_nonce() {
    let d = Dashboard::start(None).await;
    let page = d.get("/").await;
    let headers = page.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self'") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("action=\"/logout\""),
        "no logout without a login"
    );
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        csp.contains(&format!("'nonce-{nonce}'")),
        "the hydration scripts' nonce is allowed: {csp}"
    );
    let api = d.get("/api/status").await;
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[test]
fn a_short_token_is_refused_at_start_with_a_way_to_make_one() {
    let out = crate::process::output_within(
        crate::process::binary()
            .args(["serve", "--addr", "127.0.0.1:0", "--auth-token", "s3cret"])
            .arg("--data-dir")
            .arg(crate::process::data_dir()),
        std::time::Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let stderr = &out.stderr;
    assert!(
        stderr.contains("at least 20") && stderr.contains("/dev/urandom"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_dns_rebinding_host_is_refused_everywhere() {
    let d = Dashboard::start(None).await;
    let port = d.url.rsplit(':').next().unwrap().to_owned();
    let evil = format!("evil.example:{port}");
    let origin = format!("http://{evil}");
    let send = |method: reqwest::Method, path: &str| {
        d.http
            .request(method, format!("{}{path}", d.url))
            .header("host", &evil)
            .header("origin", &origin)
            .header("sec-fetch-site", "same-origin")
    };
    let start = send(reqwest::Method::POST, "/api/runs")
        .json(&serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 421);
    let body: serde_json::Value = start.json().await.unwrap();
    assert_eq!(body["code"], "host_refused");
    assert!(body["hint"].as_str().unwrap().contains("--allow-host"));
    assert!(
        d.state.dashboard.hub().with_state(|s| s.runs.is_empty()),
        "no paid run was started"
    );
    for (method, path) in [
        (reqwest::Method::GET, "/"),
        (reqwest::Method::GET, "/api/status"),
        (reqwest::Method::POST, "/_fn/cancel_run"),
    ] {
        let r = send(method, path).send().await.unwrap();
        assert_eq!(r.status(), 421, "{path}");
    }
    let ws = send(reqwest::Method::GET, "/ws")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(ws.status(), 421, "/ws");
    // The dashboard's own names still work.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let r = d
            .http
            .get(format!("{}/api/status", d.url))
            .header("host", host.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn wrong_tokens_are_throttled_and_logins_can_end() {
    let d = with_token().await;
    let status = |token: &'static str| {
        let r = d
            .http
            .get(format!("{}/api/status", d.url))
            .bearer_auth(token)
            .send();
        async move { r.await.unwrap().status().as_u16() }
    };
    for _ in 0..5 {
        assert_eq!(status("wrong-token-wrong-token").await, 401);
    }
    let throttled = d
        .http
        .get(format!("{}/api/status", d.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429, "even the right token waits now");
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert_eq!(body["code"], "login_throttled");

    // Another dashboard: log in, then log out; the cookie no longer works.
    let d = with_token().await;
    let (http, login) = log_in(&d, "/\t/evil.example").await;
    assert_eq!(
        login.headers()["location"],
        "/",
        "an off-site next is not followed"
    );
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Max-Age=3600"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let get = |session: String| {
        let r = http
            .get(format!("{}/api/status", d.url))
            .header("cookie", session)
            .send();
        async move { r.await.unwrap().status().as_u16() }
    };
    assert_eq!(get(session.clone()).await, 200);
    let page = http
        .get(format!("{}/", d.url))
        .header("cookie", session.as_str())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("action=\"/logout\"") && page.contains(">Log out</button>"),
        "the header offers a logout"
    );
    let out = http
        .post(format!("{}/logout", d.url))
        .header("cookie", session.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(out.headers()["location"], "/login");
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(get(session).await, 401, "logged out");
}

/// Wrong tokens sent through the login form count toward the per-address throttle, like
/// wrong bearer tokens: after 5, that address's next login gets 429 `login_throttled`
/// before its token is even checked (the right token sets no cookie then), and its bearer
/// requests wait too. Four wrong ones are not enough.
#[tokio::test]
async fn wrong_tokens_through_the_login_form_count_toward_the_throttle() {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |d: &Dashboard, token: &'static str| {
        http.post(format!("{}/login", d.url))
            .form(&[("token", token), ("next", "/sessions")])
            .send()
    };
    let d = with_token().await;
    for attempt in 1..=5 {
        let wrong = login(&d, "wrong-token-wrong-token").await.unwrap();
        assert_eq!(wrong.status(), 401, "attempt {attempt}");
        assert!(wrong.headers().get("set-cookie").is_none());
        let body: serde_json::Value = wrong.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "attempt {attempt}");
    }
    let throttled = login(&d, TOKEN).await.unwrap();
    assert_eq!(throttled.status(), 429, "even the right token waits now");
    assert!(
        throttled.headers().get("set-cookie").is_none(),
        "no login while throttled"
    );
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert_eq!(body["code"], "login_throttled");
    assert!(body["hint"].as_str().unwrap().contains("Wait"), "{body}");
    let bearer = d
        .http
        .get(format!("{}/api/status", d.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status(),
        429,
        "the same address's bearer tokens wait too"
    );

    // Another dashboard: four wrong logins, then the right one still logs in.
    let d = with_token().await;
    for attempt in 1..=4 {
        let wrong = login(&d, "wrong-token-wrong-token").await.unwrap();
        assert_eq!(wrong.status(), 401, "attempt {attempt}");
    }
    let ok = login(&d, TOKEN).await.unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/sessions");
    assert!(ok.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("gdl_session="));
}

/// Without `Sec-Fetch-Site`, or with `same-site` (a sibling host name), the `Origin` header
/// decides: `Origin: null` and another origin are refused (403 `origin_refused`), the
/// dashboard's own origin passes; a program that sends neither header is not a browser and
/// passes.
#[tokio::test]
async fn without_a_same_origin_fetch_site_the_origin_header_decides() {
    let d = Dashboard::start(None).await;
    let post = |origin: Option<&str>, site: Option<&str>| {
        let mut request = d
            .http
            .post(format!("{}/api/runs", d.url))
            .json(&serde_json::json!({}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    for (origin, site) in [
        ("null", None),
        ("null", Some("same-site")),
        ("http://evil.example", Some("same-site")),
        ("http://sibling.localhost", Some("same-site")),
    ] {
        let refused = post(Some(origin), site).await.unwrap();
        assert_eq!(refused.status(), 403, "{origin} {site:?}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "origin_refused", "{origin} {site:?}");
    }
    for (origin, site) in [
        (Some(d.url.as_str()), Some("same-site")),
        (Some(d.url.as_str()), None),
        (None, None),
    ] {
        let passed = post(origin, site).await.unwrap();
        let status = passed.status();
        let text = passed.text().await.unwrap();
        assert_eq!(
            status, 400,
            "{origin:?} {site:?} gets through to validation: {text}"
        );
        assert!(!text.contains("origin_refused"), "{text}");
    }
    assert!(
        d.state.dashboard.hub().with_state(|s| s.runs.is_empty()),
        "nothing was started"
    );
}

/// The three headers every response carries, refusals included.
fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let h = response.headers();
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{what}"
    );
    assert_eq!(
        h.get("referrer-policy").map(|v| v.as_bytes()),
        Some(&b"same-origin"[..]),
        "{what}"
    );
    assert!(h.contains_key("content-security-policy"), "{what}");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let d = with_token().await;
    let port = d.url.rsplit(':').next().unwrap().to_owned();
    let bearer = format!("Bearer {TOKEN}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| http.get(format!("{}{path}", d.url));
    let post = |path: &str| http.post(format!("{}{path}", d.url));
    let cases: Vec<(&str, u16, reqwest::RequestBuilder)> = vec![
        ("a page", 200, get("/").header("authorization", &bearer)),
        ("the login page", 200, get("/login")),
        ("health", 200, get("/healthz")),
        (
            "REST",
            200,
            get("/api/status").header("authorization", &bearer),
        ),
        (
            "an unknown run",
            404,
            get("/api/runs/nope").header("authorization", &bearer),
        ),
        (
            "a page without login",
            303,
            get("/sessions").header("accept", "text/html"),
        ),
        ("REST without login", 401, get("/api/runs")),
        (
            "a foreign host",
            421,
            get("/api/status").header("host", format!("evil.example:{port}")),
        ),
        (
            "another origin",
            403,
            post("/api/runs")
                .header("authorization", &bearer)
                .header("origin", "http://evil.example"),
        ),
        (
            "a body too large",
            413,
            post("/api/runs")
                .header("authorization", &bearer)
                .header("content-type", "application/json")
                .body(vec![b' '; 200 * 1024]),
        ),
        (
            "bad input",
            400,
            post("/api/runs")
                .header("authorization", &bearer)
                .json(&serde_json::json!({})),
        ),
    ];
    for (what, status, request) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        assert_security_headers(&response, what);
    }
    // Throttled: the sixth wrong token from one address.
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            get("/api/status")
                .header("authorization", "Bearer wrong-wrong-wrong-wrong")
                .send()
                .await
                .unwrap(),
        );
    }
    let throttled = last.unwrap();
    assert_eq!(throttled.status(), 429);
    assert_security_headers(&throttled, "throttled");
}

/// A route's path with its parameters (`{id}`, `{action}`) filled with plausible values
/// that name nothing real.
fn filled(path: &str) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some("action") => "done".to_owned(),
                Some(name) => format!("no-such-{name}"),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// What the origin check guards: every method but GET, HEAD and OPTIONS.
fn changes_state(method: &reqwest::Method) -> bool {
    ![
        reqwest::Method::GET,
        reqwest::Method::HEAD,
        reqwest::Method::OPTIONS,
    ]
    .contains(method)
}

/// Every route that changes state, found rather than listed: each operation of the OpenAPI
/// document other than GET, HEAD and OPTIONS, every server function the router mounts
/// (the registry `leptos_axum` mounts them from), and the login and logout forms.
async fn state_changing_routes(d: &Dashboard) -> Vec<(reqwest::Method, String)> {
    let doc: serde_json::Value = d.get("/api/openapi.json").await.json().await.unwrap();
    let mut rest = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("the document's paths") {
        for method in item.as_object().unwrap().keys() {
            let method: reqwest::Method = method.to_uppercase().parse().expect(method);
            if changes_state(&method) {
                rest.push((method, filled(path)));
            }
        }
    }
    // Today: start and cancel a run, import benchmarks, act on a session, clean up
    // orphans, create and revoke an embed token.
    assert!(rest.len() >= 7, "the REST operations were read: {rest:?}");
    let mut functions: Vec<(reqwest::Method, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method.as_str().parse().unwrap(), path.to_owned()))
        .filter(|(method, _)| changes_state(method))
        .collect();
    functions.sort_by(|a, b| a.1.cmp(&b.1));
    assert!(
        functions.len() >= 18,
        "the server functions were found: {functions:?}"
    );
    for (_, path) in &functions {
        assert!(path.starts_with("/_fn/"), "{path}");
    }
    for known in ["/_fn/start_run", "/_fn/cancel_run", "/_fn/destroy_session"] {
        assert!(
            functions.iter().any(|(_, path)| path == known),
            "{known}: {functions:?}"
        );
    }
    let mut routes = rest;
    routes.extend(functions);
    routes.push((reqwest::Method::POST, "/login".to_owned()));
    routes.push((reqwest::Method::POST, "/logout".to_owned()));
    routes
}

#[tokio::test]
async fn every_state_changing_route_refuses_other_origins() {
    let d = Dashboard::start(None).await;
    let routes = state_changing_routes(&d).await;
    assert!(routes.len() >= 27, "{routes:?}");
    for (method, path) in &routes {
        for (origin, site) in [
            ("http://evil.example", None),
            ("http://evil.example", Some("cross-site")),
            ("null", Some("cross-site")),
        ] {
            let mut request = d
                .http
                .request(method.clone(), format!("{}{path}", d.url))
                .header("origin", origin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("id=x&token=y");
            if let Some(site) = site {
                request = request.header("sec-fetch-site", site);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                403,
                "{method} {path} from {origin} {site:?}"
            );
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "origin_refused", "{method} {path}");
        }
        // The dashboard's own page gets past the check (to whatever the route answers).
        let own = d
            .http
            .request(method.clone(), format!("{}{path}", d.url))
            .header("origin", &d.url)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("id=x&token=y")
            .send()
            .await
            .unwrap();
        let status = own.status();
        let text = own.text().await.unwrap();
        assert!(
            status != 403 && !text.contains("origin_refused"),
            "{method} {path} from its own page: {status} {text}"
        );
    }
    assert!(
        d.state.dashboard.hub().with_state(|s| s.runs.is_empty()),
        "nothing was started"
    );
}

#[tokio::test]
async fn others_wrong_tokens_never_lock_out_the_owner_and_a_login_is_never_throttled() {
    let dir = std::env::temp_dir().join(format!("gdl-sec-{}", uuid::Uuid::new_v4()));
    // Behind a TLS proxy on loopback: every client arrives from 127.0.0.1.
    let d = Dashboard::start_custom(None, dir, |s| {
        s.access.auth_token = Some(TOKEN.into());
        s.access.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let status = |token: &'static str, client: String| {
        let r = d
            .http
            .get(format!("{}/api/status", d.url))
            .bearer_auth(token)
            .header("x-forwarded-for", format!("198.51.100.7, {client}"))
            .send();
        async move { r.await.unwrap().status().as_u16() }
    };
    // A guesser spread over 200 addresses (the old limit locked everyone out after 50).
    for i in 0..200u8 {
        let code = status("wrong-token-wrong-token", format!("203.0.113.{i}")).await;
        assert_eq!(code, 401, "attempt {i}");
    }
    assert_eq!(status(TOKEN, "192.0.2.10".into()).await, 200, "the owner");
    // One address that keeps guessing waits, whatever it sends next.
    for _ in 0..5 {
        assert_eq!(
            status("wrong-token-wrong-token", "203.0.113.250".into()).await,
            401
        );
    }
    assert_eq!(status(TOKEN, "203.0.113.250".into()).await, 429);
    assert_eq!(status(TOKEN, "192.0.2.10".into()).await, 200);

    // Without --trusted-proxy the header is not believed: everyone is 127.0.0.1, and a
    // live login still passes after that address's failures.
    let d = with_token().await;
    let (http, login) = log_in(&d, "/").await;
    let session = login.headers()["set-cookie"].to_str().unwrap();
    let session = session.split(';').next().unwrap().to_owned();
    for i in 0..6 {
        let r = http
            .get(format!("{}/api/status", d.url))
            .bearer_auth("wrong-token-wrong-token")
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 401 | 429), "{}", r.status());
    }
    let throttled = http
        .get(format!("{}/api/status", d.url))
        .bearer_auth(TOKEN)
        .header("x-forwarded-for", "192.0.2.10")
        .send()
        .await
        .unwrap();
    assert_eq!(
        throttled.status(),
        429,
        "the forwarded address was not believed"
    );
    let logged_in = http
        .get(format!("{}/api/status", d.url))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 200, "a live login is never throttled");
}

//! Embed tokens and the embeddable panels over real HTTP and WebSockets: a token made with
//! the access token reads panels, REST and the live channel; it can never start, cancel,
//! clean up or extend (403 `embed_read_only`, the error shape); revoking it refuses it at
//! once and closes the live connections it opened.

use crate::dashboard::Dashboard;
use futures::StreamExt;
use gdl_model::embed::{CreatedEmbedToken, EmbedToken};
use gdl_model::live::{LiveEvent, ServerFrame};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "correct-horse-battery-staple";

async fn with_token() -> Dashboard {
    let dir = std::env::temp_dir().join(format!("gdl-embed-{}", uuid::Uuid::new_v4()));
    Dashboard::start_custom(None, dir, |s| {
        s.access.auth_token = Some(TOKEN.into());
        s.access.allowed_origins = vec!["http://127.0.0.1:9".into()];
    })
    .await
}

/// `method path` with `bearer` (if any) and a JSON `body` (if any).
async fn call(
    d: &Dashboard,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = d.http.request(method, format!("{}{path}", d.url));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn create(d: &Dashboard, label: &str) -> CreatedEmbedToken {
    let body = serde_json::json!({ "label": label });
    let reply = call(
        d,
        Method::POST,
        "/api/embed-tokens",
        Some(TOKEN),
        Some(body),
    )
    .await;
    assert_eq!(reply.status(), 201);
    reply.json().await.unwrap()
}

/// Asserts a refusal: its status and code, and the error shape with a hint.
async fn refused(reply: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(reply.status(), status, "{}", reply.url());
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        !body["message"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
    assert!(
        !body["hint"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
    assert!(body["request_id"].is_string(), "{body}");
    body
}

/// The first frame a live connection gets, as text.
async fn first_frame<S>(socket: &mut S) -> String
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a first frame")
        .unwrap()
        .unwrap();
    frame.into_text().unwrap().to_string()
}

#[tokio::test]
async fn an_embed_token_reads_panels_and_rest_but_never_changes_anything() {
    let d = with_token().await;
    let created = create(&d, "lobby wall").await;
    let secret = created.secret.clone();
    assert!(secret.starts_with("gdle_"));

    // Listed without its secret.
    let raw = call(&d, Method::GET, "/api/embed-tokens", Some(TOKEN), None)
        .await
        .text()
        .await
        .unwrap();
    let listed: Vec<EmbedToken> = serde_json::from_str(&raw).unwrap();
    assert_eq!(listed, vec![created.token.clone()]);
    assert!(!raw.contains(&secret[5..]), "the secret is never listed");

    // A panel, server-rendered, read-only, embeddable by the allowed origin only.
    let page = d
        .get(&format!(
            "/embed/sessions?token={secret}&theme=dark&compact=1"
        ))
        .await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self' http://127.0.0.1:9"),
        "{csp}"
    );
    // The dashboard's own pages are framed by nothing but themselves.
    let own = d
        .http
        .get(format!("{}/", d.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let own_csp = own.headers()["content-security-policy"].to_str().unwrap();
    assert!(own_csp.ends_with("frame-ancestors 'self'"), "{own_csp}");
    let html = page.text().await.unwrap();
    for wanted in [
        r#"class="embed""#,
        r#"data-theme="dark""#,
        r#"data-compact="true""#,
        "embed-foot",
    ] {
        assert!(html.contains(wanted), "{wanted} in the panel");
    }
    for unwanted in [r#"class="top""#, "data-action", "Log out"] {
        assert!(!html.contains(unwanted), "no {unwanted} in a panel");
    }
    // Without a token (and with a wrong one) the panel is not shown.
    assert_eq!(d.get("/embed/sessions").await.status(), 401);
    let wrong = format!("/embed/sessions?token=gdle_{}", "0".repeat(64));
    refused(d.get(&wrong).await, 401, "unauthorized").await;

    // Reads work with the embed token as a bearer too.
    for path in ["/api/runs", "/api/sessions", "/api/status"] {
        let r = call(&d, Method::GET, path, Some(&secret), None).await;
        assert_eq!(r.status(), 200, "{path}");
    }
    // The live channel takes it as a bearer too (as follow-events sends GDL_TOKEN).
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut upgrade = format!("{}/ws?new", d.url.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    upgrade
        .headers_mut()
        .insert("authorization", format!("Bearer {secret}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(upgrade).await.unwrap();
    assert!(first_frame(&mut socket).await.contains("snapshot"));
    // The token in a URL is taken only by panels and the live channel.
    assert_eq!(
        d.get(&format!("/api/runs?token={secret}")).await.status(),
        401
    );

    // Nothing that changes anything, through REST or server functions.
    let run = serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 0.5});
    let start = call(&d, Method::POST, "/api/runs", Some(&secret), Some(run)).await;
    let start = refused(start, 403, "embed_read_only").await;
    assert!(
        start["message"].as_str().unwrap().contains("/api/runs"),
        "{start}"
    );
    for path in [
        "/api/runs/run-x/cancel",
        "/api/sessions/s-1/cleanup",
        "/api/sessions/s-1/extend",
        "/api/sessions/s-1/done",
        "/api/orphans/cleanup",
        "/_fn/start_run",
        "/_fn/cancel_run",
        "/_fn/act_on_session",
        "/_fn/destroy_session",
        "/api/embed-tokens",
    ] {
        let reply = call(&d, Method::POST, path, Some(&secret), Some(Value::Null)).await;
        refused(reply, 403, "embed_read_only").await;
    }
    assert!(
        d.state.dashboard.runner().active_count() == 0,
        "no run was started"
    );
    let own = format!("/api/embed-tokens/{}", created.token.id);
    let revoke_own = call(&d, Method::DELETE, &own, Some(&secret), None).await;
    refused(revoke_own, 403, "embed_read_only").await;
    // Nor the dashboard's own pages: the Share page lists every token and its label.
    for page in ["/share", "/", "/sessions", "/runs"] {
        let reply = call(&d, Method::GET, page, Some(&secret), None).await;
        let body = refused(reply, 403, "embed_read_only").await;
        assert!(
            !body.to_string().contains(&created.token.label),
            "{page}: {body}"
        );
    }
    // A read-only server function is allowed.
    let live = d
        .http
        .post(format!("{}/_fn/live_state", d.url))
        .bearer_auth(&secret)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn revoking_refuses_the_token_and_closes_its_live_connections() {
    let d = with_token().await;
    let wall = create(&d, "wall").await;
    let other = create(&d, "wiki").await;
    let ws = d.url.replace("http://", "ws://");
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{ws}/ws?new&token={}", wall.secret))
            .await
            .expect("the live channel takes an embed token");
    assert!(first_frame(&mut socket).await.contains("snapshot"));
    let (mut kept, _) =
        tokio_tungstenite::connect_async(format!("{ws}/ws?new&token={}", other.secret))
            .await
            .unwrap();
    assert!(first_frame(&mut kept).await.contains("snapshot"));

    let path = format!("/api/embed-tokens/{}", wall.token.id);
    let revoked = call(&d, Method::DELETE, &path, Some(TOKEN), None).await;
    assert_eq!(revoked.status(), 200);
    let revoked: EmbedToken = revoked.json().await.unwrap();
    assert!(revoked.revoked_at.is_some());

    // The connection is closed with the revocation's code (frames still queued may come
    // first), so the panel stops reconnecting and says why.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) => return None,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the revoked token's connection was closed")
    .expect("with a close frame");
    assert_eq!(u16::from(ended.code), gdl_model::embed::CLOSE_REVOKED);
    assert!(ended.reason.contains("revoked"), "{}", ended.reason);
    // Requests with it are refused, saying it was revoked; reconnecting fails.
    let body = refused(
        d.get(&format!("/embed/sessions?token={}", wall.secret))
            .await,
        401,
        "unauthorized",
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    let again =
        tokio_tungstenite::connect_async(format!("{ws}/ws?new&token={}", wall.secret)).await;
    assert!(again.unwrap_err().to_string().contains("401"));
    // The other token and its connection are untouched.
    assert_eq!(
        d.get(&format!("/embed/status?token={}", other.secret))
            .await
            .status(),
        200
    );
    // Its snapshot read before the revocation, it still gets the events that follow: a
    // session appears at the broker, and the connection hears of it.
    let server = d.state.simulator.as_ref().unwrap();
    let session = crate::support::create(server, &d.broker()).await.session.id;
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let frame = match kept.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => text,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Ping(_)))
                | Some(Ok(tokio_tungstenite::tungstenite::Message::Pong(_))) => continue,
                other => panic!("the other connection ended or sent no text: {other:?}"),
            };
            let frame: ServerFrame = serde_json::from_str(&frame).unwrap();
            if matches!(&frame, ServerFrame::Event {
                event: LiveEvent::SessionUpsert { session: s }, ..
            } if s.id == session)
            {
                return;
            }
        }
    })
    .await
    .expect("the other connection still gets events");
    // Unknown ids are a 404 in the error shape.
    let missing = call(
        &d,
        Method::DELETE,
        "/api/embed-tokens/nope",
        Some(TOKEN),
        None,
    )
    .await;
    refused(missing, 404, "embed_token_not_found").await;
}

#[tokio::test]
async fn without_an_access_token_an_embed_token_still_only_reads() {
    let d = Dashboard::start(None).await;
    let label = serde_json::json!({ "label": "status wall" });
    let created: CreatedEmbedToken = call(&d, Method::POST, "/api/embed-tokens", None, Some(label))
        .await
        .json()
        .await
        .unwrap();
    let run = serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 0.5});
    let start = call(
        &d,
        Method::POST,
        "/api/runs",
        Some(&created.secret),
        Some(run),
    )
    .await;
    refused(start, 403, "embed_read_only").await;
    // A label is required, with a hint.
    let blank = serde_json::json!({ "label": " " });
    let bad = call(&d, Method::POST, "/api/embed-tokens", None, Some(blank)).await;
    refused(bad, 400, "invalid_input").await;
    // Every panel renders.
    for path in [
        "/embed/status",
        "/embed/sessions",
        "/embed/orphans",
        "/embed/benchmarks?model=Qwen/Qwen2.5-0.5B-Instruct",
        "/embed/run/run-none",
    ] {
        let r = d.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("data-panel=\"/embed/"), "{path}");
    }
}

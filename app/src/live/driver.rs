//! The browser's WebSocket loop: hello (with what it has), replay or snapshot, heartbeat,
//! outbox flush, and reconnect with capped exponential backoff and jitter, forever.

use super::client::Received;
use super::conn::{backoff_ms, ConnState, MISSED_PONGS_LIMIT, PING_EVERY_MS};
use super::store::LiveStore;
use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use gdl_model::live::ClientFrame;
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

/// Starts the connection loop and the one-second display clock.
pub fn start(store: LiveStore) {
    let (wake_tx, wake_rx) = mpsc::unbounded();
    store.set_wake(wake_tx);
    spawn_local(run(store, wake_rx));
    spawn_local(async move {
        loop {
            store.now_ms.set(now_ms());
            TimeoutFuture::new(1000).await;
        }
    });
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The live channel's URL with the resume point (`?last_seq=N&epoch=E`, or `?new`), so the
/// server answers at once without waiting for a hello frame.
fn socket_url(hello: &ClientFrame) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let resume = match hello {
        ClientFrame::Hello {
            last_seq: Some(seq),
            epoch: Some(epoch),
        } => format!(
            "?last_seq={seq}&epoch={}",
            String::from(js_sys::encode_uri_component(epoch))
        ),
        _ => "?new".to_owned(),
    };
    // An embedded panel's read-only token (`?token=` in its URL) opens its live channel.
    let token = location
        .search()
        .ok()
        .as_deref()
        .and_then(gdl_model::embed::token_in_query)
        .map(|t| format!("&token={t}"))
        .unwrap_or_default();
    Some(format!(
        "{scheme}://{}/ws{resume}{token}",
        location.host().ok()?
    ))
}

async fn run(store: LiveStore, mut wake: mpsc::UnboundedReceiver<()>) {
    let mut failures: u32 = 0;
    loop {
        let hello = store.client.with_untracked(|c| c.hello());
        let connected = match socket_url(&hello).map(|url| WebSocket::open(&url)) {
            Some(Ok(ws)) => session(store, ws, &mut wake).await,
            _ => false,
        };
        if let Some(reason) = store.conn.with_untracked(|c| c.refused.clone()) {
            store
                .conn
                .update(|c| c.state = ConnState::Refused { reason });
            return;
        }
        failures = if connected { 1 } else { failures + 1 };
        let delay = backoff_ms(failures, js_sys::Math::random());
        store
            .conn
            .update(|c| c.state = ConnState::after_failure(failures, now_ms() + delay));
        TimeoutFuture::new(delay as u32).await;
    }
}

/// One connection. Returns whether it got as far as connected (which resets the backoff).
async fn session(store: LiveStore, ws: WebSocket, wake: &mut mpsc::UnboundedReceiver<()>) -> bool {
    let (mut sink, mut stream) = ws.split();
    // Open once the first frame goes out (sending waits for the socket to open); the URL
    // carried the resume point, so the server is already answering.
    let mut opened = false;
    let mut nonce: u64 = 0;
    let mut awaiting: Option<u64> = None;
    let mut next_ping = 0.0;
    loop {
        for frame in store.take_outbox() {
            if send(&mut sink, &frame).await.is_err() {
                return opened;
            }
        }
        let now = now_ms();
        if now >= next_ping {
            if awaiting.is_some() {
                let missed = store.conn.with_untracked(|c| c.missed_pongs) + 1;
                store.conn.update(|c| c.missed_pongs = missed);
                if missed >= MISSED_PONGS_LIMIT {
                    return opened; // dead link: reconnect
                }
            }
            nonce += 1;
            awaiting = Some(nonce);
            let ping = ClientFrame::Ping {
                nonce,
                sent_at_ms: now,
            };
            if send(&mut sink, &ping).await.is_err() {
                return opened;
            }
            if !opened {
                opened = true;
                store.conn.update(|c| {
                    c.state = ConnState::Connected;
                    c.missed_pongs = 0;
                });
            }
            next_ping = now + PING_EVERY_MS;
        }
        let wait = (next_ping - now_ms()).max(0.0) as u32;
        futures::select! {
            message = stream.next().fuse() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = receive(store, &text, &mut awaiting) {
                        store.send(reply);
                    }
                }
                Some(Ok(Message::Bytes(_))) => {
                    store.client.update(|c| {
                        c.parse_errors += 1;
                        c.last_parse_error = Some("a binary frame (the server sends text)".into());
                    });
                }
                Some(Err(WebSocketError::ConnectionClose(close))) => {
                    if !close.reason.is_empty() {
                        store.conn.update(|c| c.last_close_reason = Some(close.reason.clone()));
                    }
                    if close.code == gdl_model::embed::CLOSE_REVOKED {
                        store.conn.update(|c| c.refused = Some(close.reason.clone()));
                    }
                    return opened;
                }
                Some(Err(_)) | None => return opened,
            },
            _ = wake.next().fuse() => {}
            _ = TimeoutFuture::new(wait).fuse() => {}
        }
    }
}

/// Applies a text frame; returns a frame to send back (a resync on a gap).
fn receive(store: LiveStore, text: &str, awaiting: &mut Option<u64>) -> Option<ClientFrame> {
    let mut outcome = Received::Skipped;
    store.client.update(|c| outcome = c.receive(text));
    match outcome {
        Received::Applied => {
            store.conn.update(|c| c.last_event_at_ms = Some(now_ms()));
            publish_seqs(store);
            None
        }
        Received::Gap { ask } => ask.then_some(ClientFrame::Resync),
        Received::Pong { nonce, sent_at_ms } => {
            if *awaiting == Some(nonce) {
                *awaiting = None;
            }
            store.conn.update(|c| {
                c.rtt_ms = Some(now_ms() - sent_at_ms);
                c.missed_pongs = 0;
            });
            None
        }
        Received::Closing(reason) => {
            store.conn.update(|c| c.last_close_reason = Some(reason));
            None
        }
        Received::Skipped | Received::Invalid => None,
    }
}

/// Mirrors the applied `seq`s into `window.__gdlLiveSeqs` for tests and debugging.
fn publish_seqs(store: LiveStore) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let seqs = js_sys::Array::new();
    store.client.with_untracked(|c| {
        for s in &c.recent_seqs {
            seqs.push(&JsValue::from_f64(*s as f64));
        }
    });
    let _ = js_sys::Reflect::set(&window, &JsValue::from_str("__gdlLiveSeqs"), &seqs);
}

async fn send<S>(sink: &mut S, frame: &ClientFrame) -> Result<(), ()>
where
    S: futures::Sink<Message> + Unpin,
{
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(Message::Text(text)).await.map_err(|_| ())
}

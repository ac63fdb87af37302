//! The live channel: one WebSocket per browser that keeps it exactly in sync.
//!
//! - [`hub`]: numbers events (`seq`, per-boot `epoch`), keeps the current state and a ring
//!   of recent events, fans frames out to bounded per-client queues, resumes clients by
//!   replay or snapshot, and counts everything.
//! - [`relay`]: with several replicas, the hub's events through the database, in one
//!   order for all (PostgreSQL).
//! - [`socket`]: one connection's loop (hello, replay/snapshot, live frames, heartbeat,
//!   silence deadline, shutdown), generic over `Sink`/`Stream` so tests drive it directly.

pub mod hub;
pub mod relay;
pub mod socket;

pub use hub::{Hub, HubConfig, Subscription};

use crate::security::embed::EmbedIdentity;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use axum::Extension;
use futures::StreamExt;
use std::net::SocketAddr;

/// The resume point in the URL: `/ws?last_seq=N&epoch=E` (like SSE's `Last-Event-ID`), or
/// `/ws?new` for a client with nothing yet.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Resume {
    last_seq: Option<u64>,
    epoch: Option<String>,
    new: Option<String>,
}

impl Resume {
    /// The hello this URL stands for, if it gives one.
    fn hello(self) -> Option<gdl_model::live::ClientFrame> {
        let given = self.last_seq.is_some() || self.epoch.is_some() || self.new.is_some();
        given.then_some(gdl_model::live::ClientFrame::Hello {
            last_seq: self.last_seq,
            epoch: self.epoch.filter(|e| !e.is_empty()),
        })
    }
}

/// Bytes read from a connection at a time. Client frames are small, and tungstenite zeroes
/// this much on every poll of the reading side (each frame sent polls it): a larger buffer
/// costs every connection a memset per event, and its memory stays resident.
const READ_BUFFER: usize = 512;
/// Frames are buffered up to this many bytes before a write, and written at the flush
/// that ends each batch. The buffer keeps its largest size, so this bounds what a batch
/// leaves behind per connection.
const WRITE_BUFFER: usize = 4 * 1024;
/// The largest message a client may send.
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// `GET /ws[?last_seq=N&epoch=E | ?new]`: upgrades and runs the connection loop.
pub async fn upgrade(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    identity: Option<Extension<EmbedIdentity>>,
    Query(resume): Query<Resume>,
    ws: WebSocketUpgrade,
) -> Response {
    let resume = resume.hello();
    // A connection opened with an embed token ends when the token is revoked: its reading
    // side ends, so the loop leaves the hub as for any client that went away.
    let identity = identity.map(|Extension(who)| who);
    // Small buffers: most connections idle; tungstenite's defaults (128 KiB each way)
    // would cost that much memory per browser. The write buffer lets a batch of queued
    // frames go out in one write (see `socket::send_together`).
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        // Clients send hello, resync and pongs: a frame of more is refused, before any of
        // it is kept (tungstenite's default would take 64 MiB from each connection).
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            let (mut tx, rx) = socket.split();
            match identity {
                Some(who) => {
                    let revoked = Box::pin(who.clone().revoked());
                    socket::run(
                        hub,
                        &mut tx,
                        rx.take_until(revoked),
                        peer.to_string(),
                        resume,
                    )
                    .await;
                    if who.is_revoked() {
                        let reason = "the embed token of this panel was revoked";
                        let _ =
                            socket::close(&mut tx, gdl_model::embed::CLOSE_REVOKED, reason).await;
                    }
                }
                None => socket::run(hub, tx, rx, peer.to_string(), resume).await,
            }
        })
}

//! Follows a dashboard's live channel and prints every frame as it comes, with nothing but
//! the shared types of `gdl-model`. After a disconnect it connects again with its resume
//! point in the URL: the dashboard replays the events it missed, or sends a snapshot when
//! they are gone or the dashboard restarted (a new epoch). Ctrl-C ends it cleanly.
//!
//! ```sh
//! cargo run -p gdl-examples --bin follow-events -- http://127.0.0.1:8081
//! GDL_TOKEN=… cargo run -p gdl-examples --bin follow-events -- http://dashboard:8081
//! ```
//!
//! One line per frame on stdout, e.g.
//!
//! ```text
//! snapshot epoch=3f… seq=12 sessions=2 runs=1
//! event epoch=3f… seq=13 {"kind":"session_upsert","session":{…}}
//! ```
//!
//! and what happens to the connection on stderr. An event whose `seq` is not the one after
//! the last is reported on stderr and makes the exit code 2.

use futures::StreamExt;
use gdl_model::live::{sequence, Sequencing, ServerFrame};
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Where the follower is: the dashboard's boot and the last event it printed.
#[derive(Default)]
struct Position {
    epoch: Option<String>,
    last_seq: Option<u64>,
    /// Events that did not follow the one before (a lost or repeated event).
    gaps: u64,
}

impl Position {
    /// The live channel's URL with this resume point.
    fn url(&self, base: &str) -> String {
        let ws = base
            .trim_end_matches('/')
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        match (&self.epoch, self.last_seq) {
            (Some(epoch), Some(seq)) => format!("{ws}/ws?last_seq={seq}&epoch={epoch}"),
            _ => format!("{ws}/ws?new"),
        }
    }

    /// Prints `frame` and moves the position past it.
    fn take(&mut self, frame: ServerFrame) {
        match frame {
            ServerFrame::Snapshot { epoch, seq, state } => {
                println!(
                    "snapshot epoch={epoch} seq={seq} sessions={} runs={}",
                    state.sessions.len(),
                    state.runs.len()
                );
                self.epoch = Some(epoch);
                self.last_seq = Some(seq);
            }
            ServerFrame::Event { epoch, seq, event } => {
                // The channel's own rule; a repeated event is as wrong here as a lost one.
                let have = self.last_seq.unwrap_or(0);
                if sequence(self.epoch.as_deref(), have, &epoch, seq) != Sequencing::Apply {
                    self.gaps += 1;
                    eprintln!("event {seq} of epoch {epoch} does not follow {have}");
                }
                let json = serde_json::to_string(&event).unwrap_or_default();
                println!("event epoch={epoch} seq={seq} {json}");
                self.epoch = Some(epoch);
                self.last_seq = Some(seq);
            }
            ServerFrame::Pong { .. } => {}
            ServerFrame::Closing { reason } => eprintln!("the dashboard is closing: {reason}"),
        }
    }
}

/// Why a connection ended.
enum Ended {
    /// Ctrl-C: stop.
    Interrupted,
    /// Lost or closed: connect again.
    Lost(String),
}

#[tokio::main]
async fn main() {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8081".into());
    let token = std::env::var("GDL_TOKEN").ok().filter(|t| !t.is_empty());
    let mut position = Position::default();
    let mut wait = Duration::from_millis(200);
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    loop {
        let url = position.url(&base);
        match follow(
            &url,
            token.as_deref(),
            &mut position,
            &mut wait,
            &mut stopped,
        )
        .await
        {
            Ended::Interrupted => break,
            Ended::Lost(why) => {
                eprintln!(
                    "disconnected ({why}); connecting again in {} ms",
                    wait.as_millis()
                );
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
    eprintln!("stopped at seq {:?}", position.last_seq);
    std::process::exit(if position.gaps == 0 { 0 } else { 2 });
}

/// One connection: prints its frames until it ends, or closes it when `stopped`.
async fn follow(
    url: &str,
    token: Option<&str>,
    position: &mut Position,
    wait: &mut Duration,
    stopped: &mut watch::Receiver<bool>,
) -> Ended {
    let mut request = match url.into_client_request() {
        Ok(request) => request,
        Err(e) => return Ended::Lost(format!("bad URL {url}: {e}")),
    };
    if let Some(token) = token {
        match format!("Bearer {token}").parse() {
            Ok(value) => {
                request.headers_mut().insert("authorization", value);
            }
            Err(_) => return Ended::Lost("the token is not a valid header value".into()),
        }
    }
    let connected = tokio::select! {
        connected = tokio_tungstenite::connect_async(request) => connected,
        _ = stopped.wait_for(|s| *s) => return Ended::Interrupted,
    };
    let mut socket = match connected {
        Ok((socket, _)) => socket,
        Err(e) => return Ended::Lost(e.to_string()),
    };
    eprintln!("connected to {url}");
    *wait = Duration::from_millis(200);
    loop {
        let message = tokio::select! {
            message = socket.next() => message,
            _ = stopped.wait_for(|s| *s) => {
                let _ = socket.close(None).await;
                return Ended::Interrupted;
            }
        };
        let Some(message) = message else {
            return Ended::Lost("the connection ended".into());
        };
        match message {
            Ok(Message::Text(text)) => match serde_json::from_str::<ServerFrame>(text.as_str()) {
                Ok(frame) => position.take(frame),
                Err(e) => eprintln!("a frame that does not read: {e}"),
            },
            Ok(Message::Close(frame)) => {
                let _ = socket.close(None).await;
                let why = frame.map_or("closed".into(), |f| format!("closed: {}", f.reason));
                return Ended::Lost(why);
            }
            // Pings are answered by the library as it reads.
            Ok(_) => {}
            Err(e) => return Ended::Lost(e.to_string()),
        }
    }
}

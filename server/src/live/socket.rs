//! One live connection: resume point (from the URL, or a hello frame within a moment, else
//! none) → replay or snapshot → live frames, answering pings at once,
//! pinging the client every `ping_every`, closing on silence, overflow or shutdown with a
//! reason. Generic over `Sink`/`Stream` of
//! axum WebSocket messages, so tests can drive it with channels.

use super::hub::{Count, Frame, Hub};
use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use gdl_model::live::{ClientFrame, ServerFrame};
use std::fmt::Display;
use tokio::time::{sleep_until, timeout, Instant};

/// Close codes: 1001 going away (shutdown), 1008 policy (silence), 4000 resync (overflow).
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;
const RESYNC: u16 = 4000;

/// Frames taken from the queue for one write, at most.
const BATCH: usize = 64;

/// Runs one connection until it ends. `resume` is the resume point the URL gave
/// (`/ws?last_seq=N&epoch=E`, or `/ws?new` for none); without it a hello frame is waited
/// for at most `hello_grace`, then the client gets a snapshot, as a plain WebSocket client
/// (`wscat -c ws://…/ws`) expects its first frame at once.
pub async fn run<Tx, Rx, E>(
    hub: Hub,
    mut tx: Tx,
    mut rx: Rx,
    peer: String,
    resume: Option<ClientFrame>,
) where
    Tx: Sink<Message> + Unpin,
    Tx::Error: Display,
    Rx: Stream<Item = Result<Message, E>> + Unpin,
{
    let config = hub.config().clone();
    let (hello, early) = match resume {
        Some(hello) => (hello, None),
        // The first frame should be hello; anything else counts as a hello without history.
        None => match timeout(config.hello_grace, next_frame(&hub, &mut rx)).await {
            Ok(Some(Ok(frame @ ClientFrame::Hello { .. }))) => (frame, None),
            Ok(Some(Ok(other))) => (no_history(), Some(other)),
            Ok(Some(Err(()))) | Err(_) => (no_history(), None),
            Ok(None) => return,
        },
    };
    let mut sub = hub.subscribe(&hello);
    let id = sub.client_id;
    tracing::debug!(client = id, %peer, resumed = sub.resumed, "live client connected");
    let mut closing = hub.closing();
    let outcome: Result<(), String> = async {
        send_together(&hub, &mut tx, std::mem::take(&mut sub.initial)).await?;
        if let Some(frame) = early {
            answer(&hub, &mut tx, frame).await?;
        }
        let already = closing.borrow_and_update().clone();
        if let Some(reason) = already {
            return close(&mut tx, GOING_AWAY, &reason).await;
        }
        // The futures that outlive one frame are made once: remaking them per frame (a
        // timer entry, a place in the shutdown signal's waiter list) costs every
        // connection a lock or two on each event.
        let shutdown = async move {
            loop {
                closing.changed().await.ok()?;
                if let Some(reason) = closing.borrow().clone() {
                    return Some(reason);
                }
            }
        };
        tokio::pin!(shutdown);
        // Pushed back only when it fires early: a frame just moves `heard`.
        let mut heard = Instant::now();
        let silence = sleep_until(heard + config.silence_deadline);
        tokio::pin!(silence);
        let mut ping =
            tokio::time::interval_at(Instant::now() + config.ping_every, config.ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                reason = &mut shutdown => match reason {
                    Some(reason) => return close(&mut tx, GOING_AWAY, &reason).await,
                    None => return Ok(()),
                },
                reason = &mut sub.kicked => {
                    let reason = reason.unwrap_or_else(|_| "dropped".into());
                    return close(&mut tx, RESYNC, &reason).await;
                }
                incoming = next_frame(&hub, &mut rx) => match incoming {
                    None => return Ok(()),
                    Some(Err(())) => heard = Instant::now(),
                    Some(Ok(frame)) => {
                        heard = Instant::now();
                        answer(&hub, &mut tx, frame).await?;
                    }
                },
                frame = sub.rx.recv() => match frame {
                    Some(frame) => {
                        // Whatever else is already queued goes out with it, in one write.
                        let mut batch = vec![frame];
                        while batch.len() < BATCH {
                            match sub.rx.try_recv() {
                                Ok(frame) => batch.push(frame),
                                Err(_) => break,
                            }
                        }
                        send_together(&hub, &mut tx, batch).await?;
                    }
                    None => return Ok(()),
                },
                _ = ping.tick() => {
                    within(&hub, async {
                        tx.send(Message::Ping(Default::default()))
                            .await
                            .map_err(|e| e.to_string())
                    })
                    .await?;
                    hub.count(Count::ServerPing);
                }
                () = &mut silence => {
                    let due = heard + config.silence_deadline;
                    if due > Instant::now() {
                        silence.as_mut().reset(due);
                        continue;
                    }
                    hub.count(Count::SilentClose);
                    let reason = format!("no message for {} s", config.silence_deadline.as_secs());
                    return close(&mut tx, POLICY, &reason).await;
                }
            }
        }
    }
    .await;
    if let Err(reason) = outcome {
        hub.count(Count::SendFailure);
        tracing::warn!(client = id, %peer, %reason, "live send failed; connection closed");
    }
    hub.unsubscribe(id);
    tracing::debug!(client = id, %peer, "live client disconnected");
}

fn no_history() -> ClientFrame {
    ClientFrame::Hello {
        last_seq: None,
        epoch: None,
    }
}

/// The next client frame: `Some(Ok)` parsed, `Some(Err)` for a frame that is not ours
/// (counted; WebSocket-level pings are answered by axum), `None` when the connection ended.
async fn next_frame<Rx, E>(hub: &Hub, rx: &mut Rx) -> Option<Result<ClientFrame, ()>>
where
    Rx: Stream<Item = Result<Message, E>> + Unpin,
{
    match rx.next().await? {
        Err(_) | Ok(Message::Close(_)) => None,
        Ok(Message::Text(text)) => Some(serde_json::from_str(text.as_str()).map_err(|e| {
            hub.count(Count::BadClientFrame);
            tracing::debug!(error = %e, "unparseable client frame");
        })),
        Ok(Message::Binary(_)) => {
            hub.count(Count::BadClientFrame);
            Some(Err(()))
        }
        Ok(Message::Ping(_) | Message::Pong(_)) => Some(Err(())),
    }
}

/// Answers a client frame: pong at once, snapshot on resync.
async fn answer<Tx>(hub: &Hub, tx: &mut Tx, frame: ClientFrame) -> Result<(), String>
where
    Tx: Sink<Message> + Unpin,
    Tx::Error: Display,
{
    match frame {
        ClientFrame::Ping { nonce, sent_at_ms } => {
            hub.count(Count::Ping);
            let pong = super::hub::encode(&ServerFrame::Pong { nonce, sent_at_ms });
            send(hub, tx, pong).await
        }
        // A second hello on a live connection is a request to resync.
        ClientFrame::Resync | ClientFrame::Hello { .. } => {
            send(hub, tx, hub.snapshot_frame()).await
        }
    }
}

async fn send<Tx>(hub: &Hub, tx: &mut Tx, frame: Frame) -> Result<(), String>
where
    Tx: Sink<Message> + Unpin,
    Tx::Error: Display,
{
    send_together(hub, tx, vec![frame]).await
}

/// Sends `frames` in order with one flush: the WebSocket buffers them (up to its write
/// buffer) and writes them together, so a client that fell behind costs a few writes, not
/// one per frame.
async fn send_together<Tx>(hub: &Hub, tx: &mut Tx, frames: Vec<Frame>) -> Result<(), String>
where
    Tx: Sink<Message> + Unpin,
    Tx::Error: Display,
{
    if frames.is_empty() {
        return Ok(());
    }
    let count = frames.len() as u64;
    within(hub, async {
        for frame in frames {
            tx.feed(Message::Text(frame))
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.flush().await.map_err(|e| e.to_string())
    })
    .await?;
    hub.add_sent(count);
    Ok(())
}

/// `write`, given at most the hub's send deadline.
async fn within(
    hub: &Hub,
    write: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    let deadline = hub.config().send_deadline;
    match timeout(deadline, write).await {
        Ok(done) => done,
        Err(_) => Err(format!(
            "a write did not finish in {} s: the client stopped reading",
            deadline.as_secs_f64()
        )),
    }
}

/// Says why, then closes with that reason.
pub(crate) async fn close<Tx>(tx: &mut Tx, code: u16, reason: &str) -> Result<(), String>
where
    Tx: Sink<Message> + Unpin,
    Tx::Error: Display,
{
    let closing = super::hub::encode(&ServerFrame::Closing {
        reason: reason.to_owned(),
    });
    let mut short = reason.to_owned();
    while short.len() > 120 {
        short.pop();
    }
    // A client that stopped reading is not waited for.
    let goodbye = async {
        let _ = tx.send(Message::Text(closing)).await;
        tx.send(Message::Close(Some(CloseFrame {
            code,
            reason: short.into(),
        })))
        .await
        .map_err(|e| e.to_string())
    };
    timeout(CLOSE_DEADLINE, goodbye)
        .await
        .map_err(|_| "the client did not read its close frame".to_owned())?
}

/// How long saying goodbye may take.
const CLOSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(test)]
mod tests;

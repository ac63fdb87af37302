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
                    tx.send(Message::Ping(Default::default()))
                        .await
                        .map_err(|e| e.to_string())?;
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
    for frame in frames {
        tx.feed(Message::Text(frame))
            .await
            .map_err(|e| e.to_string())?;
    }
    tx.flush().await.map_err(|e| e.to_string())?;
    hub.add_sent(count);
    Ok(())
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
    let _ = tx.send(Message::Text(closing)).await;
    let mut short = reason.to_owned();
    while short.len() > 120 {
        short.pop();
    }
    tx.send(Message::Close(Some(CloseFrame {
        code,
        reason: short.into(),
    })))
    .await
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::HubConfig;
    use futures::channel::mpsc;
    use gdl_model::live::LiveEvent;
    use std::time::Duration;

    type In = mpsc::UnboundedSender<Result<Message, std::io::Error>>;
    type Out = mpsc::UnboundedReceiver<Message>;

    fn connect(hub: &Hub) -> (In, Out) {
        let (in_tx, in_rx) = mpsc::unbounded();
        let (out_tx, out_rx) = mpsc::unbounded();
        let hub = hub.clone();
        tokio::spawn(run(hub, out_tx, in_rx, "test".into(), None));
        (in_tx, out_rx)
    }

    fn text(frame: &ClientFrame) -> Result<Message, std::io::Error> {
        Ok(Message::Text(serde_json::to_string(frame).unwrap().into()))
    }

    /// The next text frame (the server's own pings are skipped).
    async fn next(out: &mut Out) -> ServerFrame {
        loop {
            match tokio::time::timeout(Duration::from_secs(2), out.next()).await {
                Ok(Some(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
                Ok(Some(Message::Ping(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Waits (at most 2 s) until `done` holds.
    async fn until(done: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "not within 2 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn hello_snapshot_events_and_pong() {
        let hub = Hub::new(HubConfig::default());
        let (input, mut out) = connect(&hub);
        input.unbounded_send(text(&no_history())).unwrap();
        assert!(matches!(
            next(&mut out).await,
            ServerFrame::Snapshot { seq: 0, .. }
        ));
        hub.publish([LiveEvent::SessionRemoved { id: "a".into() }]);
        assert!(matches!(
            next(&mut out).await,
            ServerFrame::Event { seq: 1, .. }
        ));
        input
            .unbounded_send(text(&ClientFrame::Ping {
                nonce: 7,
                sent_at_ms: 1.5,
            }))
            .unwrap();
        assert_eq!(
            next(&mut out).await,
            ServerFrame::Pong {
                nonce: 7,
                sent_at_ms: 1.5
            }
        );
        input
            .unbounded_send(Ok(Message::Text("not json".into())))
            .unwrap();
        input.unbounded_send(text(&ClientFrame::Resync)).unwrap();
        assert!(matches!(
            next(&mut out).await,
            ServerFrame::Snapshot { seq: 1, .. }
        ));
        let stats = hub.stats();
        assert_eq!(
            (
                stats.pings,
                stats.bad_client_frames,
                stats.connections_current
            ),
            (1, 1, 1)
        );
        drop(input);
        until(|| hub.stats().connections_current == 0).await;
    }

    #[tokio::test]
    async fn the_server_pings_and_a_client_that_answers_stays() {
        let hub = Hub::new(HubConfig {
            silence_deadline: Duration::from_millis(300),
            ping_every: Duration::from_millis(50),
            ..HubConfig::default()
        });
        let (input, mut out) = connect(&hub);
        input.unbounded_send(text(&no_history())).unwrap();
        assert!(matches!(next(&mut out).await, ServerFrame::Snapshot { .. }));
        // A client that never sends a frame of its own but answers pings, as browsers do,
        // for well past the silence deadline.
        let mut pings = 0;
        while pings < 20 {
            match tokio::time::timeout(Duration::from_secs(2), out.next()).await {
                Ok(Some(Message::Ping(payload))) => {
                    pings += 1;
                    input.unbounded_send(Ok(Message::Pong(payload))).unwrap();
                }
                other => panic!("expected a ping, got {other:?}"),
            }
        }
        let stats = hub.stats();
        assert_eq!((stats.silent_closes, stats.connections_current), (0, 1));
        assert!(stats.server_pings >= 20);
        // One that stops answering is closed for silence.
        match next(&mut out).await {
            ServerFrame::Closing { reason } => assert!(reason.contains("no message"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(hub.stats().silent_closes, 1);
    }

    /// A sink that keeps what it is sent and counts its flushes (each one a write).
    #[derive(Clone, Default)]
    struct Counting(std::sync::Arc<std::sync::Mutex<(Vec<Message>, usize)>>);

    impl Sink<Message> for Counting {
        type Error = std::io::Error;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn start_send(self: std::pin::Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.0.lock().unwrap().0.push(item);
            Ok(())
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            self.0.lock().unwrap().1 += 1;
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_client_behind_gets_its_queued_frames_in_one_write() {
        let hub = Hub::new(HubConfig::default());
        let sink = Counting::default();
        let (input, rx) = mpsc::unbounded::<Result<Message, std::io::Error>>();
        let resume = Some(no_history());
        tokio::spawn(run(hub.clone(), sink.clone(), rx, "test".into(), resume));
        until(|| hub.stats().connections_current == 1).await;
        until(|| sink.0.lock().unwrap().0.len() == 1).await;
        // Forty events queue up before the connection's task runs again (this test's
        // runtime has one thread), as they do for a client that fell behind.
        hub.publish((0..40).map(|i| LiveEvent::SessionRemoved { id: i.to_string() }));
        until(|| sink.0.lock().unwrap().0.len() == 41).await;
        let (frames, flushes) = std::mem::take(&mut *sink.0.lock().unwrap());
        assert_eq!(flushes, 2, "the snapshot, then the forty together");
        let seqs: Vec<u64> = frames[1..]
            .iter()
            .map(|m| match m {
                Message::Text(t) => match serde_json::from_str(t.as_str()).unwrap() {
                    ServerFrame::Event { seq, .. } => seq,
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "in order, none lost");
        assert_eq!(hub.stats().messages_sent, 41);
        drop(input);
    }

    #[tokio::test]
    async fn silent_connection_is_closed_with_a_reason() {
        let hub = Hub::new(HubConfig {
            silence_deadline: Duration::from_millis(100),
            ..HubConfig::default()
        });
        let (input, mut out) = connect(&hub);
        input.unbounded_send(text(&no_history())).unwrap();
        assert!(matches!(next(&mut out).await, ServerFrame::Snapshot { .. }));
        match next(&mut out).await {
            ServerFrame::Closing { reason } => assert!(reason.contains("no message"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(out.next().await, Some(Message::Close(Some(f))) if f.code == POLICY));
        assert_eq!(hub.stats().silent_closes, 1);
    }

    #[tokio::test]
    async fn shutdown_closes_with_going_away() {
        let hub = Hub::new(HubConfig::default());
        let (input, mut out) = connect(&hub);
        input.unbounded_send(text(&no_history())).unwrap();
        assert!(matches!(next(&mut out).await, ServerFrame::Snapshot { .. }));
        hub.close_all("server shutting down");
        assert_eq!(
            next(&mut out).await,
            ServerFrame::Closing {
                reason: "server shutting down".into()
            }
        );
        assert!(matches!(out.next().await, Some(Message::Close(Some(f))) if f.code == GOING_AWAY));
    }
}

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
    hub.publish((0..40).map(|i| LiveEvent::SessionRemoved {
        id: i.to_string().into(),
    }));
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

#[tokio::test]
async fn a_client_that_stops_reading_is_let_go_at_the_send_deadline() {
    let hub = Hub::new(HubConfig {
        send_deadline: Duration::from_millis(200),
        ping_every: Duration::from_millis(50),
        silence_deadline: Duration::from_secs(60),
        ..HubConfig::default()
    });
    // A sink with room for one frame that nobody ever reads.
    let (in_tx, in_rx) = mpsc::unbounded();
    let (out_tx, _never_read) = mpsc::channel::<Message>(0);
    tokio::spawn(run(hub.clone(), out_tx, in_rx, "stuck".into(), None));
    in_tx.unbounded_send(text(&no_history())).unwrap();
    until(|| hub.stats().connections_current == 1).await;
    // Its queue never drains and its pings never go out: the deadline, not the silence
    // check (a minute away), ends the connection.
    until(|| hub.stats().connections_current == 0).await;
    drop(in_tx);
}

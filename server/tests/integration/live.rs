//! The live channel over real WebSockets on loopback: many clients, resume by replay (the
//! resume point in the URL, or in a hello frame), snapshot for an old epoch, and a plain
//! client that says nothing gets its first frame at once.

use futures::{SinkExt, StreamExt};
use gdl_model::live::{ClientFrame, LiveEvent, ServerFrame};
use server::live::{Hub, HubConfig};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Serves `/ws` for `hub` on a port-0 listener; returns the ws:// URL.
async fn serve(hub: Hub) -> String {
    let router = axum::Router::new()
        .route("/ws", axum::routing::get(server::live::upgrade))
        .with_state(hub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("ws://{addr}/ws")
}

/// Connects with the resume point `hello` in the URL, as browsers do.
async fn connect(url: &str, hello: &ClientFrame) -> Socket {
    let query = match hello {
        ClientFrame::Hello {
            last_seq: Some(seq),
            epoch: Some(epoch),
        } => format!("?last_seq={seq}&epoch={epoch}"),
        _ => "?new".to_owned(),
    };
    let (socket, _) = tokio_tungstenite::connect_async(format!("{url}{query}"))
        .await
        .expect("connects");
    socket
}

#[tokio::test]
async fn a_plain_client_gets_a_snapshot_at_once_and_a_hello_frame_still_resumes() {
    let hub = Hub::new(HubConfig::default());
    let url = serve(hub.clone()).await;
    hub.publish((1..=3).map(event));
    // As `wscat -c ws://…/ws`: connects and says nothing.
    let (mut plain, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert!(
        matches!(next(&mut plain).await, ServerFrame::Snapshot { seq: 3, .. }),
        "a snapshot first"
    );
    // The older way: a hello frame right after connecting (given plenty of time here, so a
    // busy machine cannot turn it into a snapshot).
    let patient = Hub::new(HubConfig {
        hello_grace: Duration::from_secs(10),
        ..HubConfig::default()
    });
    let url = serve(patient.clone()).await;
    patient.publish((1..=3).map(event));
    let (mut framed, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let hello = ClientFrame::Hello {
        last_seq: Some(1),
        epoch: Some(patient.epoch().to_owned()),
    };
    framed
        .send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
        .await
        .unwrap();
    for want in 2..=3 {
        assert!(
            matches!(next(&mut framed).await, ServerFrame::Event { seq, .. } if seq == want),
            "replayed from 2"
        );
    }
}

async fn next(socket: &mut Socket) -> ServerFrame {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).unwrap()
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

fn fresh() -> ClientFrame {
    ClientFrame::Hello {
        last_seq: None,
        epoch: None,
    }
}

fn event(i: u64) -> LiveEvent {
    LiveEvent::SessionRemoved {
        id: format!("s{i}").into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_receive_two_thousand_events_once_in_order() {
    // Correctness only; load (5,000 clients, latency, memory) is the fan-out driver's job.
    const CLIENTS: usize = 50;
    const EVENTS: u64 = 2_000;
    let hub = Hub::new(HubConfig {
        client_queue: EVENTS as usize + 16,
        ring_capacity: 16,
        ..HubConfig::default()
    });
    let url = serve(hub.clone()).await;
    let mut readers = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(CLIENTS);
    for _ in 0..CLIENTS {
        let mut socket = connect(&url, &fresh()).await;
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            assert!(matches!(
                next(&mut socket).await,
                ServerFrame::Snapshot { seq: 0, .. }
            ));
            ready.send(()).await.unwrap();
            let mut expected = 1;
            while expected <= EVENTS {
                match next(&mut socket).await {
                    ServerFrame::Event { seq, .. } => {
                        assert_eq!(seq, expected, "every seq exactly once, in order");
                        expected += 1;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            expected - 1
        }));
    }
    for _ in 0..CLIENTS {
        ready_rx.recv().await.unwrap();
    }
    for batch in 0..EVENTS / 100 {
        hub.publish((batch * 100 + 1..=batch * 100 + 100).map(event));
        tokio::task::yield_now().await;
    }
    for reader in readers {
        assert_eq!(reader.await.unwrap(), EVENTS);
    }
    let stats = hub.stats();
    assert_eq!(stats.seq, EVENTS);
    assert_eq!(stats.overflows, 0);
    assert_eq!(stats.send_failures, 0);
    assert!(stats.messages_sent >= CLIENTS as u64 * (EVENTS + 1));
}

#[tokio::test]
async fn reconnect_with_last_seq_gets_exactly_the_missing_events() {
    let hub = Hub::new(HubConfig::default());
    let url = serve(hub.clone()).await;
    hub.publish((1..=5).map(event));
    let mut socket = connect(&url, &fresh()).await;
    let ServerFrame::Snapshot { epoch, seq: 5, .. } = next(&mut socket).await else {
        panic!("a new client gets a snapshot")
    };
    hub.publish((6..=8).map(event));
    for want in 6..=8 {
        assert!(matches!(next(&mut socket).await, ServerFrame::Event { seq, .. } if seq == want));
    }
    socket.close(None).await.unwrap();
    drop(socket);
    hub.publish((9..=20).map(event));

    let hello = ClientFrame::Hello {
        last_seq: Some(8),
        epoch: Some(epoch),
    };
    let mut again = connect(&url, &hello).await;
    let mut got = Vec::new();
    for _ in 9..=20 {
        match next(&mut again).await {
            ServerFrame::Event { seq, .. } => got.push(seq),
            other => panic!("expected a replayed event, got {other:?}"),
        }
    }
    assert_eq!(got, (9..=20).collect::<Vec<_>>());
    // Nothing else was queued before the answer to a ping.
    again
        .send(Message::Text(
            serde_json::to_string(&ClientFrame::Ping {
                nonce: 1,
                sent_at_ms: 0.0,
            })
            .unwrap()
            .into(),
        ))
        .await
        .unwrap();
    assert_eq!(
        next(&mut again).await,
        ServerFrame::Pong {
            nonce: 1,
            sent_at_ms: 0.0
        }
    );
    assert_eq!(hub.stats().replays, 1);
}

#[tokio::test]
async fn an_old_epoch_gets_a_snapshot() {
    let hub = Hub::new(HubConfig::default());
    let url = serve(hub.clone()).await;
    hub.publish((1..=3).map(event));
    let hello = ClientFrame::Hello {
        last_seq: Some(2),
        epoch: Some("a-previous-boot".into()),
    };
    let mut socket = connect(&url, &hello).await;
    match next(&mut socket).await {
        ServerFrame::Snapshot { seq, epoch, .. } => {
            assert_eq!(seq, 3);
            assert_eq!(epoch, hub.epoch());
        }
        other => panic!("expected a snapshot, got {other:?}"),
    }
    hub.publish([event(4)]);
    assert!(matches!(
        next(&mut socket).await,
        ServerFrame::Event { seq: 4, .. }
    ));
}

#[tokio::test]
async fn shutdown_sends_the_reason_and_a_close_frame() {
    let hub = Hub::new(HubConfig::default());
    let url = serve(hub.clone()).await;
    let mut socket = connect(&url, &fresh()).await;
    assert!(matches!(
        next(&mut socket).await,
        ServerFrame::Snapshot { .. }
    ));
    hub.close_all("server shutting down");
    assert_eq!(
        next(&mut socket).await,
        ServerFrame::Closing {
            reason: "server shutting down".into()
        }
    );
    match socket.next().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1001);
            assert_eq!(frame.reason.as_str(), "server shutting down");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// A crowd connecting at once (every browser after a restart) is queued by the kernel, not
/// turned away: the dashboard's listener has room for thousands of connections waiting
/// to be accepted, where the usual 128 makes the rest wait a second for a SYN retry.
#[tokio::test]
async fn the_listener_takes_a_crowd_connecting_at_once() {
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let addr = listener.local_addr().unwrap();
    // Nothing accepts: every connection waits in the kernel's queue.
    let crowd = 600;
    let connects = (0..crowd).map(|_| async move {
        let connected = tokio::time::timeout(Duration::from_millis(900), TcpStream::connect(addr));
        connected.await.ok().and_then(Result::ok)
    });
    let held: Vec<_> = futures::future::join_all(connects).await;
    let waiting = held.iter().filter(|s| s.is_some()).count();
    assert_eq!(waiting, crowd, "every connection is queued at once");
    drop(listener);
}

#[tokio::test]
async fn a_client_message_larger_than_the_limit_ends_its_connection() {
    let hub = Hub::new(HubConfig::default());
    let url = serve(hub.clone()).await;
    let mut socket = connect(&url, &fresh()).await;
    assert!(matches!(
        next(&mut socket).await,
        ServerFrame::Snapshot { .. }
    ));
    // Within the limit: a resync is answered.
    let resync = serde_json::to_string(&ClientFrame::Resync).unwrap();
    socket.send(Message::Text(resync.into())).await.unwrap();
    assert!(matches!(
        next(&mut socket).await,
        ServerFrame::Snapshot { .. }
    ));
    // Past it: the connection ends before the message is kept.
    let big = "x".repeat(server::live::MAX_CLIENT_MESSAGE + 1);
    let _ = socket.send(Message::Text(big.into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection was not ended");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while hub.stats().connections_current > 0 {
        assert!(tokio::time::Instant::now() < deadline, "still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

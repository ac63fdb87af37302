//! What a client that has not authenticated can hold: a connection sending half a request
//! (or nothing) is closed at the header deadline, and past the connection cap new
//! connections wait until one closes. Real sockets on loopback.

use crate::dashboard::Dashboard;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gdl-doors-{}", uuid::Uuid::new_v4()))
}

fn addr(d: &Dashboard) -> String {
    d.url.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; `None` if it is still open after `limit`
/// (generous: the deadline under test is a second).
async fn closed_within(socket: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| got)
}

#[tokio::test]
async fn half_a_request_or_none_is_cut_at_the_header_deadline() {
    let d = Dashboard::start_custom(None, data_dir(), |s| {
        s.connections.header_timeout = Duration::from_secs(1);
    })
    .await;
    let mut silent = TcpStream::connect(addr(&d)).await.unwrap();
    let mut half = TcpStream::connect(addr(&d)).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let limit = Duration::from_secs(20);
    assert!(
        closed_within(&mut silent, limit).await.is_some(),
        "a client that sends nothing is let go"
    );
    let cut = closed_within(&mut half, limit).await;
    assert!(
        cut.is_some(),
        "a client that sends half a request is let go"
    );

    // A client that sends its request in time is answered, and may send another on the same
    // connection after a pause shorter than the deadline.
    let mut fine = TcpStream::connect(addr(&d)).await.unwrap();
    let ask = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for _ in 0..2 {
        fine.write_all(ask).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = fine.read(&mut buf).await.unwrap();
        let reply = String::from_utf8_lossy(&buf[..n]);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_until_one_closes() {
    let d = Dashboard::start_custom(None, data_dir(), |s| {
        s.connections.max_connections = 3;
        s.connections.header_timeout = Duration::from_secs(120);
    })
    .await;
    let ask = |timeout: Duration| {
        // A client of its own: no pooled connection to reuse.
        let http = reqwest::Client::builder().timeout(timeout).build().unwrap();
        let url = format!("{}/healthz", d.url);
        async move { http.get(url).send().await }
    };
    assert!(
        ask(Duration::from_secs(30)).await.is_ok(),
        "answered under the cap"
    );

    // The cap is filled by two idle sockets and a live channel (which holds its slot after
    // the upgrade, as long as it is open).
    let (live, _) = tokio_tungstenite::connect_async(format!("{}/ws", d.url.replace("http", "ws")))
        .await
        .expect("the live channel connects");
    let idle_a = TcpStream::connect(addr(&d)).await.unwrap();
    let _idle_b = TcpStream::connect(addr(&d)).await.unwrap();
    let open = &d.state.connections.open;
    crate::support::eventually(Duration::from_secs(10), || async {
        (open.load(std::sync::atomic::Ordering::Relaxed) == 3).then_some(())
    })
    .await;
    let waited = ask(Duration::from_secs(2)).await;
    assert!(
        waited.is_err(),
        "a fourth connection is not served while three are open: {waited:?}"
    );

    // One closes: the next connection is served.
    drop(idle_a);
    assert!(
        ask(Duration::from_secs(30)).await.is_ok(),
        "served once a slot is free"
    );
    drop(live);
    let metrics = ask(Duration::from_secs(30)).await.unwrap();
    assert!(metrics.status().is_success());
    let text = reqwest::get(format!("{}/metrics", d.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let figure = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is in /metrics"))
            .parse()
            .unwrap()
    };
    assert!(figure(&text, "gdl_http_connection_cap_reached_total") >= 1.0);
    // Open now: the idle socket left and the connection asking; the others are gone once
    // the server has seen them close.
    crate::support::eventually(Duration::from_secs(10), || async {
        let text = reqwest::get(format!("{}/metrics", d.url))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (figure(&text, "gdl_http_connections") == 2.0).then_some(())
    })
    .await;
}

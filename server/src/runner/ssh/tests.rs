use super::*;

#[tokio::test]
async fn connect_failures_are_typed() {
    let key = SshPrivateKey::new(
        "-----BEGIN RSA PRIVATE KEY-----\nnot base64!\n-----END RSA PRIVATE KEY-----\n".into(),
    );
    let address = SshAddress {
        host: "127.0.0.1".into(),
        port: 9,
        user: "root".into(),
    };
    let err = SshHost::connect(&address, &key, Duration::from_secs(2), &Default::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, HostError::KeyInvalid(_)), "{err}");
    // A port nothing listens on: refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (pem, _) = crate::simulator::ssh::session_key().unwrap();
    let key = SshPrivateKey::new(pem);
    let err = SshHost::connect(
        &SshAddress {
            port,
            ..address.clone()
        },
        &key,
        Duration::from_secs(2),
        &Default::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, HostError::ConnectionRefused { .. }), "{err}");
    // A listener that accepts and never speaks: the handshake times out.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let err = SshHost::connect(
        &SshAddress { port, ..address },
        &key,
        Duration::from_millis(300),
        &Default::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, HostError::ConnectTimeout { .. }), "{err}");
    drop(silent);
}

//! The SSH side of the simulated cloud (russh's server): every rented instance gets its own
//! loopback port, as a Vast.ai proxy port or a TensorDock IP would be. It accepts only that
//! session's one-time key for the provider's user, runs exec channels on the session's
//! [`SimHost`] (standard input passed on, output streamed, exit codes kept) and forwards `direct-tcpip` channels to
//! what listens on the host (its vLLM). One host key serves the simulator's whole life.
//!
//! Destroying the instance closes its port and cuts its connections; [`SshServer::set_down`]
//! does the same for every instance at once (new connections are closed on arrival), as
//! when hosts lose their network.

use super::host::{Shell, SimHost, Stream};
use russh::keys::{Algorithm, PrivateKey, PublicKey};
use russh::server::{
    Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelMsg, ChannelOpenFailure, Disconnect};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the simulator's SSH server has seen (`GET /_sim/ssh`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SshStats {
    /// TCP connections accepted on instance ports.
    pub connections: u64,
    /// Logins with the session's key.
    pub logins: u64,
    /// Keys (or users) refused.
    pub refused: u64,
    /// Exec channels run.
    pub execs: u64,
    /// `direct-tcpip` channels forwarded to the host.
    pub forwards: u64,
    /// Connections cut because the instance went away or SSH went down.
    pub cut: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    logins: AtomicU64,
    refused: AtomicU64,
    execs: AtomicU64,
    forwards: AtomicU64,
    cut: AtomicU64,
}

/// The SSH server shared by every instance of one simulator.
pub struct SshServer {
    config: Arc<russh::server::Config>,
    down: watch::Sender<bool>,
    counters: Arc<Counters>,
}

/// Who may log in to one instance, and the machine behind it.
pub struct Access {
    pub user: String,
    pub key: PublicKey,
    pub host: Arc<SimHost>,
}

/// One instance's open SSH port. Closing it (or dropping it) cuts every connection.
pub struct Endpoint {
    port: u16,
    host: Arc<SimHost>,
    stop: CancellationToken,
}

impl Endpoint {
    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The instance is gone: its port closes, connections are cut, vLLM stops.
    pub fn close(&self) {
        self.stop.cancel();
        self.host.power_off();
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.close();
    }
}

impl Default for SshServer {
    fn default() -> Self {
        Self::new()
    }
}

impl SshServer {
    /// A server with a new Ed25519 host key.
    pub fn new() -> Self {
        let host_key = PrivateKey::random(&mut rand010::rng(), Algorithm::Ed25519)
            .expect("Ed25519 key generation does not fail");
        let config = russh::server::Config {
            keys: vec![host_key],
            auth_rejection_time: Duration::from_millis(100),
            auth_rejection_time_initial: Some(Duration::ZERO),
            inactivity_timeout: Some(Duration::from_secs(600)),
            nodelay: true,
            ..Default::default()
        };
        Self {
            config: Arc::new(config),
            down: watch::Sender::new(false),
            counters: Arc::default(),
        }
    }

    /// Opens a loopback port for one instance (inside a tokio runtime).
    pub fn open(&self, access: Access) -> std::io::Result<Endpoint> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let port = listener.local_addr()?.port();
        let stop = CancellationToken::new();
        let endpoint = Endpoint {
            port,
            host: access.host.clone(),
            stop: stop.clone(),
        };
        let conn = Conn {
            access: Arc::new(access),
            counters: self.counters.clone(),
        };
        tokio::spawn(accept_loop(
            listener,
            self.config.clone(),
            conn,
            stop,
            self.down.subscribe(),
        ));
        Ok(endpoint)
    }

    /// Takes every instance's SSH down (cutting connections) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }

    /// Whether SSH is down.
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// The counters now.
    pub fn stats(&self) -> SshStats {
        let c = &self.counters;
        SshStats {
            connections: c.connections.load(Relaxed),
            logins: c.logins.load(Relaxed),
            refused: c.refused.load(Relaxed),
            execs: c.execs.load(Relaxed),
            forwards: c.forwards.load(Relaxed),
            cut: c.cut.load(Relaxed),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    conn: Conn,
    stop: CancellationToken,
    down: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = stop.cancelled() => return,
        };
        conn.counters.connections.fetch_add(1, Relaxed);
        if *down.borrow() {
            drop(stream); // the host's network is down: closed on arrival
            continue;
        }
        tokio::spawn(serve(
            stream,
            config.clone(),
            conn.clone(),
            stop.clone(),
            down.clone(),
        ));
    }
}

/// Runs one connection until it ends, or cuts it when the instance or SSH goes away.
async fn serve(
    stream: TcpStream,
    config: Arc<russh::server::Config>,
    conn: Conn,
    stop: CancellationToken,
    mut down: watch::Receiver<bool>,
) {
    let counters = conn.counters.clone();
    let Ok(running) = russh::server::run_stream(config, stream, conn).await else {
        return;
    };
    let handle = running.handle();
    tokio::select! {
        _ = running => return,
        _ = stop.cancelled() => {}
        _ = down.wait_for(|d| *d) => {}
    }
    counters.cut.fetch_add(1, Relaxed);
    let _ = handle
        .disconnect(
            Disconnect::ConnectionLost,
            "the instance is gone".into(),
            String::new(),
        )
        .await;
}

/// One connection's handler.
#[derive(Clone)]
struct Conn {
    access: Arc<Access>,
    counters: Arc<Counters>,
}

impl Conn {
    fn allowed(&self, user: &str, key: &PublicKey) -> bool {
        user == self.access.user && key.key_data() == self.access.key.key_data()
    }
}

impl Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.allowed(user, offer.public_key) {
            Ok(Auth::Accept)
        } else {
            self.counters.refused.fetch_add(1, Relaxed);
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.allowed(user, key.public_key) {
            self.counters.logins.fetch_add(1, Relaxed);
            Ok(Auth::Accept)
        } else {
            self.counters.refused.fetch_add(1, Relaxed);
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        let host = self.access.host.clone();
        let counters = self.counters.clone();
        tokio::spawn(run_channel(channel, host, counters));
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The command itself reaches the channel's task as `ChannelMsg::Exec`.
        session.channel_success(channel)?;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let local = matches!(
            host_to_connect,
            "127.0.0.1" | "localhost" | "::1" | "0.0.0.0"
        );
        let target = u16::try_from(port_to_connect)
            .ok()
            .filter(|_| local)
            .and_then(|port| self.access.host.tcp_target(port));
        let Some(addr) = target else {
            reply.reject(ChannelOpenFailure::ConnectFailed).await;
            return Ok(());
        };
        let Ok(mut socket) = TcpStream::connect(addr).await else {
            reply.reject(ChannelOpenFailure::ConnectFailed).await;
            return Ok(());
        };
        reply.accept().await;
        self.counters.forwards.fetch_add(1, Relaxed);
        tokio::spawn(async move {
            let mut stream = channel.into_stream();
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut socket).await;
        });
        Ok(())
    }
}

/// The most standard input an exec keeps (the rest is dropped, as a full pipe would stall).
const MAX_STDIN: usize = 1 << 20;

/// A session channel: waits for its exec request, runs it on the host with the channel's
/// data (up to the client's end of file) as its standard input, streams the output back
/// and ends with the exit status. Shells and subsystems are refused.
async fn run_channel(channel: Channel<Msg>, host: Arc<SimHost>, counters: Arc<Counters>) {
    let (mut read, channel) = channel.split();
    let command = loop {
        match read.wait().await {
            Some(ChannelMsg::Exec { command, .. }) => {
                break String::from_utf8_lossy(&command).into_owned()
            }
            Some(ChannelMsg::RequestShell { .. } | ChannelMsg::RequestSubsystem { .. }) => {
                let _ = channel
                    .extended_data_bytes(1, &b"sim-host: only exec is simulated, not shells\n"[..])
                    .await;
                let _ = channel.exit_status(1).await;
                let _ = channel.close().await;
                return;
            }
            Some(_) => continue,
            None => return,
        }
    };
    counters.execs.fetch_add(1, Relaxed);
    let (stdin_tx, stdin_rx) = tokio::sync::oneshot::channel();
    let stdin = tokio::spawn(async move {
        let mut input = Vec::new();
        while let Some(message) = read.wait().await {
            match message {
                ChannelMsg::Data { data } if input.len() + data.len() <= MAX_STDIN => {
                    input.extend_from_slice(&data)
                }
                ChannelMsg::Eof => break,
                _ => {}
            }
        }
        let _ = stdin_tx.send(input);
    });
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let run = async {
        let code = host
            .exec_in(&command, Shell::with_stdin(stdin_rx), &tx)
            .await;
        drop(tx);
        code
    };
    let send = async {
        while let Some((stream, text)) = rx.recv().await {
            let sent = match stream {
                Stream::Stdout => channel.data_bytes(text.into_bytes()).await,
                Stream::Stderr => channel.extended_data_bytes(1, text.into_bytes()).await,
            };
            if sent.is_err() {
                return false; // the client went away
            }
        }
        true
    };
    let (code, delivered) = tokio::join!(run, send);
    if delivered {
        let _ = channel.exit_status(code as u32).await;
        let _ = channel.eof().await;
        let _ = channel.close().await;
    }
    stdin.abort();
}

/// A one-time key for a session, as the broker makes them: RSA in PKCS#1 PEM (2048-bit
/// here, 4096 at the broker; same format, a quarter of the CPU). Returns the PEM and the
/// public key the instance will accept. CPU-bound: call it from a blocking task.
pub fn session_key() -> Result<(String, PublicKey), String> {
    use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand010::rng(), 2048).map_err(|e| e.to_string())?;
    let pem = private
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    let keypair =
        russh::keys::ssh_key::private::RsaKeypair::try_from(private).map_err(|e| e.to_string())?;
    let public = PrivateKey::from(keypair).public_key().clone();
    Ok((pem.to_string(), public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_are_pkcs1_pem_that_russh_reads() {
        let (pem, public) = session_key().unwrap();
        assert!(
            pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"),
            "{pem}"
        );
        let parsed = russh::keys::decode_secret_key(&pem, None).unwrap();
        assert_eq!(parsed.public_key().key_data(), public.key_data());
        let (other, _) = session_key().unwrap();
        assert_ne!(pem, other, "one key per session");
    }
}

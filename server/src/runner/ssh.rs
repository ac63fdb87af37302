//! The host over SSH (russh, pure Rust), for real clouds and the simulated one alike:
//! public-key login with the broker's one-time key, exec with timeouts (output streamed line
//! by line when asked), and local port forwarding through `direct-tcpip` channels (Vast.ai's
//! SSH proxy exposes nothing else). Every failure is a typed [`HostError`].
//!
//! The key is parsed in memory and never written to disk; the parsed copy lives as long as
//! the connection. The broker gives no host key to compare with, so it is trusted on first
//! use per session: a [`HostKeyPin`] remembers the first key seen, and a different one on a
//! retry is refused (`host_key_changed`). A deployment keeps its [`Login`] to connect again
//! when the connection drops.

mod host_key;
mod login;

use host_key::CheckHostKey;
pub use host_key::HostKeyPin;
pub use login::Login;

use super::bounded::{Lines, Tail, Utf8Stream, EXEC_TAIL};
use super::host::{ExecOutput, HostError, RemoteHost};
use futures::future::BoxFuture;
use gdl_model::secret::SshPrivateKey;
use russh::client::{self, Handle};
use russh::keys::{decode_secret_key, PrivateKeyWithHashAlg};
use russh::ChannelMsg;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A connected SSH host.
pub struct SshHost {
    handle: Arc<Handle<CheckHostKey>>,
    forwards: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// Where to log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshAddress {
    pub host: String,
    pub port: u16,
    pub user: String,
}

impl std::fmt::Display for SshAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

impl SshAddress {
    /// The IP addresses the host name resolves to now. A connection's attempts resolve it
    /// once and connect to what was checked (a name that changes its answer between the
    /// check and the connect cannot lead elsewhere).
    pub async fn resolve(&self) -> Result<Vec<SocketAddr>, HostError> {
        let unreachable = |detail: String| HostError::Unreachable {
            address: format!("{}:{}", self.host, self.port),
            detail,
        };
        let found: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| unreachable(format!("cannot resolve the host name ({e})")))?
            .collect();
        if found.is_empty() {
            return Err(unreachable("the host name resolves to no address".into()));
        }
        Ok(found)
    }
}

impl SshHost {
    /// Resolves `address`, then connects to its first IP address ([`SshHost::connect_at`]).
    pub async fn connect(
        address: &SshAddress,
        key: &SshPrivateKey,
        timeout: Duration,
        pin: &HostKeyPin,
    ) -> Result<Self, HostError> {
        let at = address.resolve().await?[0];
        Self::connect_at(at, address, key, timeout, pin).await
    }

    /// Connects to `at` (what `address` resolved to) and logs in as `address.user` with
    /// `key`, within `timeout` (TCP and handshake together), checking the host key against
    /// `pin` (which remembers it if it is the first). The name is not resolved again.
    pub async fn connect_at(
        at: SocketAddr,
        address: &SshAddress,
        key: &SshPrivateKey,
        timeout: Duration,
        pin: &HostKeyPin,
    ) -> Result<Self, HostError> {
        let private = decode_secret_key(key.expose_pem(), None)
            .map_err(|e| HostError::KeyInvalid(e.to_string()))?;
        let target = format!("{}:{}", address.host, address.port);
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(600)),
            keepalive_interval: Some(Duration::from_secs(15)),
            nodelay: true,
            ..Default::default()
        });
        let connect = async {
            let socket = TcpStream::connect(at)
                .await
                .map_err(|e| classify_io(&target, e))?;
            let _ = socket.set_nodelay(true);
            let mut handle = client::connect_stream(config, socket, CheckHostKey(pin.clone()))
                .await
                .map_err(|e| match e {
                    russh::Error::UnknownKey => {
                        let (pinned, presented) = pin.mismatch();
                        HostError::HostKeyChanged {
                            address: target.clone(),
                            pinned,
                            presented,
                        }
                    }
                    other => handshake_error(&target, other),
                })?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(|e| handshake_error(&target, e))?
                .flatten();
            let auth = handle
                .authenticate_publickey(
                    &address.user,
                    PrivateKeyWithHashAlg::new(Arc::new(private), hash),
                )
                .await
                .map_err(|e| handshake_error(&target, e))?;
            if !auth.success() {
                return Err(HostError::AuthRefused {
                    user: address.user.clone(),
                    address: target.clone(),
                });
            }
            Ok(handle)
        };
        let handle = tokio::time::timeout(timeout, connect).await.map_err(|_| {
            HostError::ConnectTimeout {
                address: target.clone(),
                after: timeout,
            }
        })??;
        Ok(Self {
            handle: Arc::new(handle),
            forwards: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    fn lost(&self, e: impl std::fmt::Display) -> HostError {
        if self.is_closed() {
            HostError::Disconnected(e.to_string())
        } else {
            HostError::Channel(e.to_string())
        }
    }

    async fn run(
        &self,
        command: &str,
        input: Option<&[u8]>,
        timeout: Duration,
        on_line: Option<&(dyn Fn(&str) + Send + Sync)>,
    ) -> Result<ExecOutput, HostError> {
        let work = async {
            let mut channel = self
                .handle
                .channel_open_session()
                .await
                .map_err(|e| self.lost(e))?;
            channel
                .exec(true, command)
                .await
                .map_err(|e| self.lost(e))?;
            if let Some(input) = input {
                // Standard input: the data, then end of file (`cat` ends there).
                channel.data(input).await.map_err(|e| self.lost(e))?;
                channel.eof().await.map_err(|e| self.lost(e))?;
            }
            // Bounded whatever the host prints: the tail of each stream, lines cut short.
            let mut stdout = Tail::new(EXEC_TAIL);
            let mut stderr = Tail::new(EXEC_TAIL);
            let mut lines = Lines::default();
            let mut each = |line: &str| {
                if let Some(on_line) = on_line {
                    on_line(line)
                }
            };
            let mut status = None;
            // A character may be split between two packets.
            let (mut out_text, mut err_text) = (Utf8Stream::default(), Utf8Stream::default());
            while let Some(message) = channel.wait().await {
                match message {
                    ChannelMsg::Data { data } => {
                        let text = out_text.push(&data);
                        stdout.push(&text);
                        if on_line.is_some() {
                            lines.feed(&text, &mut each);
                        }
                    }
                    ChannelMsg::ExtendedData { data, .. } => stderr.push(&err_text.push(&data)),
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status as i32),
                    ChannelMsg::ExitSignal { .. } => status = Some(-1),
                    _ => {}
                }
            }
            let Some(code) = status else {
                // The channel ended without saying how the command ended: the host went away.
                return Err(HostError::Disconnected(format!(
                    "while running `{}`",
                    shorten(command)
                )));
            };
            let rest = out_text.finish();
            stdout.push(&rest);
            lines.feed(&rest, &mut each);
            stderr.push(&err_text.finish());
            lines.finish(&mut each);
            Ok(ExecOutput {
                stdout: stdout.finish(),
                stderr: stderr.finish(),
                exit_code: code,
            })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| HostError::CommandTimeout(timeout, shorten(command)))?
    }
}

/// How a command is shown in an error: values that may be secrets redacted, shortened.
fn shorten(command: &str) -> String {
    super::shell::redact(command, 80)
}

/// A TCP connect failure, by kind.
fn classify_io(address: &str, e: std::io::Error) -> HostError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => HostError::ConnectionRefused {
            address: address.into(),
        },
        ErrorKind::TimedOut => HostError::ConnectTimeout {
            address: address.into(),
            after: Duration::ZERO,
        },
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
            HostError::Disconnected(e.to_string())
        }
        _ => HostError::Unreachable {
            address: address.into(),
            detail: e.to_string(),
        },
    }
}

/// A failure after TCP connected: the host closed the connection, or spoke no SSH.
fn handshake_error(address: &str, e: russh::Error) -> HostError {
    match e {
        russh::Error::IO(io) => classify_io(address, io),
        russh::Error::Disconnect | russh::Error::HUP => {
            HostError::Disconnected(format!("{address} closed the connection during login"))
        }
        other => HostError::Disconnected(format!("{address}: {other}")),
    }
}

impl RemoteHost for SshHost {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        Box::pin(self.run(command, None, timeout, None))
    }

    fn exec_streaming<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
        on_line: &'a (dyn Fn(&str) + Send + Sync),
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        Box::pin(self.run(command, None, timeout, Some(on_line)))
    }

    fn exec_with_input<'a>(
        &'a self,
        command: &'a str,
        input: &'a [u8],
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        Box::pin(self.run(command, Some(input), timeout, None))
    }

    fn forward<'a>(&'a self, remote_port: u16) -> BoxFuture<'a, Result<SocketAddr, HostError>> {
        Box::pin(async move {
            if self.is_closed() {
                return Err(HostError::Disconnected("before forwarding a port".into()));
            }
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| HostError::Channel(e.to_string()))?;
            let local = listener
                .local_addr()
                .map_err(|e| HostError::Channel(e.to_string()))?;
            let handle = self.handle.clone();
            let task = tokio::spawn(async move {
                while let Ok((mut socket, peer)) = listener.accept().await {
                    // The engine's reply comes in small writes (headers, then one event a
                    // token): with Nagle's algorithm each would wait for the client's
                    // delayed ACK of the one before, up to 40 ms onto time to first token.
                    let _ = socket.set_nodelay(true);
                    let handle = handle.clone();
                    tokio::spawn(async move {
                        let channel = match handle
                            .channel_open_direct_tcpip(
                                "127.0.0.1",
                                remote_port as u32,
                                peer.ip().to_string(),
                                peer.port() as u32,
                            )
                            .await
                        {
                            Ok(c) => c,
                            Err(e) => {
                                tracing::warn!(error = %e, remote_port, "port forward refused by the host");
                                return;
                            }
                        };
                        let mut stream = channel.into_stream();
                        let _ = tokio::io::copy_bidirectional(&mut socket, &mut stream).await;
                    });
                }
            });
            self.forwards.lock().unwrap().push(task);
            Ok(local)
        })
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        for task in self.forwards.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests;

//! A real host over SSH (russh, pure Rust): public-key login with the broker's one-time
//! key, exec with timeouts (output streamed line by line when asked), and local port
//! forwarding through `direct-tcpip` channels (Vast.ai's SSH proxy exposes nothing else).
//!
//! The key is parsed in memory and never written to disk; the parsed copy lives as long as
//! the connection. Host keys are not pinned: the broker gives none to compare with.

use super::host::{ExecOutput, HostError, RemoteHost};
use futures::future::BoxFuture;
use gdl_model::secret::SshPrivateKey;
use russh::client::{self, Handle};
use russh::keys::{decode_secret_key, PrivateKeyWithHashAlg};
use russh::ChannelMsg;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Accepts the server's host key (the broker provides none to verify against).
struct AcceptHostKey;

impl client::Handler for AcceptHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// A connected SSH host.
pub struct SshHost {
    handle: Arc<Handle<AcceptHostKey>>,
    forwards: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl SshHost {
    /// Connects and logs in with `key`, within `timeout`.
    pub async fn connect(
        host: &str,
        port: u16,
        user: &str,
        key: &SshPrivateKey,
        timeout: Duration,
    ) -> Result<Self, HostError> {
        let private = decode_secret_key(key.expose_pem(), None)
            .map_err(|e| HostError::Connect(format!("the private key cannot be read: {e}")))?;
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(600)),
            keepalive_interval: Some(Duration::from_secs(15)),
            ..Default::default()
        });
        let connect = async {
            let mut handle = client::connect(config, (host, port), AcceptHostKey)
                .await
                .map_err(|e| HostError::Connect(format!("{host}:{port}: {e}")))?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(|e| HostError::Connect(e.to_string()))?
                .flatten();
            let auth = handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(private), hash))
                .await
                .map_err(|e| HostError::Connect(e.to_string()))?;
            if !auth.success() {
                return Err(HostError::Connect(format!(
                    "{user}@{host}:{port} refused the key"
                )));
            }
            Ok(handle)
        };
        let handle = tokio::time::timeout(timeout, connect).await.map_err(|_| {
            HostError::Connect(format!(
                "{host}:{port} did not answer within {} s",
                timeout.as_secs()
            ))
        })??;
        Ok(Self {
            handle: Arc::new(handle),
            forwards: std::sync::Mutex::new(Vec::new()),
        })
    }

    async fn run(
        &self,
        command: &str,
        timeout: Duration,
        on_line: Option<&(dyn Fn(&str) + Send + Sync)>,
    ) -> Result<ExecOutput, HostError> {
        let work = async {
            let mut channel = self
                .handle
                .channel_open_session()
                .await
                .map_err(|e| HostError::Channel(e.to_string()))?;
            channel
                .exec(true, command)
                .await
                .map_err(|e| HostError::Channel(e.to_string()))?;
            let mut out = ExecOutput {
                exit_code: -1,
                ..Default::default()
            };
            let mut pending = String::new();
            while let Some(message) = channel.wait().await {
                match message {
                    ChannelMsg::Data { data } => {
                        let text = String::from_utf8_lossy(&data);
                        out.stdout.push_str(&text);
                        if let Some(on_line) = on_line {
                            pending.push_str(&text);
                            while let Some(end) = pending.find(['\n', '\r']) {
                                let line: String = pending.drain(..=end).collect();
                                if !line.trim().is_empty() {
                                    on_line(line.trim_end());
                                }
                            }
                        }
                    }
                    ChannelMsg::ExtendedData { data, .. } => {
                        out.stderr.push_str(&String::from_utf8_lossy(&data))
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.exit_code = exit_status as i32,
                    _ => {}
                }
            }
            if let (Some(on_line), false) = (on_line, pending.trim().is_empty()) {
                on_line(pending.trim_end());
            }
            Ok(out)
        };
        let shown: String = command.chars().take(60).collect();
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| HostError::Timeout(timeout, shown))?
    }
}

impl RemoteHost for SshHost {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        Box::pin(self.run(command, timeout, None))
    }

    fn exec_streaming<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
        on_line: &'a (dyn Fn(&str) + Send + Sync),
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        Box::pin(self.run(command, timeout, Some(on_line)))
    }

    fn forward<'a>(&'a self, remote_port: u16) -> BoxFuture<'a, Result<SocketAddr, HostError>> {
        Box::pin(async move {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| HostError::Channel(e.to_string()))?;
            let local = listener
                .local_addr()
                .map_err(|e| HostError::Channel(e.to_string()))?;
            let handle = self.handle.clone();
            let task = tokio::spawn(async move {
                while let Ok((mut socket, peer)) = listener.accept().await {
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

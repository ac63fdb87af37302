//! Step 6, Connect SSH: logs in with the session's one-time key (which is dropped, and so
//! wiped, once logged in), retrying while the host comes up; then checks that its shell
//! runs commands.

use super::{Connected, Deps, RunningSession};
use crate::runner::error::StepError;
use crate::runner::host::{HostError, RemoteHost};
use crate::runner::ssh::{SshAddress, SshHost};
use gdl_model::code::ErrorCode;
use std::time::Duration;

/// Login attempts while the host comes up.
const ATTEMPTS: u64 = 4;
/// Time for one attempt (TCP connect, handshake, login).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(d: &Deps<'_>, running: RunningSession) -> Result<Connected, StepError> {
    let RunningSession {
        session,
        key,
        offer,
    } = running;
    let host = session.ssh_host.clone().ok_or_else(|| {
        StepError::new(
            ErrorCode::SshNoAddress,
            format!(
                "the broker reports session {} running but gives no SSH host",
                session.id
            ),
        )
        .hint("The broker fills the SSH address in while provisioning; check its logs.")
    })?;
    let address = SshAddress {
        host,
        port: session.ssh_port.unwrap_or(22),
        user: session.ssh_user.clone().unwrap_or_else(|| "root".into()),
    };
    let mut attempt = 0;
    let ssh = loop {
        attempt += 1;
        match SshHost::connect(&address, &key, ATTEMPT_TIMEOUT).await {
            Ok(ssh) => break ssh,
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                d.ctx.warn(&format!(
                    "SSH attempt {attempt} to {address} failed: {e}; retrying"
                ));
                tokio::time::sleep(Duration::from_secs(5 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    drop(key);
    let hello = ssh.exec("echo connected", Duration::from_secs(30)).await?;
    if hello.exit_code != 0 || hello.stdout.trim() != "connected" {
        return Err(HostError::Channel(format!(
            "`echo connected` exited {}: {}",
            hello.exit_code,
            hello.stderr.trim()
        ))
        .into());
    }
    d.ctx.info(&format!("SSH connected to {address}"));
    Ok(Connected {
        host: Box::new(ssh),
        offer,
    })
}

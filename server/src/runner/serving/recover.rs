//! A serving deployment that stopped answering, brought back or ended. Requests meanwhile
//! fail fast with `deployment_not_ready` (the gateway has no upstream), never hang.
//!
//! - The SSH connection dropped: logged in again with the kept [`Login`] (the address
//!   checked at first, the host key pinned then), at most
//!   [`ServingConfig::reconnects`](super::ServingConfig) times with a growing wait, and
//!   the tunnel opened again; the broker is asked first each time, and a session it
//!   ended is `host_lost` at once, as is a host that never takes the login again.
//! - The engine crashed: restarted with the same key, at most
//!   [`ServingConfig::max_restarts`](super::ServingConfig) times with a growing wait.

use super::{forward_to, healthy, Ending, Ticket};
use crate::runner::host::{HostError, RemoteHost};
use crate::runner::ssh::Login;
use crate::runner::steps::{install, Deps, Served, Target};
use crate::runner::vllm::PORT;
use gdl_model::deployments::{DeploymentStatus, StopReason};
use std::time::Duration;

/// Time for one login (TCP connect, handshake, login).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait between two reconnect attempts.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The host and tunnel a serving deployment talks through.
pub struct Link<'a> {
    /// The connection it began serving over.
    pub first: &'a dyn RemoteHost,
    /// The connection made again after the first dropped (it replaces it).
    pub again: Option<Box<dyn RemoteHost>>,
    /// How to log in again (kept for deployments; `None` cannot reconnect).
    pub login: Option<Login>,
    /// The tunnel's local end and the engine's key.
    pub target: Target,
    /// Its secrets are sealed: a shutdown leaves it serving.
    pub sealed: bool,
}

impl Link<'_> {
    /// The connection in use.
    pub fn host(&self) -> &dyn RemoteHost {
        self.again.as_deref().unwrap_or(self.first)
    }
}

/// The engine stopped answering `/health` through the tunnel: reconnect SSH if it dropped,
/// restart the engine if it crashed, or end the deployment.
pub async fn recover(
    d: &Deps<'_>,
    link: &mut Link<'_>,
    served: &Served,
    t: &Ticket,
) -> Result<(), Ending> {
    let live = &t.live;
    live.set_upstream(None);
    live.change(|x| x.status = DeploymentStatus::Recovering);
    t.registry.flush(live).await;
    if let Err(e) = link.host().exec("true", Duration::from_secs(20)).await {
        reconnect(d, link, t, e).await?;
        let http = crate::runner::loadgen::host_client(Some(Duration::from_secs(5)));
        if healthy(&http, &link.target.base_url).await {
            return serving_again(d, link, t, "SSH reconnected; serving again").await;
        }
    }
    restart(d, link, served, t).await
}

/// Lets the gateway forward again and says so.
async fn serving_again(
    d: &Deps<'_>,
    link: &Link<'_>,
    t: &Ticket,
    said: &str,
) -> Result<(), Ending> {
    forward_to(&t.live, &link.target);
    t.live.change(|x| x.status = DeploymentStatus::Serving);
    d.ctx.info(said);
    t.registry.flush(&t.live).await;
    Ok(())
}

/// Waits `wait` unless a person stops it or the dashboard shuts down meanwhile.
async fn pause(d: &Deps<'_>, link: &Link<'_>, t: &Ticket, wait: Duration) -> Result<(), Ending> {
    tokio::select! {
        _ = tokio::time::sleep(wait) => Ok(()),
        _ = t.live.stop.cancelled() => Err(Ending::requested()),
        _ = d.ctx.cancel_token().cancelled() => Err(Ending::shutdown(link.sealed)),
    }
}

/// Ends the deployment for `reason`, saying so on its run.
fn ends(d: &Deps<'_>, reason: StopReason, message: String) -> Ending {
    d.ctx.error(&format!("Deployment ends: {message}"));
    Ending::new(reason, message)
}

/// Logs in again and opens the tunnel again; `host_lost` when the broker has ended the
/// session or every attempt failed.
async fn reconnect(
    d: &Deps<'_>,
    link: &mut Link<'_>,
    t: &Ticket,
    cause: HostError,
) -> Result<(), Ending> {
    let Some(login) = link.login.clone() else {
        let message = format!("the host stopped answering over SSH ({cause})");
        return Err(ends(d, StopReason::HostLost, message));
    };
    let attempts = d.config.serving.reconnects;
    d.ctx.warn(&format!(
        "The SSH connection to the host dropped ({cause}); reconnecting (at most {attempts} attempts)"
    ));
    let mut wait = d.config.serving.reconnect_backoff;
    let mut last = cause;
    for attempt in 1..=attempts {
        if let Some(gone) = session_ended(d, t).await {
            return Err(ends(d, StopReason::HostLost, gone));
        }
        match connect(&login).await {
            Ok((host, base_url)) => {
                d.ctx.info(&format!(
                    "SSH connected again to {} (attempt {attempt}); tunnel {base_url}",
                    login.address
                ));
                link.again = Some(host);
                link.target.base_url = base_url;
                return Ok(());
            }
            Err(e @ HostError::HostKeyChanged { .. }) => {
                let message = format!("reconnecting refused: {e}");
                return Err(ends(d, StopReason::HostLost, message));
            }
            Err(e) => {
                d.ctx.warn(&format!(
                    "SSH reconnect attempt {attempt} of {attempts} failed: {e}"
                ));
                last = e;
            }
        }
        if attempt < attempts {
            pause(d, link, t, wait).await?;
            wait = (wait * 2).min(MAX_WAIT);
        }
    }
    let message = format!(
        "the host stopped answering over SSH and {attempts} reconnect attempts failed (the last: {last})"
    );
    Err(ends(d, StopReason::HostLost, message))
}

/// Logs in with `login` and forwards a local port to the engine's.
pub async fn connect(login: &Login) -> Result<(Box<dyn RemoteHost>, String), HostError> {
    let host = login.connect(LOGIN_TIMEOUT).await?;
    let local = host.forward(PORT).await?;
    Ok((Box::new(host), format!("http://{local}")))
}

/// Why the broker says the deployment's session is over, if it does.
async fn session_ended(d: &Deps<'_>, t: &Ticket) -> Option<String> {
    let id = t.live.read(|x| x.session_id.clone())?;
    match d.client.get_session(id.as_str()).await {
        Ok(s)
            if s.status.is_terminal()
                || s.status == gdl_model::shopper::SessionStatus::Stopping =>
        {
            Some(format!(
                "the broker ended session {id} ({}: {}): not reconnecting",
                s.status,
                s.error_text().unwrap_or("no reason given")
            ))
        }
        Err(crate::shopper::ShopperError::NotFound { .. }) => Some(format!(
            "the broker no longer knows session {id}: not reconnecting"
        )),
        _ => None,
    }
}

/// The engine crashed: restart it (a bounded number of times, waiting longer each time),
/// or end the deployment.
async fn restart(d: &Deps<'_>, link: &Link<'_>, served: &Served, t: &Ticket) -> Result<(), Ending> {
    let live = &t.live;
    let config = &d.config.serving;
    let engine = served.launch.engine();
    if served.launch.broker_launched() {
        let message = format!("{engine} stopped answering, and the broker started it: it cannot be restarted over SSH");
        return Err(ends(d, StopReason::EngineFailed, message));
    }
    let done = live.read(|x| x.restarts);
    if done >= config.max_restarts {
        let message =
            format!("{engine} stopped answering after {done} restart(s), the most allowed");
        return Err(ends(d, StopReason::EngineFailed, message));
    }
    let wait = config.restart_backoff * 2u32.pow(done);
    d.ctx.warn(&format!(
        "{engine} stopped answering /health; restarting it in {} s (restart {} of at most {})",
        wait.as_secs_f64(),
        done + 1,
        config.max_restarts
    ));
    pause(d, link, t, wait).await?;
    live.change(|x| x.restarts += 1);
    if let Err(e) = install::restart(d, link.host(), &served.launch, &served.api_key).await {
        let message = format!("restarting {engine} failed: {e}");
        return Err(ends(d, StopReason::EngineFailed, message));
    }
    serving_again(d, link, t, &format!("{engine} restarted and serving again")).await
}

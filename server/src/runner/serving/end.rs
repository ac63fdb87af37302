//! A deployment's secrets sealed as it begins serving, and how its serving ends: stopped
//! (its run's Cleanup has destroyed the session; [`ended`] records the outcome and forgets
//! the sealed secrets), or left serving at the dashboard's shutdown for the next start to
//! resume ([`detach`]).

use super::{Ending, Ticket};
use crate::deploy::ResumeSecrets;
use crate::runner::ssh::Login;
use crate::runner::steps::{Deps, Served};
use chrono::Utc;
use gdl_model::deployments::DeploymentStatus;
use zeroize::Zeroizing;

/// With the operator's key, seals what resuming the deployment needs (its SSH login and
/// the engine's key) into the store; whether it did.
pub async fn seal(d: &Deps<'_>, login: Option<&Login>, served: &Served, t: &Ticket) -> bool {
    let Some(key) = &d.config.serving.seal else {
        return false;
    };
    let id = &t.live.id;
    let sealed = match login.and_then(|l| Some((l, l.pin.fingerprint()?))) {
        Some((login, host_key)) => key.seal(
            id,
            &ResumeSecrets {
                ssh_key: Zeroizing::new(login.key.expose_pem().to_owned()),
                host: login.address.host.clone(),
                port: login.address.port,
                user: login.address.user.clone(),
                at: login.at.to_string(),
                host_key,
                engine_key: served.api_key.clone(),
            },
        ),
        None => Err("no SSH login was kept".to_owned()),
    };
    let saved = match sealed {
        Ok(sealed) => d
            .ctx
            .store()
            .save_deployment_secret(id, sealed)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => true,
        Err(e) => {
            d.ctx.warn(&format!("The deployment's secrets could not be sealed ({e}): if the dashboard restarts, it is stopped rather than resumed"));
            t.live.change(|x| x.resumable = false);
            false
        }
    }
}

/// The dashboard shuts down with the deployment sealed: it is left serving (its session,
/// engine and record as they are) for the next start to resume; nothing is destroyed.
pub async fn detach(d: &Deps<'_>, t: &Ticket) {
    let message = "left serving when the dashboard shut down; the next start resumes it (its secrets are sealed)";
    d.ctx.warn(&format!("Deployment {message}"));
    tracing::warn!(deployment = %t.live.id, "deployment left serving at shutdown, sealed for the next start");
    t.live.change(|x| x.message = Some(message.to_owned()));
    t.registry.forget(&t.live).await;
}

/// Records how the deployment ended, once the run's Cleanup has destroyed its session,
/// and forgets its sealed secrets.
pub async fn ended(d: &Deps<'_>, t: &Ticket, ending: Ending) {
    let cleanup = d.ctx.read(|run| run.cleanup.clone());
    let confirmed = cleanup.as_ref().is_some_and(|c| c.destroyed_confirmed);
    let mut message = ending.message.clone();
    match &cleanup {
        Some(c) if c.destroyed_confirmed => {
            message.push_str("; session destroyed, confirmed by the broker")
        }
        Some(c) => message.push_str(&format!("; {}", c.message)),
        None => {}
    }
    let now = Utc::now();
    let spend = d.ctx.read(|run| run.cost_usd(now));
    t.live.change(|x| {
        x.status = if ending.failed() {
            DeploymentStatus::Failed
        } else {
            DeploymentStatus::Stopped
        };
        x.stop_reason = Some(ending.reason);
        x.message = Some(message.clone());
        x.ended_at = Some(now);
        x.spend_usd = spend;
    });
    if !confirmed {
        d.ctx.warn("The deployment's session is not confirmed destroyed yet: the reconciler keeps asking the broker");
    }
    if let Err(e) = d.ctx.store().delete_deployment_secret(&t.live.id).await {
        tracing::error!(deployment = %t.live.id, error = %e, "cannot forget a deployment's sealed secrets");
    }
    t.registry.forget(&t.live).await;
}

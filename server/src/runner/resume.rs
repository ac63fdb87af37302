//! After a restart, before runs left unfinished are closed: every deployment a previous
//! process did not end is taken back or stopped, never left running unwatched.
//!
//! - Taken back (resumed) when the dashboard has its secret key, the deployment's secrets
//!   were sealed, its run is still going, the broker still runs its session, SSH logs in
//!   again (to the address checked and the host key pinned at first) and the engine answers
//!   `/health` through a new tunnel. Its run stays owned (the reconciler leaves it alone)
//!   and its serving loop, then its Cleanup, go on in a task.
//! - Otherwise stopped with `not_resumed` and the reason: its run is closed as interrupted
//!   and the reconciler destroys its session; the record says so, then says when the broker
//!   confirmed it.

use super::context::RunContext;
use super::owned::Owned;
use super::serving::{self, Link, Ticket};
use super::ssh::{HostKeyPin, Login, SshAddress};
use super::steps::{cleanup, Deps, Served, Target};
use super::vllm::{Deployment as Launching, Launch};
use super::{outcome, Active, Runner};
use crate::deploy::Upstream;
use crate::store::{Lease, StoreError};
use chrono::Utc;
use gdl_model::deployments::{Deployment, DeploymentStatus, StopReason};
use gdl_model::ids::RunId;
use gdl_model::live::LiveEvent;
use gdl_model::runs::{Run, RunStatus};
use gdl_model::secret::SshPrivateKey;
use gdl_model::shopper::SessionStatus;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A deployment reconnected, ready to serve again.
struct Back {
    record: Deployment,
    run: Run,
    login: Login,
    host: Box<dyn super::host::RemoteHost>,
    served: Served,
    target: Target,
}

/// Resumes or stops each deployment not ended whose run no live replica owns (`wanted`
/// picks among them); returns the runs of those resumed (they stay running).
pub(super) async fn deployments(
    runner: &Runner,
    wanted: impl Fn(&Deployment) -> bool,
) -> Result<HashSet<RunId>, StoreError> {
    let store = runner.store();
    let (owner, ttl) = (&runner.inner.replica, runner.inner.config.leases.ttl);
    let mut claimed = Vec::new();
    for record in store.deployments(true, 1000).await? {
        if !wanted(&record) {
            continue;
        }
        // Another replica serves it (its run's lease is live): it is left to that one.
        if let Some(lease) = store.claim_run(&record.run_id, owner, ttl).await? {
            claimed.push((record, lease));
        }
    }
    let mut resumed = HashSet::new();
    let mut back = Vec::new();
    // Reconnected side by side: one slow host does not hold up the others.
    let tried = futures::future::join_all(claimed.iter().map(|(r, _)| take_back(runner, r))).await;
    for ((record, lease), tried) in claimed.into_iter().zip(tried) {
        match tried {
            Ok(b) => {
                resumed.insert(record.run_id.clone());
                back.push((b, lease));
            }
            Err(why) => {
                // Its run is closed next, by whoever claims it.
                store.release(&lease).await?;
                not_resumed(runner, record, why).await?
            }
        }
    }
    runner.deployments().load_keys().await?;
    for (b, lease) in back {
        spawn(runner, b, lease).await;
    }
    Ok(resumed)
}

/// Reconnects to a deployment a previous process left serving, or says why it cannot.
async fn take_back(runner: &Runner, record: &Deployment) -> Result<Back, String> {
    let inner = &runner.inner;
    let store = &inner.store;
    let Some(key) = &inner.config.serving.seal else {
        return Err("the dashboard has no --secret-key-file to resume it with".into());
    };
    if record.status == DeploymentStatus::Starting {
        return Err("it was still being provisioned".into());
    }
    let sealed = store
        .deployment_secret(&record.id)
        .await
        .map_err(|e| format!("its sealed secrets cannot be read ({e})"))?
        .ok_or("its secrets were not sealed (deployed without --secret-key-file)")?;
    let secrets = key.open(&record.id, &sealed)?;
    let run = match store.run(&record.run_id).await {
        Ok(Some(run)) if run.status == RunStatus::Running => run,
        _ => return Err(format!("its run {} is not going any more", record.run_id)),
    };
    let session = record.session_id.clone().ok_or("it has no session")?;
    match inner.client.get_session(session.as_str()).await {
        Ok(s) if s.status == SessionStatus::Running => {}
        Ok(s) => return Err(format!("the broker reports session {session} {}", s.status)),
        Err(e) => {
            return Err(format!(
                "the broker did not confirm session {session} ({e})"
            ))
        }
    }
    let login = Login {
        address: SshAddress {
            host: secrets.host.clone(),
            port: secrets.port,
            user: secrets.user.clone(),
        },
        at: secrets
            .at
            .parse()
            .map_err(|_| "its sealed address is not valid")?,
        key: SshPrivateKey::new(secrets.ssh_key.to_string()),
        pin: HostKeyPin::pinned(&secrets.host_key),
    };
    let (host, base_url) = match serving::connect(&login).await {
        Ok(connected) => connected,
        Err(first) => {
            tracing::warn!(deployment = %record.id, error = %first, "reconnecting a deployment after the restart; trying once more");
            tokio::time::sleep(inner.config.serving.reconnect_backoff).await;
            serving::connect(&login)
                .await
                .map_err(|e| format!("SSH to its host failed ({e})"))?
        }
    };
    let http = super::loadgen::host_client(Some(Duration::from_secs(10)));
    if !serving::healthy(&http, &base_url).await {
        return Err("its engine does not answer /health through the tunnel".into());
    }
    let served = served(&run, secrets.engine_key.clone())?;
    let target = Target {
        base_url,
        api_key: secrets.engine_key.clone(),
        model: record.served_model.clone().unwrap_or(record.model.clone()),
    };
    Ok(Back {
        record: record.clone(),
        run,
        login,
        host,
        served,
        target,
    })
}

/// How the run started its engine (to restart it after a crash), with its key.
fn served(run: &Run, api_key: zeroize::Zeroizing<String>) -> Result<Served, String> {
    let config = &run.config;
    let plan = super::validate(config).map_err(|e| e.to_string())?;
    let offer = run.offer.as_ref().ok_or("its run chose no offer")?;
    let launch = Launch::new(&Launching {
        mode: config.deploy_mode,
        engine: super::engine_fit::Fit::of(config).engine,
        model: &plan.model,
        gpu_count: offer.gpu_count,
        settings: &config.settings,
        compute_capability: gdl_model::gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb)
            .map(|g| g.compute_capability),
    });
    Ok(Served { api_key, launch })
}

/// Serves `b` again in a task owned like a run (under `lease`): then its Cleanup, as for
/// any deployment.
async fn spawn(runner: &Runner, b: Back, lease: Lease) {
    let inner = &runner.inner;
    let Back {
        record,
        run,
        login,
        host,
        served,
        target,
    } = b;
    let id = run.id.clone();
    let cancel = CancellationToken::new();
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let owned = Arc::new(Owned::new(lease, inner.config.leases.ttl, cancel.clone()));
    inner.active.lock().unwrap().insert(
        id.clone(),
        Active {
            cancel: cancel.clone(),
            owned: owned.clone(),
            done: done_rx,
            campaign: false,
        },
    );
    let last = match inner.store.logs(&id, 1).await {
        Ok(lines) => lines.last().map_or(0, |l| l.n),
        Err(_) => 0,
    };
    let ctx = Arc::new(RunContext::new(
        run,
        inner.hub.clone(),
        inner.store.clone(),
        cancel,
        owned.clone(),
    ));
    ctx.continue_log_after(last);
    let registry = runner.deployments().clone();
    let live = registry.watch(record);
    live.bind(owned.clone());
    live.set_upstream(Some(Upstream {
        base_url: target.base_url.clone(),
        api_key: target.api_key.clone(),
    }));
    live.change(|x| {
        x.status = DeploymentStatus::Serving;
        x.message = Some("resumed after the dashboard restarted".into());
    });
    let ticket = Ticket {
        live,
        registry,
        benchmark: false,
    };
    let runner = runner.clone();
    tokio::spawn(async move {
        let inner = &runner.inner;
        let deps = Deps {
            client: &inner.client,
            config: &inner.config,
            ctx: &ctx,
            deploy: true,
        };
        ctx.info(&format!(
            "The dashboard restarted: deployment resumed (SSH connected again to {}, host key {}, tunnel {}, engine healthy)",
            login.address,
            login.pin.fingerprint().unwrap_or_default(),
            target.base_url
        ));
        ticket.registry.flush(&ticket.live).await;
        let link = Link {
            first: host.as_ref(),
            again: None,
            login: Some(login),
            target,
            sealed: true,
        };
        let ending = serving::watch(&deps, link, &served, &ticket).await;
        if ending.detached {
            serving::detach(&deps, &ticket).await;
        } else {
            cleanup::run(&deps, false).await;
            serving::ended(&deps, &ticket, ending).await;
            outcome::finish(&ctx, RunStatus::Passed).await;
        }
        owned.release(&inner.store).await;
        inner.active.lock().unwrap().remove(&id);
        let _ = done_tx.send(true);
        runner.reconcile_soon();
    });
}

/// Stops a deployment that cannot be resumed: its record says why (its run is closed as
/// interrupted next, and the reconciler destroys its session), then, in the background,
/// when the broker confirmed the session gone.
async fn not_resumed(
    runner: &Runner,
    mut record: Deployment,
    why: String,
) -> Result<(), StoreError> {
    let store = runner.store();
    let now = Utc::now();
    tracing::warn!(deployment = %record.id, reason = %why, "a deployment left by the previous process is not resumed: stopping it");
    if let Ok(Some(run)) = store.run(&record.run_id).await {
        record.spend_usd = run.cost_usd(now);
    }
    record.status = DeploymentStatus::Stopped;
    record.stop_reason = Some(StopReason::NotResumed);
    record.ended_at = Some(now);
    record.updated_at = now;
    record.message = Some(format!(
        "not resumed after the dashboard restarted: {why}. Stopped rather than left running unwatched: its run {} is closed and the reconciler destroys its session",
        record.run_id
    ));
    store.save_deployment(&record).await?;
    store.delete_deployment_secret(&record.id).await?;
    runner.inner.hub.publish([LiveEvent::DeploymentUpsert {
        deployment: record.clone(),
    }]);
    let runner = runner.clone();
    tokio::spawn(async move { confirmed_later(&runner, record).await });
    Ok(())
}

/// Adds to a stopped deployment's record that the broker confirmed its session destroyed,
/// once the reconciler has (asked every few seconds, for at most a day).
async fn confirmed_later(runner: &Runner, mut record: Deployment) {
    let store = runner.store();
    for _ in 0..(24 * 60 * 30) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let Ok(Some(run)) = store.run(&record.run_id).await else {
            continue;
        };
        if run.cleanup.as_ref().is_some_and(|c| c.destroyed_confirmed) {
            let now = Utc::now();
            record.spend_usd = run.cost_usd(now);
            record.updated_at = now;
            if let Some(message) = &mut record.message {
                message.push_str("; session destroyed, confirmed by the broker");
            }
            if store.save_deployment(&record).await.is_ok() {
                runner
                    .inner
                    .hub
                    .publish([LiveEvent::DeploymentUpsert { deployment: record }]);
            }
            return;
        }
    }
}

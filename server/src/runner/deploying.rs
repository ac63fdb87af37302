//! Starting a deployment: its guards and key label checked, its record and first key made
//! before its run begins (resumable when the dashboard has a secret key), and the ticket that hands the run's engine to
//! [`super::serving`] after Verify.

use super::serving::Ticket;
use super::{Plan, RunError, Runner};
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::deployments::{
    CreatedKey, DeployRequest, DeployStarted, Deployment, DeploymentStatus, Guards,
};
use gdl_model::error::ApiError;
use gdl_model::ids::{DeploymentId, RunId};
use gdl_model::runs::Run;

/// What a deploy asks of the run besides its test configuration.
pub struct Asked {
    guards: Guards,
    benchmark: bool,
    key_label: String,
}

/// A deployment registered: its record as it begins and its first key.
pub struct Started {
    deployment: Deployment,
    key: CreatedKey,
}

/// The label of the first key when none is given.
const FIRST_KEY: &str = "first key";

/// Registers the deployment `run` provisions and makes its ticket.
pub async fn register(
    runner: &Runner,
    asked: Asked,
    run: &Run,
    plan: &Plan,
) -> Result<(Ticket, Started), RunError> {
    let id = DeploymentId::from(format!(
        "dep-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    let mut record = Deployment::new(
        id,
        run.id.clone(),
        run.config.model.clone(),
        plan.engine.label(),
        asked.guards,
        Utc::now(),
    );
    let weights = run
        .config
        .quantization
        .as_deref()
        .and_then(gdl_model::registry::Quantization::parse);
    record.settings = gdl_model::tuning::setup_words(&run.config.settings, weights);
    // With the operator's key its secrets are sealed as it begins serving.
    record.resumable = runner.inner.config.serving.seal.is_some();
    let registry = runner.deployments().clone();
    let (live, key) = registry
        .create(record, &asked.key_label)
        .await
        .map_err(invalid)?;
    live.change(|_| {});
    registry.flush(&live).await;
    let started = Started {
        deployment: live.snapshot(),
        key,
    };
    Ok((
        Ticket {
            live,
            registry,
            benchmark: asked.benchmark,
        },
        started,
    ))
}

fn invalid(e: ApiError) -> RunError {
    RunError::Invalid {
        code: ErrorCode::parse(&e.code),
        message: e.message,
        hint: e.hint.unwrap_or_default(),
    }
}

impl Runner {
    /// Starts a deployment: a run that provisions it, then keeps it serving.
    pub async fn deploy(&self, request: DeployRequest) -> Result<DeployStarted, RunError> {
        let DeployRequest {
            config,
            guards,
            benchmark,
            key_label,
        } = request;
        guards.check().map_err(|e| {
            RunError::invalid(
                e,
                "Guards: idle_minutes (default 30), max_spend_usd and max_lifetime_hours, each more than 0.",
            )
        })?;
        if config.keep_on_failure {
            return Err(RunError::invalid(
                "keep_on_failure does not apply to a deployment",
                "A deployment that fails is always destroyed; leave keep_on_failure out.",
            ));
        }
        // Tuning is judged by the benchmark's capacity search: a deployment that tunes runs
        // its benchmark before it opens, and serves with the best settings found.
        let benchmark = benchmark || config.tune.is_some();
        let key_label = key_label.unwrap_or_else(|| FIRST_KEY.to_owned());
        let asked = Asked {
            guards,
            benchmark,
            key_label,
        };
        let (run, started) = self.launch(config, Some(asked), false).await?;
        let started = started.expect("a deploy registers its deployment");
        let warning = (!started.deployment.resumable).then(|| {
            "The dashboard has no --secret-key-file: if it restarts, this deployment is stopped and its session destroyed rather than resumed."
                .to_owned()
        });
        Ok(DeployStarted {
            base_path: started.deployment.base_path(),
            id: started.deployment.id,
            run_id: run.id,
            key: started.key,
            warning,
        })
    }

    /// Asks deployment `id` to stop: a deployment still being provisioned has its run
    /// cancelled; one serving ends its serving phase. Either way the run's Cleanup destroys
    /// the session and confirms it.
    pub async fn stop_deployment(&self, id: &DeploymentId) -> Result<Deployment, ApiError> {
        let registry = self.deployments();
        if registry.get(id).is_none() && self.inner.store.shares_events() {
            // Another replica's deployment: asked through its run's row.
            let stored = registry.read(id).await?;
            let store = &self.inner.store;
            let asked = !stored.status.is_finished()
                && store
                    .request_run(&stored.run_id, crate::store::requests::STOP)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(deployment = %id, error = %e, "cannot pass a stop on to the replica serving the deployment");
                        false
                    });
            if asked {
                return Ok(stored);
            }
        }
        let deployment = registry.stop(id).await?;
        if deployment.status == DeploymentStatus::Starting {
            let _ = self.cancel(&deployment.run_id).await;
        }
        Ok(deployment)
    }

    /// Asks serving deployment `id` to tune its engine as `request` says: its serving loop
    /// closes the gateway, tunes on its host and serves with the best point after. Refused
    /// with a code and a hint when the request is out of bounds (400), the deployment is
    /// unknown (404), has ended (410), is not serving now or already tuning (503), starts
    /// its engine in the broker's entrypoint mode, or the tuning's budget would pass its
    /// spend guard (400); a deployment another replica serves is asked there.
    pub async fn tune_deployment(
        &self,
        id: &DeploymentId,
        request: gdl_model::tuning::TuneRequest,
    ) -> Result<Deployment, ApiError> {
        if let Some(problem) = request.problem() {
            return Err(ApiError::invalid(
                problem,
                "Send {\"usd_budget\": 0.5, \"seconds\": 600}, say.",
            ));
        }
        let registry = self.deployments();
        let Some(live) = registry.get(id) else {
            let stored = registry.read(id).await?;
            if stored.status.is_finished() {
                return Err(ended(id));
            }
            let (why, hint) = if self.inner.store.shares_events() {
                (
                    "is served by another replica of this dashboard",
                    "Ask the replica that serves it: a tuning is not passed between replicas.",
                )
            } else {
                (
                    "is not watched by this dashboard now (it is being resumed)",
                    "Try again once it serves.",
                )
            };
            return Err(ApiError::new(
                ErrorCode::DeploymentNotReady,
                format!("deployment {id} {why}"),
            )
            .with_hint(hint));
        };
        let now = live.snapshot();
        if now.status.is_finished() || now.status == DeploymentStatus::Stopping {
            return Err(ended(id));
        }
        let Some(run) = self.live_run(&now.run_id) else {
            return Err(ended(id));
        };
        if run.config.deploy_mode.broker_launched() {
            return Err(ApiError::invalid(
                "tuning needs the docker or pip deploy mode: in the entrypoint mode the broker starts the engine, so it cannot be restarted with other settings",
                "Deploy with --deploy-mode docker (the default) to tune it.",
            ));
        }
        if let Some(max) = now.guards.max_spend_usd {
            if now.spend_usd + request.usd_budget > max {
                return Err(ApiError::invalid(
                    format!(
                        "the tuning's ${:.2} on top of the ${:.2} spent would pass the deployment's spend guard of ${max:.2}",
                        request.usd_budget, now.spend_usd
                    ),
                    "Give tuning less, or raise max_spend_usd first (PUT /api/deployments/{id}/guards).",
                ));
            }
        }
        let not_now = |why: &str| {
            ApiError::new(
                ErrorCode::DeploymentNotReady,
                format!("deployment {id} {why}"),
            )
            .with_hint("Tune it once it serves (its status reads serving).")
        };
        if now.status != DeploymentStatus::Serving {
            return Err(not_now(&format!("is {}, not serving", now.status.as_str())));
        }
        if !live.ask_tune(request) {
            return Err(not_now("has a tuning asked for already"));
        }
        Ok(live.snapshot())
    }

    /// Whether run `id` provisioned a deployment that now serves (it no longer counts
    /// against the limit of runs at once).
    pub(super) fn serves(&self, id: &RunId) -> bool {
        self.deployments()
            .watched()
            .iter()
            .any(|d| d.read(|x| x.run_id == *id && x.status != DeploymentStatus::Starting))
    }
}

/// A deployment that has ended (or is ending) cannot be tuned.
fn ended(id: &DeploymentId) -> ApiError {
    ApiError::new(
        ErrorCode::DeploymentStopped,
        format!("deployment {id} has ended or is stopping"),
    )
    .with_hint("Deploy again with --tune-usd to tune before it opens.")
}

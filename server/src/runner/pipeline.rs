//! The run loop: each step in order under the run's cancel token, the steps after a
//! failure or cancel marked skipped, cleanup last whatever happened, then the outcome.
//! What the steps do is in [`super::steps`].

use super::context::RunContext;
use super::error::StepError;
use super::serving::{self, Ticket};
use super::steps::{self, Deps};
use super::{Plan, RunnerConfig};
use crate::shopper::ShopperClient;
use gdl_model::code::ErrorCode;
use gdl_model::runs::{RunStatus, StepName, StepStatus};
use std::future::Future;
use std::sync::Arc;

/// Why the steps stopped early.
enum Stop {
    Failed,
    Cancelled,
}

/// Runs the steps, then cleanup, then records the outcome.
pub(super) async fn run(
    client: &ShopperClient,
    config: &RunnerConfig,
    ctx: RunContext,
    plan: Plan,
    failure: Option<StepName>,
    ticket: Option<Ticket>,
) {
    let ctx = Arc::new(ctx);
    if let Some(t) = &ticket {
        t.live.bind(ctx.owned().clone());
    }
    let deps = Deps {
        client,
        config,
        ctx: &ctx,
        deploy: ticket.is_some(),
    };
    let outcome = run_steps(&deps, plan, failure, ticket.as_ref()).await;
    if let (Ok(Some(ending)), Some(t)) = (&outcome, &ticket) {
        if ending.detached {
            // Left serving for the next start to resume: nothing is cleaned up.
            return serving::detach(&deps, t).await;
        }
    }
    skip_the_rest(&ctx, matches!(outcome, Err(Stop::Cancelled))).await;
    ctx.note_omitted();
    let keep = matches!(outcome, Err(Stop::Failed)) && ctx.config().keep_on_failure;
    steps::cleanup::run(&deps, keep).await;
    if let Some(ticket) = &ticket {
        let ending = match &outcome {
            Ok(Some(ending)) => ending.clone(),
            _ => {
                let cancelled = matches!(outcome, Err(Stop::Cancelled));
                serving::Ending::provisioning(&ctx, &ticket.live, cancelled)
            }
        };
        serving::ended(&deps, ticket, ending).await;
    }
    let status = match outcome {
        Ok(_) => RunStatus::Passed,
        Err(Stop::Failed) => RunStatus::Failed,
        Err(Stop::Cancelled) => RunStatus::Cancelled,
    };
    super::outcome::finish(&ctx, status).await;
}

/// Steps 1–10; for a deployment, serving after Verify (and the benchmark when asked) until
/// it ends.
async fn run_steps(
    d: &Deps<'_>,
    plan: Plan,
    failure: Option<StepName>,
    ticket: Option<&Ticket>,
) -> Result<Option<serving::Ending>, Stop> {
    use steps::*;
    let s = Stepper {
        ctx: d.ctx,
        client: d.client,
        failure,
    };
    let model = s
        .step(StepName::CalculateRequirements, requirements::run(d, plan))
        .await?;
    let offers = s
        .step(StepName::QueryInventory, inventory::run(d, &model))
        .await?;
    let offer = s
        .step(StepName::SelectOffer, select::run(d, &offers))
        .await?;
    // A create in flight is never dropped with this step: it records its session on the
    // run, and cleanup waits for it (see `steps::create`).
    let booked = s
        .step(
            StepName::CreateSession,
            create::run(d, &model, &offers, offer),
        )
        .await?;
    let running = s
        .step(
            StepName::WaitForRunning,
            wait::run(d, booked, &model, &offers),
        )
        .await?;
    let host = s
        .step(StepName::ConnectSsh, connect::run(d, running))
        .await?;
    // A host that cannot run the engine is replaced by the next offer's (`replace`).
    let host = s
        .step(
            StepName::DiagnoseHost,
            super::replace::diagnosed(d, host, &model, &offers),
        )
        .await?;
    let served = s
        .step(StepName::InstallVllm, install::run(d, &host, &model))
        .await?;
    let target = s
        .step(StepName::VerifyDeployment, verify::run(d, &host, &served))
        .await?;
    if let Some(t) = ticket.filter(|t| !t.benchmark) {
        d.ctx
            .step_skipped(StepName::Benchmark, "not asked for this deployment")
            .await;
        return Ok(Some(serving::serve(d, &host, &served, &target, t).await));
    }
    let record = s
        .step(
            StepName::Benchmark,
            benchmark::run(d, &host, &served, &target, &model, ticket.is_some()),
        )
        .await?;
    match ticket {
        Some(t) => {
            serving::benchmarked(t, &record);
            // Tuned before it opens: it serves with the best settings found.
            let served = match &record.tuning {
                Some(tuning) => {
                    let gpu = gdl_model::runs::OfferChoice::of(&host.offer);
                    steps::tune::settled(d, &gpu, served, &model, tuning, &t.live).await
                }
                None => served,
            };
            Ok(Some(serving::serve(d, &host, &served, &target, t).await))
        }
        None => Ok(None),
    }
}

/// Runs one step at a time: running → complete, or failed with its error; stops on cancel.
struct Stepper<'a> {
    ctx: &'a RunContext,
    client: &'a ShopperClient,
    /// Test hook: the step that fails.
    failure: Option<StepName>,
}

impl Stepper<'_> {
    async fn step<T>(
        &self,
        name: StepName,
        work: impl Future<Output = Result<T, StepError>>,
    ) -> Result<T, Stop> {
        let ctx = self.ctx;
        if ctx.cancel_token().is_cancelled() {
            return Err(Stop::Cancelled);
        }
        ctx.step_started(name).await;
        let result = if self.failure == Some(name) {
            Err(StepError::new(
                ErrorCode::InjectedFailure,
                format!("injected failure at {} (test hook)", name.as_str()),
            ))
        } else {
            tokio::select! {
                result = work => result,
                _ = ctx.cancel_token().cancelled() => return Err(cancelled(ctx, name).await),
            }
        };
        match result {
            Ok(value) => {
                ctx.step_ended(name, StepStatus::Complete, None).await;
                Ok(value)
            }
            // A step that ended because of the cancel (it saw the token itself, or its
            // work failed as the cancel cut it short) was cancelled, not failed: the work
            // and the token can be ready at the same moment.
            Err(_) if ctx.cancel_token().is_cancelled() => Err(cancelled(ctx, name).await),
            Err(e) => {
                let session = ctx.read(|run| run.session_id.clone());
                let e = super::lost_host::explain(self.client, session.as_deref(), e).await;
                ctx.error(&format!("{} failed: {e}", name.label()));
                if let Some(hint) = &e.hint {
                    ctx.info(&format!("Hint: {hint}"));
                }
                ctx.step_ended(name, StepStatus::Failed, Some(e)).await;
                Err(Stop::Failed)
            }
        }
    }
}

/// Ends step `name` as cancelled.
async fn cancelled(ctx: &RunContext, name: StepName) -> Stop {
    ctx.warn(&format!("Cancelled during {}", name.label()));
    let cancelled = StepError::new(ErrorCode::Cancelled, "cancelled");
    ctx.step_ended(name, StepStatus::Failed, Some(cancelled))
        .await;
    Stop::Cancelled
}

/// Marks every step still pending (but cleanup) skipped, saying why: `cancelled`, or the
/// step that failed (`Create session failed`).
async fn skip_the_rest(ctx: &RunContext, cancelled: bool) {
    ctx.update(|run| {
        let failed = run
            .steps
            .iter()
            .find(|s| s.status == StepStatus::Failed)
            .map(|s| s.name.label());
        let reason = match failed {
            _ if cancelled => "cancelled".to_owned(),
            Some(step) => format!("{step} failed"),
            None => "an earlier step failed".to_owned(),
        };
        for step in run.steps.iter_mut().filter(|s| s.name != StepName::Cleanup) {
            if step.status == StepStatus::Pending {
                step.status = StepStatus::Skipped;
                step.reason = Some(reason.clone());
            }
        }
    })
    .await;
}

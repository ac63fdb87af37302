//! How a run ends: its status, the error of the step that failed, and the closing log
//! line. Used by the run loop (`pipeline`) and by a deployment resumed after a restart
//! (`resume`), whose run ends when its serving does.

use super::context::RunContext;
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::runs::{RunStatus, StepName, StepStatus};

/// Records the run's status and error, and logs the outcome.
pub(super) async fn finish(ctx: &RunContext, status: RunStatus) {
    let failed_step = ctx.read(|run| {
        run.steps
            .iter()
            .find(|s| s.status == StepStatus::Failed && s.name != StepName::Cleanup)
            .map(|s| {
                let reason = s.reason.clone().unwrap_or_default();
                (format!("{}: {reason}", s.name.label()), s.code)
            })
    });
    let (error, code) = match (failed_step, status) {
        (Some((error, code)), _) => (Some(error), code),
        (None, RunStatus::Cancelled) => (Some("cancelled".to_owned()), Some(ErrorCode::Cancelled)),
        (None, _) => (None, None),
    };
    ctx.update(|run| {
        run.status = status;
        run.error = error.clone();
        run.error_code = code;
        run.ended_at = Some(Utc::now());
    })
    .await;
    let message = format!(
        "Run {status:?}{}",
        error.map(|e| format!(": {e}")).unwrap_or_default()
    );
    if status == RunStatus::Passed {
        ctx.info(&message);
    } else {
        ctx.warn(&message);
    }
}

//! Step 5, Wait for running: polls the session with backoff (gentler on TensorDock, whose
//! cloud-init takes a while), logging each status the broker reports and when.

use super::{Booked, Deps, RunningSession};
use crate::runner::error::StepError;
use gdl_model::code::ErrorCode;
use gdl_model::runs::StepName;
use gdl_model::shopper::{Provider, SessionStatus};
use std::time::{Duration, Instant};

/// How long a session may take to reach running (the broker gives up at about 11 min).
const RUNNING_LIMIT: Duration = Duration::from_secs(12 * 60);

pub async fn run(d: &Deps<'_>, booked: Booked) -> Result<RunningSession, StepError> {
    let Booked {
        session,
        key,
        offer,
    } = booked;
    let started = Instant::now();
    let cap = match session.provider {
        Provider::TensorDock => Duration::from_secs(20),
        _ => Duration::from_secs(10),
    };
    let mut pause = Duration::from_millis(500);
    let mut last = None;
    let running = loop {
        let s = d.client.get_session(&session.id).await?;
        if last != Some(s.status) {
            d.ctx.info(&format!(
                "Session is {} after {:.0} s",
                s.status,
                started.elapsed().as_secs_f64()
            ));
            last = Some(s.status);
        }
        match s.status {
            SessionStatus::Running => break s,
            status if status.is_terminal() || status == SessionStatus::Stopping => {
                return Err(StepError::new(
                    ErrorCode::ProvisioningFailed,
                    format!(
                        "the session ended while starting ({status}): {}",
                        s.error_text().unwrap_or("no reason given")
                    ),
                )
                .hint("Providers' machines fail to start now and then; run the test again (another offer may be picked)."));
            }
            _ => {}
        }
        if started.elapsed() > RUNNING_LIMIT {
            return Err(StepError::new(
                ErrorCode::ProvisioningTimeout,
                format!("not running after {} min", RUNNING_LIMIT.as_secs() / 60),
            )
            .hint("The provider is slow to start this machine; try another offer."));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(cap);
    };
    d.ctx
        .detail(
            StepName::WaitForRunning,
            format!(
                "{}:{} as {}",
                running.ssh_host.as_deref().unwrap_or("?"),
                running.ssh_port.unwrap_or(22),
                running.ssh_user.as_deref().unwrap_or("?")
            ),
        )
        .await;
    Ok(RunningSession {
        session: running,
        key,
        offer,
    })
}

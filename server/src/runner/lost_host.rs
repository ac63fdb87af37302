//! Why a step lost its host, when the broker knows: it stopped (and destroyed every
//! instance as it did), or it ended the run's session itself.

use super::error::StepError;
use crate::shopper::ShopperClient;
use gdl_model::code::ErrorCode;

/// A host that went away may have been taken by the broker: it destroys every instance
/// when it stops (and its sessions still read `running`), and it ends sessions itself (a
/// provisioning timeout, the expiry, an instance gone). When the broker is not ready or not
/// answering as the host fails, or has ended the run's session, the failure says so.
pub(super) async fn explain(
    client: &ShopperClient,
    session: Option<&str>,
    e: StepError,
) -> StepError {
    use crate::shopper::ShopperError;
    let host_failure = matches!(
        e.code,
        ErrorCode::SshDisconnected
            | ErrorCode::SshConnectionRefused
            | ErrorCode::SshTimeout
            | ErrorCode::SshUnreachable
            | ErrorCode::HostCommandTimeout
            | ErrorCode::TunnelFailed
            | ErrorCode::VerifyFailed
            | ErrorCode::BenchmarkFailed
            | ErrorCode::VllmExited
    );
    if !host_failure {
        return e;
    }
    match client.ready().await {
        Err(
            ShopperError::NotReady { .. }
            | ShopperError::Unreachable { .. }
            | ShopperError::Timeout { .. }
            | ShopperError::CircuitOpen { .. },
        ) => {
            StepError::new(
                ErrorCode::BrokerStopped,
                format!("the broker stopped during this step, and it destroys every instance when it stops ({e})"),
            )
            .hint("Run the test again once the broker is back; cleanup confirms the session is gone.")
        }
        _ => ended_by_broker(client, session, e).await,
    }
}

/// `e`, or that the broker has ended `session` (which explains `e`).
async fn ended_by_broker(client: &ShopperClient, session: Option<&str>, e: StepError) -> StepError {
    let Some(id) = session else { return e };
    match client.get_session(id).await {
        Ok(s) if s.status.is_terminal() || s.status == gdl_model::shopper::SessionStatus::Stopping => {
            StepError::new(
                ErrorCode::SessionEndedByBroker,
                format!(
                    "the broker ended the session ({}: {}), which cut this step short ({e})",
                    s.status,
                    s.error_text().unwrap_or("no reason given")
                ),
            )
            .hint("In the entrypoint mode the broker ends a session about 10 minutes after creating it: use a smaller model or the docker mode. Otherwise the reservation may have expired.")
        }
        _ => e,
    }
}

//! The broker's background SSH verification for one session
//! (`internal/service/provisioner/service.go`, `waitForSSHVerifyAsyncWithTimeout`): the
//! provider's boot wait (TensorDock 90 s, Blue Lobster 60 s), polls at 15 s growing ×1.5 to
//! 60 s (reset once the host is known), Blue Lobster's two successes 5 s apart, and the
//! session's SSH timeout (`ssh_timeout_minutes`, clamped 1–30, else 10 minutes), counted
//! from the end of the boot wait. How it ends is decided at creation ([`Plan`]).

use super::super::Simulator;
use gdl_model::shopper::{Provider, SessionStatus};
use rand::Rng;
use std::time::Instant;

/// How a session's provisioning will end, decided at creation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Plan {
    /// SSH verifies at this poll attempt.
    Running { attempt: u32 },
    /// The instance fails at this poll attempt with this error.
    Fails { attempt: u32, error: String },
    /// SSH never verifies: the broker gives up after the session's SSH timeout.
    SshTimeout,
    /// A broker-launched workload (`launch_mode: entrypoint`): the broker's API check never
    /// probes (it never learns the port), so the session stays provisioning until its
    /// 10-minute API timeout, unless the stuck check ends it first.
    ApiTimeout,
}

/// The broker's API verification budget for broker-launched workloads (contract seconds).
const API_TIMEOUT_SECS: f64 = 600.0;

/// The broker's text for an instance that died while starting (status `exited`).
pub(crate) const EXITED: &str = "instance stopped unexpectedly: exited (container exited with code 1) — likely cause: entrypoint failed or OOM kill";
/// The broker's text for an instance its provider no longer has.
pub(crate) const VANISHED: &str = "instance_vanished: no longer exists on provider";

/// Picks how a provisioning ends: a failure at `failure_rate`, else running at
/// `running_at` (or at the 2nd to 5th poll).
pub(crate) fn choose_plan(rng: &mut impl Rng, failure_rate: f64, running_at: Option<u32>) -> Plan {
    if rng.gen_bool(failure_rate) {
        return match rng.gen_range(0..3) {
            0 => Plan::SshTimeout,
            1 => Plan::Fails {
                attempt: rng.gen_range(1..=3),
                error: EXITED.into(),
            },
            _ => Plan::Fails {
                attempt: rng.gen_range(1..=3),
                error: VANISHED.into(),
            },
        };
    }
    Plan::Running {
        attempt: running_at.unwrap_or_else(|| rng.gen_range(2..=5)).max(1),
    }
}

impl Simulator {
    /// The verification loop for session `id`, ending as `plan` says.
    pub(super) async fn provision(self, id: String, plan: Plan) {
        let (provider, timeout) = match self.state().sessions.get(&id) {
            Some(s) => (s.session.provider.clone(), s.ssh_timeout_secs),
            None => return,
        };
        let boot_wait = match provider {
            Provider::TensorDock => 90.0,
            Provider::BlueLobster => 60.0,
            _ => 0.0,
        };
        if boot_wait > 0.0 {
            tokio::time::sleep(self.scaled(boot_wait)).await;
        }
        // Blue Lobster needs two SSH successes in a row, 5 s apart.
        let successes_needed = if provider == Provider::BlueLobster {
            2
        } else {
            1
        };
        let mut successes = 0;
        let started = Instant::now();
        let mut interval = 15.0_f64;
        let mut attempt = 0;
        loop {
            tokio::time::sleep(self.scaled(interval)).await;
            attempt += 1;
            interval = (interval * 1.5).min(60.0);
            let mut state = self.state();
            let Some(s) = state.sessions.get_mut(&id) else {
                return;
            };
            if s.session.status != SessionStatus::Provisioning {
                return; // destroyed or failed meanwhile
            }
            if s.session.ssh_host.is_none() {
                // The provider reports where SSH is: this instance's own loopback port.
                if let Some(machine) = &s.machine {
                    s.session.ssh_host = Some("127.0.0.1".into());
                    s.session.ssh_port = Some(machine.port());
                }
                interval = 15.0; // the broker's backoff resets once SSH info is known
            }
            let outcome = match &plan {
                Plan::Running { attempt: at } if attempt >= *at => {
                    successes += 1;
                    if successes < successes_needed {
                        interval = 5.0;
                        None
                    } else {
                        Some((SessionStatus::Running, None))
                    }
                }
                Plan::Fails { attempt: at, error } if attempt >= *at => {
                    Some((SessionStatus::Failed, Some(error.clone())))
                }
                Plan::ApiTimeout if started.elapsed() >= self.scaled(API_TIMEOUT_SECS) => {
                    s.instance = true;
                    Some((
                        SessionStatus::Failed,
                        Some("API verification timeout".into()),
                    ))
                }
                Plan::SshTimeout if started.elapsed() >= self.scaled(timeout) => {
                    // Destroyed, but the id is kept until the watchdog.
                    s.instance = true;
                    Some((
                        SessionStatus::Failed,
                        Some("SSH verification timeout".into()),
                    ))
                }
                _ => None,
            };
            if let Some((status, error)) = outcome {
                s.session.status = status;
                s.session.error = error;
                if status == SessionStatus::Running {
                    s.running_since = Some(Instant::now());
                } else {
                    s.ended = Some(Instant::now());
                    s.power_off();
                }
                return;
            }
        }
    }
}

//! Fault knobs that tests (and people) flip at run time, over HTTP (`/_sim/faults`) or
//! through [`super::Simulator::set_faults`].

use serde::{Deserialize, Serialize};

/// What the simulator does wrong right now. Counters count down one per request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Extra latency added to every broker request, in milliseconds (not scaled).
    pub slow_ms: u64,
    /// The next N broker requests answer 500 with the standard error body.
    pub error_burst: u32,
    /// The next N broker requests answer 200 with a truncated JSON body.
    pub malformed: u32,
    /// The next N broker requests answer 429 with `Retry-After: 1`.
    pub rate_limited: u32,
    /// `/health` and `/ready` answer 503 (as during the broker's shutdown).
    pub not_ready: bool,
    /// The next N session creates fail with 503 `stale_inventory`.
    pub stale_creates: u32,
    /// The next N session creates find their offer gone from the listing (404 `offer not
    /// found`), as when the broker's inventory cache was refreshed after the client read it.
    pub vanishing_offers: u32,
    /// Overrides the share of provisionings that fail (0.0–1.0).
    pub provision_failure_rate: Option<f64>,
    /// Overrides the SSH attempt at which provisioning succeeds (1 = first poll).
    pub running_after_attempts: Option<u32>,
    /// Every new provisioning fails at the first SSH poll with this error text.
    pub fail_provisioning_with: Option<String>,
    /// The next N provisionings fail at the first SSH poll (the instance vanishes).
    pub failing_provisionings: u32,
    /// Extra time (milliseconds, not scaled) a create takes after the session record
    /// exists, as a slow provider call would.
    pub create_delay_ms: u64,
    /// Extra time (milliseconds, not scaled) the provider takes to confirm a destroy: the
    /// session stays `stopping` that much longer.
    pub destroy_delay_ms: u64,
    /// Hosts' image pulls and pip installs print this many extra lines (as fast as SSH
    /// takes them), then one line of 10 MB without an end: a host flooding its output.
    pub host_flood_lines: u64,
    /// Every vLLM that starts serving crashes (a CUDA error) partway through its Nth chat
    /// completion: open streams break, the port closes and the log ends in the error.
    /// 0 = never.
    pub vllm_crash_after_requests: u32,
    /// The next N destroys of a live instance are never confirmed by the provider: after
    /// the broker's ten verification attempts (275 s, scaled) the DELETE answers 500
    /// `failed to verify destruction of session …` and the session stays `stopping`.
    pub unverified_destroys: u32,
    /// The next N Blue Lobster creates time out polling the provider's launch task (after
    /// 5 minutes, scaled): 500 with `error_type` `ssh_timeout`, the session failed.
    pub blue_lobster_task_timeouts: u32,
    /// Every new provisioning's SSH never verifies: it fails when the session's SSH
    /// timeout runs out (or the stuck check ends it first).
    pub ssh_never_verifies: bool,
    /// The broker's disk estimate is this many GB larger (as a template's floor or a newer
    /// broker's formula would make it), so a request sized by the client can fall short.
    pub extra_disk_gb: u32,
    /// The broker's stuck check ends provisioning and stopping sessions this many contract
    /// seconds after their creation instead of 600 (0 = at the next tick), as a slower
    /// day, a longer run or a bigger model would have the 10 minutes run out.
    pub stuck_after_secs: Option<f64>,
    /// Vast.ai offers priced under this ($/h) report CUDA 11.8, as hosts with an old
    /// driver do (the `min_cuda` filter sees them so).
    pub old_drivers_below: Option<f64>,
    /// The real driver of the next `host_driver_hosts` hosts created supports only this
    /// CUDA version, whatever their offer lists: a host that turns out older than listed
    /// once rented (an engine built for a newer CUDA dies on it; Diagnose host sees it).
    pub host_driver_cuda: Option<f64>,
    /// How many hosts created from now on get `host_driver_cuda` (counts down per host).
    pub host_driver_hosts: u32,
    /// The next N hosts created have no working NVIDIA driver: `nvidia-smi` fails (exit 9)
    /// and an engine finds no GPU.
    pub hosts_without_driver: u32,
    /// Every inventory listing takes this many milliseconds longer (not scaled), as the
    /// broker's does while its inventory cache is cold (5–7 s observed); other calls do not.
    pub cold_inventory_ms: u64,
    /// The next N hosts that come up decode `slow_host_factor` times slower than their GPU
    /// should (a "lemon": throttled, a bad card, a noisy neighbour).
    pub slow_hosts: u32,
    /// How many times slower a slow host decodes (4 when 0 or absent).
    pub slow_host_factor: f64,
}

/// What the faults ask of one request, decided (and counted down) when it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    None,
    ServerError,
    Malformed,
    RateLimited,
}

impl Faults {
    /// Takes the fault for the next broker request, decrementing its counter.
    pub fn take(&mut self) -> Injected {
        if self.error_burst > 0 {
            self.error_burst -= 1;
            Injected::ServerError
        } else if self.malformed > 0 {
            self.malformed -= 1;
            Injected::Malformed
        } else if self.rate_limited > 0 {
            self.rate_limited -= 1;
            Injected::RateLimited
        } else {
            Injected::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_down_in_order() {
        let mut f = Faults {
            error_burst: 1,
            malformed: 1,
            rate_limited: 1,
            ..Default::default()
        };
        assert_eq!(f.take(), Injected::ServerError);
        assert_eq!(f.take(), Injected::Malformed);
        assert_eq!(f.take(), Injected::RateLimited);
        assert_eq!(f.take(), Injected::None);
    }
}

//! A candidate put back in line: tried again after its run failed to get a working machine
//! or found a slow host ([`try_again`]), or measured again when the cost recommendation is
//! too close to call between it and another ([`measure_again`]; once per campaign, within
//! its budgets like any rental). A repeat's figures are the median of its measurements, as
//! Compare's are; a repeat that cannot run or fails leaves the first measurement standing.

use super::launch::SLOW_HOSTS_REPLACED;
use gdl_model::benchmark::Dist;
use gdl_model::campaigns::record::{Campaign, CandidateState, CandidateStatus, SlowHost};
use gdl_model::campaigns::verdict;
use gdl_model::code::ErrorCode;
use gdl_model::compare::{compare, Comparison};
use gdl_model::runs::{BenchmarkRecord, Run};
use std::sync::Mutex;

/// Why candidate `i` is put back in line after its `run` failed before measuring, when it
/// is: a host its probe found slow (recorded, its offer avoided from now on), or a failure
/// to rent a machine that works ([`FAILED_RUNS_RETRIED`] times at most). `None`: the
/// candidate failed.
pub fn try_again(record: &Mutex<Campaign>, i: usize, run: &Run) -> Option<String> {
    let mut r = record.lock().unwrap();
    let c = r.candidates.get_mut(i)?;
    if run.error_code == Some(ErrorCode::SlowHost) {
        c.slow_hosts.push(SlowHost {
            run: run.id.clone(),
            offer: run
                .offer
                .as_ref()
                .map_or_else(String::new, |o| o.offer_id.to_string()),
            message: run.error.clone().unwrap_or_default(),
        });
        return Some(if c.slow_hosts.len() < SLOW_HOSTS_REPLACED {
            "a slow host was replaced by another offer of its GPU type".into()
        } else {
            format!(
                "{} hosts decoded below the estimate: the GPU type is slower than estimated, so it is measured without the probe",
                c.slow_hosts.len()
            )
        });
    }
    // Runs that measured (a first measurement, repeats) are not failures.
    let measured = usize::from(c.benchmark.is_some()) + c.repeats.len();
    let failed = c.runs.len().saturating_sub(c.slow_hosts.len() + measured);
    let renting = run.error_code.is_some_and(|code| RENTING.contains(&code));
    if !renting {
        return None;
    }
    // What this run could not use, the next one does not try.
    let unusable = run.rentals.iter().filter(|x| x.failure.is_some());
    c.ruled_out.extend(
        unusable
            .map(|x| x.offer.offer_id.to_string())
            .chain(run.offer.as_ref().map(|o| o.offer_id.to_string())),
    );
    c.ruled_out.sort();
    c.ruled_out.dedup();
    (failed <= FAILED_RUNS_RETRIED).then(|| {
        format!(
            "its run {} failed to get a working machine ({}); trying again",
            run.id,
            run.error.as_deref().unwrap_or("no reason given")
        )
    })
}

/// Failures of renting a machine that works, which another try may not meet.
const RENTING: [ErrorCode; 12] = [
    ErrorCode::NoOffers,
    ErrorCode::PinnedOfferGone,
    ErrorCode::OfferStale,
    ErrorCode::ProvisioningFailed,
    ErrorCode::ProvisioningTimeout,
    ErrorCode::SessionEndedByBroker,
    ErrorCode::HostUnsuitable,
    ErrorCode::HostUnusable,
    ErrorCode::SshTimeout,
    ErrorCode::SshUnreachable,
    ErrorCode::SshConnectionRefused,
    ErrorCode::SshDisconnected,
];

/// Runs of one candidate that failed to get a working machine tried again.
const FAILED_RUNS_RETRIED: usize = 2;

/// Each comparison point's spread of $ per 1M over its own measurements in `records`.
pub fn spreads(comparison: &Comparison, records: &[BenchmarkRecord]) -> Vec<f64> {
    verdict::spreads(comparison, |id| {
        let r = records.iter().find(|r| &r.id == id)?;
        r.at_slo()?.usd_per_million_output_tokens
    })
}

/// Puts the two candidates back in line whose $ per 1M decide the cost recommendation when
/// they are too close to call (each measured once, so far); whether it did.
pub fn measure_again(record: &Mutex<Campaign>, records: &[BenchmarkRecord]) -> bool {
    let Some(first) = records.first() else {
        return false;
    };
    let comparison = compare(&first.model, records);
    let points = verdict::measure_again(&comparison, &spreads(&comparison, records));
    let label = |i: usize| comparison.points[i].label();
    let mut r = record.lock().unwrap();
    let mut again = 0;
    for (n, &p) in points.iter().enumerate() {
        let other = label(points[(n + 1) % points.len()]);
        let decided_by = |c: &CandidateState| {
            c.status == CandidateStatus::Measured
                && c.repeats.is_empty()
                && c.benchmark
                    .as_ref()
                    .is_some_and(|id| comparison.points[p].benchmarks.contains(id))
        };
        if let Some(c) = r.candidates.iter_mut().find(|c| decided_by(c)) {
            c.status = CandidateStatus::Waiting;
            c.note = Some(format!(
                "measured again: its $ per 1M is within the noise of {other}'s, too close to call"
            ));
            again += 1;
        }
    }
    again > 0
}

/// Records what measuring `c` again gave: `bench` from its `run`, or nothing (the run
/// failed or was stopped). Either way it stays measured.
pub fn measured_again(c: &mut CandidateState, bench: Option<&BenchmarkRecord>, run: &Run) {
    c.status = CandidateStatus::Measured;
    let at = bench.and_then(|b| b.at_slo());
    let figures = at.and_then(|p| {
        let usd = p.usd_per_million_output_tokens?;
        (p.tpot_ms.p50 > 0.0).then_some((usd, 1000.0 / p.tpot_ms.p50))
    });
    match (bench, figures, c.usd_per_million, c.tokens_per_s_per_user) {
        (Some(b), Some((usd, speed)), Some(usd0), Some(speed0)) => {
            c.repeats.push(b.id.clone());
            c.measured(
                Some(Dist::of(&[usd0, usd]).p50),
                Some(Dist::of(&[speed0, speed]).p50),
            );
            c.note = Some(format!(
                "measured twice (too close to call): ${usd0:.3} and ${usd:.3} per 1M; the median counts"
            ));
        }
        (Some(b), ..) => {
            c.repeats.push(b.id.clone());
            c.note = Some("measured again: the repeat met no level within the SLOs; the first measurement stands".into());
        }
        (None, ..) => {
            let why = run.error.as_deref().unwrap_or("its run was stopped");
            c.note = Some(format!(
                "not measured again ({why}); the first measurement stands"
            ));
        }
    }
}

/// A candidate waiting to be measured again that will not be: it stays measured, saying why.
pub fn not_again(c: &mut CandidateState, why: &str) {
    c.status = CandidateStatus::Measured;
    c.note = Some(format!(
        "not measured again ({why}); the first measurement stands"
    ));
}

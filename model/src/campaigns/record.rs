//! A campaign as it runs and as it is kept: each candidate's state (its runs, spend,
//! measurement and the estimate's error), the spend against the budget, and the answer.

use super::estimate::relative_error;
use super::verdict::{BreakEven, Confidence};
use super::{CampaignRequest, Candidate};
use crate::compare::{Comparison, Goal};
use crate::ids::{BenchmarkId, CampaignId, RunId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a campaign is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Renting and measuring candidates.
    Running,
    /// Asked to stop: its runs are being cancelled and their sessions destroyed.
    Stopping,
    /// Every candidate it could afford was measured (or failed); it has its answer.
    Finished,
    /// Stopped by a person before its end.
    Stopped,
    /// It could not run (no candidate, a store failure).
    Failed,
}

impl CampaignStatus {
    /// Whether it has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Finished | Self::Stopped | Self::Failed)
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Finished => "finished",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }
}

/// Where one candidate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CandidateStatus {
    /// Not started yet.
    Waiting,
    /// Its run is renting, starting the engine or searching.
    Running,
    /// Measured: a level met the SLOs.
    Measured,
    /// Measured, but not even concurrency 1 met the SLOs.
    SloNotMet,
    /// Its search was cut short by the budget; what it measured is kept.
    CutShort,
    /// Its run failed (after replacing what failed to start).
    Failed,
    /// Never started: the budget (or the time budget, or a stop) did not allow it.
    NotMeasured,
}

impl CandidateStatus {
    /// Whether its work is over.
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Waiting | Self::Running)
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Measured => "measured",
            Self::SloNotMet => "slo_not_met",
            Self::CutShort => "cut_short",
            Self::Failed => "failed",
            Self::NotMeasured => "not_measured",
        }
    }

    /// In words, as pages and the CLI say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Measured => "measured",
            Self::SloNotMet => "SLOs not met",
            Self::CutShort => "cut short",
            Self::Failed => "failed",
            Self::NotMeasured => "not measured",
        }
    }
}

/// One candidate in a campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CandidateState {
    /// The candidate as planned, with its estimate.
    pub candidate: Candidate,
    /// Where it is.
    pub status: CandidateStatus,
    /// Its runs, first to last (a lemon is replaced by another run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunId>,
    /// What its rentals cost, USD.
    #[serde(default)]
    pub spend_usd: f64,
    /// The benchmark that measured it (the first, when it was measured again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<BenchmarkId>,
    /// Its measurements after the first: it was too close to call against another, and
    /// its figures are then the median of all its measurements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<BenchmarkId>,
    /// Levels measured so far.
    #[serde(default)]
    pub points: u32,
    /// Measured $ per 1M output tokens at the SLO capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_million: Option<f64>,
    /// Measured per-user speed there, tokens per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s_per_user: Option<f64>,
    /// The estimate's error on $ per 1M, (estimate − measured) / measured; `None` when
    /// the estimate said the SLOs could not be met (or nothing was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_error: Option<f64>,
    /// The estimate's error on per-user speed at capacity, (estimate − measured) / measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_error: Option<f64>,
    /// Why it failed, was cut short or not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Hosts its quick probe found slow, each replaced by another offer of its GPU type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slow_hosts: Vec<SlowHost>,
    /// Offers an earlier run of it could not rent or start a machine on: its next runs
    /// rent others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ruled_out: Vec<String>,
    /// What tuning found on its rental, when the campaign tunes (its own figures above stay
    /// those of the campaign's settings, like with like).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuned: Option<Tuned>,
}

/// The best a candidate's tuning found, beside the campaign's own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tuned {
    /// The best change ("max sequences 8"; "default" when nothing beat the campaign's
    /// settings).
    pub change: String,
    /// The best settings and weights in words ([`crate::tuning::setup_words`]; empty in
    /// records made before the weights were tuned: the engine's defaults).
    pub settings: String,
    /// Its capacity at the SLOs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Its $ per 1M output tokens there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_million: Option<f64>,
    /// Its capacity against the campaign's settings' (1.0: no better).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gain: Option<f64>,
    /// Settings tried, the campaign's own included.
    pub points: u32,
    /// What tuning took (USD), restarts and searches.
    pub cost_usd: f64,
}

impl Tuned {
    /// The best of `tuning`.
    pub fn of(tuning: &crate::tuning::Tuning) -> Self {
        let best = tuning.winner();
        Self {
            change: best.change.clone(),
            settings: best.words(),
            capacity: best.capacity,
            usd_per_million: best.usd_per_million_output_tokens,
            gain: tuning.gain(),
            points: tuning.points.len() as u32,
            cost_usd: tuning.cost_usd,
        }
    }
}

/// A host a campaign's quick probe found decoding far below its GPU type's estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowHost {
    /// The run that rented it.
    pub run: RunId,
    /// The offer it was rented from (not rented again by this campaign).
    pub offer: String,
    /// What the probe found, as the run said it.
    pub message: String,
}

impl CandidateState {
    /// A candidate not started yet.
    pub fn waiting(candidate: Candidate) -> Self {
        Self {
            candidate,
            status: CandidateStatus::Waiting,
            runs: Vec::new(),
            spend_usd: 0.0,
            benchmark: None,
            repeats: Vec::new(),
            points: 0,
            usd_per_million: None,
            tokens_per_s_per_user: None,
            estimate_error: None,
            speed_error: None,
            note: None,
            slow_hosts: Vec::new(),
            ruled_out: Vec::new(),
            tuned: None,
        }
    }

    /// Whether it was measured already and waits, or runs, to be measured again.
    pub fn again(&self) -> bool {
        self.benchmark.is_some()
    }

    /// Records its measurement and the estimate's error against it.
    pub fn measured(&mut self, usd_per_million: Option<f64>, tokens_per_s_per_user: Option<f64>) {
        self.usd_per_million = usd_per_million;
        self.tokens_per_s_per_user = tokens_per_s_per_user;
        let estimate = self.candidate.estimate;
        self.estimate_error =
            relative_error(estimate.and_then(|e| e.usd_per_million), usd_per_million);
        self.speed_error = relative_error(
            estimate.map(|e| e.tokens_per_s_per_user),
            tokens_per_s_per_user,
        );
    }
}

/// How sure the recommendation for one goal is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoalConfidence {
    /// The goal.
    pub goal: Goal,
    /// How sure.
    pub confidence: Confidence,
}

/// The answer, once candidates are measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answer {
    /// The frontier and recommendations of what was measured (like with like: this
    /// campaign's benchmarks only).
    pub comparison: Comparison,
    /// How sure each recommendation is, by goal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confidence: Vec<GoalConfidence>,
    /// Against the default serverless price, for the cheapest recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_even: Option<BreakEven>,
    /// The serverless price it was computed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless: Option<super::verdict::ServerlessPrice>,
}

impl Answer {
    /// " (too close to call with L4)" when `goal`'s recommendation is within the noise of
    /// the runner-up; empty when it is clear.
    pub fn doubt(&self, goal: Goal) -> String {
        match self.confidence.iter().find(|g| g.goal == goal) {
            Some(GoalConfidence {
                confidence: Confidence::TooCloseToCall { runner_up, .. },
                ..
            }) => format!(
                " (too close to call with {})",
                self.comparison
                    .points
                    .get(*runner_up)
                    .map_or("another".into(), |p| p.gpu_type.clone())
            ),
            _ => String::new(),
        }
    }

    /// The break-even against the serverless price, in a sentence.
    pub fn break_even_sentence(&self) -> Option<String> {
        let (b, api) = (self.break_even.as_ref()?, self.serverless.as_ref()?);
        let n = b.requests_per_day?;
        Some(if b.within_capacity {
            format!(
                "Against {}: renting the cheapest costs less above {} requests a day; one GPU serves up to {} a day at the SLOs.",
                api.label,
                grouped(n),
                grouped(b.capacity_per_day)
            )
        } else {
            format!(
                "Against {}: one GPU never breaks even, as that takes {} requests a day and it serves {} at the SLOs.",
                api.label,
                grouped(n),
                grouped(b.capacity_per_day)
            )
        })
    }
}

/// `1234567.8` as `1,234,568`.
fn grouped(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A campaign (`GET /api/campaigns/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    /// `camp-…`.
    pub id: CampaignId,
    /// What was asked.
    pub request: CampaignRequest,
    /// Where it is.
    pub status: CampaignStatus,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Every candidate, in the order ranked.
    pub candidates: Vec<CandidateState>,
    /// What its rentals have cost, USD (the sum of its runs' rentals).
    pub spend_usd: f64,
    /// What they will have cost once the work in hand ends, USD.
    pub projected_usd: f64,
    /// The answer, once something was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// What happened, in a sentence (why it ended, what was cut short).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Campaign {
    /// How it ended, in a sentence or two: whether every candidate was measured, which were
    /// not and which failed, and whether there is a recommendation.
    ///
    /// ```
    /// use gdl_model::campaigns::record::{Campaign, CampaignStatus};
    ///
    /// let c = Campaign {
    ///     id: "camp-1".into(), status: CampaignStatus::Finished,
    ///     request: serde_json::from_str(r#"{"model": "m", "budget_usd": 1}"#)?,
    ///     created_at: chrono::Utc::now(), ended_at: None, candidates: vec![],
    ///     spend_usd: 0.0, projected_usd: 0.0, answer: None, message: None,
    /// };
    /// assert_eq!(c.outcome(), "No candidate met the SLOs: there is no recommendation.");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn outcome(&self) -> String {
        let named = |status: CandidateStatus| -> Vec<String> {
            self.candidates
                .iter()
                .filter(|c| c.status == status)
                .map(|c| c.candidate.key.to_string())
                .collect()
        };
        let (not, failed) = (
            named(CandidateStatus::NotMeasured),
            named(CandidateStatus::Failed),
        );
        let mut out = Vec::new();
        if self.answer.is_none() {
            out.push("No candidate met the SLOs: there is no recommendation.".to_owned());
        } else if not.is_empty() && failed.is_empty() {
            out.push("Every candidate was measured.".to_owned());
        }
        if !not.is_empty() {
            out.push(format!("Not measured: {}.", not.join(", ")));
        }
        if !failed.is_empty() {
            out.push(format!("Failed: {}.", failed.join(", ")));
        }
        out.join(" ")
    }

    /// The candidates not measured, by key (what a too-small budget left out).
    pub fn not_measured(&self) -> Vec<String> {
        self.candidates
            .iter()
            .filter(|c| c.status == CandidateStatus::NotMeasured)
            .map(|c| c.candidate.key.to_string())
            .collect()
    }
}

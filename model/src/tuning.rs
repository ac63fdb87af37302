//! Engine tuning on a rented GPU (issue 31): engine settings tried one restart at a time on
//! the same rental, each measured by the SLO capacity search, the best kept. What was tried
//! and what it cost is a [`Tuning`], recorded with the run and shown beside its benchmark.

use crate::engines::{EngineSettings, KvCacheDtype};
use crate::registry::Quantization;
use serde::{Deserialize, Serialize};

/// The GPU memory share tuning tries above the default (vLLM's documentation advises
/// against more: the rest is the CUDA context's and other processes').
pub const TUNED_MEMORY_SHARE: f64 = 0.95;

/// A run's request to tune its engine after the capacity search: at most this much money
/// and time on restarts and searches (the run's own search not counted).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TuneRequest {
    /// USD, 0.01–100.
    pub usd_budget: f64,
    /// Seconds, 60–7,200.
    pub seconds: u32,
}

impl TuneRequest {
    /// Why it cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if !(0.01..=100.0).contains(&self.usd_budget) {
            return Some("tune.usd_budget must be between 0.01 and 100".into());
        }
        if !(60..=7200).contains(&self.seconds) {
            return Some("tune.seconds must be between 60 and 7200".into());
        }
        None
    }
}

/// The seconds a tune request gets when it names none (a form's, or JSON without them).
pub const DEFAULT_TUNE_SECONDS: u32 = 1800;

/// For `#[serde(deserialize_with)]` on [`crate::runs::TestConfig::tune`]: a request as
/// JSON sends it (`{"usd_budget": 0.5, "seconds": 600}`), or as a form posts it, numbers as
/// text, where a blank budget means no tuning. Without `seconds`, [`DEFAULT_TUNE_SECONDS`];
/// without `usd_budget`, an error (a budget is never guessed).
///
/// ```
/// use gdl_model::runs::TestConfig;
/// let read = |tune: &str| {
///     let text = format!(r#"{{"model":"m","max_price":1,"tune":{tune}}}"#);
///     serde_json::from_str::<TestConfig>(&text).map(|c| c.tune)
/// };
/// assert_eq!(read(r#"{"usd_budget":0.5,"seconds":300}"#).unwrap().unwrap().seconds, 300);
/// assert_eq!(read(r#"{"usd_budget":"0.5","seconds":""}"#).unwrap().unwrap().seconds, 1800);
/// assert_eq!(read(r#"{"usd_budget":"","seconds":"600"}"#).unwrap(), None, "a blank budget");
/// assert_eq!(read("null").unwrap(), None);
/// assert!(read(r#"{"seconds":600}"#).unwrap_err().to_string().contains("usd_budget"));
/// assert!(read(r#"{"usd_budget":"lots"}"#).is_err());
/// ```
pub fn tune_unless_blank<'de, D>(d: D) -> Result<Option<TuneRequest>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    // A form's blank field is text, which an absent field (JSON's) is not.
    #[derive(Default, Deserialize)]
    #[serde(untagged)]
    enum Number {
        #[default]
        #[serde(skip)]
        Absent,
        Text(String),
        Value(f64),
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        #[serde(default)]
        usd_budget: Number,
        #[serde(default, deserialize_with = "crate::query::blank_as_none")]
        seconds: Option<u32>,
    }
    let Some(raw) = Option::<Raw>::deserialize(d)? else {
        return Ok(None);
    };
    let usd_budget = match raw.usd_budget {
        Number::Absent => return Err(D::Error::missing_field("usd_budget")),
        Number::Value(v) => v,
        Number::Text(t) if t.trim().is_empty() => return Ok(None),
        Number::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("tune.usd_budget is not a number: {t:?}")))?,
    };
    Ok(Some(TuneRequest {
        usd_budget,
        seconds: raw.seconds.unwrap_or(DEFAULT_TUNE_SECONDS),
    }))
}

/// One change tuning can make, in the order tried: what usually matters most first (how
/// many sequences fit at once: the KV cache and the memory share), then the limit on
/// sequences when it, not memory, bound the capacity, then the weights' quantization, then
/// on a run of several GPUs copies of the model side by side instead of one split over all.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "knob", content = "value")]
pub enum Change {
    /// An FP8 KV cache: twice the tokens in the same memory.
    KvCacheFp8,
    /// This share of each GPU's memory for the engine.
    MemoryShare(f64),
    /// At most this many sequences at once.
    MaxNumSeqs(u32),
    /// 16-bit weights quantized to FP8 as the engine loads them (vLLM's and SGLang's
    /// `--quantization fp8`, on Ada and newer GPUs): half the memory and faster decoding,
    /// from the same checkpoint.
    WeightsFp8,
    /// This many copies of the model side by side on the run's GPUs (vLLM
    /// `--data-parallel-size`, SGLang `--dp-size`), each split over its share of them,
    /// instead of one copy split over all (tensor parallel).
    DataParallel(u32),
}

impl Change {
    /// `settings` with this change (the weights' change leaves them as they are: see
    /// [`Change::weights`]).
    pub fn apply(self, settings: &EngineSettings) -> EngineSettings {
        let mut out = settings.clone();
        match self {
            Change::KvCacheFp8 => out.kv_cache_dtype = KvCacheDtype::Fp8,
            Change::MemoryShare(share) => out.gpu_memory_utilization = Some(share),
            Change::MaxNumSeqs(n) => out.max_num_seqs = Some(n),
            Change::WeightsFp8 => {}
            Change::DataParallel(n) => out.data_parallel_size = Some(n),
        }
        out
    }

    /// The quantization this change loads the weights with, if it changes them.
    pub fn weights(self) -> Option<Quantization> {
        (self == Change::WeightsFp8).then_some(Quantization::Fp8)
    }

    /// What it changes, in words ("KV cache FP8", "memory share 0.95").
    pub fn describe(self) -> String {
        match self {
            Change::KvCacheFp8 => "KV cache FP8".into(),
            Change::MemoryShare(share) => format!("memory share {share:.2}"),
            Change::MaxNumSeqs(n) => format!("max sequences {n}"),
            Change::WeightsFp8 => "weights FP8".into(),
            Change::DataParallel(n) => format!("{n} copies (data parallel)"),
        }
    }
}

/// Settings and the weights' quantization as a point or a deployment runs them, in words:
/// the weights first when they are quantized at load time ("weights FP8 · KV cache fp8"),
/// "the engine's defaults" when nothing differs from them.
///
/// ```
/// use gdl_model::engines::EngineSettings;
/// use gdl_model::registry::Quantization;
/// use gdl_model::tuning::setup_words;
/// let own = EngineSettings { max_num_seqs: Some(16), ..EngineSettings::default() };
/// assert_eq!(setup_words(&own, None), "max 16 sequences");
/// assert_eq!(setup_words(&own, Some(Quantization::Fp8)), "weights FP8 · max 16 sequences");
/// assert_eq!(setup_words(&EngineSettings::default(), None), "the engine's defaults");
/// ```
pub fn setup_words(settings: &EngineSettings, weights: Option<Quantization>) -> String {
    let parts: Vec<String> = weights
        .filter(|q| *q == Quantization::Fp8)
        .map(|_| Change::WeightsFp8.describe())
        .into_iter()
        .chain(Some(settings.summary()).filter(|s| !s.is_empty()))
        .collect();
    if parts.is_empty() {
        "the engine's defaults".into()
    } else {
        parts.join(" · ")
    }
}

/// What `to` changes against `from`, in the order tuning tries changes, in words ("KV
/// cache FP8, max sequences 16"), with the weights quantized by tuning (`weights`) last:
/// a limit raised twice reads as its last value. "default" when nothing differs.
///
/// ```
/// use gdl_model::engines::EngineSettings;
/// use gdl_model::registry::Quantization;
/// use gdl_model::tuning::{changed, Change};
/// let own = EngineSettings { max_num_seqs: Some(2), ..EngineSettings::default() };
/// let raised = Change::MaxNumSeqs(8).apply(&Change::MaxNumSeqs(4).apply(&own));
/// let best = Change::KvCacheFp8.apply(&raised);
/// assert_eq!(changed(&own, &best, None), "KV cache FP8, max sequences 8");
/// assert_eq!(
///     changed(&own, &best, Some(Quantization::Fp8)),
///     "KV cache FP8, max sequences 8, weights FP8"
/// );
/// assert_eq!(changed(&own, &own, None), "default");
/// ```
pub fn changed(
    from: &EngineSettings,
    to: &EngineSettings,
    weights: Option<Quantization>,
) -> String {
    let mut parts = Vec::new();
    if to.kv_cache_dtype != from.kv_cache_dtype && to.kv_cache_dtype == KvCacheDtype::Fp8 {
        parts.push(Change::KvCacheFp8.describe());
    }
    if to.gpu_memory_utilization != from.gpu_memory_utilization {
        parts.push(Change::MemoryShare(to.memory_share()).describe());
    }
    if let (Some(n), true) = (to.max_num_seqs, to.max_num_seqs != from.max_num_seqs) {
        parts.push(Change::MaxNumSeqs(n).describe());
    }
    if weights == Some(Quantization::Fp8) {
        parts.push(Change::WeightsFp8.describe());
    }
    if to.copies() != from.copies() {
        parts.push(Change::DataParallel(to.copies()).describe());
    }
    if parts.is_empty() {
        "default".into()
    } else {
        parts.join(", ")
    }
}

/// Why tuning ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TuneStop {
    /// Every change worth trying was tried.
    Done,
    /// The next trial would have gone over the $ budget.
    UsdBudget,
    /// The next trial would have gone over the time budget.
    TimeBudget,
    /// The engine could not be started again with the best settings.
    Failed,
}

/// One setting tried: its settings, what it changed against the point it started from, and
/// what the capacity search measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TuningPoint {
    /// The settings the engine ran with.
    pub settings: EngineSettings,
    /// The quantization tuning loaded the weights with (FP8 at load time); absent: the
    /// run's own weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Quantization>,
    /// The changes against the run's own settings, in words ("default" for none).
    pub change: String,
    /// The highest concurrency that met the SLOs (`None`: none did, or it did not start).
    pub capacity: Option<u32>,
    /// Output tokens a second at that concurrency.
    pub output_tokens_per_s: Option<f64>,
    /// $ per million output tokens at that concurrency, at the rental's price.
    pub usd_per_million_output_tokens: Option<f64>,
    /// Seconds it took: the restart and the search.
    pub seconds: f64,
    /// What those seconds cost at the rental's price, USD.
    pub cost_usd: f64,
    /// Why the engine did not serve with these settings, if it did not (its own words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TuningPoint {
    /// Its settings and weights in words ([`setup_words`]).
    pub fn words(&self) -> String {
        setup_words(&self.settings, self.weights)
    }

    /// Whether this point beats `other`: a higher capacity, or the same with clearly more
    /// throughput (by more than `noise`, a share: 0.05 is 5 %).
    pub fn beats(&self, other: &TuningPoint, noise: f64) -> bool {
        match (self.capacity, other.capacity) {
            (Some(a), Some(b)) if a != b => a > b,
            (Some(_), None) => true,
            (None, _) => false,
            _ => {
                let (a, b) = (
                    self.output_tokens_per_s.unwrap_or(0.0),
                    other.output_tokens_per_s.unwrap_or(0.0),
                );
                a > b * (1.0 + noise)
            }
        }
    }
}

/// A tuning: every point tried, in order, the best, and what it all cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tuning {
    /// The points in the order tried; the first is the run's own settings.
    pub points: Vec<TuningPoint>,
    /// The index of the best point in `points`.
    pub best: usize,
    /// Why it ended.
    pub stop: TuneStop,
    /// Seconds in all, restarts included.
    pub seconds: f64,
    /// What tuning cost at the rental's price, USD (the first point's search excluded when
    /// it was the run's own benchmark).
    pub cost_usd: f64,
}

impl Tuning {
    /// The best point.
    pub fn winner(&self) -> &TuningPoint {
        &self.points[self.best]
    }

    /// The best capacity against the first point's (1.0: no better), when both met the
    /// SLOs at some concurrency.
    pub fn gain(&self) -> Option<f64> {
        let first = self.points.first()?.capacity?;
        let best = self.winner().capacity?;
        Some(f64::from(best) / f64::from(first.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(capacity: Option<u32>, tps: f64) -> TuningPoint {
        TuningPoint {
            settings: EngineSettings::default(),
            weights: None,
            change: "default".into(),
            capacity,
            output_tokens_per_s: Some(tps),
            usd_per_million_output_tokens: None,
            seconds: 1.0,
            cost_usd: 0.0,
            error: None,
        }
    }

    #[test]
    fn a_point_beats_another_by_capacity_then_clearly_by_throughput() {
        assert!(point(Some(8), 100.0).beats(&point(Some(4), 300.0), 0.05));
        assert!(!point(Some(4), 300.0).beats(&point(Some(8), 100.0), 0.05));
        assert!(point(Some(4), 110.0).beats(&point(Some(4), 100.0), 0.05));
        assert!(
            !point(Some(4), 104.0).beats(&point(Some(4), 100.0), 0.05),
            "noise"
        );
        assert!(point(Some(1), 1.0).beats(&point(None, 0.0), 0.05));
        assert!(!point(None, 1.0).beats(&point(None, 0.0), 0.05));
    }

    #[test]
    fn changes_apply_to_settings_and_read_as_words() {
        let base = EngineSettings::default();
        let fp8 = Change::KvCacheFp8.apply(&base);
        assert_eq!(fp8.kv_cache_dtype, KvCacheDtype::Fp8);
        let share = Change::MemoryShare(TUNED_MEMORY_SHARE).apply(&fp8);
        assert_eq!(share.gpu_memory_utilization, Some(0.95));
        assert_eq!(share.kv_cache_dtype, KvCacheDtype::Fp8, "changes add up");
        assert_eq!(Change::MaxNumSeqs(64).describe(), "max sequences 64");
        let json = serde_json::to_string(&Change::MemoryShare(0.95)).unwrap();
        assert_eq!(json, r#"{"knob":"memory_share","value":0.95}"#);
        // Copies side by side: a setting of their own, read the same in both places.
        let copies = Change::DataParallel(2).apply(&share);
        assert_eq!(copies.data_parallel_size, Some(2));
        assert_eq!(
            changed(&base, &copies, None),
            "KV cache FP8, memory share 0.95, 2 copies (data parallel)"
        );
        assert!(setup_words(&copies, None).ends_with("2 copies (data parallel) · KV cache fp8"));
        let json = serde_json::to_string(&Change::DataParallel(2)).unwrap();
        assert_eq!(json, r#"{"knob":"data_parallel","value":2}"#);
    }
}

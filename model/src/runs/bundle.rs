//! A benchmark's bundle: everything needed to run it again and to judge its figures later
//! (the run's configuration exactly as it recorded it: the engine, its version and
//! settings, the workload with its seed, the SLOs; the GPU, provider and offer price it
//! ran on), with the command that runs it again (`gpu-deploy-llm test --from FILE`).
//!
//! Run again, a bundle rents the same GPU type and count on the same provider, never the
//! old offer (offers come and go): [`BenchmarkBundle::again`].

use super::{BenchmarkRecord, PinnedGpu, TestConfig};
use crate::campaigns::bundle::quoted;
use crate::ids::{BenchmarkId, RunId};
use crate::provider::Provider;
use crate::tuning::TuningPoint;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a benchmark bundle says it is, so a file of another kind is refused plainly.
pub const BENCHMARK_BUNDLE_KIND: &str = "gpu-deploy-llm benchmark bundle";

/// A benchmark's bundle (`GET /api/benchmarks/{id}/bundle`). Only a benchmark a run
/// measured has one: a record measured by `gpu-deploy-llm bench` or imported has no run
/// to repeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BenchmarkBundle {
    /// Always [`BENCHMARK_BUNDLE_KIND`].
    pub kind: String,
    /// The bundle's format, 1.
    pub version: u32,
    /// The benchmark it was made from.
    pub benchmark: BenchmarkId,
    /// The run that measured it.
    pub run: RunId,
    /// When the benchmark was recorded.
    pub created_at: DateTime<Utc>,
    /// The model, as the benchmark names it.
    pub model: String,
    /// The GPU model it ran on, as the broker names it (`RTX 4090`).
    pub gpu_type: String,
    /// GPUs in the instance.
    pub gpu_count: u32,
    /// The provider of the instance.
    pub provider: Provider,
    /// The offer's price at the time, USD per hour.
    pub price_per_hour: f64,
    /// The run's configuration, exactly as it recorded it (its engine version is the one
    /// it deployed).
    pub config: TestConfig,
    /// The command that runs it again, with this bundle saved as `{benchmark}.json`.
    pub command: String,
    /// Nearly the same test as `gpu-deploy-llm test` flags (the workload and SLOs
    /// included): no flag pins a GPU type, and the engine settings are carried by the
    /// bundle only.
    pub flags: String,
}

impl BenchmarkBundle {
    /// The bundle of `record`, measured by a run configured as `config`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::runs::bundle::BenchmarkBundle;
    /// use gdl_model::runs::{BenchmarkRecord, TestConfig};
    ///
    /// let record: BenchmarkRecord = serde_json::from_str(r#"{"id":"bench-1","run_id":"run-1",
    ///     "created_at":"2026-12-01T10:00:00Z","model":"Qwen/Qwen2.5-0.5B-Instruct",
    ///     "served_repo":"Qwen/Qwen2.5-0.5B-Instruct","quantization":"none","provider":"vastai",
    ///     "gpu_type":"RTX 4090","gpu_count":1,"price_per_hour":0.41,"prompts_matching":3,
    ///     "prompts_with_expected":4,"phases":[]}"#)?;
    /// let config: TestConfig = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":0.4,
    ///     "pin_offer":"vastai-41","engine_version":"0.31.0","capacity_search":true,
    ///     "workload":{"input_tokens":64,"output_tokens":16,"seed":9},
    ///     "tune":{"usd_budget":0.5,"seconds":600}}"#)?;
    /// let b = BenchmarkBundle::of(&record, &config);
    /// assert_eq!(b.command, "gpu-deploy-llm test --from bench-1.json");
    /// assert_eq!(b.config, config, "the configuration as the run recorded it");
    /// assert!(b.flags.starts_with("gpu-deploy-llm test --model qwen2.5-0.5b --max-price 0.41 "));
    ///
    /// // Read back, as `test --from` does, and run again: the same GPU, not the old offer.
    /// let again = BenchmarkBundle::read(&serde_json::to_string(&b)?).unwrap().again();
    /// assert_eq!(again.pin_offer, None);
    /// assert_eq!(again.pin_gpu.unwrap().to_string(), "RTX 4090 at $0.41/h");
    /// assert_eq!(again.provider.unwrap().as_str(), "vastai");
    /// assert_eq!(again.max_price, 0.41, "the price it ran at is allowed");
    /// assert_eq!(again.workload.unwrap().seed, 9);
    /// // Tuning is run again with the same budget, by the bundle and by its flags.
    /// assert_eq!(again.tune.unwrap().usd_budget, 0.5);
    /// assert!(b.flags.contains(" --search --tune-usd 0.5 --tune-seconds 600"));
    ///
    /// // Any other file is refused, saying what it is.
    /// let campaign = r#"{"kind":"gpu-deploy-llm campaign bundle","version":1}"#;
    /// assert!(BenchmarkBundle::read(campaign).unwrap_err().contains("campaign bundle"));
    /// assert!(BenchmarkBundle::read("model: x").unwrap_err().starts_with("not JSON"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn of(record: &BenchmarkRecord, config: &TestConfig) -> Self {
        let mut bundle = Self {
            kind: BENCHMARK_BUNDLE_KIND.to_owned(),
            version: 1,
            benchmark: record.id.clone(),
            run: record.run_id.clone(),
            created_at: record.created_at,
            model: record.model.clone(),
            gpu_type: record.gpu_type.clone(),
            gpu_count: record.gpu_count,
            provider: record.provider.clone(),
            price_per_hour: record.price_per_hour,
            config: config.clone(),
            command: format!("gpu-deploy-llm test --from {}.json", record.id),
            flags: String::new(),
        };
        bundle.flags = flags(&bundle.again());
        bundle
    }

    /// The configuration that runs it again: [`Self::config`] on the same GPU type and
    /// count and the same provider, whichever offer of them is cheapest then (the old offer
    /// is never asked for), at a highest price that allows the one it ran at.
    pub fn again(&self) -> TestConfig {
        TestConfig {
            max_price: self.config.max_price.max(self.price_per_hour),
            provider: Some(self.provider.clone()),
            gpu_count: self.gpu_count,
            pin_offer: None,
            pin_gpu: Some(PinnedGpu {
                gpu_type: self.gpu_type.clone(),
                gpu_count: self.gpu_count,
                price_per_hour: self.price_per_hour,
            }),
            ..self.config.clone()
        }
    }

    /// The configuration that keeps the model serving on the same GPU type and count (as
    /// [`Self::again`], but from any provider: the settings are the GPU's, and a deployment
    /// wants the cheapest such offer there is), started with `best`'s settings and weights
    /// when given (the best point its tuning found) and the test's own otherwise; nothing of
    /// the benchmark's measuring (search, tuning, workload, probe) is kept.
    ///
    /// ```
    /// use gdl_model::engines::EngineSettings;
    /// use gdl_model::registry::Quantization;
    /// use gdl_model::runs::bundle::BenchmarkBundle;
    /// use gdl_model::tuning::TuningPoint;
    /// let b: BenchmarkBundle = serde_json::from_str(r#"{"kind":"gpu-deploy-llm benchmark bundle",
    ///     "version":1,"benchmark":"bench-1","run":"run-1","created_at":"2026-12-01T00:00:00Z",
    ///     "model":"qwen2.5-0.5b","gpu_type":"RTX 4090","gpu_count":1,"provider":"vastai",
    ///     "price_per_hour":0.4,"command":"","flags":"",
    ///     "config":{"model":"qwen2.5-0.5b","max_price":0.3,"capacity_search":true,
    ///         "settings":{"max_num_seqs":4},"tune":{"usd_budget":0.5,"seconds":600}}}"#)?;
    /// let best = TuningPoint {
    ///     settings: EngineSettings { max_num_seqs: Some(16), ..EngineSettings::default() },
    ///     weights: Some(Quantization::Fp8),
    ///     change: "max sequences 16, weights FP8".into(),
    ///     capacity: Some(16),
    ///     output_tokens_per_s: None,
    ///     usd_per_million_output_tokens: None,
    ///     seconds: 60.0,
    ///     cost_usd: 0.01,
    ///     error: None,
    /// };
    /// let serving = b.serving(Some(&best));
    /// assert_eq!(serving.settings.max_num_seqs, Some(16));
    /// assert_eq!(serving.quantization.as_deref(), Some("fp8"), "the weights tuning chose");
    /// assert_eq!(serving.pin_gpu.unwrap().gpu_type, "RTX 4090");
    /// assert_eq!(serving.max_price, 0.4, "the price it was measured at is allowed");
    /// assert!(!serving.capacity_search && serving.tune.is_none());
    /// assert_eq!(serving.provider, None, "any provider's");
    /// assert_eq!(b.serving(None).settings.max_num_seqs, Some(4), "the test's own");
    /// assert_eq!(b.serving(None).quantization, None);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn serving(&self, best: Option<&TuningPoint>) -> TestConfig {
        let again = self.again();
        let weights = best.and_then(|b| b.weights).map(|q| q.as_str().to_owned());
        TestConfig {
            settings: best.map_or(again.settings, |b| b.settings.clone()),
            quantization: weights.or(again.quantization),
            keep_on_failure: false,
            capacity_search: false,
            workload: None,
            slo: None,
            search_budget_usd: None,
            search_seconds: None,
            probe: None,
            avoid_offers: Vec::new(),
            tune: None,
            provider: None,
            ..again
        }
    }

    /// A benchmark bundle read from `text`; a sentence saying what it is otherwise.
    pub fn read(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .map(str::to_owned);
        let version = value.get("version").and_then(|v| v.as_u64());
        match (kind.as_deref(), version) {
            (Some(BENCHMARK_BUNDLE_KIND), Some(1)) => {}
            (Some(kind), version) => {
                return Err(format!(
                    "a {kind:?} of version {}, not a {BENCHMARK_BUNDLE_KIND} of version 1",
                    version.map_or("none".to_owned(), |v| v.to_string())
                ))
            }
            (None, _) => {
                return Err(format!(
                    "JSON without a \"kind\": not a {BENCHMARK_BUNDLE_KIND}"
                ))
            }
        }
        serde_json::from_value(value).map_err(|e| format!("a damaged {BENCHMARK_BUNDLE_KIND}: {e}"))
    }
}

/// `config` as `gpu-deploy-llm test` flags, as far as flags go.
fn flags(c: &TestConfig) -> String {
    let mut out = format!(
        "gpu-deploy-llm test --model {} --max-price {} --gpu-count {} --reservation-hours {} --deploy-mode {} --engine {}",
        quoted(&c.model),
        c.max_price,
        c.gpu_count,
        c.reservation_hours,
        c.deploy_mode.as_str(),
        c.engine.as_str()
    );
    if let Some(p) = &c.provider {
        out.push_str(&format!(" --provider {}", p.as_str()));
    }
    if let Some(q) = &c.quantization {
        out.push_str(&format!(" --quantization {}", quoted(q)));
    }
    if let Some(v) = &c.engine_version {
        out.push_str(&format!(" --engine-version {}", quoted(v)));
    }
    if c.capacity_search {
        out.push_str(" --search");
        if let Some(t) = &c.tune {
            out.push_str(&format!(
                " --tune-usd {} --tune-seconds {}",
                t.usd_budget, t.seconds
            ));
        }
    }
    if c.keep_on_failure {
        out.push_str(" --keep-on-failure");
    }
    if let Some(w) = &c.workload {
        match &w.trace {
            Some(t) => out.push_str(&format!(" --trace {}", quoted(t))),
            None => out.push_str(&format!(
                " --input-tokens {} --output-tokens {}",
                w.input_tokens, w.output_tokens
            )),
        }
        out.push_str(&format!(" --seed {}", w.seed));
    }
    if let Some(slo) = &c.slo {
        out.push_str(&format!(
            " --ttft-ms {} --tpot-ms {}",
            slo.ttft_p95_ms, slo.tpot_p95_ms
        ));
    }
    out
}

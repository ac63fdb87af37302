//! The KV cache a chosen context length needs, added to a model's VRAM estimate.
//!
//! An engine refuses to start when its KV cache cannot hold one whole sequence of the
//! context length it is given (vLLM: "The model's max seq len ... is larger than the maximum
//! number of tokens that can be stored in KV cache"; SGLang likewise sizes its pool from
//! `--context-length`). So a run that names a context length needs at least that many tokens
//! of cache beside the weights. More sequences at once share the cache in pages and need not
//! each hold a whole context: `max_num_seqs` does not multiply it.
//!
//! KV bytes per token = 2 (K and V) × layers × KV heads × head size × bytes per value. The
//! registry does not know layer or head counts, so the per-token figure is approximated by
//! model size, from the configurations of the common grouped-query models of each size
//! (Hugging Face `config.json`: `num_hidden_layers`, `num_key_value_heads`, `head_dim`), at
//! the high end of each class so that the estimate refuses rather than rents a GPU that is
//! too small:
//!
//! | parameters | 16-bit KV per token | from |
//! |---|---|---|
//! | ≤ 1.5 B | 32 KiB | Llama 3.2 1B: 16 × 8 × 64 × 2 × 2 B |
//! | ≤ 4 B | 112 KiB | Llama 3.2 3B: 28 × 8 × 128 × 2 × 2 B |
//! | ≤ 10 B | 128 KiB | Llama 3.1 8B, Mistral 7B: 32 × 8 × 128 × 2 × 2 B |
//! | ≤ 20 B | 192 KiB | Qwen2.5 14B: 48 × 8 × 128 × 2 × 2 B |
//! | ≤ 40 B | 256 KiB | Qwen2.5 32B: 64 × 8 × 128 × 2 × 2 B |
//! | larger | 320 KiB | Llama 3.1 70B, Qwen2.5 72B: 80 × 8 × 128 × 2 × 2 B |
//!
//! An FP8 KV cache (`kv_cache_dtype: fp8`) halves it.

use super::ResolvedModel;
use crate::engines::{EngineSettings, KvCacheDtype};

/// 16-bit KV-cache bytes per token for a model of `params_b` billion parameters (see the
/// module's table).
pub fn kv_bytes_per_token(params_b: f64) -> f64 {
    let kib = match params_b {
        p if p <= 1.5 => 32.0,
        p if p <= 4.0 => 112.0,
        p if p <= 10.0 => 128.0,
        p if p <= 20.0 => 192.0,
        p if p <= 40.0 => 256.0,
        _ => 320.0,
    };
    kib * 1024.0
}

/// GB of KV cache for `tokens` tokens of this model, at the settings' KV precision.
pub fn kv_cache_gb(params_b: f64, tokens: u32, dtype: KvCacheDtype) -> f64 {
    let per_token = match dtype {
        KvCacheDtype::Auto => kv_bytes_per_token(params_b),
        KvCacheDtype::Fp8 => kv_bytes_per_token(params_b) / 2.0,
    };
    per_token * f64::from(tokens) / 1e9
}

/// Activations and the engine's workspace beside weights and KV cache, GB.
const ACTIVATIONS_GB: f64 = 1.0;

impl ResolvedModel {
    /// The estimate with the KV cache `settings`' context length needs: the overhead becomes
    /// the larger of the default allowance and that cache plus 1 GB of activations. Without
    /// a context length the estimate is unchanged (the engine then fits the context to the
    /// memory it finds).
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::engines::EngineSettings;
    /// use gdl_model::registry::{resolve, Quantization};
    ///
    /// let model = resolve("qwen2.5-7b", Quantization::None)?; // 21 GB
    /// let short = EngineSettings { max_model_len: Some(4096), ..Default::default() };
    /// assert_eq!(model.clone().with_context(&short).vram_gb, 21, "the allowance covers it");
    /// let long = EngineSettings { max_model_len: Some(131_072), ..Default::default() };
    /// // 131,072 tokens × 128 KiB = 17.2 GB of cache.
    /// assert_eq!(model.with_context(&long).vram_gb, 35);
    /// # Ok::<(), gdl_model::registry::ModelError>(())
    /// ```
    pub fn with_context(mut self, settings: &EngineSettings) -> Self {
        let Some(tokens) = settings.max_model_len else {
            return self;
        };
        let kv = kv_cache_gb(self.params_b, tokens, settings.kv_cache_dtype);
        let context = super::CUDA_CONTEXT_GB;
        let needed = kv + ACTIVATIONS_GB + context;
        if needed > self.overhead_gb {
            self.overhead_gb = (needed * 10.0).ceil() / 10.0;
            self.vram_gb = (self.weights_gb + self.overhead_gb).ceil() as u32;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{resolve, Quantization};

    #[test]
    fn a_longer_context_needs_more_vram_and_an_fp8_cache_half_the_cache() {
        let model = resolve("qwen2.5-7b", Quantization::None).unwrap();
        let at = |tokens: u32, dtype: KvCacheDtype| {
            let s = EngineSettings {
                max_model_len: Some(tokens),
                kv_cache_dtype: dtype,
                ..Default::default()
            };
            model.clone().with_context(&s)
        };
        assert_eq!(at(2048, KvCacheDtype::Auto), model, "within the allowance");
        let long = at(131_072, KvCacheDtype::Auto);
        let fp8 = at(131_072, KvCacheDtype::Fp8);
        assert!(long.vram_gb > fp8.vram_gb && fp8.vram_gb > model.vram_gb);
        assert!(long.vram_per_gpu(2) < long.vram_gb, "split across GPUs");
        assert!((kv_cache_gb(7.6, 131_072, KvCacheDtype::Auto) - 17.18).abs() < 0.01);
        assert_eq!(
            model.clone().with_context(&EngineSettings::default()),
            model
        );
    }

    #[test]
    fn bigger_models_need_more_cache_per_token() {
        let sizes = [0.5, 3.0, 8.0, 14.0, 32.0, 72.0];
        let per: Vec<f64> = sizes.iter().map(|&p| kv_bytes_per_token(p)).collect();
        assert!(per.windows(2).all(|w| w[0] < w[1]), "{per:?}");
    }
}

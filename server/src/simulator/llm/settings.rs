//! What an engine's settings make of its hardware in the simulator: the ground truth that
//! tuning (issue 31) is checked against, computable by a test from the same functions.
//!
//! The shape follows a real engine's:
//! - **Memory.** The engine takes its share of each GPU (`--gpu-memory-utilization`, SGLang
//!   `--mem-fraction-static`); the weights and a workspace come first, the KV cache gets the
//!   rest. A request holds cache for its prompt and its reply while it runs (paged, so the
//!   cache is shared by token, not by whole context), so the cache caps how many run at once
//!   beside `--max-num-seqs`. An FP8 cache holds twice the tokens; `--enforce-eager` frees
//!   the CUDA graphs' memory for cache but decodes slower.
//! - **Speed.** Decoding alone is bound by reading the weights: quantized weights are read
//!   faster. Each step slows a fixed share per other sequence decoded with it
//!   ([`CROWDING`]), so more sequences at once raise throughput until compute saturates, and
//!   then only raise the time per token. A request that finds no room waits in the queue.
//! - **Copies side by side** (`--data-parallel-size`): each copy of the model has its own
//!   GPUs (`--tensor-parallel-size` of them), its own weights, cache and limit on
//!   sequences, and decodes at the speed of its GPUs. Requests are spread evenly over the
//!   copies, so a step slows by the sequences on its copy, not on all; a request waits only
//!   when no copy has room (the caches are counted together: a simplification of vLLM's
//!   balancer, which sends a request to the least-loaded copy). One copy split over more
//!   GPUs decodes faster (less than in proportion) and has more room for the cache; more
//!   copies serve more sequences at once, each at a single copy's speed.
//! - **Restarts** take a load time that grows with the model.

use super::super::shell::arg_after;
use gdl_model::registry::kv_cache::kv_bytes_per_token;

/// Sequences at once when `--max-num-seqs` is not given (vLLM's default; SGLang sizes its
/// own from memory, which the cache's limit stands for here).
pub const DEFAULT_MAX_SEQS: u32 = 256;
/// The share of GPU memory taken when no flag says (vLLM's default).
pub const DEFAULT_MEMORY_SHARE: f64 = 0.90;
/// GPU memory beside weights and cache (activations, the CUDA context, CUDA graphs), GB.
pub const WORKSPACE_GB: f64 = 1.0;
/// Of the workspace, what the captured CUDA graphs take (freed by `--enforce-eager`), GB.
pub const GRAPHS_GB: f64 = 0.5;
/// How much slower each token is without CUDA graphs.
pub const EAGER_SLOWDOWN: f64 = 1.25;
/// The share by which each decoding step slows per other sequence decoded with it.
pub const CROWDING: f64 = 0.12;
/// The share by which a prefill slows per other sequence running: less than a decoding
/// step, since a prefill is compute-bound and the others' decoding adds little to it.
pub const PREFILL_CROWDING: f64 = 0.03;

/// The GPUs' memory an engine starts on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Memory {
    /// Per GPU, GiB.
    pub vram_gb: u32,
    /// GPUs on the host.
    pub count: u32,
}

/// What an engine was started with, as it reads its command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    pub params_b: f64,
    /// Bytes a weight takes: 2 (16-bit), 1 (FP8), 0.55 (4-bit AWQ or GPTQ with scales).
    pub bytes_per_param: f64,
    /// GPUs each copy of the model is split over.
    pub tp: u32,
    /// Copies of the model served side by side, each on its own `tp` GPUs.
    pub dp: u32,
    pub max_num_seqs: u32,
    pub memory_share: f64,
    pub kv_fp8: bool,
    pub enforce_eager: bool,
    /// Prefix caching: on in both engines unless turned off (vLLM since its V1 engine,
    /// SGLang's radix cache, whose flag reads as vLLM's here).
    pub prefix_caching: bool,
    /// `--max-model-len` (`--context-length`), when given: the cache must hold one such
    /// sequence or the engine refuses to start.
    pub max_model_len: Option<u32>,
}

impl Launch {
    /// Reads the flags of a vLLM command line (SGLang's are translated to these first) for
    /// the model `repo` of `params_b` billion parameters.
    pub fn from_args(args: &[String], repo: &str, params_b: f64) -> Self {
        let number = |flag: &str| arg_after(args, flag).and_then(|v| v.parse::<f64>().ok());
        let lower = repo.to_ascii_lowercase();
        let bytes_per_param = match arg_after(args, "--quantization") {
            Some("awq" | "gptq" | "awq_marlin" | "gptq_marlin") => 0.55,
            Some("fp8") => 1.0,
            _ if lower.contains("awq") || lower.contains("gptq") => 0.55,
            _ if lower.contains("fp8") => 1.0,
            _ => 2.0,
        };
        Self {
            params_b,
            bytes_per_param,
            tp: number("--tensor-parallel-size").map_or(1, |n| n.max(1.0) as u32),
            dp: number("--data-parallel-size").map_or(1, |n| n.max(1.0) as u32),
            max_num_seqs: number("--max-num-seqs").map_or(DEFAULT_MAX_SEQS, |n| n.max(1.0) as u32),
            memory_share: number("--gpu-memory-utilization")
                .filter(|s| *s > 0.0 && *s < 1.0)
                .unwrap_or(DEFAULT_MEMORY_SHARE),
            kv_fp8: arg_after(args, "--kv-cache-dtype").is_some_and(|d| d.starts_with("fp8")),
            enforce_eager: args.iter().any(|a| a == "--enforce-eager"),
            prefix_caching: !args.iter().any(|a| a == "--no-enable-prefix-caching"),
            max_model_len: number("--max-model-len").map(|n| n as u32),
        }
    }

    /// GB the weights and the workspace of one copy take, over its GPUs.
    pub fn need_gb(&self) -> f64 {
        self.params_b * self.bytes_per_param + WORKSPACE_GB
    }

    /// GPUs the engine asks for: each copy's split, times the copies.
    pub fn gpus_asked(&self) -> u32 {
        self.tp.max(1) * self.dp.max(1)
    }

    /// GB one copy may take on `gpus`.
    pub fn usable_gb(&self, gpus: Memory) -> f64 {
        f64::from(gpus.vram_gb) * f64::from(self.tp.min(gpus.count).max(1)) * self.memory_share
    }

    /// Tokens one copy's KV cache holds on `gpus` (0 when the weights leave no room).
    pub fn kv_tokens_per_copy(&self, gpus: Memory) -> u64 {
        let freed = if self.enforce_eager { GRAPHS_GB } else { 0.0 };
        let cache_gb = self.usable_gb(gpus) - self.need_gb() + freed;
        let per_token = kv_bytes_per_token(self.params_b) / if self.kv_fp8 { 2.0 } else { 1.0 };
        (cache_gb.max(0.0) * 1e9 / per_token).floor() as u64
    }

    /// Tokens the KV caches of all the copies hold on `gpus`.
    pub fn kv_tokens(&self, gpus: Memory) -> u64 {
        self.kv_tokens_per_copy(gpus) * u64::from(self.dp.max(1))
    }

    /// The most sequences at once over all the copies (`--max-num-seqs` is each copy's).
    pub fn max_seqs(&self) -> u32 {
        self.max_num_seqs.saturating_mul(self.dp.max(1))
    }

    /// How many times its unquantized, graph-captured speed each token takes: weights read
    /// from memory dominate a step alone, so fewer bytes a weight decode faster.
    pub fn decode_factor(&self) -> f64 {
        let read = 0.35 + 0.65 * self.bytes_per_param / 2.0;
        read * if self.enforce_eager {
            EAGER_SLOWDOWN
        } else {
            1.0
        }
    }

    /// Why it cannot start on `gpus`, as the engine says it, if it cannot.
    pub fn refusal(&self, gpus: Memory) -> Option<String> {
        if self.gpus_asked() > gpus.count {
            return Some(format!("ValueError: The number of required GPUs exceeds the total number of available GPUs in the placement group. (tensor_parallel_size={}, data_parallel_size={}, GPUs={})", self.tp, self.dp, gpus.count));
        }
        let usable = self.usable_gb(gpus);
        if self.need_gb() > usable {
            return Some(format!("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {:.2} GiB. GPU 0 has a total capacity of {} GiB", self.need_gb() - usable + 0.5, gpus.vram_gb));
        }
        let cache = self.kv_tokens_per_copy(gpus);
        match self.max_model_len {
            Some(len) if u64::from(len) > cache => Some(format!("ValueError: The model's max seq len ({len}) is larger than the maximum number of tokens that can be stored in KV cache ({cache}). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.")),
            _ => None,
        }
    }

    /// Requests of `tokens` tokens each (prompt and reply) that run at once over all the
    /// copies: the smaller of their `--max-num-seqs` and what their caches hold.
    pub fn slots(&self, gpus: Memory, tokens: u64) -> u32 {
        let by_cache = self.kv_tokens(gpus) / tokens.max(1);
        by_cache.min(u64::from(self.max_seqs())) as u32
    }
}

/// Sequences on one of `copies` copies when `running` are spread evenly over them.
pub fn on_one_copy(running: usize, copies: u32) -> usize {
    running.div_ceil(copies.max(1) as usize)
}

/// A decoding step's time with `running` sequences, against one alone.
pub fn crowding(running: usize) -> f64 {
    1.0 + CROWDING * running.saturating_sub(1) as f64
}

/// A prefill's time with `running` sequences (itself included), against one alone.
pub fn prefill_crowding(running: usize) -> f64 {
    1.0 + PREFILL_CROWDING * running.saturating_sub(1) as f64
}

/// The highest concurrency at which every request meets a time to first token of
/// `ttft_slo_ms` and a time per output token of `tpot_slo_ms`, for requests whose prefill
/// alone takes `prefill_ms` and whose tokens alone take `ms_per_token`, `slots` of them
/// running at once over `copies` copies side by side: past the slots a request waits for
/// a whole reply, which the SLOs are taken not to allow. The ground truth of a capacity
/// search against this server.
pub fn capacity(
    prefill_ms: f64,
    ms_per_token: f64,
    (slots, copies): (u32, u32),
    ttft_slo_ms: f64,
    tpot_slo_ms: f64,
) -> u32 {
    let within = |alone: f64, slo: f64, crowding: f64| {
        if alone > slo {
            0
        } else {
            (1.0 + (slo / alone - 1.0) / crowding).floor() as u32
        }
    };
    // Each copy meets the SLOs up to a level: all of them, `copies` times that.
    let copies = copies.max(1);
    slots
        .min(copies.saturating_mul(within(prefill_ms, ttft_slo_ms, PREFILL_CROWDING)))
        .min(copies.saturating_mul(within(ms_per_token, tpot_slo_ms, CROWDING)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_side_by_side_each_have_their_own_gpus_cache_and_limit() {
        let two = Memory {
            vram_gb: 24,
            count: 2,
        };
        let split = launch("--tensor-parallel-size 2");
        let copies = launch("--data-parallel-size 2");
        // One copy over both: one set of weights, the rest cache. Two: weights twice.
        assert_eq!(split.usable_gb(two), 2.0 * 24.0 * 0.9);
        assert_eq!(copies.kv_tokens(two), 2 * copies.kv_tokens_per_copy(two));
        assert!(split.kv_tokens(two) > copies.kv_tokens(two));
        assert_eq!(copies.kv_tokens_per_copy(two), launch("").kv_tokens(CARD));
        assert_eq!(
            launch("--data-parallel-size 2 --max-num-seqs 3").slots(two, 1),
            6
        );
        assert_eq!(on_one_copy(5, 2), 3);
        assert_eq!(on_one_copy(5, 1), 5);
        // More GPUs asked than the host has: vLLM's own refusal.
        let why = launch("--tensor-parallel-size 2 --data-parallel-size 2")
            .refusal(two)
            .unwrap();
        assert!(why.contains("data_parallel_size=2"), "{why}");
        assert_eq!(copies.refusal(two), None);
    }

    fn launch(flags: &str) -> Launch {
        let args: Vec<String> = flags.split_whitespace().map(str::to_owned).collect();
        Launch::from_args(&args, "Qwen/Qwen2.5-7B-Instruct", 7.62)
    }

    const CARD: Memory = Memory {
        vram_gb: 24,
        count: 1,
    };

    #[test]
    fn the_cache_grows_with_fp8_a_larger_share_and_eager_and_caps_the_sequences() {
        let base = launch("");
        let fp8 = launch("--kv-cache-dtype fp8");
        let share = launch("--gpu-memory-utilization 0.95");
        let eager = launch("--enforce-eager");
        assert_eq!(base.memory_share, DEFAULT_MEMORY_SHARE);
        // 24 × 0.9 − (15.24 + 1) = 5.36 GB at 128 KiB a token.
        assert_eq!(
            base.kv_tokens(CARD),
            (5.36e9_f64 / 131_072.0).floor() as u64
        );
        assert!(fp8.kv_tokens(CARD).abs_diff(2 * base.kv_tokens(CARD)) <= 1);
        assert!(share.kv_tokens(CARD) > base.kv_tokens(CARD));
        assert!(eager.kv_tokens(CARD) > base.kv_tokens(CARD));
        assert!(
            eager.decode_factor() > base.decode_factor(),
            "slower without graphs"
        );
        // The cache caps the sequences, and so does the flag.
        let tokens = 2_000;
        assert_eq!(
            base.slots(CARD, tokens),
            (base.kv_tokens(CARD) / tokens) as u32
        );
        assert_eq!(launch("--max-num-seqs 3").slots(CARD, tokens), 3);
    }

    #[test]
    fn quantized_weights_decode_faster_and_leave_more_cache() {
        let (base, awq) = (launch(""), launch("--quantization awq"));
        assert_eq!(base.decode_factor(), 1.0);
        assert!(awq.decode_factor() < 0.6);
        assert!(awq.kv_tokens(CARD) > 2 * base.kv_tokens(CARD));
    }

    #[test]
    fn more_sequences_raise_throughput_with_diminishing_gain_and_the_time_per_token() {
        let throughput = |n: usize| n as f64 / crowding(n);
        for n in 1..64 {
            assert!(throughput(n + 1) > throughput(n));
            assert!(crowding(n + 1) > crowding(n), "TPOT rises");
        }
        assert!(throughput(64) / throughput(32) < 1.15, "saturating");
        assert!(prefill_crowding(32) < crowding(32), "a prefill slows less");
    }

    #[test]
    fn an_engine_that_cannot_fit_says_why_as_vllm_does() {
        let small = Memory {
            vram_gb: 16,
            count: 1,
        };
        assert!(launch("")
            .refusal(small)
            .unwrap()
            .contains("CUDA out of memory"));
        let long = launch("--max-model-len 131072");
        let why = long.refusal(CARD).unwrap();
        assert!(
            why.contains("larger than the maximum number of tokens"),
            "{why}"
        );
        assert_eq!(launch("--max-model-len 8192").refusal(CARD), None);
        // The capacity the SLOs allow: the cache's room, or where TTFT or TPOT give out.
        assert_eq!(capacity(100.0, 10.0, (5, 1), 1000.0, 100.0), 5);
        assert_eq!(capacity(100.0, 10.0, (500, 1), 10_000.0, 22.0), 11);
        assert_eq!(capacity(100.0, 10.0, (500, 1), 90.0, 100.0), 0);
        // Two copies: each meets the SLOs up to 11 sequences.
        assert_eq!(capacity(100.0, 10.0, (500, 2), 10_000.0, 22.0), 22);
    }
}

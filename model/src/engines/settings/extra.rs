//! The engine flags a run may add beside its settings, and their check.

use super::Engine;

/// Flags a run may add for `engine`: ones that change how it serves, never where it listens,
/// what it loads, its key, or how it is split over the GPUs (the runner sets those, the
/// split from [`super::EngineSettings::data_parallel_size`]).
/// source: `vllm serve --help` (vLLM 0.31) and `python -m sglang.launch_server --help`
/// (SGLang 0.5.21); flags both engines had in their older catalogue versions too.
pub fn known_flags(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Vllm => &[
            "--seed",
            "--max-num-batched-tokens",
            "--enable-chunked-prefill",
            "--no-enable-chunked-prefill",
            "--block-size",
            "--swap-space",
            "--cpu-offload-gb",
            "--max-logprobs",
            "--disable-log-requests",
            "--disable-log-stats",
            "--tokenizer-mode",
            "--revision",
            "--max-seq-len-to-capture",
            "--pipeline-parallel-size",
            "--enable-expert-parallel",
            "--generation-config",
            "--reasoning-parser",
            "--tool-call-parser",
            "--enable-auto-tool-choice",
            "--num-scheduler-steps",
            "--scheduling-policy",
        ],
        Engine::Sglang => &[
            "--random-seed",
            "--chunked-prefill-size",
            "--max-prefill-tokens",
            "--schedule-policy",
            "--schedule-conservativeness",
            "--attention-backend",
            "--sampling-backend",
            "--cuda-graph-max-bs",
            "--disable-overlap-schedule",
            "--enable-torch-compile",
            "--revision",
            "--log-level",
            "--reasoning-parser",
            "--tool-call-parser",
            "--enable-mixed-chunk",
        ],
    }
}

/// Checks one extra flag: `--flag` or `--flag=value`, the flag known, the value short and
/// printable.
pub(super) fn check_extra(engine: Engine, flag: &str) -> Result<(), String> {
    let flag = flag.trim();
    let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
    if !name.starts_with("--") {
        return Err(format!(
            "{flag:?} is not a flag: write --name or --name=value"
        ));
    }
    if !known_flags(engine).contains(&name) {
        return Err(format!(
            "{name} is not one of the {} flags a run may add ({})",
            engine.label(),
            known_flags(engine).join(", ")
        ));
    }
    if value.len() > 200 || value.chars().any(|c| c.is_control()) {
        return Err(format!(
            "the value of {name} must be one line of at most 200 characters"
        ));
    }
    Ok(())
}

//! An SGLang server on the simulated host (`python3 -m sglang.launch_server` in the
//! `lmsysorg/sglang` image): its arguments (`--model-path`, `--tp-size`, `--quantization`,
//! `--api-key`, and a `--config` YAML file whose values count as arguments the command line
//! does not give), its load time and its own log lines. Loading, dying and serving are a
//! [`Vllm`] process's, with the same OpenAI-compatible server ([`super::llm::SimLlm`]).

use super::shell::arg_after;
use super::vllm::{Gpus, Kind, Phase, Vllm};
use gdl_model::engines::Engine;
use std::time::Duration;

/// The server's Python module.
pub const MODULE: &str = "sglang.launch_server";

/// Whether a container's command (`python3 -m sglang.launch_server ...`) runs SGLang.
pub fn is_sglang(command: &[String]) -> bool {
    matches!(command, [python, m, module, ..]
        if python.starts_with("python") && m == "-m" && module == MODULE)
}

/// The flags of a `--config` file: `key: value` lines, each `--key value` (`true` alone as
/// `--key`, as SGLang reads store-true flags), quotes around values dropped.
fn config_flags(yaml: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in yaml.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        flags.push(format!("--{}", key.trim().replace('_', "-")));
        if value != "true" {
            flags.push(value.to_owned());
        }
    }
    flags
}

/// An SGLang server started with `command` (from `python3`), `config` the text of the file
/// its `--config` names (`None`: no such file in the container). `speed` scales the waits.
pub fn launch(
    kind: Kind,
    command: &[String],
    config: Option<&str>,
    gpus: &Gpus,
    speed: f64,
) -> Vllm {
    let mut args: Vec<String> = command.iter().skip(3).cloned().collect();
    let config_path = arg_after(&args, "--config").map(str::to_owned);
    match (&config_path, config) {
        (Some(path), None) => {
            let error = format!("ValueError: Config file not found: {path}");
            let mut dead = Vllm::broken(kind, &error, String::new(), gpus);
            dead.engine = Engine::Sglang;
            dead.own_log = Some(log);
            dead.server_args = format!("ServerArgs(config='{path}')");
            return dead;
        }
        // The command line wins over the file: its flags come first and are found first.
        (_, Some(yaml)) => args.extend(config_flags(yaml)),
        (None, None) => {}
    }
    let arg = |flag: &str| arg_after(&args, flag).map(str::to_owned);
    let repo = arg("--model-path")
        .or_else(|| arg("--model"))
        .unwrap_or_else(|| "facebook/opt-125m".into());
    let served = arg("--served-model-name").unwrap_or_else(|| repo.clone());
    let tp = arg("--tp-size")
        .or_else(|| arg("--tp"))
        .or_else(|| arg("--tensor-parallel-size"))
        .unwrap_or_else(|| "1".into());
    let port = arg("--port").unwrap_or_else(|| "30000".into());
    let key = arg("--api-key").unwrap_or_default();
    let mut as_vllm = vec![
        "--model".to_owned(),
        repo.clone(),
        "--served-model-name".to_owned(),
        served.clone(),
        "--tensor-parallel-size".to_owned(),
        tp.clone(),
        "--port".to_owned(),
        port.clone(),
    ];
    // Its settings, under vLLM's names (`settings::Launch` reads those). SGLang's own
    // default memory share is 0.88.
    let same = [
        ("--quantization", "--quantization"),
        ("--max-running-requests", "--max-num-seqs"),
        ("--context-length", "--max-model-len"),
        ("--kv-cache-dtype", "--kv-cache-dtype"),
        ("--dp-size", "--data-parallel-size"),
    ];
    for (own, vllm) in same {
        if let Some(value) = arg(own) {
            as_vllm.extend([vllm.to_owned(), value]);
        }
    }
    let share = arg("--mem-fraction-static").unwrap_or_else(|| "0.88".into());
    as_vllm.extend(["--gpu-memory-utilization".to_owned(), share]);
    if args.iter().any(|a| a == "--disable-cuda-graph") {
        as_vllm.push("--enforce-eager".to_owned());
    }
    if args.iter().any(|a| a == "--disable-radix-cache") {
        as_vllm.push("--no-enable-prefix-caching".to_owned());
    }
    let mut server = Vllm::launch(kind, &as_vllm, key.clone(), gpus, speed);
    server.engine = Engine::Sglang;
    server.own_log = Some(log);
    server.profile.owned_by = "sglang";
    // Its own start time: CUDA graph capture after the weights (a few seconds more than
    // vLLM's fixed part), weights read a little faster.
    server.load_time =
        Duration::from_secs_f64((26.0 + 3.5 * server.profile.params_b) / speed.max(0.01));
    let shown_key = if key.is_empty() {
        "None".to_owned()
    } else {
        format!("'{key}'")
    };
    // As SGLang prints its `ServerArgs` (a dataclass: the key included, which is why the
    // runner hides the key in every log line it reads).
    server.server_args = format!(
        "ServerArgs(model_path='{repo}', tokenizer_path='{repo}', host='{host}', port={port}, mem_fraction_static={mem}, tp_size={tp}, quantization={q}, api_key={shown_key}, served_model_name='{served}', context_length={ctx})",
        host = arg("--host").unwrap_or_else(|| "127.0.0.1".into()),
        mem = arg("--mem-fraction-static").unwrap_or_else(|| "0.88".into()),
        q = arg("--quantization").map_or("None".into(), |q| format!("'{q}'")),
        ctx = arg("--context-length").unwrap_or_else(|| "None".into()),
    );
    server
}

/// Every log line of SGLang `v` so far, oldest first.
pub fn log(v: &Vllm) -> Vec<String> {
    let at = |secs: f64| {
        let t = v.started_wall + chrono::Duration::milliseconds((secs * 1000.0) as i64);
        format!("[{}]", t.format("%Y-%m-%d %H:%M:%S"))
    };
    let total = v.load_time.as_secs_f64();
    let mut lines = vec![format!("{} server_args={}", at(0.0), v.server_args)];
    let done = match v.phase() {
        Phase::Loading(d) => d,
        Phase::Serving => 1.0,
        Phase::Dead if v.killed => return lines,
        Phase::Dead if v.crashed() => 1.0,
        Phase::Dead => 0.6,
    };
    if done > 0.0 {
        lines.push(format!("{} Init torch distributed begin.", tp0(at(1.0))));
    }
    let download = (done * 2.0).min(1.0);
    for tenth in 1..=(download * 10.0) as u32 {
        lines.push(format!("Fetching 12 files: {}%", tenth * 10));
    }
    let vram = v.profile.params_b * 2.0;
    if done > 0.5 {
        lines.push(format!(
            "{} Load weight begin. avail mem=23.10 GB",
            tp0(at(total * 0.5))
        ));
        let load = ((done - 0.5) * 2.0).min(1.0);
        for quarter in 1..=(load * 4.0) as u32 {
            lines.push(format!(
                "Loading safetensors checkpoint shards: {}% Completed | {quarter}/4",
                quarter * 25
            ));
        }
    }
    if done >= 1.0 {
        lines.extend([
            format!("{} Load weight end. type=Qwen2ForCausalLM, dtype=torch.bfloat16, avail mem={:.2} GB, mem usage={vram:.2} GB.", tp0(at(total * 0.9)), 23.1 - vram),
            format!("{} KV Cache is allocated. #tokens: 1048576, K size: 6.00 GB, V size: 6.00 GB", tp0(at(total * 0.92))),
            format!("{} Capture cuda graph end. Time elapsed: 4.12 s. mem usage=0.40 GB.", tp0(at(total * 0.97))),
            format!("{} INFO:     Started server process [1]", at(total)),
            format!("{} INFO:     Waiting for application startup.", at(total)),
            format!("{} INFO:     Application startup complete.", at(total)),
            format!("{} INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)", at(total)),
            format!("{} The server is fired up and ready to roll!", at(total)),
        ]);
    }
    match (v.phase(), &v.death) {
        (Phase::Dead, _) if v.crashed() => lines.extend([
            format!("{} Scheduler hit an exception: RuntimeError: CUDA error: an illegal memory access was encountered", tp0(at(total))),
            format!("{} Received sigquit from a child process. It usually means the child failed.", at(total)),
        ]),
        (Phase::Dead, Some(death)) => {
            lines.push(format!("{} Scheduler hit an exception: Traceback (most recent call last):", tp0(at(total * 0.6))));
            lines.push(death.clone());
        }
        _ => {}
    }
    lines
}

/// A stamp of the first tensor-parallel rank's process (`[... TP0]`).
fn tp0(stamp: String) -> String {
    format!("{} TP0]", stamp.trim_end_matches(']'))
}

#[cfg(test)]
mod tests;

//! Step 7, Diagnose host: the commands, and parsers that turn their output into a
//! [`HostReport`] (GPUs with VRAM, driver and temperature; CUDA; Docker; Python; disk; RAM;
//! network). A missing tool is a warning, not a failure.

use super::{Connected, Deps};
use crate::runner::error::StepError;
use crate::runner::host::{HostError, RemoteHost};
use gdl_model::runs::{GpuInfo, HostReport, StepName};
use std::time::Duration;

pub async fn run(d: &Deps<'_>, connected: &Connected) -> Result<HostReport, StepError> {
    let log = |line: &str| d.ctx.info(line);
    let report = diagnose(connected.host.as_ref(), &log).await?;
    for w in &report.warnings {
        d.ctx.warn(w);
    }
    let gpus = report.gpus.len();
    let stored = report.clone();
    d.ctx.update(|run| run.host = Some(stored)).await;
    d.ctx
        .detail(StepName::DiagnoseHost, format!("{gpus} GPU(s) seen"))
        .await;
    Ok(report)
}

/// The GPU query, one CSV line per GPU.
pub const NVIDIA_QUERY: &str =
    "nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,temperature.gpu,utilization.gpu --format=csv,noheader,nounits";

/// Runs every check; a missing tool is a warning, not a failure. Fails only when the host
/// cannot run a command at all.
pub async fn diagnose(
    host: &dyn RemoteHost,
    log: &(dyn Fn(&str) + Send + Sync),
) -> Result<HostReport, HostError> {
    let t = Duration::from_secs(20);
    let run = |cmd: &'static str| async move { host.exec(cmd, t).await };
    let shell = run("echo shell_ok").await?;
    if !shell.stdout.contains("shell_ok") {
        return Err(HostError::Channel(format!(
            "the host's shell does not answer (exit {}): {}",
            shell.exit_code,
            shell.stderr.trim()
        )));
    }
    let mut report = HostReport::default();
    // A command that fails is a missing tool; a host that went away fails the step.
    let text = |o: Result<crate::runner::host::ExecOutput, HostError>| match o {
        Ok(o) => Ok((o.exit_code == 0).then_some(o.stdout)),
        Err(e @ HostError::Disconnected(_)) => Err(e),
        Err(_) => Ok(None),
    };
    report.hostname = text(run("hostname").await)?
        .unwrap_or_default()
        .trim()
        .to_owned();
    report.os = text(run("cat /etc/os-release").await)?
        .map(|s| parse_os_release(&s))
        .unwrap_or_default();
    report.kernel = text(run("uname -r").await)?
        .unwrap_or_default()
        .trim()
        .to_owned();
    log(&format!(
        "Host {} ({}, kernel {})",
        report.hostname, report.os, report.kernel
    ));
    match text(run(NVIDIA_QUERY).await)? {
        Some(csv) => report.gpus = parse_gpus(&csv),
        None => report
            .warnings
            .push("nvidia-smi is missing or failed: no NVIDIA GPU visible".into()),
    }
    report.cuda_version = text(run("nvidia-smi").await)?.and_then(|s| parse_cuda(&s));
    for gpu in &report.gpus {
        log(&format!(
            "GPU {} · {} MiB · driver {} · {}",
            gpu.name,
            gpu.memory_total_mib,
            gpu.driver,
            gpu.temperature_c
                .map(|t| format!("{t} °C"))
                .unwrap_or_else(|| "temperature unknown".into())
        ));
    }
    if report.gpus.is_empty() {
        report.warnings.push("no GPU reported".into());
    }
    report.docker_version = text(run("docker --version").await)?.and_then(|s| parse_docker(&s));
    if report.docker_version.is_none() {
        report.warnings.push("docker is not available".into());
    }
    report.python_version = text(run("python3 --version").await)?
        .and_then(|s| s.trim().strip_prefix("Python ").map(str::to_owned));
    report.disk_free_gb = text(run("df -B1 /").await)?.and_then(|s| parse_df_free_gb(&s));
    report.ram_total_gb = text(run("free -b").await)?.and_then(|s| parse_free_total_gb(&s));
    report.internet = text(
        run("curl -s -o /dev/null -w '%{http_code}' --max-time 5 https://huggingface.co").await,
    )?
    .map(|code| code.trim().starts_with('2') || code.trim().starts_with('3'));
    if report.internet == Some(false) {
        report
            .warnings
            .push("huggingface.co is not reachable from the host".into());
    }
    log(&format!(
        "CUDA {} · docker {} · Python {} · {:.0} GB disk free · {:.0} GB RAM",
        report.cuda_version.as_deref().unwrap_or("?"),
        report.docker_version.as_deref().unwrap_or("missing"),
        report.python_version.as_deref().unwrap_or("missing"),
        report.disk_free_gb.unwrap_or(0.0),
        report.ram_total_gb.unwrap_or(0.0)
    ));
    Ok(report)
}

/// `PRETTY`-less os-release: `NAME VERSION`.
pub fn parse_os_release(text: &str) -> String {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_matches('"').to_owned())
    };
    match (field("NAME"), field("VERSION")) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n,
        _ => String::new(),
    }
}

/// Parses the GPU query's CSV; lines that do not have six fields are skipped.
pub fn parse_gpus(csv: &str) -> Vec<GpuInfo> {
    csv.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 6 {
                return None;
            }
            let name = f[0]
                .trim_start_matches("NVIDIA ")
                .trim_start_matches("GeForce ")
                .to_owned();
            Some(GpuInfo {
                name,
                memory_total_mib: f[1].parse().ok()?,
                memory_used_mib: f[2].parse().ok()?,
                driver: f[3].to_owned(),
                temperature_c: f[4].parse().ok(),
                utilization_pct: f[5].parse().ok(),
            })
        })
        .collect()
}

/// `CUDA Version: 12.4` from nvidia-smi's banner.
pub fn parse_cuda(text: &str) -> Option<String> {
    let rest = text.split("CUDA Version:").nth(1)?;
    rest.split_whitespace()
        .next()
        .map(|v| v.trim_end_matches('|').to_owned())
}

/// `Docker version 24.0.7, build afdd53b` → `24.0.7`.
pub fn parse_docker(text: &str) -> Option<String> {
    let rest = text.trim().strip_prefix("Docker version ")?;
    Some(rest.split(',').next()?.trim().to_owned())
}

/// Available bytes of `/` from `df -B1 /`, in GB.
pub fn parse_df_free_gb(text: &str) -> Option<f64> {
    let line = text.lines().nth(1)?;
    let available: f64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(available / 1e9)
}

/// Total memory from `free -b`, in GB.
pub fn parse_free_total_gb(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("Mem:"))?;
    let total: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(total / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::proptest_config())]

        /// A stranger's host prints what it likes: each reading is a value or nothing.
        #[test]
        fn host_output_of_any_shape_is_read_without_panic(
            text in prop_oneof![
                any::<String>(),
                "([0-9., ]|MiB|GB|NVIDIA|CUDA Version: |\n|,){0,60}",
                "(NAME=|PRETTY_NAME=|\"|[A-Za-z0-9 .]|\n){0,40}",
            ]
        ) {
            let _ = parse_os_release(&text);
            let _ = parse_gpus(&text);
            let _ = parse_cuda(&text);
            let _ = parse_docker(&text);
            let _ = parse_df_free_gb(&text);
            let _ = parse_free_total_gb(&text);
        }
    }

    #[test]
    fn parses_real_command_output() {
        let gpus = parse_gpus("NVIDIA GeForce RTX 4090, 24564, 3, 550.54.15, 41, 0\nbroken line\nNVIDIA A100-SXM4-80GB, 81920, 100, 535.1, [N/A], [N/A]\n");
        assert_eq!(gpus.len(), 2);
        assert_eq!(gpus[0].name, "RTX 4090");
        assert_eq!(gpus[0].memory_total_mib, 24564);
        assert_eq!(gpus[0].temperature_c, Some(41));
        assert_eq!(gpus[1].temperature_c, None);
        assert_eq!(
            parse_cuda(
                "| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4     |"
            )
            .as_deref(),
            Some("12.4")
        );
        assert_eq!(
            parse_docker("Docker version 24.0.7, build afdd53b\n").as_deref(),
            Some("24.0.7")
        );
        assert_eq!(
            parse_os_release("NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\n"),
            "Ubuntu 22.04.4 LTS (Jammy Jellyfish)"
        );
        let df = "Filesystem 1B-blocks Used Available Use% Mounted on\noverlay 107374182400 21474836480 85899345920 20% /\n";
        assert!((parse_df_free_gb(df).unwrap() - 85.9).abs() < 0.1);
        let free = "              total        used        free\nMem:    67430023168  4294967296 60129542144\n";
        assert!((parse_free_total_gb(free).unwrap() - 67.4).abs() < 0.1);
    }
}

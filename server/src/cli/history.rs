//! The commands that read (and import into) the dashboard's store without a dashboard:
//! `runs`, `logs RUN [--follow]` and `benchmarks list|show|compare|export|import`. Each
//! opens the service's [`History`] on the data directory and delegates to it.

use super::bench::summary;
use super::output::{failed, out, print, table, FAILED, OK};
use crate::config::{
    BenchmarksAction, BenchmarksArgs, DataDir, ExportAs, LogsArgs, RunState, RunsArgs,
};
use crate::service::{History, ServiceResult};
use crate::settings::data_dir_or_default;
use gdl_model::ids::RunId;
use gdl_model::legacy::OldFile;
use gdl_model::query::Page;
use gdl_model::runs::{ExportFormat, LogQuery, Run, RunFilters, RunStatus};
use std::time::Duration;

/// How often `logs --follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// The exit code of an operation's outcome: `done` on success, else the error said.
fn exit<T>(result: ServiceResult<T>, done: impl FnOnce(T) -> i32) -> i32 {
    match result {
        Ok(value) => done(value),
        Err(e) => failed(&e.error),
    }
}

fn open(data: &DataDir) -> ServiceResult<History> {
    History::open(&data_dir_or_default(data.data_dir.as_ref()))
}

/// `gpu-deploy-llm runs`.
pub async fn runs(a: RunsArgs) -> anyhow::Result<i32> {
    let filters = RunFilters {
        status: a.status.map(|s| match s {
            RunState::Running => RunStatus::Running,
            RunState::Passed => RunStatus::Passed,
            RunState::Failed => RunStatus::Failed,
            RunState::Cancelled => RunStatus::Cancelled,
            RunState::Interrupted => RunStatus::Interrupted,
        }),
        model: a.model.clone(),
        limit: Some(a.limit),
        ..RunFilters::default()
    };
    let listed = match open(&a.data) {
        Ok(history) => history.runs(&filters).await,
        Err(e) => Err(e),
    };
    Ok(exit(listed, |list| {
        print(a.json, &list, || run_table(&list));
        if list.is_empty() {
            eprintln!("no runs match (gpu-deploy-llm test starts one, or the dashboard's form)");
        }
        OK
    }))
}

fn run_table(list: &[Run]) -> String {
    let rows = list
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                format!("{:?}", r.status).to_lowercase(),
                r.config.model.clone(),
                r.offer
                    .as_ref()
                    .map(|o| format!("{} x{} on {}", o.gpu_type, o.gpu_count, o.provider.label()))
                    .unwrap_or_else(|| "-".into()),
                format!("${:.4}", r.cost_usd(chrono::Utc::now())),
                r.error_code.map(|c| c.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &["RUN", "STARTED", "STATUS", "MODEL", "GPU", "COST", "ERROR"],
        rows,
    )
}

/// `gpu-deploy-llm logs RUN [--follow]`: the whole log, oldest line first; with
/// `--follow`, new lines as the run writes them until it has ended.
pub async fn logs(a: LogsArgs) -> anyhow::Result<i32> {
    let history = match open(&a.data) {
        Ok(history) => history,
        Err(e) => return Ok(failed(&e.error)),
    };
    let id = RunId::from(a.run.trim());
    let mut after = 0;
    loop {
        // Whether the run had ended before this read: then nothing comes after it.
        let ended = match history.run(&id).await {
            Ok(run) => run.status.is_finished(),
            Err(e) => return Ok(failed(&e.error)),
        };
        loop {
            let query = LogQuery {
                after: Some(after),
                ..LogQuery::default()
            };
            let page = match history.logs(&id, &query).await {
                Ok(page) => page,
                Err(e) => return Ok(failed(&e.error)),
            };
            for line in &page.lines {
                if a.json {
                    println!("{}", serde_json::to_string(line)?);
                } else {
                    out(&crate::api::text_line(line));
                }
                after = line.n;
            }
            if page.next_after.is_none() {
                break;
            }
        }
        if !a.follow || ended {
            return Ok(OK);
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = super::shutdown_signal() => return Ok(OK),
        }
    }
}

/// `gpu-deploy-llm benchmarks …`: the stored benchmarks. The exit code: 0 done, 1 not
/// found or nothing imported, 2 bad input.
pub async fn benchmarks(a: BenchmarksArgs) -> anyhow::Result<i32> {
    let history = match open(&DataDir {
        data_dir: a.data_dir.clone(),
    }) {
        Ok(history) => history,
        Err(e) => return Ok(failed(&e.error)),
    };
    Ok(match a.action {
        BenchmarksAction::List { limit } => {
            let page = Page {
                limit: Some(limit),
                offset: None,
            };
            exit(history.benchmarks(&page).await, |list| {
                print(a.json, &list, || benchmark_table(&list));
                OK
            })
        }
        BenchmarksAction::Show { id } => {
            exit(history.benchmark(&id.as_str().into()).await, |detail| {
                print(a.json, &detail.benchmark, || summary(&detail.benchmark));
                OK
            })
        }
        BenchmarksAction::Compare { model } => exit(history.compare(&model).await, |(_, c)| {
            print(a.json, &c, || comparison_table(&c));
            OK
        }),
        BenchmarksAction::Export { format } => {
            let format = match format {
                ExportAs::Csv => ExportFormat::Csv,
                ExportAs::Json => ExportFormat::Json,
            };
            exit(history.export(format).await, |export| {
                print!("{}", export.body);
                if format == ExportFormat::Json {
                    println!();
                }
                OK
            })
        }
        BenchmarksAction::Import { dir } => import(&history, &dir, a.json).await,
    })
}

fn benchmark_table(list: &[gdl_model::runs::BenchmarkRecord]) -> String {
    let rows = list
        .iter()
        .map(|b| {
            let slo = b.at_slo();
            vec![
                b.id.to_string(),
                b.created_at.format("%Y-%m-%d %H:%M").to_string(),
                b.model.clone(),
                format!("{} x{}", b.gpu_type, b.gpu_count),
                b.provider.as_str().to_owned(),
                b.phases
                    .first()
                    .map(|p| format!("{:.0}", p.ttft_ms.p50))
                    .unwrap_or_default(),
                slo.map(|p| p.concurrency.to_string())
                    .unwrap_or_else(|| "-".into()),
                slo.and_then(|p| p.usd_per_million_output_tokens)
                    .map(|u| format!("${u:.3}"))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "WHEN",
            "MODEL",
            "GPU",
            "PROVIDER",
            "TTFT P50",
            "AT SLO",
            "$/1M AT SLO",
        ],
        rows,
    )
}

fn comparison_table(c: &gdl_model::compare::Comparison) -> String {
    let rows = c
        .points
        .iter()
        .map(|p| {
            vec![
                format!("{} x{}", p.gpu_type, p.gpu_count),
                p.provider.to_string(),
                format!("${:.3}", p.usd_per_million),
                format!("{:.0}", p.tokens_per_s_per_user),
                p.benchmarks.len().to_string(),
                if p.pareto {
                    "yes".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let mut text = table(
        &[
            "GPU",
            "PROVIDER",
            "$/1M AT SLO",
            "TOK/S PER USER",
            "BENCHMARKS",
            "FRONTIER",
        ],
        rows,
    );
    for r in &c.recommendations {
        text += &format!("for {}: {}\n", r.goal.as_str(), r.text);
    }
    text
}

/// `benchmarks import DIR`: every `<id>.json` of the old dashboard's directory (not
/// `index.json`).
async fn import(history: &History, from: &std::path::Path, json: bool) -> i32 {
    let entries =
        match std::fs::read_dir(from) {
            Ok(e) => e,
            Err(e) => return super::output::bad_input(
                &format!("cannot read {}: {e}", from.display()),
                "Give the old dashboard's benchmark directory, e.g. ~/.gpu-deploy-llm/benchmarks.",
            ),
        };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "index.json")
        })
        .collect();
    files.sort();
    let (mut readable, mut unreadable) = (Vec::new(), Vec::new());
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match std::fs::read_to_string(&path) {
            Ok(text) => readable.push(OldFile { name, text }),
            Err(e) => unreadable.push(format!("{name}: cannot be read: {e}")),
        }
    }
    exit(history.import(readable).await, |(mut report, _)| {
        report.skipped.extend(unreadable);
        for why in &report.skipped {
            eprintln!("skipped {}", super::output::printable(why));
        }
        print(json, &report, || {
            format!(
                "imported {} benchmarks, skipped {} (missing from each: {})\n",
                report.imported.len(),
                report.skipped.len(),
                gdl_model::legacy::MISSING.join("; ")
            )
        });
        if report.imported.is_empty() {
            FAILED
        } else {
            OK
        }
    })
}

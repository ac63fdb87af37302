//! The commands that read (and import into) what a dashboard stores: `runs`,
//! `logs RUN [--follow]` and `benchmarks list|show|compare|export|import`. Each reads a
//! [`Source`]: the data directory's store, or with `--url` a running dashboard. A listing
//! that finds nothing says so and exits [`NOTHING_FOUND`](super::output::NOTHING_FOUND).

use super::bench::summary;
use super::output::{bad_input, failed, nothing_found, out, print, table, FAILED, OK};
use super::source::Source;
use crate::config::{BenchmarksAction, BenchmarksArgs, ExportAs, LogsArgs, RunState, RunsArgs};
use crate::service::History;
use gdl_model::error::ApiError;
use gdl_model::ids::RunId;
use gdl_model::legacy::OldFile;
use gdl_model::query::Page;
use gdl_model::runs::{ExportFormat, LogQuery, Run, RunFilters, RunStatus};
use std::time::Duration;

/// How often `logs --follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// The exit code of an outcome: `done` on success, else the error said.
fn exit<T>(result: Result<T, ApiError>, done: impl FnOnce(T) -> i32) -> i32 {
    match result {
        Ok(value) => done(value),
        Err(e) => failed(&e),
    }
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
    let source = match Source::open(a.data.data_dir.as_ref(), &a.dashboard) {
        Ok(source) => source,
        Err(e) => return Ok(failed(&e)),
    };
    Ok(exit(source.runs(&filters).await, |list| {
        print(a.json, &list, || run_table(&list));
        match (
            list.is_empty(),
            filters.status.is_some() || filters.model.is_some(),
        ) {
            (false, _) => OK,
            (true, true) => nothing_found("no runs match these filters"),
            (true, false) => nothing_found(
                "no runs stored yet (gpu-deploy-llm test starts one, or the dashboard's form)",
            ),
        }
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
    let source = match Source::open(a.data.data_dir.as_ref(), &a.dashboard) {
        Ok(source) => source,
        Err(e) => return Ok(failed(&e)),
    };
    let id = RunId::from(a.run.trim());
    let mut after = 0;
    loop {
        // Whether the run had ended before this read: then nothing comes after it.
        let ended = match source.run(&id).await {
            Ok(run) => run.status.is_finished(),
            Err(e) => return Ok(failed(&e)),
        };
        loop {
            let query = LogQuery {
                after: Some(after),
                ..LogQuery::default()
            };
            let page = match source.logs(&id, &query).await {
                Ok(page) => page,
                Err(e) => return Ok(failed(&e)),
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
/// found or nothing imported, 2 bad input, 3 nothing to list or compare.
pub async fn benchmarks(a: BenchmarksArgs) -> anyhow::Result<i32> {
    let source = match Source::open(a.data_dir.as_ref(), &a.dashboard) {
        Ok(source) => source,
        Err(e) => return Ok(failed(&e)),
    };
    Ok(match a.action {
        BenchmarksAction::List { limit } => {
            let page = Page {
                limit: Some(limit),
                offset: None,
            };
            exit(source.benchmarks(&page).await, |list| {
                print(a.json, &list, || benchmark_table(&list));
                if list.is_empty() {
                    return nothing_found(
                        "no benchmarks stored yet (a deployment test that passes stores one; \
                         so do `gpu-deploy-llm bench` and `benchmarks import`)",
                    );
                }
                OK
            })
        }
        BenchmarksAction::Show { id } => {
            exit(source.benchmark(&id.as_str().into()).await, |detail| {
                print(a.json, &detail.benchmark, || summary(&detail.benchmark));
                OK
            })
        }
        BenchmarksAction::Compare(args) => exit(source.compare(&args.query()).await, |c| {
            print(a.json, &c, || comparison_table(&c));
            if c.points.is_empty() && c.without_slo.is_empty() {
                let what = if c.groups.is_empty() {
                    ""
                } else {
                    " in a group these filters match"
                };
                return nothing_found(&format!("no benchmarks of {}{what} to compare", args.model));
            }
            OK
        }),
        BenchmarksAction::Export { format } => {
            let format = match format {
                ExportAs::Csv => ExportFormat::Csv,
                ExportAs::Json => ExportFormat::Json,
            };
            exit(source.export(format).await, |body| {
                print!("{body}");
                if format == ExportFormat::Json {
                    println!();
                }
                OK
            })
        }
        BenchmarksAction::Import { dir } => match &source {
            Source::Store(history) => import(history, &dir, a.json).await,
            Source::Dashboard(_) => bad_input(
                "benchmarks import writes to the data directory's store, not through a dashboard",
                "Leave out --url (and GDL_URL) and give --data-dir the dashboard's data \
                 directory, or POST the files to the dashboard's /api/benchmarks/import.",
            ),
        },
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
                b.engine_label().unwrap_or_else(|| "-".into()),
                format!("{} x{}", b.gpu_type, b.gpu_count),
                b.provider.as_str().to_owned(),
                b.phases
                    .first()
                    .map(|p| format!("{:.0} ms", p.ttft_ms.p50))
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
            "ENGINE",
            "GPU",
            "PROVIDER",
            "TTFT P50",
            "CONCURRENCY AT SLO",
            "$/1M TOKENS AT SLO",
        ],
        rows,
    )
}

/// The group shown, and the others with their benchmark counts.
fn groups_text(c: &gdl_model::compare::Comparison) -> String {
    let mut text = match &c.group {
        Some(g) => format!("group: {} ({} benchmarks)\n", g.label(), g.benchmarks),
        None => "group: none matches the filters\n".to_owned(),
    };
    for g in c.groups.iter().filter(|g| Some(*g) != c.group.as_ref()) {
        text += &format!(
            "  other group: {} ({} benchmarks)\n",
            g.label(),
            g.benchmarks
        );
    }
    if c.left_out > 0 {
        text += &format!("{} benchmarks of other groups left out\n", c.left_out);
    }
    text
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
                format!("{:.0} tok/s", p.tokens_per_s_per_user),
                match p.external {
                    0 => p.benchmarks.len().to_string(),
                    n => format!("{} ({n} external)", p.benchmarks.len()),
                },
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
            "$/1M TOKENS AT SLO",
            "SPEED PER USER",
            "BENCHMARKS",
            "FRONTIER",
        ],
        rows,
    );
    text += &groups_text(c);
    for r in &c.recommendations {
        text += &format!("for {}: {}\n", r.goal.as_str(), r.text);
    }
    if !c.without_slo.is_empty() {
        let ids: Vec<String> = c.without_slo.iter().map(|id| id.to_string()).collect();
        text += &format!(
            "not on the frontier, no level met the SLOs: {}\n",
            ids.join(", ")
        );
    }
    text
}

/// `benchmarks import DIR`: every `<id>.json` of the old dashboard's directory (not
/// `index.json`).
async fn import(history: &History, from: &std::path::Path, json: bool) -> i32 {
    let entries =
        match std::fs::read_dir(from) {
            Ok(e) => e,
            Err(e) => return bad_input(
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
    exit(
        history.import(readable).await.map_err(|e| e.error),
        |(mut report, _)| {
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
        },
    )
}

use crate::components::ErrorNote;
use crate::format;
use crate::functions::DestroySession;
use crate::live::use_live;
use gdl_model::runs::{InstanceState, RentalOutcome, Run, RunStatus, Step, StepStatus};
use gdl_model::shopper::explain_provider_error;
use leptos::prelude::*;

/// The current run (derived from server state): the eleven steps with icons and
/// durations, the result banner, and the host report.
#[component]
pub fn RunPanel() -> impl IntoView {
    let store = use_live();
    let run = move || store.client.with(|c| c.live.current_run().cloned());
    // Owned here, not by the banner: the run view is drawn again on every change of the
    // live state, and what the person did ("Clean up now", "Leave running") must outlive
    // that.
    let actions = KeptActions {
        destroy: ServerAction::<DestroySession>::new(),
        dismissed: RwSignal::new(None),
    };
    move || match run() {
        None => view! {
            <section class="card run">
                <h2>"Progress"</h2>
                <p class="empty">"No test has run yet. Choose a model and press Run test."</p>
            </section>
        }
        .into_any(),
        Some(run) => view! { <RunView run actions/> }.into_any(),
    }
}

/// One run (the run page): its steps, result, rentals, cost and host report.
#[component]
pub fn RunCard(run: Run) -> impl IntoView {
    let actions = KeptActions {
        destroy: ServerAction::<DestroySession>::new(),
        dismissed: RwSignal::new(None),
    };
    view! { <RunView run actions/> }
}

/// What the banner offers for a kept instance, and what the person chose.
#[derive(Clone, Copy)]
struct KeptActions {
    destroy: ServerAction<DestroySession>,
    /// The run whose offer was dismissed with "Leave running".
    dismissed: RwSignal<Option<gdl_model::ids::RunId>>,
}

#[component]
fn RunView(run: Run, actions: KeptActions) -> impl IntoView {
    let done = run.steps.iter().filter(|s| s.status.is_done()).count();
    let progress = format!("width: {}%", done * 100 / run.steps.len().max(1));
    let title = format!(
        "{} · {} mode · {}",
        run.config.model,
        run.config.deploy_mode.as_str(),
        run.id
    );
    let settings = run.config.settings.summary();
    let steps = skipped_once(run.steps.clone())
        .into_iter()
        .map(|step| view! { <StepRow step/> })
        .collect_view();
    view! {
        <section class="card run" data-run=run.id.to_string() data-status=format!("{:?}", run.status).to_lowercase()>
            <h2>"Progress"</h2>
            <p class="muted small">{title}</p>
            <p class="small run-engine">
                <span data-testid="run-engine">{run.config.engine_label()}</span>
                {(!settings.is_empty()).then(|| view! {
                    " · "<span data-testid="run-settings">{settings}</span>
                })}
            </p>
            <div class="bar" aria-hidden="true">
                <div style=progress></div>
            </div>
            <ol class="steps">{steps}</ol>
            {(!run.rentals.is_empty()).then(|| {
                let cost = run.cost_usd(chrono::Utc::now());
                let still = if run.status.is_finished() { "" } else { " so far" };
                view! {
                    <p class="small run-cost" data-cost=cost>
                        {format!(
                            "Cost{still}: {} ({} rental{}, provisioning included)",
                            format::small_usd(cost),
                            run.rentals.len(),
                            if run.rentals.len() == 1 { "" } else { "s" }
                        )}
                    </p>
                }
            })}
            <p class="downloads small" hidden=crate::components::read_only()>
                "Whole log: "
                <a href=format!("/api/runs/{}/logs?format=text", run.id) download=format!("{}.log", run.id)>"text"</a>
                " · "
                <a href=format!("/api/runs/{}/logs?format=jsonl", run.id) download=format!("{}.jsonl", run.id)>"JSON lines"</a>
            </p>
            <Banner run=run.clone() actions/>
            {(!run.rentals.is_empty()).then(|| view! { <Rentals run=run.clone()/> })}
            {run.host.clone().map(|host| view! { <HostCard host host_key=run.host_key.clone()/> })}
        </section>
    }
    .into_any()
}

/// The steps with a skipped step's reason said once: `skipped: Create session failed` on
/// the first of the steps skipped for it, nothing on the ones after (their icon says
/// skipped).
fn skipped_once(mut steps: Vec<Step>) -> Vec<Step> {
    let mut said: Option<String> = None;
    for step in steps.iter_mut().filter(|s| s.status == StepStatus::Skipped) {
        let reason = step.reason.take();
        if reason != said {
            step.reason = reason.as_ref().map(|r| format!("skipped: {r}"));
            said = reason;
        }
    }
    steps
}

#[component]
fn StepRow(step: Step) -> impl IntoView {
    let icon = match step.status {
        StepStatus::Pending => "○",
        StepStatus::Running => "◐",
        StepStatus::Complete => "✓",
        StepStatus::Failed => "✗",
        StepStatus::Skipped => "–",
        StepStatus::Interrupted => "⏸",
    };
    let status = format!("{:?}", step.status).to_lowercase();
    let took = match (step.started_at, step.ended_at) {
        (Some(a), Some(b)) => Some(format::duration((b - a).num_milliseconds() as f64 / 1000.0)),
        _ => None,
    };
    view! {
        <li class=format!("step {status}") data-step=step.name.as_str() data-status=status.clone()>
            <span class="icon" aria-hidden="true">{icon}</span>
            <span class="name">{step.name.label()}</span>
            <span class="took">{took.unwrap_or_default()}</span>
            {step.detail.map(|d| view! { <span class="detail">{d}</span> })}
            {step.reason.map(|r| view! { <span class="reason">{r}</span> })}
            {step.code.map(|c| view! { <code class="code" data-code=c.as_str()>{c.as_str()}</code> })}
            {step.hint.map(|h| view! { <span class="step-hint">{h}</span> })}
        </li>
    }
}

/// The result: passed (with the benchmark's headline), failed or cancelled (with the
/// reason), and what happened to the instance, with "clean up now" when it was kept.
#[component]
fn Banner(run: Run, actions: KeptActions) -> impl IntoView {
    let store = use_live();
    let KeptActions { destroy, dismissed } = actions;
    if run.status == RunStatus::Running {
        return ().into_any();
    }
    let bench = run.benchmark_id.as_ref().and_then(|id| {
        store
            .client
            .with_untracked(|c| c.live.benchmarks.get(id).cloned())
    });
    let (class, headline) = match run.status {
        RunStatus::Passed => ("banner ok", "✓ Test passed".to_owned()),
        RunStatus::Cancelled => ("banner warn", "Test cancelled".to_owned()),
        RunStatus::Interrupted => (
            "banner warn",
            format!(
                "Test interrupted: {}",
                run.error.clone().unwrap_or_default()
            ),
        ),
        _ => (
            "banner bad",
            format!("✗ Test failed: {}", run.error.clone().unwrap_or_default()),
        ),
    };
    let cleanup = run.cleanup.clone();
    // Offered while the kept instance is still up at the broker.
    let kept_session = cleanup
        .as_ref()
        .filter(|c| c.kept)
        .and(run.session_id.clone())
        .filter(|id| {
            store
                .client
                .with_untracked(|c| c.live.sessions.get(id).is_none_or(|s| s.status.is_active()))
        });
    let run_id = run.id.clone();
    let this_session = run.session_id.clone();
    let kept_session = kept_session.filter(|_| !crate::components::read_only());
    view! {
        <div class=class role="status" data-result=format!("{:?}", run.status).to_lowercase()>
            <p class="headline">{headline}</p>
            {bench.map(|b| view! {
                <p class="bench-summary">
                    {format::benchmark_headline(&b)}
                    {(!crate::components::read_only()).then(|| view! {
                        " · "
                        <a href=format!("/benchmarks/{}", b.id) data-testid="result-benchmark">
                            {if b.tuning.is_some() { "its tuning, charts and Deploy" } else { "its charts and Deploy" }}
                        </a>
                    })}
                </p>
            })}
            {cleanup
                .map(|c| {
                    if c.destroyed_confirmed || c.kept {
                        view! { <p class="cleanup">{c.message}</p> }.into_any()
                    } else {
                        view! {
                            <p class="cleanup bad" data-cleanup="unconfirmed">
                                "⚠ The broker did not confirm the instance destroyed: it may still be running and billing. "
                                {c.message}
                                " Check the Sessions tab."
                            </p>
                        }
                            .into_any()
                    }
                })}
            {kept_session
                .map(|id| {
                    view! {
                        <Show when={
                            let run_id = run_id.clone();
                            move || {
                                dismissed.get().as_deref() != Some(run_id.as_str())
                                    && !matches!(destroy.value().get(), Some(Ok(Ok(_))))
                            }
                        }>
                            <p class="actions">
                                "The instance is still running (and billing). "
                                <button
                                    class="danger"
                                    on:click={
                                        let id = id.clone();
                                        move |_| {
                                            destroy.dispatch(DestroySession { id: id.clone() });
                                        }
                                    }
                                >
                                    "Clean up now"
                                </button>
                                <button
                                    class="secondary"
                                    on:click={
                                        let run_id = run_id.clone();
                                        move |_| dismissed.set(Some(run_id.clone()))
                                    }
                                >
                                    "Leave running"
                                </button>
                            </p>
                        </Show>
                    }
                })}
            {move || match destroy.value().get().map(crate::functions::outcome) {
                Some(Ok(message))
                    if this_session.as_ref().is_some_and(|s| message.contains(s.as_str())) =>
                {
                    Some(view! { <p class="cleanup">{message}</p> }.into_any())
                }
                Some(Ok(_)) => None,
                Some(Err(error)) => Some(view! { <ErrorNote error/> }.into_any()),
                None => None,
            }}
        </div>
    }
    .into_any()
}

#[component]
fn HostCard(host: gdl_model::runs::HostReport, host_key: Option<String>) -> impl IntoView {
    let gpus = host
        .gpus
        .iter()
        .map(|g| {
            view! {
                <li>
                    {format!(
                        "{} · {} GiB · driver {}{}",
                        g.name,
                        g.memory_total_mib / 1024,
                        g.driver,
                        g.temperature_c.map(|t| format!(" · {t} °C")).unwrap_or_default(),
                    )}
                </li>
            }
        })
        .collect_view();
    let warnings = host
        .warnings
        .iter()
        .map(|w| view! { <li class="warn">{w.clone()}</li> })
        .collect_view();
    view! {
        <div class="host">
            <h3>"Host"</h3>
            <dl class="facts">
                <dt>"Host"</dt>
                <dd>{format!("{} · {} · kernel {}", host.hostname, host.os, host.kernel)}</dd>
                <dt>"Host key"</dt>
                <dd><code>{host_key.unwrap_or_else(|| "unknown".into())}</code></dd>
                <dt>"CUDA"</dt>
                <dd>{host.cuda_version.clone().unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Docker"</dt>
                <dd>{host.docker_version.clone().unwrap_or_else(|| "missing".into())}</dd>
                <dt>"Python"</dt>
                <dd>{host.python_version.clone().unwrap_or_else(|| "missing".into())}</dd>
                <dt>"Disk free"</dt>
                <dd>{host.disk_free_gb.map(|d| format!("{d:.0} GB")).unwrap_or_default()}</dd>
                <dt>"RAM"</dt>
                <dd>{host.ram_total_gb.map(|d| format!("{d:.0} GB")).unwrap_or_default()}</dd>
                <dt>"Internet"</dt>
                <dd>{match host.internet {
                    Some(true) => "reaches huggingface.co",
                    Some(false) => "cannot reach huggingface.co",
                    None => "unknown",
                }}</dd>
            </dl>
            <ul class="gpus">{gpus}</ul>
            <ul class="warnings">{warnings}</ul>
        </div>
    }
}

/// Every session the run rented: the offer, what it was to the run (in use, failed and
/// why, kept, or ended with the test), what it cost and its instance (destroyed and when).
#[component]
fn Rentals(run: Run) -> impl IntoView {
    let rows = run
        .rentals
        .iter()
        .map(|r| {
            let outcome = match run.rental_outcome(r) {
                RentalOutcome::Failed(why) => {
                    RentalOutcome::Failed(explain_provider_error(&why)).label()
                }
                other => other.label(),
            };
            let instance = match r.instance() {
                InstanceState::Destroyed(Some(at)) => format!("destroyed {}", format::timestamp(&at)),
                InstanceState::Destroyed(None) => "destroyed".to_owned(),
                InstanceState::Unconfirmed => "NOT confirmed destroyed".to_owned(),
                InstanceState::Running => "running".to_owned(),
            };
            let unconfirmed = r.instance() == InstanceState::Unconfirmed;
            view! {
                <tr data-rental=r.attempt data-failed=r.failure.is_some().to_string()>
                    <td class="num">{r.attempt}</td>
                    <td>{format!("{} × {} on {}", r.offer.gpu_type, r.offer.gpu_count, r.offer.provider.label())}</td>
                    <td class="num">{format::per_hour(r.offer.price_per_hour)}</td>
                    <td><code title=r.session_id.to_string()>{format::short_id(&r.session_id).to_owned()}</code></td>
                    <td class="outcome">{outcome}</td>
                    <td class="num">{format::small_usd(r.cost_usd)}</td>
                    <td>{r.expires_at.map(|t| format::timestamp(&t)).unwrap_or_default()}</td>
                    <td class=if unconfirmed { "bad" } else { "" }>{instance}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="rentals">
            <h3>"Rentals"</h3>
            <table>
                <thead>
                    <tr>
                        <th>"#"</th>
                        <th>"Offer"</th>
                        <th>"Price"</th>
                        <th>"Session"</th>
                        <th>"Outcome"</th>
                        <th>"Cost"</th>
                        <th>"Reserved until"</th>
                        <th>"Instance"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_model::runs::StepName;

    #[test]
    fn a_skipped_steps_reason_is_said_once_with_the_step_that_failed() {
        let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let mut run = Run::new("run-1".into(), config, chrono::Utc::now());
        for step in &mut run.steps {
            if step.name < StepName::CreateSession {
                step.status = StepStatus::Complete;
            } else {
                step.status = StepStatus::Skipped;
                step.reason = Some("Create session failed".into());
            }
        }
        run.step_mut(StepName::CreateSession).status = StepStatus::Failed;
        run.step_mut(StepName::CreateSession).reason = Some("gone".into());
        run.step_mut(StepName::Cleanup).reason = Some("no session was created".into());
        let steps = skipped_once(run.steps);
        let reasons: Vec<_> = steps
            .iter()
            .filter(|s| s.name >= StepName::WaitForRunning)
            .map(|s| s.reason.as_deref())
            .collect();
        assert_eq!(
            reasons,
            [
                Some("skipped: Create session failed"),
                None,
                None,
                None,
                None,
                None,
                Some("skipped: no session was created"),
            ]
        );
        let failed = steps.iter().find(|s| s.name == StepName::CreateSession);
        assert_eq!(
            failed.unwrap().reason.as_deref(),
            Some("gone"),
            "a failure keeps its reason"
        );
    }
}

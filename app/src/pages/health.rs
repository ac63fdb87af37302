use super::live_page::PageBanner;
use crate::components::chart::{fmt, number, Axis, ChartFrame, Frame, WIDE};
use crate::components::Loaded;
use crate::format;
use crate::functions::get_health;
use gdl_model::breaker::BreakerPhase;
use gdl_model::health::{HealthSample, HealthView};
use leptos::prelude::*;

/// How often the open Health tab asks again (the one timer of this page).
#[cfg(feature = "hydrate")]
const REFRESH_MS: u32 = 5_000;

/// How the dashboard is doing: the broker and its circuit breaker, the live channel, the
/// runner and the store, with small charts of the last hour. Rendered on the server, then
/// asked again every few seconds while the tab is open.
#[component]
pub fn HealthPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let data = Resource::new(move || tick.get(), |_| get_health());
    #[cfg(feature = "hydrate")]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        let alive = std::sync::Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        on_cleanup(move || flag.store(false, Ordering::Relaxed));
        leptos::task::spawn_local(async move {
            while alive.load(Ordering::Relaxed) {
                gloo_timers::future::TimeoutFuture::new(REFRESH_MS).await;
                if alive.load(Ordering::Relaxed) {
                    tick.update(|t| *t += 1);
                }
            }
        });
    }
    view! {
        <div class="toolbar">
            <h1>"Health"</h1>
        </div>
        <PageBanner/>
        <Loaded reply=data fallback="Reading the figures…" let:view>
            <Health view/>
        </Loaded>
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(format::latency_ms).unwrap_or_else(|| "—".into())
}

fn ago(view: &HealthView, at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| {
        let secs = (view.at - t).num_seconds().max(0) as f64;
        format!("{} ago", format::duration(secs))
    })
    .unwrap_or_else(|| "never".into())
}

#[component]
fn Health(view: HealthView) -> impl IntoView {
    let b = view.broker.clone();
    let phase = b.breaker.phase.label();
    let probe = b
        .breaker
        .probe_at
        .map(|t| format!("; next probe at {}", t.format("%H:%M:%S UTC")));
    let transitions = b
        .breaker
        .transitions
        .iter()
        .rev()
        .take(6)
        .map(|t| {
            view! {
                <li data-to=t.to.label()>
                    {t.at.format("%H:%M:%S").to_string()} " → " <strong>{t.to.label()}</strong> ": " {t.reason.clone()}
                </li>
            }
        })
        .collect_view();
    let inventory_age = ago(&view, b.inventory_at);
    let retry = b
        .retry_success_rate
        .map(|r| format!("{:.0} % of {}", r * 100.0, b.retried))
        .unwrap_or_else(|| "no retries".into());
    let l = view.live.clone();
    let r = view.runner.clone();
    let in_flight = r
        .in_flight
        .iter()
        .map(|f| {
            view! {
                <li><a href=format!("/runs/{}", f.run_id)>{f.run_id.to_string()}</a> ": " {f.step.clone().unwrap_or_else(|| "between steps".into())}</li>
            }
        })
        .collect_view();
    let store_write = ago(&view, view.store.last_write_at);
    let size = format!("{:.1} MB", view.store.size_bytes as f64 / 1_048_576.0);
    let history = view.history.clone();
    view! {
        <div class="cards health">
            <section class="card" data-health="broker">
                <h2>"Broker"</h2>
                <dl class="facts">
                    <dt>"State"</dt>
                    <dd data-state=b.state.label()>{b.state.label()}</dd>
                    <dt>"Circuit breaker"</dt>
                    <dd class="breaker-phase" data-breaker=phase>
                        {phase} {format!(" ({} failures in a row, opens at {})", b.breaker.failures, b.breaker.threshold)} {probe}
                    </dd>
                    <dt>"Last error"</dt>
                    <dd>{b.breaker.last_error.clone().or(b.reason.clone()).unwrap_or_else(|| "none".into())}</dd>
                    <dt>"Latency (last hour)"</dt>
                    <dd>{format!("p50 {} · p99 {} · {} calls", ms(b.latency_p50_ms), ms(b.latency_p99_ms), b.calls_last_hour)}</dd>
                    <dt>"Calls since start"</dt>
                    <dd>{format!("{} ({} failed)", b.calls_total, b.calls_failed)}</dd>
                    <dt>"Retries that then succeeded"</dt>
                    <dd>{retry}</dd>
                    <dt>"Offers read"</dt>
                    <dd>{inventory_age} {b.inventory_error.clone().map(|e| view! { <span class="error small">" · " {e}</span> })}</dd>
                </dl>
                <h3>"Breaker transitions"</h3>
                <ul class="transitions small">{transitions}</ul>
            </section>
            <section class="card" data-health="live">
                <h2>"Live channel"</h2>
                <dl class="facts">
                    <dt>"Clients"</dt>
                    <dd data-clients=l.connections_current>{format!("{} now, {} since start", l.connections_current, l.connections_total)}</dd>
                    <dt>"Deepest queue"</dt>
                    <dd>{l.queue_depth_max}</dd>
                    <dt>"Overflows"</dt>
                    <dd>{l.overflows}</dd>
                    <dt>"Send failures"</dt>
                    <dd>{l.send_failures}</dd>
                    <dt>"Resumed by replay / snapshots"</dt>
                    <dd>{format!("{} / {}", l.replays, l.snapshots)}</dd>
                    <dt>"Silent connections closed"</dt>
                    <dd>{l.silent_closes}</dd>
                </dl>
            </section>
            <section class="card" data-health="runner">
                <h2>"Runner"</h2>
                <dl class="facts">
                    <dt>"Tests in progress"</dt>
                    <dd>{format!("{} of {}", r.active_runs, r.max_runs)}</dd>
                    <dt>"Cleanups not confirmed"</dt>
                    <dd data-unconfirmed=r.cleanups_unconfirmed>{r.cleanups_unconfirmed}</dd>
                </dl>
                <ul class="small">{in_flight}</ul>
            </section>
            <section class="card" data-health="store">
                <h2>"Store"</h2>
                <dl class="facts">
                    <dt>"Size"</dt>
                    <dd>{size}</dd>
                    <dt>"Last write"</dt>
                    <dd>{store_write}</dd>
                </dl>
            </section>
        </div>
        <section class="card">
            <h2>"The last hour"</h2>
            <Sparkline
                id="latency"
                title="Broker call latency p50, last hour"
                samples=history.clone()
                value=|s: &HealthSample| s.broker_p50_ms.unwrap_or(0.0)
                read=format::latency_ms
                unit="ms"
            />
            <Sparkline
                id="clients"
                title="Live-channel clients, last hour"
                samples=history.clone()
                value=|s: &HealthSample| s.live_clients as f64
                read=|v| format::count(v.round() as usize, "client", "clients")
                unit="clients"
            />
            <BreakerStrip samples=history/>
        </section>
    }
}

/// A small line chart of one figure over the samples, with minimal axes: its lowest and
/// highest value with their unit, and the time it spans.
#[component]
fn Sparkline(
    id: &'static str,
    title: &'static str,
    samples: Vec<HealthSample>,
    value: fn(&HealthSample) -> f64,
    /// How a value reads, unit included.
    read: fn(f64) -> String,
    /// The unit, for the axis.
    unit: &'static str,
) -> impl IntoView {
    let values: Vec<f64> = samples.iter().map(value).collect();
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let (low, high) = if values.is_empty() {
        (0.0, 0.0)
    } else {
        (low, high)
    };
    let frame = Frame {
        top: 10.0,
        bottom: 26.0,
        left: 76.0,
        ..Frame::new(WIDE, 100.0)
    };
    let n = values.len().max(2) as f64 - 1.0;
    let x = frame.x(0.0, n);
    let y = frame.y(low, high.max(low + 1.0));
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{},{}", fmt(x.at(i as f64)), fmt(y.at(*v))))
        .collect();
    let span = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) if last.at > first.at => {
            let secs = (last.at - first.at).num_seconds() as f64;
            let ago = if secs >= 60.0 {
                format!("{:.0} min ago", secs / 60.0)
            } else {
                format!("{} ago", format::duration(secs))
            };
            vec![ago, "now".to_owned()]
        }
        _ => vec!["now".to_owned()],
    };
    let last = values.last().copied().unwrap_or(0.0);
    let desc = format!(
        "{} samples; latest {}; lowest {}, highest {}",
        values.len(),
        read(last),
        read(low),
        read(high)
    );
    // Two ticks only when they read differently ("< 1 ms" twice would sit on each other).
    let ticks = if high > low && read(high) != read(low) {
        vec![low, high]
    } else {
        vec![low]
    };
    view! {
        <figure class="sparkline">
            <ChartFrame frame class=format!("spark {id}") id=id title desc=desc.clone()
                x=Axis::new(x, "", number).with_tick_labels(span)
                y=Axis::new(y, unit, read).with_values(ticks)
                {..} data-samples=values.len()>
                <polyline class="line" fill="none" points=points.join(" ")/>
            </ChartFrame>
            <figcaption class="small muted">{title} " · " {desc}</figcaption>
        </figure>
    }
}

/// The breaker's phase over the samples: one band per sample, open ones marked.
#[component]
fn BreakerStrip(samples: Vec<HealthSample>) -> impl IntoView {
    let n = samples.len().max(1) as f64;
    let width = 600.0 / n;
    let opened = samples
        .iter()
        .filter(|s| s.breaker != BreakerPhase::Closed)
        .count();
    let bands = samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let class = format!("band {}", s.breaker.label());
            view! { <rect class=class x=format!("{:.1}", i as f64 * width) y="0" width=format!("{width:.1}") height="12"/> }
        })
        .collect_view();
    let desc = format!(
        "{opened} of {} samples with the breaker not closed",
        samples.len()
    );
    view! {
        <figure class="sparkline">
            <svg class="spark breaker" viewBox="0 0 600 12" role="img" aria-labelledby="breaker-title breaker-desc"
                preserveAspectRatio="none" data-not-closed=opened>
                <title id="breaker-title">"Circuit breaker over the last hour"</title>
                <desc id="breaker-desc">{desc.clone()}</desc>
                {bands}
            </svg>
            <figcaption class="small muted">"Circuit breaker · " {desc}</figcaption>
        </figure>
    }
}

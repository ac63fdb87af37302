use crate::components::chart::{fmt, number, Axis, ChartFrame, Frame, WIDE};
use crate::format;
use crate::live::use_live;
use gdl_model::sessions::SessionView;
use leptos::prelude::*;
use std::collections::BTreeMap;

/// Series drawn at most (the GPUs with the most points); the rest are counted below.
const SERIES: usize = 6;

const HEIGHT: f64 = 260.0;

/// A point of the chart: when the session was created, and seconds until it ran.
type Point = (chrono::DateTime<chrono::Utc>, f64);

/// How long the broker took to get our sessions running (SSH verified), per GPU on each
/// provider, over time: a slow-down through the day shows as a rising line. An SVG drawn
/// on the server too, titled for screen readers, in the page's colours (light and dark).
#[component]
pub fn TimeToRunningChart() -> impl IntoView {
    let store = use_live();
    move || {
        let series = series(&store.sessions());
        let points: usize = series.iter().map(|(_, p)| p.len()).sum();
        if points < 2 {
            return None;
        }
        Some(view! { <Chart series points/> })
    }
}

/// Points per "GPU on provider", the largest series first.
fn series(sessions: &[SessionView]) -> Vec<(String, Vec<Point>)> {
    let mut by: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for s in sessions {
        if let Some(secs) = s.time_to_running_secs {
            by.entry(format!("{} on {}", s.gpu_type, s.provider.label()))
                .or_default()
                .push((s.created_at, secs));
        }
    }
    let mut list: Vec<(String, Vec<Point>)> = by.into_iter().collect();
    for (_, points) in list.iter_mut() {
        points.sort_by_key(|p| p.0);
    }
    list.sort_by_key(|(_, p)| std::cmp::Reverse(p.len()));
    list
}

#[component]
fn Chart(series: Vec<(String, Vec<Point>)>, points: usize) -> impl IntoView {
    let frame = Frame::new(WIDE, HEIGHT);
    let shown: Vec<_> = series.iter().take(SERIES).cloned().collect();
    let left_out = series.len().saturating_sub(SERIES);
    let all = shown.iter().flat_map(|(_, p)| p.iter());
    let (t0, t1) = all.clone().fold((i64::MAX, i64::MIN), |(lo, hi), (t, _)| {
        (lo.min(t.timestamp()), hi.max(t.timestamp()))
    });
    let max_secs = all.fold(0.0_f64, |m, (_, s)| m.max(*s)).max(1.0);
    // Minutes once the slowest took more than three; round ticks either way.
    let (unit, unit_name) = if max_secs > 180.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    };
    let x = frame.x(t0 as f64, t1.max(t0 + 1) as f64);
    let y = frame.y(0.0, max_secs / unit).nice();
    let at = |t: &chrono::DateTime<chrono::Utc>| x.at(t.timestamp() as f64);
    let lines = shown
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            let path = pts
                .iter()
                .map(|(t, s)| format!("{},{}", fmt(at(t)), fmt(y.at(*s / unit))))
                .collect::<Vec<_>>()
                .join(" ");
            let dots = pts
                .iter()
                .map(|(t, s)| {
                    view! {
                        <circle cx=fmt(at(t)) cy=fmt(y.at(*s / unit)) r="3">
                            <title>{format!("{name}: {} at {}", format::duration(*s), format::timestamp(t))}</title>
                        </circle>
                    }
                })
                .collect_view();
            view! {
                <g class=format!("series s{i}") data-series=name.clone()>
                    <polyline points=path fill="none"/>
                    {dots}
                </g>
            }
        })
        .collect_view();
    let legend = shown
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            let median = {
                let mut v: Vec<f64> = pts.iter().map(|p| p.1).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            view! {
                <li class=format!("s{i}")>
                    <span class="swatch" aria-hidden="true"></span>
                    {format!("{name}: {}, median {}", format::count(pts.len(), "session", "sessions"), format::duration(median))}
                </li>
            }
        })
        .collect_view();
    let summary = format!(
        "Time from creation to running for {}, by GPU and provider; the slowest took {}.",
        format::count(points, "session", "sessions"),
        format::duration(max_secs)
    );
    // Five times along the bottom, as people read them.
    let times = (0..5)
        .map(|i| {
            let secs = t0 + (t1 - t0) * i / 4;
            chrono::DateTime::from_timestamp(secs, 0)
                .map(|t| format::timestamp(&t))
                .unwrap_or_default()
        })
        .collect();
    view! {
        <section class="card ttr-chart">
            <h2>"Time to running"</h2>
            <ChartFrame frame class="ttr" id="ttr"
                title="Time to running, per GPU and provider"
                desc=summary
                x=Axis::new(x, "when the session was created", number).with_tick_labels(times)
                y=Axis::new(y, format!("time to running ({unit_name})"), number)
                {..} data-points=points>
                {lines}
            </ChartFrame>
            <ul class="legend small">{legend}</ul>
            {(left_out > 0).then(|| view! { <p class="muted small">{format!("{} not drawn.", format::count(left_out, "more GPU kind", "more GPU kinds"))}</p> })}
        </section>
    }
}

//! A benchmark's charts: the operating curve (output and p95 TTFT against load, on a log
//! scale of concurrency) and the distributions of TTFT and inter-token latency.

use crate::components::chart::{
    first_clear, fmt, nice_ticks, number, text_width, Axis, ChartFrame, Frame, LabelBox, HALF,
    LINE, WIDE,
};
use gdl_model::benchmark::{PhaseMetrics, Slo};
use gdl_model::runs::BenchmarkRecord;
use leptos::prelude::*;

/// The least height of a histogram bar with requests in it, in px.
const MIN_BAR: f64 = 3.0;

/// Output tok/s (line, left axis) and p95 TTFT (dashed, right axis) against concurrency
/// (a log scale: levels double); levels that broke an SLO shaded; the capacity point
/// ringed; the TTFT SLO a dotted line captioned where no mark sits.
#[component]
pub(super) fn OperatingCurve(r: BenchmarkRecord, slo: Slo) -> impl IntoView {
    let mut levels = r.phases.clone();
    levels.sort_by_key(|p| p.concurrency);
    let frame = Frame::new(WIDE, 300.0).with_right_axis();
    let concurrency = |p: &PhaseMetrics| p.concurrency as f64;
    let min_c = levels.first().map(concurrency).unwrap_or(1.0).max(1.0);
    let max_c = levels
        .last()
        .map(concurrency)
        .unwrap_or(2.0)
        .max(min_c * 2.0);
    let max_tps = levels
        .iter()
        .map(|p| p.output_tokens_per_s)
        .fold(0.0, f64::max)
        .max(1.0);
    let max_ttft = levels
        .iter()
        .map(|p| p.ttft_ms.p95)
        .fold(slo.ttft_p95_ms, f64::max);
    let x = frame.x(min_c, max_c).logarithmic();
    let y_tps = frame.y(0.0, max_tps).nice();
    let y_ttft = frame.y(0.0, max_ttft).nice();
    let place = |f: &dyn Fn(&PhaseMetrics) -> f64, y: &crate::components::chart::Scale| {
        levels
            .iter()
            .map(|p| (x.at(concurrency(p)), y.at(f(p))))
            .collect::<Vec<_>>()
    };
    let tps_at = place(&|p| p.output_tokens_per_s, &y_tps);
    let ttft_at = place(&|p| p.ttft_ms.p95, &y_ttft);
    let polyline = |points: &[(f64, f64)]| {
        points
            .iter()
            .map(|(a, b)| format!("{},{}", fmt(*a), fmt(*b)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (left, right) = (frame.left, frame.right_edge());
    let breaches = levels
        .iter()
        .filter(|p| p.meets_slo == Some(false))
        .map(|p| {
            // Half-way to the neighbouring levels on the log scale.
            let from = x.at(concurrency(p) / 1.41).max(left);
            let to = x.at(concurrency(p) * 1.41).min(right);
            view! {
                <rect class="breach" x=fmt(from) y=frame.top width=fmt(to - from) height=frame.floor() - frame.top>
                    <title>{format!("concurrency {} broke an SLO", p.concurrency)}</title>
                </rect>
            }
        })
        .collect_view();
    let capacity = r.at_slo().map(|p| {
        view! {
            <circle class="capacity" cx=fmt(x.at(concurrency(p))) cy=fmt(y_tps.at(p.output_tokens_per_s)) r="7" data-capacity=p.concurrency>
                <title>{format!("capacity at the SLOs: concurrency {}, {:.0} tok/s", p.concurrency, p.output_tokens_per_s)}</title>
            </circle>
        }
    });
    let points = levels
        .iter()
        .zip(&tps_at)
        .map(|(p, (cx, cy))| view! {
            <circle class="level" cx=fmt(*cx) cy=fmt(*cy) r="3.5">
                <title>{format!("concurrency {}: {:.0} tok/s, p95 TTFT {:.0} ms", p.concurrency, p.output_tokens_per_s, p.ttft_ms.p95)}</title>
            </circle>
        })
        .collect_view();
    let slo_y = y_ttft.at(slo.ttft_p95_ms);
    let caption = format!("TTFT SLO {:.0} ms", slo.ttft_p95_ms);
    let marks: Vec<(f64, f64)> = tps_at.iter().chain(&ttft_at).copied().collect();
    let spot = slo_caption_spot(&caption, slo_y, (left, right), &marks);
    let desc = format!(
        "{} load levels from concurrency {min_c:.0} to {max_c:.0}; {} broke an SLO; output up to {max_tps:.0} tok/s.",
        levels.len(),
        levels.iter().filter(|p| p.meets_slo == Some(false)).count(),
    );
    view! {
        <ChartFrame frame class="curve" id="curve"
            title="Output tokens per second and p95 time to first token against concurrency"
            desc
            x=Axis::new(x, "concurrency (requests at once, log scale)", number)
            y=Axis::new(y_tps, "output (tok/s), solid line", number)
            y2=Axis::new(y_ttft, "TTFT p95 (ms), dashed line", number)
            {..} data-levels=levels.len()>
            {breaches}
            <line class="slo-line" x1=left y1=fmt(slo_y) x2=right y2=fmt(slo_y)>
                <title>{format!("SLO: p95 TTFT ≤ {:.0} ms", slo.ttft_p95_ms)}</title>
            </line>
            <polyline class="tps" points=polyline(&tps_at) fill="none"/>
            <polyline class="ttft" points=polyline(&ttft_at) fill="none"/>
            {points}
            {capacity}
            <text class="tick slo" x=fmt(spot.x) y=fmt(spot.y)>{caption}</text>
        </ChartFrame>
    }
}

/// Where the SLO line's caption goes: above or below the line, at its left or right
/// end, whichever first covers no mark of the curves.
fn slo_caption_spot(
    caption: &str,
    line_y: f64,
    (left, right): (f64, f64),
    marks: &[(f64, f64)],
) -> LabelBox {
    let width = text_width(caption);
    let (above, below) = (line_y - 5.0, line_y + LINE);
    let spots = [
        (right - 6.0 - width, above),
        (left + 6.0, above),
        (right - 6.0 - width, below),
        (left + 6.0, below),
    ]
    .map(|(x, y)| LabelBox { x, y, width });
    first_clear(&spots, marks)
}

/// A histogram of `values` (ms) in 20 bins over round bounds, p50 and p99 marked.
#[component]
pub(super) fn Histogram(
    values: Vec<f64>,
    name: &'static str,
    /// What is measured, named on the x axis with its unit.
    what: &'static str,
    title: &'static str,
) -> impl IntoView {
    if values.is_empty() {
        return view! { <p class="muted">"No samples."</p> }.into_any();
    }
    let frame = Frame::new(HALF, 240.0);
    let d = gdl_model::benchmark::Dist::of(&values);
    let bins = bin(&values, d.min, d.max);
    let top = bins.iter().map(|b| b.count).max().unwrap_or(1) as f64;
    let (lo, hi) = (bins[0].from, bins[bins.len() - 1].to);
    let x = frame.x(lo, hi);
    let y = frame.y(0.0, top).whole().nice();
    let bars = bins
        .iter()
        .map(|b| {
            let (x0, x1) = (x.at(b.from), x.at(b.to));
            // A bin with requests in it stays visible beside a tall one (3 px at least):
            // "a few" must not read as "none".
            let y0 = if b.count == 0 {
                frame.floor()
            } else {
                y.at(b.count as f64).min(frame.floor() - MIN_BAR)
            };
            view! {
                <rect class="chart-bar" x=fmt(x0 + 0.5) y=fmt(y0) width=fmt((x1 - x0 - 1.0).max(0.5)) height=fmt(frame.floor() - y0) data-n=b.count>
                    <title>{format!("{} from {} to {} ms", crate::format::count(b.count, "request", "requests"), number(b.from), number(b.to))}</title>
                </rect>
            }
        })
        .collect_view();
    // The p99 caption drops a line when it would sit on the p50 one.
    let p50_width = text_width(&format!("p50 {:.1} ms", d.p50));
    let close = x.at(d.p99) - x.at(d.p50) < p50_width + 8.0;
    let marks = [("p50", d.p50, 0.0), ("p99", d.p99, if close { LINE } else { 0.0 })]
        .into_iter()
        .map(|(label, v, drop)| {
            let text = format!("{label} {v:.1} ms");
            let at = x.at(v);
            let (tx, anchor) = if at + 4.0 + text_width(&text) > frame.right_edge() {
                (at - 4.0, "end")
            } else {
                (at + 4.0, "start")
            };
            view! {
                <line class=format!("mark {label}") x1=fmt(at) y1=frame.top x2=fmt(at) y2=frame.floor()/>
                <text class="tick mark-label" x=fmt(tx) y=frame.top + 11.0 + drop text-anchor=anchor>{text}</text>
            }
        })
        .collect_view();
    let desc = format!(
        "{} values from {:.1} to {:.1} ms; p50 {:.1} ms, p99 {:.1} ms.",
        d.count, d.min, d.max, d.p50, d.p99
    );
    view! {
        <ChartFrame frame class="histogram" id=name title desc
            x=Axis::new(x, format!("{what} (ms)"), number)
            y=Axis::new(y, "requests", number)
            {..} data-count=d.count>
            {bars}
            {marks}
        </ChartFrame>
    }
    .into_any()
}

/// One bar of a histogram: values from `from` up to `to`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bin {
    from: f64,
    to: f64,
    count: usize,
}

/// `values` counted in 20 equal bins between round bounds around `min` and `max` (the
/// axis' first and last tick), so bin edges fall on round numbers.
fn bin(values: &[f64], min: f64, max: f64) -> Vec<Bin> {
    const BINS: usize = 20;
    let ticks = nice_ticks(min, max);
    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    let width = (hi - lo) / BINS as f64;
    let mut bins: Vec<Bin> = (0..BINS)
        .map(|i| Bin {
            from: lo + width * i as f64,
            to: lo + width * (i + 1) as f64,
            count: 0,
        })
        .collect();
    for v in values {
        let i = ((v - lo) / width).floor().max(0.0) as usize;
        bins[i.min(BINS - 1)].count += 1;
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The heights of the bars drawn, by their count.
    fn bars(html: &str) -> Vec<(usize, f64)> {
        html.split("<rect ")
            .skip(1)
            .map(|rect| {
                let attr = |name: &str| {
                    let start = rect.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                    let rest = &rect[start..];
                    rest[..rest.find('"').unwrap()].to_owned()
                };
                assert!(attr("class").contains("chart-bar"), "{rect}");
                (
                    attr("data-n").parse().unwrap(),
                    attr("height").parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_bin_of_a_few_beside_a_tall_one_is_still_seen() {
        let mut values = vec![10.0; 900];
        values.extend([90.0; 2]);
        let html = view! { <Histogram values name="itl" what="ITL" title="T"/> }.to_html();
        let bars = bars(&html);
        let few = bars.iter().find(|b| b.0 == 2).expect("the bin of 2");
        assert!(few.1 >= MIN_BAR, "2 of 902 drawn {} high", few.1);
    }

    #[test]
    fn histogram_bars_are_as_tall_as_their_count() {
        // Regression (issue 26): the bars were drawn as 6 px dashes, the progress bar's
        // `.bar` rule styling them; they have their own class and a height from the count.
        let values: Vec<f64> = (0..200)
            .map(|i| 40.0 + (i % 50) as f64 * (i % 7) as f64)
            .collect();
        let html = view! { <Histogram values name="ttft" what="TTFT" title="T"/> }.to_html();
        assert!(!html.contains("class=\"bar\""), "{html}");
        let bars = bars(&html);
        assert_eq!(bars.iter().map(|b| b.0).sum::<usize>(), 200);
        let (tallest, height) = bars.iter().max_by_key(|b| b.0).copied().unwrap();
        assert!(height > 100.0, "{tallest} requests drawn {height} high");
        for (n, h) in &bars {
            let share = *n as f64 / tallest as f64;
            assert!(*n == 0 || *h >= MIN_BAR, "{n} requests drawn {h} high");
            assert!(*n > 0 || *h == 0.0, "an empty bin drawn {h} high");
            assert!(
                (h / height - share).abs() < 0.2,
                "{n}: {h} against {tallest}: {height}"
            );
        }
        assert!(
            html.contains(">TTFT (ms)</text>"),
            "the x axis names its unit"
        );
    }

    #[test]
    fn bins_cover_every_value_between_round_bounds() {
        let bins = bin(&[3.0, 97.0, 50.0, 50.0], 3.0, 97.0);
        assert_eq!(bins.len(), 20);
        assert_eq!((bins[0].from, bins[19].to), (0.0, 100.0));
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 4);
        assert_eq!(bins[10].count, 2, "50 falls in 50..55");
    }

    #[test]
    fn the_slo_caption_avoids_the_curves() {
        let caption = "TTFT SLO 1000 ms";
        let width = text_width(caption);
        // A mark just above the line at its right end: the caption goes left.
        let spot = slo_caption_spot(
            caption,
            100.0,
            (60.0, 1000.0),
            &[(990.0 - width / 2.0, 92.0)],
        );
        assert_eq!(spot.x, 66.0);
        assert!(spot.y < 100.0, "above the line");
        let clear = slo_caption_spot(caption, 100.0, (60.0, 1000.0), &[]);
        assert_eq!(clear.x, 994.0 - width, "by default at the right end");
    }
}

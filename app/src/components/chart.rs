//! The one SVG chart frame every chart draws in: its plot area, scales (linear or
//! logarithmic), axes with 5 to 7 round ticks and their units, gridlines, the theme's
//! colours (from the page's CSS variables, so light and dark both read), and a title and
//! description for screen readers. A chart gives its marks (lines, bars, points) as
//! children, placed with the frame's scales.
//!
//! A drawing is as wide in SVG units as it is on the page at a laptop's width ([`WIDE`],
//! [`HALF`]) and never stretched wider, so 12 px text reads 12 px there.
//!
//! Layout: [`scale`] (where values fall, which ticks), [`labels`] (text that avoids
//! marks and other text), this file (the frame and its axes).

mod labels;
mod scale;

pub use labels::{along, first_clear, place_labels, text_width, LabelBox, Placed, LINE};
pub use scale::{fit_domain, nice_ticks, Scale, MAX_TICKS, MIN_TICKS};

use leptos::prelude::*;

/// The width of a chart across a card's whole width (a page 1200 px wide).
pub const WIDE: f64 = 1080.0;
/// The width of a chart in one of two columns.
pub const HALF: f64 = 520.0;

/// The drawing's size and margins, in SVG units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// Width of the whole drawing.
    pub width: f64,
    /// Height of the whole drawing.
    pub height: f64,
    /// Room for the left axis' ticks and label.
    pub left: f64,
    /// Room for a right axis, or a margin.
    pub right: f64,
    /// A margin above the plot.
    pub top: f64,
    /// Room for the bottom axis' ticks and label.
    pub bottom: f64,
}

impl Frame {
    /// A drawing `width` × `height` with room for a left and a bottom axis.
    pub fn new(width: f64, height: f64) -> Self {
        Self {
            width,
            height,
            left: 64.0,
            right: 20.0,
            top: 14.0,
            bottom: 44.0,
        }
    }

    /// With room for a second axis on the right.
    pub fn with_right_axis(self) -> Self {
        Self {
            right: 68.0,
            ..self
        }
    }

    /// The right edge of the plot.
    pub fn right_edge(&self) -> f64 {
        self.width - self.right
    }

    /// The x scale over `lo..=hi`.
    pub fn x(&self, lo: f64, hi: f64) -> Scale {
        Scale::linear(lo, hi, self.left, self.width - self.right)
    }

    /// The y scale over `lo..=hi` (up is more).
    pub fn y(&self, lo: f64, hi: f64) -> Scale {
        Scale::linear(lo, hi, self.height - self.bottom, self.top)
    }

    /// The bottom of the plot area.
    pub fn floor(&self) -> f64 {
        self.height - self.bottom
    }
}

/// Which values an axis marks.
#[derive(Clone, Debug, PartialEq)]
pub enum Ticks {
    /// The scale's round values ([`Scale::ticks`]).
    Round,
    /// These values (a sparkline's lowest and highest).
    Values(Vec<f64>),
    /// These texts, evenly spread from one end to the other (times, read as dates).
    Spread(Vec<String>),
}

/// An axis: its scale, its name with the unit, and how a tick reads.
#[derive(Clone)]
pub struct Axis {
    /// Where values fall.
    pub scale: Scale,
    /// The axis' name and unit ("concurrency (requests at once)", "tok/s").
    pub label: String,
    /// How a tick's value reads.
    pub format: fn(f64) -> String,
    /// The values marked.
    pub ticks: Ticks,
    /// Dollars: every round tick with `$` and as many decimals as the step needs
    /// (`$0.80`, `$0.90`, `$1.00`).
    pub usd: bool,
}

impl Axis {
    /// An axis over `scale` named `label`, its round ticks read with `format`.
    pub fn new(scale: Scale, label: impl Into<String>, format: fn(f64) -> String) -> Self {
        Self {
            scale,
            label: label.into(),
            format,
            ticks: Ticks::Round,
            usd: false,
        }
    }

    /// An axis of dollars over `scale` named `label`.
    pub fn usd(scale: Scale, label: impl Into<String>) -> Self {
        Self {
            usd: true,
            ..Self::new(scale, label, number)
        }
    }

    /// With these tick labels, evenly spread (for time, whose ticks are dates).
    pub fn with_tick_labels(mut self, labels: Vec<String>) -> Self {
        self.ticks = Ticks::Spread(labels);
        self
    }

    /// Marking only these values.
    pub fn with_values(mut self, values: Vec<f64>) -> Self {
        self.ticks = Ticks::Values(values);
        self
    }

    /// Where its ticks go and what they read.
    pub fn ticks(&self) -> Vec<(f64, String)> {
        let read = |values: Vec<f64>| {
            values
                .into_iter()
                .map(|v| (self.scale.at(v), (self.format)(v)))
                .collect()
        };
        match &self.ticks {
            Ticks::Round if self.usd => {
                let ticks = self.scale.ticks();
                let step = ticks.get(1).zip(ticks.first()).map(|(b, a)| b - a);
                let decimals = step.map(decimals_for).unwrap_or(2);
                ticks
                    .into_iter()
                    .map(|v| (self.scale.at(v), format!("${v:.decimals$}")))
                    .collect()
            }
            Ticks::Round => read(self.scale.ticks()),
            Ticks::Values(values) => read(values.clone()),
            Ticks::Spread(labels) => {
                let n = labels.len().max(2) - 1;
                let (lo, hi) = self.scale.domain();
                let (from, to) = (self.scale.at(lo), self.scale.at(hi));
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, text)| (from + (to - from) * i as f64 / n as f64, text.clone()))
                    .collect()
            }
        }
    }
}

/// A number as a tick reads: no more digits than it needs.
pub fn number(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A chart: `x` along the bottom, `y` on the left and `y2` on the right if given, marks
/// in `children`. `id` names its title and description for `aria-labelledby`.
#[component]
pub fn ChartFrame(
    frame: Frame,
    /// The svg's class (`curve`, `histogram`, `frontier-chart`, ...).
    #[prop(into)]
    class: String,
    /// A page-unique id: the title is `{id}-title`, the description `{id}-desc`.
    id: &'static str,
    /// What the chart shows, in a sentence (read first by screen readers).
    #[prop(into)]
    title: String,
    /// What the data says, in a sentence or two.
    #[prop(into)]
    desc: String,
    x: Axis,
    y: Axis,
    #[prop(optional)] y2: Option<Axis>,
    children: Children,
) -> impl IntoView {
    let f = frame;
    let (left, right, floor, top) = (f.left, f.right_edge(), f.floor(), f.top);
    let x_ticks = x
        .ticks()
        .into_iter()
        .map(|(at, text)| {
            // A long label at either end reads inwards rather than off the drawing.
            let half = text_width(&text) / 2.0;
            let anchor = if at - half < 2.0 {
                "start"
            } else if at + half > f.width - 2.0 {
                "end"
            } else {
                "middle"
            };
            view! {
                <line class="grid" x1=fmt(at) y1=top x2=fmt(at) y2=floor/>
                <text class="tick" x=fmt(at) y=floor + 16.0 text-anchor=anchor>{text}</text>
            }
        })
        .collect_view();
    let y_ticks = y
        .ticks()
        .into_iter()
        .map(|(at, text)| {
            view! {
                <line class="grid" x1=left y1=fmt(at) x2=right y2=fmt(at)/>
                <text class="tick" x=left - 6.0 y=fmt(at + 4.0) text-anchor="end">{text}</text>
            }
        })
        .collect_view();
    let y2_axis = y2.map(|y2| {
        let ticks = y2
            .ticks()
            .into_iter()
            .map(|(at, text)| {
                view! {
                    <line class="axis" x1=right y1=fmt(at) x2=right + 4.0 y2=fmt(at)/>
                    <text class="tick right" x=right + 7.0 y=fmt(at + 4.0)>{text}</text>
                }
            })
            .collect_view();
        view! {
            <line class="axis" x1=right y1=top x2=right y2=floor/>
            {ticks}
            <text class="axis-label right" transform=format!("translate({} {}) rotate(90)", f.width - 10.0, (top + floor) / 2.0) text-anchor="middle">
                {y2.label}
            </text>
        }
    });
    let (title_id, desc_id) = (format!("{id}-title"), format!("{id}-desc"));
    let labelled_by = format!("{title_id} {desc_id}");
    // Drawn at its own size (never wider), shrunk with the page below it.
    view! {
        <svg class=format!("chart {class}") width=f.width height=f.height viewBox=format!("0 0 {} {}", f.width, f.height) role="img" aria-labelledby=labelled_by>
            <title id=title_id>{title}</title>
            <desc id=desc_id>{desc}</desc>
            {x_ticks}
            {y_ticks}
            <line class="axis" x1=left y1=floor x2=right y2=floor/>
            <line class="axis" x1=left y1=top x2=left y2=floor/>
            <text class="axis-label" x=(left + right) / 2.0 y=f.height - 8.0 text-anchor="middle">{x.label}</text>
            <text class="axis-label" transform=format!("translate(14 {}) rotate(-90)", (top + floor) / 2.0) text-anchor="middle">
                {y.label}
            </text>
            {y2_axis}
            {children()}
        </svg>
    }
}

/// The decimals a dollar tick needs to tell ticks `step` apart: none for whole dollars,
/// else cents at least (0.25 and 0.1 need 2, 0.005 needs 3).
fn decimals_for(step: f64) -> usize {
    let mut decimals = 0;
    while decimals < 8
        && ((step * 10f64.powi(decimals as i32)).round() - step * 10f64.powi(decimals as i32)).abs()
            > 1e-6
    {
        decimals += 1;
    }
    if decimals == 0 {
        0
    } else {
        decimals.max(2)
    }
}

/// A coordinate as SVG reads it: one decimal.
pub fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_with_the_digits_they_need() {
        assert_eq!(number(0.05), "0.05");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1200.0), "1200");
        assert_eq!(number(0.0), "0");
        assert_eq!(decimals_for(0.1), 2);
        assert_eq!(decimals_for(0.005), 3);
        assert_eq!(decimals_for(2.5), 2);
        assert_eq!(decimals_for(50.0), 0);
        let dollars = Axis::usd(Scale::linear(0.7, 1.3, 0.0, 600.0).nice(), "$");
        let texts: Vec<String> = dollars.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(
            texts,
            ["$0.70", "$0.80", "$0.90", "$1.00", "$1.10", "$1.20", "$1.30"]
        );
    }

    #[test]
    fn the_frame_draws_at_its_own_size_with_round_ticks_and_names() {
        let frame = Frame::new(HALF, 200.0);
        let x = frame.x(0.0, 1234.0).nice();
        let y = frame.y(0.0, 37.0).nice();
        let html = view! {
            <ChartFrame frame class="test" id="t" title="T" desc="D"
                x=Axis::new(x, "TTFT (ms)", number) y=Axis::new(y, "requests", number)>
                <rect/>
            </ChartFrame>
        }
        .to_html();
        assert!(
            html.contains(r#"width="520" height="200" viewBox="0 0 520 200""#),
            "{html}"
        );
        let ticks = html.matches(r#"class="tick""#).count();
        assert!(
            (2 * MIN_TICKS..=2 * MAX_TICKS).contains(&ticks),
            "{ticks} in {html}"
        );
        assert!(
            html.contains(">1250</text>") && html.contains(">40</text>"),
            "{html}"
        );
        assert!(html.contains(">TTFT (ms)</text>"));
    }
}

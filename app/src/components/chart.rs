//! The one SVG chart frame every chart draws in: its plot area, scales (linear or
//! logarithmic), axes with readable ticks and units, gridlines, the theme's colours (from
//! the page's CSS variables, so light and dark both read), and a title and description for
//! screen readers. A chart gives its marks (lines, bars, points) as children, placed with
//! the frame's scales.

use leptos::prelude::*;

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
            left: 56.0,
            right: 16.0,
            top: 12.0,
            bottom: 40.0,
        }
    }

    /// With room for a second axis on the right.
    pub fn with_right_axis(self) -> Self {
        Self {
            right: 60.0,
            ..self
        }
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

/// A mapping from data to SVG units, linear or logarithmic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
    log: bool,
}

impl Scale {
    /// `lo..=hi` onto `from..=to`, evenly.
    pub fn linear(lo: f64, hi: f64, from: f64, to: f64) -> Self {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Self {
            lo,
            hi,
            from,
            to,
            log: false,
        }
    }

    /// The same range, logarithmic (for load levels 1, 2, 4 … 64): `lo` must be positive.
    pub fn logarithmic(self) -> Self {
        let lo = self.lo.max(1e-9);
        Self {
            lo,
            hi: self.hi.max(lo * 2.0),
            log: true,
            ..self
        }
    }

    /// Where `v` falls.
    pub fn at(&self, v: f64) -> f64 {
        let share = if self.log {
            (v.max(self.lo).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        self.from + share * (self.to - self.from)
    }

    /// Round values to mark along the axis, 4 to 8 of them: 1-2-5 steps, or powers of two
    /// on a logarithmic scale.
    pub fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut v = 2f64.powi(self.lo.log2().ceil() as i32);
            let mut list = Vec::new();
            while v <= self.hi * 1.0001 {
                list.push(v);
                v *= 2.0;
            }
            // Too many powers of two: every other one.
            while list.len() > 8 {
                list = list.into_iter().step_by(2).collect();
            }
            return list;
        }
        let step = nice_step((self.hi - self.lo) / 5.0);
        let first = (self.lo / step).ceil() * step;
        (0..)
            .map(|i| first + i as f64 * step)
            .take_while(|v| *v <= self.hi + step * 1e-6)
            .collect()
    }
}

/// The 1, 2 or 5 × 10ⁿ nearest to `raw` (by ratio), so a range cut into about five
/// steps gets four to eight round ticks.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let unit = raw / magnitude;
    // The boundaries are the geometric midpoints: √2 between 1 and 2, √10 between 2
    // and 5, √50 between 5 and 10.
    let nice = if unit < std::f64::consts::SQRT_2 {
        1.0
    } else if unit < 10f64.sqrt() {
        2.0
    } else if unit < 50f64.sqrt() {
        5.0
    } else {
        10.0
    };
    nice * magnitude
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
    /// The values marked (the scale's round ticks when `None`).
    pub ticks: Option<Vec<String>>,
}

impl Axis {
    /// An axis over `scale` named `label`, its ticks read with `format`.
    pub fn new(scale: Scale, label: impl Into<String>, format: fn(f64) -> String) -> Self {
        Self {
            scale,
            label: label.into(),
            format,
            ticks: None,
        }
    }

    /// With these tick labels, evenly spread (for time, whose ticks are dates).
    pub fn with_tick_labels(mut self, labels: Vec<String>) -> Self {
        self.ticks = Some(labels);
        self
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
    class: &'static str,
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
    let (left, right, floor, top) = (f.left, f.width - f.right, f.floor(), f.top);
    let x_ticks = axis_ticks(&x)
        .into_iter()
        .map(|(at, text)| {
            view! {
                <line class="grid" x1=fmt(at) y1=top x2=fmt(at) y2=floor/>
                <text class="tick" x=fmt(at) y=floor + 14.0 text-anchor="middle">{text}</text>
            }
        })
        .collect_view();
    let y_ticks = axis_ticks(&y)
        .into_iter()
        .map(|(at, text)| {
            view! {
                <line class="grid" x1=left y1=fmt(at) x2=right y2=fmt(at)/>
                <text class="tick" x=left - 6.0 y=fmt(at + 3.5) text-anchor="end">{text}</text>
            }
        })
        .collect_view();
    let y2_axis = y2.map(|y2| {
        let ticks = axis_ticks(&y2)
            .into_iter()
            .map(|(at, text)| {
                view! { <text class="tick right" x=right + 6.0 y=fmt(at + 3.5)>{text}</text> }
            })
            .collect_view();
        view! {
            <line class="axis" x1=right y1=top x2=right y2=floor/>
            {ticks}
            <text class="axis-label right" transform=format!("translate({} {}) rotate(90)", f.width - 8.0, (top + floor) / 2.0) text-anchor="middle">
                {y2.label}
            </text>
        }
    });
    let (title_id, desc_id) = (format!("{id}-title"), format!("{id}-desc"));
    let labelled_by = format!("{title_id} {desc_id}");
    view! {
        <svg class=format!("chart {class}") viewBox=format!("0 0 {} {}", f.width, f.height) role="img" aria-labelledby=labelled_by>
            <title id=title_id>{title}</title>
            <desc id=desc_id>{desc}</desc>
            {x_ticks}
            {y_ticks}
            <line class="axis" x1=left y1=floor x2=right y2=floor/>
            <line class="axis" x1=left y1=top x2=left y2=floor/>
            <text class="axis-label" x=(left + right) / 2.0 y=f.height - 6.0 text-anchor="middle">{x.label}</text>
            <text class="axis-label" transform=format!("translate(12 {}) rotate(-90)", (top + floor) / 2.0) text-anchor="middle">
                {y.label}
            </text>
            {y2_axis}
            {children()}
        </svg>
    }
}

/// Where an axis' ticks go and what they read.
fn axis_ticks(axis: &Axis) -> Vec<(f64, String)> {
    match &axis.ticks {
        Some(labels) => {
            let n = labels.len().max(2) - 1;
            let (from, to) = (axis.scale.at(axis.scale.lo), axis.scale.at(axis.scale.hi));
            labels
                .iter()
                .enumerate()
                .map(|(i, text)| (from + (to - from) * i as f64 / n as f64, text.clone()))
                .collect()
        }
        None => axis
            .scale
            .ticks()
            .into_iter()
            .map(|v| (axis.scale.at(v), (axis.format)(v)))
            .collect(),
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
    fn ticks_are_round_and_few() {
        let s = Scale::linear(0.0, 1234.0, 0.0, 100.0);
        let ticks = s.ticks();
        assert_eq!(ticks, [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0]);
        let small = Scale::linear(0.0, 0.37, 0.0, 100.0).ticks();
        assert!((4..=8).contains(&small.len()), "{small:?}");
        let log = Scale::linear(1.0, 64.0, 0.0, 600.0).logarithmic();
        assert_eq!(log.ticks(), [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
        assert_eq!(log.at(1.0), 0.0);
        assert_eq!(log.at(64.0), 600.0);
        assert!(
            (log.at(8.0) - 300.0).abs() < 1e-9,
            "halfway in powers of two"
        );
        let y = Frame::new(640.0, 240.0).y(0.0, 10.0);
        assert!(y.at(10.0) < y.at(0.0), "up is more");
        assert_eq!(number(0.05), "0.05");
        assert_eq!(number(1200.0), "1200");
    }
}

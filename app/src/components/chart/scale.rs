//! Scales: where a value falls along an axis (linear or logarithmic), the round values
//! an axis marks ("nice" ticks, 5 to 7 of them, covering the data), and the domain an
//! axis spans for a set of values.

/// Ticks an axis marks at least (a linear one).
pub const MIN_TICKS: usize = 5;
/// Ticks an axis marks at most.
pub const MAX_TICKS: usize = 7;

/// A mapping from data to SVG units, linear or logarithmic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub(super) lo: f64,
    pub(super) hi: f64,
    from: f64,
    to: f64,
    log: bool,
    /// Counts: ticks only on whole numbers (no "2.5 requests").
    whole: bool,
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
            whole: false,
        }
    }

    /// The same range widened to round ticks ([`nice_ticks`]), so the first and last tick
    /// sit on the ends of the axis.
    pub fn nice(self) -> Self {
        let ticks = round_ticks(self.lo, self.hi, self.whole);
        Self {
            lo: ticks[0],
            hi: ticks[ticks.len() - 1],
            ..self
        }
    }

    /// The same scale for counts: its ticks fall on whole numbers only.
    pub fn whole(self) -> Self {
        Self {
            whole: true,
            ..self
        }
    }

    /// The same range, logarithmic (for load levels 1, 2, 4 … 256: each doubling the same
    /// distance along the axis); `lo` must be positive.
    pub fn logarithmic(self) -> Self {
        let lo = self.lo.max(1e-9);
        Self {
            lo,
            hi: self.hi.max(lo * 2.0),
            log: true,
            ..self
        }
    }

    /// The lowest and highest value of the axis.
    pub fn domain(&self) -> (f64, f64) {
        (self.lo, self.hi)
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

    /// The values to mark: powers of two on a logarithmic scale (every other one when
    /// there would be more than [`MAX_TICKS`]), else the round values inside the range.
    pub fn ticks(&self) -> Vec<f64> {
        if self.log {
            let first = self.lo.log2().ceil() as i32;
            let last = (self.hi * 1.0001).log2().floor() as i32;
            let powers: Vec<i32> = (first..=last).collect();
            let every = powers.len().div_ceil(MAX_TICKS).max(1);
            return powers
                .into_iter()
                .step_by(every)
                .map(|p| 2f64.powi(p))
                .collect();
        }
        round_ticks(self.lo, self.hi, self.whole)
            .into_iter()
            .filter(|v| *v >= self.lo - 1e-9 * self.span() && *v <= self.hi + 1e-9 * self.span())
            .collect()
    }

    fn span(&self) -> f64 {
        self.hi - self.lo
    }
}

/// Between [`MIN_TICKS`] and [`MAX_TICKS`] round values (1, 2, 2.5 or 5 × 10ⁿ apart) whose
/// first is at or below `lo` and last at or above `hi`.
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    round_ticks(lo, hi, false)
}

/// [`nice_ticks`], on whole numbers only when `whole` (a step of at least 1, never 2.5).
fn round_ticks(lo: f64, hi: f64, whole: bool) -> Vec<f64> {
    let (lo, hi) = match (lo.is_finite(), hi.is_finite()) {
        (true, true) if hi > lo => (lo, hi),
        (true, _) => (lo, lo + 1.0),
        _ => (0.0, 1.0),
    };
    let mut magnitude = 10f64.powf(((hi - lo) / (MAX_TICKS - 1) as f64).log10().floor());
    loop {
        for unit in [1.0, 2.0, 2.5, 5.0] {
            let step = unit * magnitude;
            if whole && (step < 1.0 || step.fract() != 0.0) {
                continue;
            }
            let first = (lo / step + 1e-9).floor() as i64;
            let last = (hi / step - 1e-9).ceil() as i64;
            if (last - first + 1) as usize <= MAX_TICKS {
                // Too few: one more round value on top.
                let last = last.max(first + MIN_TICKS as i64 - 1);
                return (first..=last)
                    .map(|k| round_to(k as f64 * step, step))
                    .collect();
            }
        }
        magnitude *= 10.0;
    }
}

/// `v` without the binary noise of `k × step` (0.30000000000000004 reads 0.3).
fn round_to(v: f64, step: f64) -> f64 {
    let digits = (-step.log10().floor() + 2.0).clamp(0.0, 12.0) as i32;
    let scale = 10f64.powi(digits);
    (v * scale).round() / scale
}

/// The range an axis spans for values from `min` to `max`: from 0 when the values are
/// near it (the lowest under a quarter of the highest), else a margin either side, so
/// points far from 0 are not squeezed into one corner.
pub fn fit_domain(min: f64, max: f64) -> (f64, f64) {
    if !(min.is_finite() && max.is_finite()) {
        return (0.0, 1.0);
    }
    if min >= 0.0 && min < max * 0.25 {
        return (0.0, max * 1.08);
    }
    let margin = if max > min {
        (max - min) * 0.12
    } else {
        max.abs().max(1e-9) * 0.1
    };
    (min - margin, max + margin)
}

#[cfg(test)]
mod tests {
    use super::super::Frame;
    use super::*;

    #[test]
    fn counts_are_ticked_on_whole_numbers() {
        for top in [1.0, 3.0, 7.0, 14.0, 15.0, 23.0, 1290.0] {
            let y = Scale::linear(0.0, top, 200.0, 0.0).whole().nice();
            let ticks = y.ticks();
            assert!(ticks.iter().all(|t| t.fract() == 0.0), "{top}: {ticks:?}");
            assert!(*ticks.last().unwrap() >= top, "{top}: {ticks:?}");
        }
        // What the histogram of 14 requests showed before: 0, 2.5, 5 … 15.
        assert!(nice_ticks(0.0, 14.0).contains(&2.5));
    }

    fn assert_covers(lo: f64, hi: f64) {
        let ticks = nice_ticks(lo, hi);
        assert!(
            (MIN_TICKS..=MAX_TICKS).contains(&ticks.len()),
            "{lo}..{hi}: {ticks:?}"
        );
        let step = ticks[1] - ticks[0];
        // Covered, but for the binary noise the rounding to the step's digits removes.
        let noise = step * 1e-9;
        assert!(
            ticks[0] <= lo + noise && *ticks.last().unwrap() >= hi - noise,
            "{lo}..{hi}: {ticks:?}"
        );
        assert!(ticks
            .windows(2)
            .all(|w| ((w[1] - w[0]) - step).abs() < step * 1e-6));
    }

    #[test]
    fn nice_ticks_are_five_to_seven_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 1234.0),
            [0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0]
        );
        assert_eq!(nice_ticks(0.0, 100.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ticks(0.0, 0.3), [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
        for (lo, hi) in [
            (0.0, 0.37),
            (0.0, 1.0),
            (0.0, 7.0),
            (0.0, 8.0),
            (0.0, 13.0),
            (3.2, 4.1),
            (0.051, 0.062),
            (95.0, 102.0),
            (-40.0, 7.0),
            (1.0, 1_000_000.0),
            (0.0, 3.0),
            (5.0, 5.0),
        ] {
            assert_covers(lo, hi);
        }
        // Any range, as a property over a sweep of magnitudes and offsets.
        for e in -4..6 {
            for i in 1..60 {
                let hi = i as f64 * 10f64.powi(e) / 7.0;
                assert_covers(0.0, hi);
                assert_covers(hi, hi * 1.7);
            }
        }
    }

    #[test]
    fn a_nice_scale_ends_on_ticks() {
        let s = Scale::linear(0.0, 1234.0, 0.0, 500.0).nice();
        assert_eq!(s.domain(), (0.0, 1250.0));
        assert_eq!(s.ticks(), [0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0]);
        assert_eq!(s.at(1250.0), 500.0);
    }

    #[test]
    fn a_log_scale_spreads_doublings_evenly() {
        let log = Scale::linear(1.0, 256.0, 0.0, 800.0).logarithmic();
        let at: Vec<f64> = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]
            .iter()
            .map(|c| log.at(*c))
            .collect();
        assert_eq!((at[0], at[8]), (0.0, 800.0));
        for w in at.windows(2) {
            assert!(((w[1] - w[0]) - 100.0).abs() < 1e-9, "{at:?}");
        }
        assert_eq!(log.ticks(), [1.0, 4.0, 16.0, 64.0, 256.0]);
        let few = Scale::linear(1.0, 64.0, 0.0, 600.0).logarithmic();
        assert_eq!(few.ticks(), [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
        let up = Frame::new(640.0, 240.0).y(0.0, 10.0);
        assert!(up.at(10.0) < up.at(0.0), "up is more");
    }

    #[test]
    fn domains_start_at_zero_only_near_it() {
        assert_eq!(fit_domain(0.01, 0.2), (0.0, 0.2 * 1.08));
        let (lo, hi) = fit_domain(0.8, 1.0);
        assert!(lo > 0.7 && lo < 0.8 && hi > 1.0, "{lo}..{hi}");
        let (lo, hi) = fit_domain(2.0, 2.0);
        assert!(lo < 2.0 && hi > 2.0);
    }
}

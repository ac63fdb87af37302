//! Where text goes on a chart so it stays readable: point labels nudged until they overlap
//! neither each other nor the points, and a line's caption put where no mark sits.

/// Height of a line of chart text, SVG units (the CSS draws it at 12 px).
pub const LINE: f64 = 14.0;

/// The width a label of `text` takes, roughly (12 px system-ui averages under 7 px a
/// character).
pub fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.8
}

/// A label's box: where its text starts (`x` is the left edge whatever the anchor) and
/// its baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelBox {
    /// The left edge.
    pub x: f64,
    /// The baseline (the box reaches [`LINE`] − 3 above it and 3 below).
    pub y: f64,
    /// The width.
    pub width: f64,
}

impl LabelBox {
    /// Where the text is anchored, and which anchor (`start` or `end`) to give SVG.
    pub fn anchor(&self, end: bool) -> (f64, &'static str) {
        if end {
            (self.x + self.width, "end")
        } else {
            (self.x, "start")
        }
    }

    fn top(&self) -> f64 {
        self.y - (LINE - 3.0)
    }

    fn bottom(&self) -> f64 {
        self.y + 3.0
    }

    /// Whether this box and `other` overlap.
    pub fn overlaps(&self, other: &LabelBox) -> bool {
        self.x < other.x + other.width
            && other.x < self.x + self.width
            && self.top() < other.bottom()
            && other.top() < self.bottom()
    }

    /// Whether the point (`x`, `y`) with a marker of `radius` touches this box.
    pub fn covers(&self, (x, y): (f64, f64), radius: f64) -> bool {
        x + radius > self.x
            && x - radius < self.x + self.width
            && y + radius > self.top()
            && y - radius < self.bottom()
    }
}

/// A placed point label: its box and whether it reads right to left of its point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placed {
    /// Where the text sits.
    pub rect: LabelBox,
    /// Anchored at its end (the label sits left of its point).
    pub end: bool,
}

/// Labels of `widths` for points at `points`, each beside its point (right of it, or left
/// near the right edge `right`), then moved up or down half a line at a time, alternately
/// farther, until it overlaps no label placed before it, no point and none of `avoid`
/// (points along a line, say); within `top` and `bottom`.
pub fn place_labels(
    points: &[(f64, f64)],
    widths: &[f64],
    avoid: &[(f64, f64)],
    right: f64,
    (top, bottom): (f64, f64),
) -> Vec<Placed> {
    const GAP: f64 = 7.0;
    const RADIUS: f64 = 5.0;
    let mut placed: Vec<Placed> = Vec::with_capacity(points.len());
    for (&(px, py), &width) in points.iter().zip(widths) {
        let end = px + GAP + width > right;
        let x = if end { px - GAP - width } else { px + GAP };
        let clear = |rect: &LabelBox| {
            placed.iter().all(|p| !p.rect.overlaps(rect))
                && points.iter().all(|p| !rect.covers(*p, RADIUS))
                && avoid.iter().all(|p| !rect.covers(*p, 1.0))
        };
        let home = py - 4.0;
        let shifts = (0..40).map(|i| {
            let step = (i + 1) / 2;
            let sign = if i % 2 == 1 { -1.0 } else { 1.0 };
            home + sign * step as f64 * (LINE / 2.0)
        });
        let rect = shifts
            .map(|y| LabelBox {
                x,
                y: y.clamp(top + LINE - 3.0, bottom - 3.0),
                width,
            })
            .find(|r| clear(r))
            .unwrap_or(LabelBox { x, y: home, width });
        placed.push(Placed { rect, end });
    }
    placed
}

/// Points every few units along the polyline through `points`, for labels to avoid.
pub fn along(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    const EVERY: f64 = 4.0;
    let mut out = Vec::new();
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let steps = ((x1 - x0).hypot(y1 - y0) / EVERY).ceil().max(1.0) as usize;
        out.extend((0..=steps).map(|i| {
            let t = i as f64 / steps as f64;
            (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
        }));
    }
    out
}

/// The first of `spots` that covers none of `marks` (the first when all do).
pub fn first_clear(spots: &[LabelBox], marks: &[(f64, f64)]) -> LabelBox {
    spots
        .iter()
        .find(|s| marks.iter().all(|m| !s.covers(*m, 4.0)))
        .or(spots.first())
        .copied()
        .unwrap_or(LabelBox {
            x: 0.0,
            y: 0.0,
            width: 0.0,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_close_points_do_not_overlap() {
        // Three points almost on top of each other, one far away.
        let points = [(100.0, 100.0), (104.0, 102.0), (108.0, 98.0), (400.0, 50.0)];
        let widths = [120.0, 120.0, 120.0, 80.0];
        let line = along(&[(0.0, 110.0), (600.0, 80.0)]);
        let placed = place_labels(&points, &widths, &line, 600.0, (0.0, 300.0));
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                assert!(!a.rect.overlaps(&b.rect), "{a:?} and {b:?}");
            }
            for p in &points {
                assert!(!a.rect.covers(*p, 5.0), "{a:?} sits on {p:?}");
            }
            for p in &line {
                assert!(!a.rect.covers(*p, 1.0), "{a:?} sits on the line at {p:?}");
            }
        }
        assert_eq!(
            placed[3].rect.x, 407.0,
            "a lone label stays beside its point"
        );
        assert_eq!(placed[3].rect.y, 46.0, "and just above it");
        assert!(!placed[3].end);
    }

    #[test]
    fn labels_near_the_right_edge_read_leftwards() {
        let placed = place_labels(&[(590.0, 100.0)], &[100.0], &[], 600.0, (0.0, 300.0));
        assert!(placed[0].end);
        assert!(placed[0].rect.x + placed[0].rect.width <= 590.0);
        assert_eq!(placed[0].rect.anchor(true), (583.0, "end"));
    }

    #[test]
    fn a_caption_goes_where_no_mark_is() {
        let spots = [
            LabelBox {
                x: 0.0,
                y: 100.0,
                width: 80.0,
            },
            LabelBox {
                x: 500.0,
                y: 100.0,
                width: 80.0,
            },
        ];
        assert_eq!(first_clear(&spots, &[(40.0, 96.0)]), spots[1]);
        assert_eq!(first_clear(&spots, &[(300.0, 96.0)]), spots[0]);
    }
}

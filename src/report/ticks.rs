//! Axis ticks of the charts' numeric axes: round values (1, 2 or 5 times a power of ten),
//! as many as fit without their labels touching, labelled with just the decimals their
//! step needs ("6000", not "6000.0"; "0.25" only when the step is 0.05 or finer).

use std::ops::Range;

/// Width of one character of a tick label (14 px sans-serif digits are about 8 px wide).
const CHAR_PX: f64 = 8.0;
/// Height of a tick label.
const LINE_PX: f64 = 14.0;
/// Space kept between two neighbouring labels.
const GAP_PX: f64 = 14.0;
/// Most ticks on one axis, however long.
const MAX_TICKS: usize = 10;

/// Which way an axis runs: labels sit side by side on a horizontal axis (their widths
/// must fit between ticks), stacked on a vertical one (their height must).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    /// The x axis.
    Horizontal,
    /// The y axis.
    Vertical,
}

/// The ticks of one axis: values inside the range and their labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticks {
    /// Tick positions, ascending, inside the range.
    pub values: Vec<f64>,
    /// One label per value.
    pub labels: Vec<String>,
}

impl Ticks {
    /// The label of `value` when it is one of the ticks (plotters asks by value); the
    /// value with the ticks' decimals otherwise.
    pub fn label(&self, value: f64) -> String {
        match self.values.iter().position(|&v| v == value) {
            Some(i) => self.labels[i].clone(),
            None => format!("{value}"),
        }
    }
}

/// Round ticks for `range` on an axis `length_px` pixels long: the finest 1-2-5 step
/// whose labels fit without overlapping, at most [`MAX_TICKS`] of them. An empty or
/// non-finite range gets no ticks.
pub(crate) fn ticks(range: Range<f64>, length_px: f64, axis: Axis) -> Ticks {
    let span = range.end - range.start;
    if !(span.is_finite() && span > 0.0) {
        return Ticks {
            values: Vec::new(),
            labels: Vec::new(),
        };
    }
    let mut step = first_step(span / MAX_TICKS as f64);
    loop {
        let candidate = ticks_at(&range, step);
        let spacing_px = step / span * length_px;
        let needed_px = match axis {
            Axis::Horizontal => widest(&candidate.labels) as f64 * CHAR_PX + GAP_PX,
            Axis::Vertical => LINE_PX + GAP_PX,
        };
        if (spacing_px >= needed_px && candidate.values.len() <= MAX_TICKS)
            || candidate.values.len() <= 2
        {
            return candidate;
        }
        step = next_step(step);
    }
}

/// The smallest 1-2-5 step of at least `min_step`.
fn first_step(min_step: f64) -> f64 {
    let power = 10f64.powf(min_step.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= min_step * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

/// The next 1-2-5 step after `step`.
fn next_step(step: f64) -> f64 {
    let power = 10f64.powf(step.log10().floor());
    let mantissa = (step / power).round();
    if mantissa < 2.0 {
        2.0 * power
    } else if mantissa < 5.0 {
        5.0 * power
    } else {
        10.0 * power
    }
}

/// The multiples of `step` inside `range`, labelled with the decimals `step` needs.
fn ticks_at(range: &Range<f64>, step: f64) -> Ticks {
    let first = (range.start / step).ceil() as i64;
    let last = (range.end / step).floor() as i64;
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let values: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
    let labels = values
        .iter()
        .map(|&v| {
            let text = format!("{v:.decimals$}");
            // A tick at zero computed as -0.0 would read "-0".
            if text
                .trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
            {
                text.trim_start_matches('-').to_string()
            } else {
                text
            }
        })
        .collect();
    Ticks { values, labels }
}

fn widest(labels: &[String]) -> usize {
    labels.iter().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(range: Range<f64>, px: f64, axis: Axis) -> Vec<String> {
        ticks(range, px, axis).labels
    }

    #[test]
    fn prices_get_whole_numbers_that_do_not_overlap() {
        // The diamonds scatter: prices from about 300 to 18,800 on a 460 px axis.
        let x = ticks(-800.0..19_900.0, 460.0, Axis::Horizontal);
        assert_eq!(x.labels, ["0", "5000", "10000", "15000"]);
        let y = labels(-800.0..19_900.0, 400.0, Axis::Vertical);
        assert_eq!(y, ["0", "5000", "10000", "15000"]);
        // Neighbouring labels leave room between them (8 px a character).
        let px_per_unit = 460.0 / 20_700.0;
        for pair in x.values.windows(2) {
            assert!((pair[1] - pair[0]) * px_per_unit >= 5.0 * CHAR_PX + GAP_PX);
        }
    }

    #[test]
    fn decimals_follow_the_step() {
        assert_eq!(
            labels(0.0..1.0, 460.0, Axis::Horizontal),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(
            labels(0.312..0.348, 300.0, Axis::Vertical),
            ["0.315", "0.320", "0.325", "0.330", "0.335", "0.340", "0.345"]
        );
        assert_eq!(
            labels(-0.06..1.06, 300.0, Axis::Vertical),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(
            labels(-3.1..2.2, 460.0, Axis::Horizontal),
            ["-3", "-2", "-1", "0", "1", "2"]
        );
    }

    #[test]
    fn large_values_get_fewer_ticks_and_degenerate_ranges_none() {
        let wide = labels(0.0..800_000.0, 460.0, Axis::Horizontal);
        assert_eq!(wide, ["0", "200000", "400000", "600000", "800000"]);
        assert!(ticks(1.0..1.0, 400.0, Axis::Vertical).values.is_empty());
        assert!(ticks(0.0..f64::NAN, 400.0, Axis::Vertical)
            .values
            .is_empty());
        let t = ticks(0.0..10.0, 400.0, Axis::Horizontal);
        assert_eq!(t.label(4.0), "4");
        assert_eq!(t.label(4.5), "4.5");
    }
}

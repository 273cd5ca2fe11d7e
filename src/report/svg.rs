//! The drawing primitives the charts share: a white SVG canvas drawn by plotters and
//! returned as text, the colours, text styles, axis ranges and label clipping.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::error::DrawError;

/// The one font family: the browser's sans-serif, so the file needs no font.
pub(crate) const FONT: &str = "sans-serif";
/// Series colours (matplotlib's "tab10").
pub(crate) const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(230, 230, 230);

/// The whole canvas of one chart.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// What a drawing closure returns: plotters' error, named by [`svg`].
pub(crate) type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Draw on a white `width` x `height` SVG and return its text; `chart` names it in the
/// error ("drawing the {chart}: ...").
pub(crate) fn svg(
    width: u32,
    height: u32,
    chart: &str,
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<String, DrawError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|_| draw(&root))
            .and_then(|_| root.present())
            .map_err(|e| DrawError::new(chart, e))?;
    }
    Ok(text)
}

/// A range around `values` with a margin; (0, 1) when there are none.
pub(crate) fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.06
    } else {
        lo.abs().max(1.0) * 0.1
    };
    (lo - pad)..(hi + pad)
}

/// The margin around every chart, in pixels.
pub(crate) const MARGIN: u32 = 14;
/// Room the 20 px caption takes above the plot.
const CAPTION_PX: u32 = 30;

/// The approximate (width, height) in pixels of the plot inside a `width` x `height`
/// chart with a caption, [`MARGIN`] and label areas of `y_labels_px` (left) and
/// `x_labels_px` (below): the axis lengths its ticks are chosen for.
pub(crate) fn plot_size(width: u32, height: u32, y_labels_px: u32, x_labels_px: u32) -> (f64, f64) {
    let w = width.saturating_sub(2 * MARGIN + y_labels_px);
    let h = height.saturating_sub(2 * MARGIN + CAPTION_PX + x_labels_px);
    (w as f64, h as f64)
}

/// A linear f64 axis whose ticks are given (plotters' own f64 axis picks its ticks and
/// labels them "6000.0"); the labels come from the mesh's label formatter.
pub(crate) struct TickedRange {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedRange {
    /// `range` with ticks at `ticks`.
    pub(crate) fn new(range: std::ops::Range<f64>, ticks: &[f64]) -> Self {
        TickedRange {
            inner: range.into(),
            ticks: ticks.to_vec(),
        }
    }
}

impl Ranged for TickedRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light (minor) grid points: none.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Text of `size` pixels in `color`, anchored at (`h`, `v`) of the point it is drawn at.
pub(crate) fn text_style(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// `label` cut to `max` characters, ending in "…" when cut.
pub(crate) fn clip(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let kept: String = label.chars().take(max.saturating_sub(1).max(1)).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_padded_and_labels_clipped() {
        assert_eq!(clip("short", 8), "short");
        assert_eq!(clip("a much longer label", 8), "a much …");
        assert_eq!(padded_range(std::iter::empty()), 0.0..1.0);
        assert_eq!(padded_range([f64::NAN].into_iter()), 0.0..1.0);
        let constant = padded_range([3.5, 3.5].into_iter());
        assert!(constant.start < 3.5 && constant.end > 3.5);
    }

    #[test]
    fn a_canvas_is_one_svg_element() {
        let text = svg(40, 30, "test chart", |_| Ok(())).unwrap();
        assert!(text.starts_with("<svg"), "{text}");
        assert!(text.trim_end().ends_with("</svg>"), "{text}");
    }
}

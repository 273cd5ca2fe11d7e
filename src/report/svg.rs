//! The drawing primitives the charts share: a white SVG canvas drawn by plotters and
//! returned as text, the colours, text styles, axis ranges and label clipping.

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

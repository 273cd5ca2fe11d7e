//! Predicted against actual values of a regressor's test rows, with the line where they
//! are equal.

use plotters::prelude::*;

use super::error::DrawError;
use super::svg::{padded_range, plot_size, svg, TickedRange, COLORS, FONT, GRID, MARGIN};
use super::ticks::{ticks, Axis};

/// Most points drawn in a scatter plot; larger inputs are thinned evenly.
const MAX_POINTS: usize = 5000;

/// Predicted against actual values as an SVG scatter plot, with the line where they are
/// equal; axes named after `target`. `y_true`, `y_pred`: (n_rows,) in target units.
pub(crate) fn scatter_chart(
    target: &str,
    y_true: &[f64],
    y_pred: &[f64],
) -> Result<String, DrawError> {
    let stride = y_true.len().div_ceil(MAX_POINTS).max(1);
    let points: Vec<(f64, f64)> = y_true
        .iter()
        .zip(y_pred)
        .step_by(stride)
        .map(|(&a, &p)| (a, p))
        .filter(|(a, p)| a.is_finite() && p.is_finite())
        .collect();
    let range = padded_range(points.iter().flat_map(|&(a, p)| [a, p]));
    let (width, height) = (560, 500);
    let (plot_w, plot_h) = plot_size(width, height, 64, 44);
    let x_ticks = ticks(range.clone(), plot_w, Axis::Horizontal);
    let y_ticks = ticks(range.clone(), plot_h, Axis::Vertical);
    svg(width, height, "predicted-vs-actual chart", |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Predicted vs actual (test rows)", (FONT, 20))
            .margin(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(
                TickedRange::new(range.clone(), &x_ticks.values),
                TickedRange::new(range.clone(), &y_ticks.values),
            )?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_label_formatter(&|v| x_ticks.label(*v))
            .y_label_formatter(&|v| y_ticks.label(*v))
            .x_desc(format!("actual {target}"))
            .y_desc(format!("predicted {target}"))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let gray = RGBColor(160, 160, 160);
        chart
            .draw_series(LineSeries::new(
                [(range.start, range.start), (range.end, range.end)],
                gray,
            ))?
            .label("predicted = actual")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], gray));
        let color = COLORS[0];
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 3, color.mix(0.6).filled())),
            )?
            .label("test row")
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 14))
            .draw()
    })
}

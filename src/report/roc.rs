//! ROC curves from a classifier's probabilities: the positive class of a binary task, one
//! class against the rest otherwise, each with its AUC in the legend.

use ndarray::ArrayView2;
use plotters::prelude::*;

use super::error::DrawError;
use super::svg::{clip, plot_size, svg, TickedRange, COLORS, FONT, GRID, MARGIN};
use super::ticks::{ticks, Axis};
use crate::metrics::{roc_auc_binary, roc_curve};

/// ROC curves as an SVG: the positive (second) class of a binary task, one-vs-rest for
/// each class otherwise; the chance diagonal for reference. `labels`: (n_classes,);
/// `y_true`: (n_rows,) class indices; `probs`: (n_rows, n_classes).
pub(crate) fn roc_chart(
    labels: &[String],
    y_true: &[usize],
    probs: ArrayView2<f64>,
) -> Result<String, DrawError> {
    let classes: Vec<usize> = if labels.len() == 2 {
        vec![1]
    } else {
        (0..labels.len()).collect()
    };
    let curves: Vec<(String, Vec<(f64, f64)>)> = classes
        .iter()
        .filter_map(|&c| {
            let truth: Vec<bool> = y_true.iter().map(|&y| y == c).collect();
            let scores: Vec<f64> = probs.column(c).to_vec();
            let auc = roc_auc_binary(&truth, &scores)?;
            let name = if labels.len() == 2 {
                format!(
                    "{} vs {} (AUC {auc:.3})",
                    clip(&labels[1], 16),
                    clip(&labels[0], 16)
                )
            } else {
                format!("{} vs rest (AUC {auc:.3})", clip(&labels[c], 16))
            };
            Some((name, roc_curve(&truth, &scores)))
        })
        .collect();
    let title = if labels.len() == 2 {
        "ROC curve (test rows)"
    } else {
        "ROC curves, one class vs the rest (test rows)"
    };
    let (width, height) = (560, 500);
    let (plot_w, plot_h) = plot_size(width, height, 56, 44);
    let x_ticks = ticks(0.0..1.0, plot_w, Axis::Horizontal);
    let y_ticks = ticks(0.0..1.0, plot_h, Axis::Vertical);
    svg(width, height, "ROC curve", |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(
                TickedRange::new(0.0..1.0, &x_ticks.values),
                TickedRange::new(0.0..1.0, &y_ticks.values),
            )?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_label_formatter(&|v| x_ticks.label(*v))
            .y_label_formatter(&|v| y_ticks.label(*v))
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let gray = RGBColor(160, 160, 160);
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], gray))?
            .label("chance")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], gray));
        for (i, (name, points)) in curves.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 14))
            .draw()
    })
}

//! Learning curves: the training and validation loss, and the validation metric, over the
//! epochs of a model's history.

use plotters::prelude::*;

use super::error::DrawError;
use super::svg::{padded_range, plot_size, svg, TickedRange, COLORS, FONT, GRID, MARGIN};
use super::ticks::{ticks, Axis};
use crate::preprocess::Task;
use crate::train::EpochRecord;

/// One line per series over the epochs, with a marker at the epoch whose weights were kept.
fn epoch_chart(
    title: &str,
    y_desc: &str,
    series: &[(&str, Vec<(usize, f64)>)],
    best_epoch: Option<usize>,
    clamp_unit: bool,
    legend: SeriesLabelPosition,
) -> Result<String, DrawError> {
    let n_epochs = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let mut y = padded_range(series.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)));
    if clamp_unit {
        y = y.start.max(0.0)..y.end.min(1.0);
    }
    let (width, height) = (560, 360);
    let y_ticks = ticks(
        y.clone(),
        plot_size(width, height, 64, 44).1,
        Axis::Vertical,
    );
    svg(width, height, title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(
                1..n_epochs.max(2),
                TickedRange::new(y.clone(), &y_ticks.values),
            )?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_desc("epoch")
            .y_desc(y_desc)
            .x_labels(10)
            .y_label_formatter(&|v| y_ticks.label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()?;
        if let Some(best) = best_epoch {
            let gray = RGBColor(150, 150, 150);
            chart
                .draw_series(LineSeries::new(
                    [(best, y.start), (best, y.end)],
                    gray.stroke_width(1),
                ))?
                .label(format!("kept weights (epoch {best})"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], gray));
        }
        for (i, (name, points)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied().filter(|p| p.1.is_finite()),
                    color.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 14))
            .draw()
    })
}

/// The training loss and, where the history has it, the validation loss per epoch, as an
/// SVG; `best_epoch` (1-based) is marked as the one whose weights were kept.
pub(crate) fn loss_chart(
    history: &[EpochRecord],
    best_epoch: Option<usize>,
) -> Result<String, DrawError> {
    let train: Vec<(usize, f64)> = history.iter().map(|r| (r.epoch, r.train_loss)).collect();
    let val: Vec<(usize, f64)> = history
        .iter()
        .filter_map(|r| r.val_loss.map(|v| (r.epoch, v)))
        .collect();
    let mut series = vec![("training loss", train)];
    if !val.is_empty() {
        series.push(("validation loss", val));
    }
    epoch_chart(
        "Loss per epoch",
        "loss",
        &series,
        best_epoch,
        false,
        SeriesLabelPosition::UpperRight,
    )
}

/// The validation metric per epoch (accuracy for classification, RMSE in target units for
/// regression) as an SVG; `None` when the history has no validation metric.
pub(crate) fn metric_chart(
    history: &[EpochRecord],
    task: Task,
    best_epoch: Option<usize>,
) -> Result<Option<String>, DrawError> {
    let points: Vec<(usize, f64)> = history
        .iter()
        .filter_map(|r| r.val_metric.map(|v| (r.epoch, v)))
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    // Accuracy rises and RMSE falls: the legend goes where the curve usually is not.
    let (title, name, unit, legend) = match task {
        Task::Classification => (
            "Validation accuracy per epoch",
            "validation accuracy",
            true,
            SeriesLabelPosition::LowerRight,
        ),
        Task::Regression => (
            "Validation RMSE per epoch",
            "validation RMSE",
            false,
            SeriesLabelPosition::UpperRight,
        ),
    };
    let y_desc = match task {
        Task::Classification => "accuracy",
        Task::Regression => "RMSE (target units)",
    };
    epoch_chart(title, y_desc, &[(name, points)], best_epoch, unit, legend).map(Some)
}

//! `csvnn report`: one self-contained HTML file about a model, with SVG charts drawn by
//! plotters: learning curves from the training history and, with test data, the metrics,
//! the confusion matrix as a heat map and the ROC curves (classification) or predicted
//! against actual values (regression). No scripts, fonts or other external resources: it
//! opens in a browser without a network.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::common::{parse_delimiter, read_nonempty, Ui};
use super::evaluate::score;
use csvnn::atomic::write_atomically;
use csvnn::data::CsvOptions;
use csvnn::evaluate::Scored;
use csvnn::inspect::Inspection;
use csvnn::metrics::{roc_auc_binary, roc_curve, LabeledConfusionMatrix};
use csvnn::model::Model;
use csvnn::preprocess::Task;
use csvnn::train::EpochRecord;
use csvnn::Error;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// Test data with the target column: adds the metrics, the confusion matrix and ROC
    /// curves (classification) or predicted against actual values (regression).
    #[arg(long, value_name = "FILE")]
    pub data: Option<String>,

    /// Field delimiter of the test data: one character, or `tab`. Default: detected.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The HTML file to write (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

const FONT: &str = "sans-serif";
/// Series colours (matplotlib's "tab10").
const COLORS: [RGBColor; 10] = [
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
const GRID: RGBColor = RGBColor(230, 230, 230);
/// Most points drawn in a scatter plot; larger inputs are thinned evenly.
const MAX_POINTS: usize = 5000;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Draw on a white `width` x `height` SVG and return its text.
fn svg(
    width: u32,
    height: u32,
    what: &str,
    draw: impl FnOnce(&Area) -> DrawResult,
) -> anyhow::Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|_| draw(&root))
            .and_then(|_| root.present())
            .map_err(|e| anyhow!("drawing the {what}: {e}"))?;
    }
    Ok(text)
}

/// A range around `values` with a margin; (0, 1) when there are none.
fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
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

fn text_style(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// One line per series over the epochs, with a marker at the epoch whose weights were kept.
fn epoch_chart(
    title: &str,
    y_desc: &str,
    series: &[(&str, Vec<(usize, f64)>)],
    best_epoch: Option<usize>,
    clamp_unit: bool,
    legend: SeriesLabelPosition,
) -> anyhow::Result<String> {
    let n_epochs = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let mut y = padded_range(series.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)));
    if clamp_unit {
        y = y.start.max(0.0)..y.end.min(1.0);
    }
    svg(560, 360, title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(1..n_epochs.max(2), y.clone())?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_desc("epoch")
            .y_desc(y_desc)
            .x_labels(10)
            .y_labels(8)
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

fn loss_chart(history: &[EpochRecord], best_epoch: Option<usize>) -> anyhow::Result<String> {
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

fn metric_chart(
    history: &[EpochRecord],
    task: Task,
    best_epoch: Option<usize>,
) -> anyhow::Result<Option<String>> {
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

/// `label` cut to `max` characters, ending in "…" when cut.
fn clip(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let kept: String = label.chars().take(max.saturating_sub(1).max(1)).collect();
        format!("{kept}…")
    }
}

/// A share as a whole percentage that never rounds a nonzero share to 0% or a partial one
/// to 100%.
fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.5 {
        "<1%".to_string()
    } else if (99.5..100.0).contains(&p) {
        ">99%".to_string()
    } else {
        format!("{p:.0}%")
    }
}

/// White to blue by `fraction` in [0, 1].
fn heat(fraction: f64) -> RGBColor {
    let f = fraction.clamp(0.0, 1.0);
    let mix = |white: f64, full: f64| (white + (full - white) * f).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 69.0), mix(255.0, 148.0))
}

/// The confusion matrix as a heat map: cell colour is the share of the true class's
/// rows (the recall on the diagonal), the text the count and that share.
fn confusion_chart(cm: &LabeledConfusionMatrix) -> anyhow::Result<String> {
    let k = cm.labels.len().max(1) as i32;
    let cell = (360 / k).clamp(30, 90);
    // Labels too long for a column: the columns are numbered and the rows say which
    // number is which label ("label [2]").
    let fits = ((cell - 6) / 8).max(2) as usize;
    let numbered = cm.labels.iter().any(|l| l.chars().count() > fits);
    let row_labels: Vec<String> = cm
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if numbered {
                format!("{} [{}]", clip(l, 22), i + 1)
            } else {
                l.clone()
            }
        })
        .collect();
    let label_chars = row_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1) as i32;
    let left = 36 + label_chars * 7 + 12;
    let top = 48;
    let (bottom, legend) = (64, 110);
    // Wide enough for the title whatever the number of classes.
    let width = (left + cell * k + legend).max(470) as u32;
    let height = (top + cell * k + bottom) as u32;
    let black = RGBColor(34, 34, 34);
    svg(width, height, "confusion matrix", |root| {
        root.draw_text(
            "Confusion matrix (colour: share of the true class's rows)",
            &text_style(18.0, black, HPos::Left, VPos::Top),
            (12, 12),
        )?;
        let count_size = (f64::from(cell) * 0.32).clamp(11.0, 18.0);
        for (t, row) in cm.matrix.iter().enumerate() {
            let total: u64 = row.iter().sum();
            for (p, &count) in row.iter().enumerate() {
                let share = if total > 0 {
                    count as f64 / total as f64
                } else {
                    0.0
                };
                let (x0, y0) = (left + p as i32 * cell, top + t as i32 * cell);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    heat(share).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    RGBColor(215, 215, 215).stroke_width(1),
                ))?;
                let ink = if share > 0.55 { WHITE } else { black };
                let (cx, cy) = (x0 + cell / 2, y0 + cell / 2);
                if cell >= 48 {
                    root.draw_text(
                        &count.to_string(),
                        &text_style(count_size, ink, HPos::Center, VPos::Bottom),
                        (cx, cy + 2),
                    )?;
                    root.draw_text(
                        &percent(share),
                        &text_style(count_size * 0.75, ink, HPos::Center, VPos::Top),
                        (cx, cy + 4),
                    )?;
                } else {
                    root.draw_text(
                        &count.to_string(),
                        &text_style(count_size, ink, HPos::Center, VPos::Center),
                        (cx, cy),
                    )?;
                }
            }
        }
        for (i, label) in row_labels.iter().enumerate() {
            let middle = top + i as i32 * cell + cell / 2;
            root.draw_text(
                label,
                &text_style(14.0, black, HPos::Right, VPos::Center),
                (left - 8, middle),
            )?;
            let centre = left + i as i32 * cell + cell / 2;
            let column_label = if numbered {
                (i + 1).to_string()
            } else {
                label.clone()
            };
            root.draw_text(
                &column_label,
                &text_style(14.0, black, HPos::Center, VPos::Top),
                (centre, top + k * cell + 8),
            )?;
        }
        root.draw_text(
            if numbered {
                "predicted class (numbered as the rows)"
            } else {
                "predicted class"
            },
            &text_style(15.0, black, HPos::Center, VPos::Top),
            (left + k * cell / 2, top + k * cell + 34),
        )?;
        root.draw_text(
            "true class",
            &text_style(15.0, black, HPos::Center, VPos::Center)
                .transform(FontTransform::Rotate270),
            (16, top + k * cell / 2),
        )?;
        // Colour scale: 100% at the top, 0% at the bottom.
        let (bar_x, bar_h) = (left + k * cell + 24, (k * cell).min(240));
        let steps = 20;
        for s in 0..steps {
            let y0 = top + bar_h * s / steps;
            let y1 = top + bar_h * (s + 1) / steps;
            let share = 1.0 - (f64::from(s) + 0.5) / f64::from(steps);
            root.draw(&Rectangle::new(
                [(bar_x, y0), (bar_x + 16, y1)],
                heat(share).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(bar_x, top), (bar_x + 16, top + bar_h)],
            RGBColor(180, 180, 180).stroke_width(1),
        ))?;
        let small = text_style(12.0, black, HPos::Left, VPos::Center);
        root.draw_text("100%", &small, (bar_x + 22, top))?;
        root.draw_text("50%", &small, (bar_x + 22, top + bar_h / 2))?;
        root.draw_text("0%", &small, (bar_x + 22, top + bar_h))
    })
}

/// ROC curves: the positive (second) class of a binary task, one-vs-rest for each class
/// otherwise; the chance diagonal for reference.
fn roc_chart(
    labels: &[String],
    y_true: &[usize],
    probs: ArrayView2<f64>,
) -> anyhow::Result<String> {
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
    svg(560, 500, "ROC curve", |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
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

/// Predicted against actual values, with the line where they are equal.
fn scatter_chart(target: &str, y_true: &[f64], y_pred: &[f64]) -> anyhow::Result<String> {
    let stride = y_true.len().div_ceil(MAX_POINTS).max(1);
    let points: Vec<(f64, f64)> = y_true
        .iter()
        .zip(y_pred)
        .step_by(stride)
        .map(|(&a, &p)| (a, p))
        .filter(|(a, p)| a.is_finite() && p.is_finite())
        .collect();
    let range = padded_range(points.iter().flat_map(|&(a, p)| [a, p]));
    svg(560, 500, "predicted-vs-actual chart", |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Predicted vs actual (test rows)", (FONT, 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(range.clone(), range.clone())?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
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

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A metric for the table: 4 decimals, or "n/a" when undefined.
fn metric(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "n/a".to_string(),
    }
}

const STYLE: &str = "body{font-family:sans-serif;color:#222;margin:24px auto;max-width:1180px;padding:0 16px;line-height:1.4}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.sub{color:#666;margin-top:0}.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.charts svg{border:1px solid #e4e4e4;max-width:100%;height:auto}
table{border-collapse:collapse;font-size:14px;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 12px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.kv td{text-align:left}
.note{color:#666;font-size:13px}";

/// The whole HTML page.
fn render(model: &Model, shown: &str, test: Option<(&str, &Scored)>) -> anyhow::Result<String> {
    let info = Inspection::of(model, shown.to_string());
    let t = &model.training;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>csvnn report: {}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n<h1>csvnn report: {}</h1>\n<p class=\"sub\">{} model predicting <b>{}</b>{}</p>\n",
        escape(shown),
        escape(shown),
        model.task,
        escape(&model.pipeline.target),
        test.map(|(data, _)| format!(", scored on {}", escape(data)))
            .unwrap_or_default(),
    );

    // The model in a few lines.
    html.push_str("<h2>Model</h2>\n<table class=\"kv\">\n");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(html, "<tr><th>{key}</th><td>{value}</td></tr>");
    };
    row(
        "task",
        format!("{} ({})", model.task, escape(&t.task_reason)),
    );
    if let Some(classes) = info.classes {
        row(
            "classes",
            format!("{} ({})", escape(&classes.join(", ")), classes.len()),
        );
    }
    let columns: Vec<String> = model
        .pipeline
        .features
        .iter()
        .map(|f| escape(f.name()))
        .collect();
    row(
        "input columns",
        format!(
            "{} ({} network inputs)",
            columns.join(", "),
            info.architecture.n_inputs
        ),
    );
    if !model.pipeline.dropped.is_empty() {
        row(
            "dropped columns",
            escape(&model.pipeline.dropped.join(", ")),
        );
    }
    let layers: Vec<String> = info
        .architecture
        .layers
        .iter()
        .map(|l| format!("{} {}", l.kind, escape(&l.detail)))
        .collect();
    row(
        "architecture",
        format!(
            "{} &middot; {} parameters",
            layers.join(" &rarr; "),
            info.architecture.params
        ),
    );
    row(
        "training",
        format!(
            "{} loss, batch size {}, {} of {} epochs run{}{}, seed {}",
            escape(&t.loss),
            t.config.batch_size,
            t.epochs_run,
            t.config.epochs,
            if t.stopped_early {
                " (stopped early)"
            } else {
                ""
            },
            t.best_epoch
                .map(|e| format!(", weights of epoch {e} kept"))
                .unwrap_or_default(),
            t.config.seed
        ),
    );
    row(
        "rows",
        format!(
            "{} training, {} validation",
            t.rows_train, t.rows_validation
        ),
    );
    if let Some(v) = &model.validation_metrics {
        let mut parts = vec![format!("loss {}", metric(Some(v.loss)))];
        if let Some(a) = v.accuracy {
            parts.push(format!("accuracy {}", metric(Some(a))));
        }
        if let Some(r) = v.rmse {
            parts.push(format!("RMSE {}", metric(Some(r))));
        }
        row("validation metrics", parts.join(", "));
    }
    html.push_str("</table>\n");

    // Learning curves.
    html.push_str("<h2>Learning curves</h2>\n");
    if model.history.is_empty() {
        html.push_str("<p class=\"note\">The model has no training history.</p>\n");
    } else {
        html.push_str("<div class=\"charts\">\n");
        html.push_str(&loss_chart(&model.history, t.best_epoch)?);
        match metric_chart(&model.history, model.task, t.best_epoch)? {
            Some(chart) => html.push_str(&chart),
            None => html.push_str(
                "<p class=\"note\">No validation rows, so no validation metric per epoch.</p>",
            ),
        }
        html.push_str("</div>\n");
    }

    match test {
        None => html.push_str(
            "<p class=\"note\">Run <code>csvnn report --data TEST.csv</code> to add test metrics and charts.</p>\n",
        ),
        Some((data, scored)) => render_test(&mut html, model, data, scored)?,
    }
    let _ = write!(
        html,
        "<p class=\"note\">Written by csvnn {}. This file is self-contained: no scripts, fonts or other external resources.</p>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(html)
}

fn render_test(
    html: &mut String,
    model: &Model,
    data: &str,
    scored: &Scored,
) -> anyhow::Result<()> {
    let _ = writeln!(html, "<h2>Test metrics: {}</h2>", escape(data));
    match scored {
        Scored::Classification {
            report,
            y_true,
            probs,
        } => {
            html.push_str("<table>\n<tr><th>metric</th><th>value</th></tr>\n");
            for (name, value) in [
                ("rows", Some(report.rows as f64)),
                ("accuracy", Some(report.accuracy)),
                ("balanced accuracy", Some(report.balanced_accuracy)),
                ("macro F1", Some(report.macro_f1)),
                ("weighted F1", Some(report.weighted_f1)),
                ("log loss", Some(report.log_loss)),
                ("ROC AUC", report.roc_auc),
                ("MCC", Some(report.mcc)),
            ] {
                let shown = if name == "rows" {
                    report.rows.to_string()
                } else {
                    metric(value)
                };
                let _ = writeln!(html, "<tr><td>{name}</td><td>{shown}</td></tr>");
            }
            html.push_str("</table>\n<table>\n<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
            for (label, s) in &report.per_class.0 {
                let _ = writeln!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(label),
                    metric(Some(s.precision)),
                    metric(Some(s.recall)),
                    metric(Some(s.f1)),
                    s.support
                );
            }
            html.push_str("</table>\n<h2>Confusion matrix and ROC</h2>\n<div class=\"charts\">\n");
            html.push_str(&confusion_chart(&report.confusion_matrix)?);
            html.push_str(&roc_chart(
                model.pipeline.target_encoder.labels(),
                y_true,
                probs.view(),
            )?);
            html.push_str("</div>\n");
        }
        Scored::Regression {
            report,
            y_true,
            y_pred,
        } => {
            html.push_str("<table>\n<tr><th>metric</th><th>value</th></tr>\n");
            let _ = writeln!(html, "<tr><td>rows</td><td>{}</td></tr>", report.rows);
            for (name, value) in [
                ("RMSE", report.rmse),
                ("MAE", report.mae),
                ("R²", report.r2),
                ("explained variance", report.explained_variance),
                ("max error", report.max_error),
            ] {
                let _ = writeln!(
                    html,
                    "<tr><td>{name}</td><td>{}</td></tr>",
                    metric(Some(value))
                );
            }
            html.push_str("</table>\n<h2>Predicted vs actual</h2>\n<div class=\"charts\">\n");
            html.push_str(&scatter_chart(&model.pipeline.target, y_true, y_pred)?);
            html.push_str("</div>\n");
        }
    }
    Ok(())
}

pub fn run(args: ReportArgs, ui: &Ui, threads: usize) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let scored = match &args.data {
        Some(path) => {
            let table = read_nonempty(
                path,
                &CsvOptions {
                    delimiter: args.delimiter,
                    skip_bad_rows: false,
                },
                ui,
            )?;
            Some((table.source.clone(), score(&model, &table, ui, threads)?))
        }
        None => None,
    };
    let shown = args.model.display().to_string();
    let html = render(
        &model,
        &shown,
        scored.as_ref().map(|(data, s)| (data.as_str(), s)),
    )?;
    let output = args.output.display().to_string();
    write_atomically(&args.output, |out| {
        out.write_all(html.as_bytes())
            .map_err(|e| Error::io(&output, e))
    })?;
    ui.info(&format!("wrote the report to {output}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_labels_and_ranges_for_the_charts() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.004), "<1%");
        assert_eq!(percent(0.996), ">99%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.426), "43%");
        assert_eq!(clip("short", 8), "short");
        assert_eq!(clip("a much longer label", 8), "a much …");
        assert_eq!(padded_range(std::iter::empty()), 0.0..1.0);
        assert_eq!(padded_range([f64::NAN].into_iter()), 0.0..1.0);
        let constant = padded_range([3.5, 3.5].into_iter());
        assert!(constant.start < 3.5 && constant.end > 3.5);
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }

    #[test]
    fn confusion_matrix_svg_holds_every_count() {
        let cm = LabeledConfusionMatrix {
            labels: vec!["no".into(), "yes".into()],
            matrix: vec![vec![1925, 8], vec![42, 25]],
        };
        let svg = confusion_chart(&cm).unwrap();
        // Text is escaped in SVG: ">99%" is "&gt;99%".
        for count in ["1925", "8", "42", "25", "&gt;99%", "&lt;1%", "63%", "37%"] {
            assert!(svg.contains(&format!(">\n{count}\n</text>")), "{count}");
        }
    }
}

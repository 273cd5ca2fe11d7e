//! The HTML page: the model in a table, the learning curves and, with test data, the test
//! metrics and their charts, all in one self-contained file (inline CSS and SVG; no
//! scripts, fonts or other external resources).

use std::fmt::Write as _;

use super::confusion::confusion_chart;
use super::curves::{loss_chart, metric_chart};
use super::error::DrawError;
use super::roc::roc_chart;
use super::scatter::scatter_chart;
use crate::evaluate::Scored;
use crate::inspect::describe_layer;
use crate::model::Model;
use crate::preprocess::TargetEncoder;

const STYLE: &str = "body{font-family:sans-serif;color:#222;margin:24px auto;max-width:1180px;padding:0 16px;line-height:1.4}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.sub{color:#666;margin-top:0}.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.charts svg{border:1px solid #e4e4e4;max-width:100%;height:auto}
table{border-collapse:collapse;font-size:14px;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 12px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.kv td{text-align:left}
.note{color:#666;font-size:13px}";

/// `text` with the HTML special characters escaped, for text and attribute values.
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

/// The test section of the page.
#[derive(Debug, Clone, Copy)]
pub enum TestData<'a> {
    /// The test data as named, and the model's scores on it.
    Scored(&'a str, &'a Scored),
    /// No test data: a note (HTML) saying how to add them, in the caller's words.
    Missing(&'a str),
}

/// The whole HTML page about `model`, titled with `shown` (the model file as the user
/// named it). With scored test data the page adds the test metrics, the confusion matrix
/// and ROC curves (classification) or predicted against actual values (regression).
///
/// The same model and scores give the same bytes: the page holds no time or path other
/// than the names given.
pub fn render(model: &Model, shown: &str, test: TestData<'_>) -> Result<String, DrawError> {
    let t = &model.training;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>csvnn report: {}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n<h1>csvnn report: {}</h1>\n<p class=\"sub\">{} model predicting <b>{}</b>{}</p>\n",
        escape(shown),
        escape(shown),
        model.task,
        escape(&model.pipeline.target),
        match test {
            TestData::Scored(data, _) => format!(", scored on {}", escape(data)),
            TestData::Missing(_) => String::new(),
        },
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
    if let TargetEncoder::Classification { labels } = &model.pipeline.target_encoder {
        row(
            "classes",
            format!("{} ({})", escape(&labels.join(", ")), labels.len()),
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
            model.network.n_inputs
        ),
    );
    if !model.pipeline.dropped.is_empty() {
        row(
            "dropped columns",
            escape(&model.pipeline.dropped.join(", ")),
        );
    }
    let layers: Vec<String> = model
        .network
        .layers
        .iter()
        .map(|l| {
            let (kind, detail) = describe_layer(l);
            format!("{kind} {}", escape(&detail))
        })
        .collect();
    row(
        "architecture",
        format!(
            "{} &middot; {} parameters",
            layers.join(" &rarr; "),
            model.network.n_params()
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
        TestData::Missing(note) => {
            let _ = writeln!(html, "<p class=\"note\">{note}</p>");
        }
        TestData::Scored(data, scored) => render_test(&mut html, model, data, scored)?,
    }
    let _ = write!(
        html,
        "<p class=\"note\">Written by csvnn {}. This file is self-contained: no scripts, fonts or other external resources.</p>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(html)
}

/// The test section: metrics tables and the charts for the task.
fn render_test(
    html: &mut String,
    model: &Model,
    data: &str,
    scored: &Scored,
) -> Result<(), DrawError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_is_escaped_and_metrics_rounded() {
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
        assert_eq!(escape("say \"hi\""), "say &quot;hi&quot;");
        assert_eq!(metric(Some(0.123456)), "0.1235");
        assert_eq!(metric(Some(f64::NAN)), "n/a");
        assert_eq!(metric(None), "n/a");
    }
}

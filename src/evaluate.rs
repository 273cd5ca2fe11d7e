//! Scoring a saved model on rows that have the target: the metrics report with what it
//! was computed from.

use crate::data::RawTable;
use crate::error::{Error, Location, Result};
use crate::metrics::{
    classification_report_at, regression_report, ClassificationReport, RegressionReport,
};
use crate::model::{Model, Predictions};
use crate::preprocess::EncodedTargets;
use crate::train::{rows_with_target_noticed, Notice, Observer};

/// A model's scores on a file, with what they were computed from (for `report`).
#[derive(Debug, Clone)]
pub enum Scored {
    /// A classifier's scores.
    Classification {
        /// Accuracy, per-class and averaged scores, confusion matrix.
        report: ClassificationReport,
        /// (n_rows,) true class indices, in label order.
        y_true: Vec<usize>,
        /// (n_rows, n_classes) predicted class probabilities.
        probs: ndarray::Array2<f64>,
    },
    /// A regressor's scores.
    Regression {
        /// RMSE, MAE, R² and the other error metrics.
        report: RegressionReport,
        /// (n_rows,) true values, in the target's units.
        y_true: Vec<f64>,
        /// (n_rows,) predicted values, in the target's units.
        y_pred: Vec<f64>,
    },
}

impl Scored {
    /// The metrics as a JSON value (keys as `evaluate --format json` prints them).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Scored::Classification { report, .. } => serde_json::to_value(report),
            Scored::Regression { report, .. } => serde_json::to_value(report),
        }
        .unwrap_or_default()
    }
}

/// Score `model` on the rows of `table` that have a target value. Unused columns, rows
/// without a target, unseen categories and bad numbers reach `observer` as notices.
pub fn score(model: &Model, table: &RawTable, observer: &mut dyn Observer) -> Result<Scored> {
    score_at(model, table, None, observer)
}

/// As [`score`], with a binary classifier's classes predicted at `threshold` on the
/// probability of its second label (see [`crate::metrics::threshold`]). A threshold for
/// any other model, or outside [0, 1], is refused before anything is read.
pub fn score_at(
    model: &Model,
    table: &RawTable,
    threshold: Option<f64>,
    observer: &mut dyn Observer,
) -> Result<Scored> {
    if let Some(t) = threshold {
        check_threshold(model, t)?;
    }
    let pipeline = &model.pipeline;
    let target = table.column_index(&pipeline.target).ok_or_else(|| {
        Error::data(
            Location::file(&table.source),
            format!(
                "the target column '{}' is missing; evaluate needs it to score the model (use predict for files without it)",
                pipeline.target
            ),
        )
    })?;
    let unused = pipeline.unused_columns(table);
    if !unused.is_empty() {
        observer.notice(Notice::UnusedColumns {
            source: &table.source,
            columns: &unused,
        });
    }
    let rows = rows_with_target_noticed(table, target, &pipeline.na_values, false, observer);
    if rows.is_empty() {
        return Err(Error::data(
            Location::file(&table.source).column(&pipeline.target),
            "no row has a target value; expected at least one to score",
        ));
    }
    let transformed = pipeline.transform(table, Some(&rows))?;
    for notice in Notice::findings(&table.source, &transformed) {
        observer.notice(notice);
    }
    let targets = pipeline.encode_targets(table, &rows)?;
    let scored = match (model.predict(transformed.x.view()), targets) {
        (Predictions::Classes { probs, .. }, EncodedTargets::Classes(classes)) => {
            let y_true: Vec<usize> = classes.iter().map(|&c| c as usize).collect();
            let labels = pipeline.target_encoder.labels();
            let report = classification_report_at(labels, &y_true, probs.view(), threshold);
            Scored::Classification {
                report,
                y_true,
                probs,
            }
        }
        (Predictions::Values(values), EncodedTargets::Values { raw, .. }) => {
            let report = regression_report(&raw, &values);
            Scored::Regression {
                report,
                y_true: raw,
                y_pred: values,
            }
        }
        _ => unreachable!("the model's predictions and targets come from one encoder"),
    };
    Ok(scored)
}

/// A decision threshold needs a model with two classes and a probability in [0, 1].
pub fn check_threshold(model: &Model, threshold: f64) -> Result<()> {
    let labels = model.pipeline.target_encoder.labels();
    if labels.len() != 2 {
        let what = if labels.is_empty() {
            "this model does regression".to_string()
        } else {
            format!("this model has {} classes", labels.len())
        };
        return Err(Error::config(format!(
            "a decision threshold needs a binary classification model; {what}"
        )));
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::config(format!(
            "a decision threshold is a probability between 0 and 1, not {threshold}"
        )));
    }
    Ok(())
}

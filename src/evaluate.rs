//! Scoring a saved model on rows that have the target: the metrics report with what it
//! was computed from.

use crate::metrics::{ClassificationReport, RegressionReport};

/// A model's scores on a file, with what they were computed from (for `report`).
pub enum Scored {
    Classification {
        report: ClassificationReport,
        /// (n_rows,) class indices
        y_true: Vec<usize>,
        /// (n_rows, n_classes)
        probs: ndarray::Array2<f64>,
    },
    Regression {
        report: RegressionReport,
        y_true: Vec<f64>,
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

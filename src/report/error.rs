//! The one way a report can fail: plotters could not draw a chart.

use std::fmt::Display;

/// A chart could not be drawn; shown as "drawing the {chart}: {message}".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("drawing the {chart}: {message}")]
pub struct DrawError {
    /// Which chart: "confusion matrix", "ROC curve", "Loss per epoch", ...
    pub chart: String,
    /// What plotters said.
    pub message: String,
}

impl DrawError {
    /// The error for `chart` with plotters' `error` as its message.
    pub(crate) fn new(chart: &str, error: impl Display) -> Self {
        DrawError {
            chart: chart.to_string(),
            message: error.to_string(),
        }
    }
}

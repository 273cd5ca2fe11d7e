//! Scoring rows as `csvnn predict` does, and writing them as it does: one code path for
//! `predict` (files and pipes, in chunks) and `serve` (request bodies).

mod json;
mod writer;

pub use json::{json_cell, json_number, json_string};
pub use writer::{PredictionFormat, PredictionWriter};

use crate::data::RawTable;
use crate::error::Result;
use crate::metrics::classes_at_threshold;
use crate::model::{Model, Predictions};
use crate::nn::Network;
use crate::preprocess::{NonFiniteValues, UnknownCategories};

/// The predictions for a table's rows, with what the pipeline noticed on the way.
#[derive(Debug, Clone)]
pub struct ScoredRows {
    /// One prediction per row of the table.
    pub predictions: Predictions,
    /// Categorical values not seen in training, per column.
    pub unknown_categories: Vec<UnknownCategories>,
    /// Numeric cells that were infinite or out of range, encoded as missing.
    pub non_finite: Vec<NonFiniteValues>,
}

/// Transform `table`'s rows with the model's pipeline and predict them; with a
/// `threshold` (binary classification), the positive class wherever its probability is
/// at least that. Fails as the pipeline does (a missing column, a bad cell).
pub fn score_table(model: &Model, table: &RawTable, threshold: Option<f64>) -> Result<ScoredRows> {
    score(model, None, table, threshold)
}

/// `score_table` on this thread with `network`, a clone of the model's network kept by
/// the caller between calls (`Model::predict_with`): the same predictions.
pub fn score_table_with(
    model: &Model,
    network: &mut Network,
    table: &RawTable,
    threshold: Option<f64>,
) -> Result<ScoredRows> {
    score(model, Some(network), table, threshold)
}

fn score(
    model: &Model,
    network: Option<&mut Network>,
    table: &RawTable,
    threshold: Option<f64>,
) -> Result<ScoredRows> {
    let transformed = model.pipeline.transform(table, None)?;
    let x = transformed.x.view();
    let mut predictions = match network {
        Some(network) => model.predict_with(network, x),
        None => model.predict(x),
    };
    if let (Some(t), Predictions::Classes { probs, classes }) = (threshold, &mut predictions) {
        *classes = classes_at_threshold(probs.view(), t);
    }
    Ok(ScoredRows {
        predictions,
        unknown_categories: transformed.unknown_categories,
        non_finite: transformed.non_finite,
    })
}

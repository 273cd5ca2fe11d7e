//! Scoring a saved model on a file read a chunk at a time: the same report as
//! `evaluate::score_at`, without holding the table. What the report needs of every row
//! is kept: the class and the class probabilities (8 + 8 x classes bytes a row, 24 for a
//! binary classifier: ROC AUC needs every score), or the true and predicted values (16
//! bytes a row), instead of the table's ~15 bytes a cell.

use ndarray::Array2;

use crate::data::{CsvOptions, TableChunks};
use crate::error::{Error, Location, Result};
use crate::evaluate::{check_threshold, Scored};
use crate::metrics::{classification_report_at, regression_report};
use crate::model::{Model, Predictions};
use crate::preprocess::EncodedTargets;
use crate::train::{rows_with_target_noticed, Notice, Observer};

/// Rows read per chunk.
const CHUNK_ROWS: usize = 8192;

/// Score `model` on the rows of `path` (`-` for stdin) that have a target value, a chunk
/// at a time (see the module docs). Rows without a target reach `observer` per chunk.
pub fn score_stream(
    model: &Model,
    path: &str,
    options: &CsvOptions,
    threshold: Option<f64>,
    observer: &mut dyn Observer,
) -> Result<Scored> {
    if let Some(t) = threshold {
        check_threshold(model, t)?;
    }
    let pipeline = &model.pipeline;
    let mut chunks = TableChunks::open(path, options, CHUNK_ROWS)?;
    let source = chunks.source().to_string();
    let first = chunks.empty_table();
    let unused = pipeline.unused_columns(&first);
    if !unused.is_empty() {
        observer.notice(Notice::UnusedColumns {
            source: &source,
            columns: &unused,
        });
    }
    let target = first.column_index(&pipeline.target).ok_or_else(|| {
        Error::data(
            Location::file(&source),
            format!(
                "the target column '{}' is missing; evaluate needs it to score the model (use predict for files without it)",
                pipeline.target
            ),
        )
    })?;
    let n_classes = pipeline.target_encoder.n_outputs();
    let (mut y_class, mut probs) = (Vec::new(), Vec::new());
    let (mut y_value, mut predicted) = (Vec::new(), Vec::new());
    while let Some(chunk) = chunks.next_chunk()? {
        let rows = rows_with_target_noticed(&chunk, target, &pipeline.na_values, false, observer);
        if rows.is_empty() {
            continue;
        }
        let x = pipeline.transform(&chunk, Some(&rows))?.x;
        match (
            model.predict(x.view()),
            pipeline.encode_targets(&chunk, &rows)?,
        ) {
            (Predictions::Classes { probs: p, .. }, EncodedTargets::Classes(classes)) => {
                y_class.extend(classes.iter().map(|&c| c as usize));
                probs.extend(p.iter().copied());
            }
            (Predictions::Values(values), EncodedTargets::Values { raw, .. }) => {
                y_value.extend(raw);
                predicted.extend(values);
            }
            _ => unreachable!("the model's predictions and targets come from one encoder"),
        }
    }
    if y_class.is_empty() && y_value.is_empty() {
        return Err(Error::data(
            Location::file(&source).column(&pipeline.target),
            "no row has a target value; expected at least one to score",
        ));
    }
    Ok(if y_value.is_empty() {
        let probs = Array2::from_shape_vec((y_class.len(), n_classes), probs)
            .expect("one probability per class and row");
        let labels = pipeline.target_encoder.labels();
        Scored::Classification {
            report: classification_report_at(labels, &y_class, probs.view(), threshold),
            y_true: y_class,
            probs,
        }
    } else {
        Scored::Regression {
            report: regression_report(&y_value, &predicted),
            y_true: y_value,
            y_pred: predicted,
        }
    })
}

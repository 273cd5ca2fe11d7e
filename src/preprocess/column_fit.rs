//! `ColumnFit`: what fitting one column gave, shared by the fits of each column kind.

use super::pipeline::Feature;
use super::warning::FitWarning;
use crate::data::RawTable;

/// What fitting one column gave.
pub(crate) enum ColumnFit {
    /// The target or a dropped column.
    Skipped,
    /// No value in the training rows: dropped, with a warning.
    Empty(String, FitWarning),
    /// A feature, with warnings about what was repaired.
    Feature(Feature, Vec<FitWarning>),
    /// A numeric column (its name, its present values and warnings) whose mean and
    /// std are taken with other columns' (`numeric::means_and_stds`).
    Numeric(String, Vec<f64>, Vec<FitWarning>),
}

impl ColumnFit {
    /// Column `index` of `table`, with no value in the training rows.
    pub(crate) fn empty(table: &RawTable, index: usize) -> Self {
        let name = &table.headers[index];
        ColumnFit::Empty(
            name.clone(),
            FitWarning::EmptyColumn {
                file: table.source.clone(),
                column: name.clone(),
            },
        )
    }
}

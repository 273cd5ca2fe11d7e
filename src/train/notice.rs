//! `Notice`: what a run tells its observer besides epochs: the choices it made and the
//! things in the data a user should know about. The library never prints; a front end
//! renders these (or ignores them).

use crate::data::RawTable;
use crate::preprocess::{
    ClassificationDoubt, FitWarning, NonFiniteValues, Task, Transformed, UnknownCategories,
};

/// One thing worth telling the user, in the order the run meets it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// A file was read; `table.skipped` lists the rows left out for a wrong number of
    /// fields (when skipping bad rows).
    Read {
        /// The table read.
        table: &'a RawTable,
    },
    /// Rows whose target is missing were left out.
    MissingTargets {
        /// The file.
        source: &'a str,
        /// Their lines.
        lines: &'a [u64],
        /// Left out of training (true) or of scoring (false).
        training: bool,
    },
    /// The table is small: it trains on all its rows, without the default validation split
    /// (`TrainSettings::whole_small_tables`).
    SmallTableWhole {
        /// Its training rows.
        rows: usize,
    },
    /// The task was chosen, and why.
    TaskChosen {
        /// The task.
        task: Task,
        /// Why (the target's values, or that it was given).
        reason: &'a str,
        /// Chosen from the target's values (not given, nor taken from a preprocessor), and
        /// the other task would fit them too (a regression needs numbers).
        overridable: bool,
    },
    /// The task was inferred as classification of a numeric target whose classes look
    /// degenerate: it may be a regression.
    TaskDoubt(&'a ClassificationDoubt),
    /// Fitting the preprocessing found something worth a warning.
    PipelineWarning(&'a FitWarning),
    /// Input columns the model does not use.
    UnusedColumns {
        /// The file.
        source: &'a str,
        /// Their names.
        columns: &'a [&'a str],
    },
    /// Categories not seen in training (encoded as all zeros).
    UnknownCategories {
        /// The file.
        source: &'a str,
        /// Per column.
        unknown: &'a [UnknownCategories],
    },
    /// Infinite or out-of-range numbers (treated as missing).
    NonFinite {
        /// The file.
        source: &'a str,
        /// Per column.
        values: &'a [NonFiniteValues],
    },
    /// The network is built and training starts.
    TrainingStarted {
        /// The layer widths joined by `-`, e.g. `8-64-2` (a CNN's image and convolution
        /// layers first: `6x6x1-conv4:3-8-2`).
        shape: &'a str,
        /// Trainable parameters.
        n_params: usize,
        /// Training rows.
        rows_train: usize,
        /// Validation rows, when there is validation.
        rows_validation: Option<usize>,
    },
    /// Training ended with early stopping's best weights restored.
    BestEpochKept {
        /// The validation value that chose it.
        monitor: super::monitor::Monitor,
        /// Epochs run.
        epochs_run: usize,
        /// The epoch whose weights were kept.
        best_epoch: usize,
        /// Whether it stopped before the last epoch.
        stopped_early: bool,
    },
    /// The final model's validation loss and metric.
    Validation {
        /// Loss on the validation rows.
        loss: f64,
        /// `accuracy` or `rmse`.
        metric: &'static str,
        /// The metric's value.
        value: f64,
    },
    /// A cross-validation fold was scored.
    FoldDone {
        /// The fold, from 0.
        fold: usize,
        /// Folds in all.
        folds: usize,
        /// Its held-out rows.
        test_rows: usize,
        /// The first metric's name and value.
        headline: Option<(&'a str, f64)>,
    },
}

impl<'a> Notice<'a> {
    /// What encoding rows of `source` found: unseen categories, then bad numbers.
    pub fn findings(source: &'a str, transformed: &'a Transformed) -> [Notice<'a>; 2] {
        [
            Notice::UnknownCategories {
                source,
                unknown: &transformed.unknown_categories,
            },
            Notice::NonFinite {
                source,
                values: &transformed.non_finite,
            },
        ]
    }

    /// True for what the data holds (a warning's matter), false for the run's own choices
    /// and summaries.
    pub fn is_about_data(&self) -> bool {
        matches!(
            self,
            Notice::Read { .. }
                | Notice::MissingTargets { .. }
                | Notice::PipelineWarning(_)
                | Notice::TaskDoubt(_)
                | Notice::UnusedColumns { .. }
                | Notice::UnknownCategories { .. }
                | Notice::NonFinite { .. }
        )
    }
}

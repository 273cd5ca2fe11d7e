//! `SettingsError`: training settings that cannot work, alone (a value out of its range) or
//! with the data (too few rows for the validation split). Messages name the settings by
//! their field names in `TrainSettings`; a front end renders them in its own words.

use crate::nn::ImageShape;
use crate::preprocess::Task;

use super::choices::{ConvLayer, LossChoice, SettingDifference};
use super::monitor::Monitor;

/// Why training settings cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A value outside its range.
    #[error("the setting `{setting}` is {value}; expected {expected}")]
    OutOfRange {
        /// The field name in `TrainSettings`.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What the range is.
        expected: String,
    },
    /// No target column was named.
    #[error("no target column is set")]
    NoTarget,
    /// Convolution layers without the image shape they read.
    #[error("convolution layers need the image shape")]
    ConvNeedsImageShape,
    /// Image augmentation without the image shape it transforms.
    #[error("the augmentation {item} needs the image shape")]
    AugmentNeedsImageShape {
        /// The transform's name (`shift`, `rotate`, `flip`).
        item: &'static str,
    },
    /// An augmentation with nothing to act on in this table.
    #[error("the augmentation {item} {reason}")]
    AugmentDoesNotFitData {
        /// The transform's name.
        item: &'static str,
        /// Why, e.g. "needs a text column; the table has none".
        reason: &'static str,
    },
    /// Encoder settings (recurrent layers, attention, pooling, a text encoder) for a table
    /// with no text column and no series.
    #[error("encoder settings need a text column or a series; the table has neither")]
    EncodersWithoutSequences,
    /// The target differs from the one a given preprocessor was fitted for.
    #[error("the target is '{given}' but the preprocessor was fitted for the target '{fitted}'")]
    TargetDiffersFromPreprocessor {
        /// The target of the settings.
        given: String,
        /// The target of the preprocessor.
        fitted: String,
    },
    /// The task given contradicts a given preprocessor's.
    #[error("the task {given} contradicts the preprocessor, which is for {fitted}")]
    TaskContradictsPreprocessor {
        /// The task of the settings.
        given: Task,
        /// The task of the preprocessor.
        fitted: Task,
    },
    /// Class weights on a regression task.
    #[error("class weights need a classification task")]
    ClassWeightsNeedClassification,
    /// A loss that does not fit the task.
    #[error("the loss {loss:?} does not fit a {task} task")]
    LossDoesNotFitTask {
        /// The loss given.
        loss: LossChoice,
        /// The task.
        task: Task,
    },
    /// A monitored metric that the task does not have.
    #[error("the monitored metric {} does not fit a {task} task; expected one of: {}", monitor.name(), Monitor::names_for(*task).join(", "))]
    MonitorDoesNotFitTask {
        /// The monitor given.
        monitor: Monitor,
        /// The task.
        task: Task,
    },
    /// Learning-rate reduction on plateaus without validation data.
    #[error("reducing the learning rate on a plateau needs validation data (a validation split above 0 or a validation file)")]
    PlateauNeedsValidation,
    /// Convolution layers that do not fit the image.
    #[error("the convolution layers do not fit the image shape {image}: {reason}")]
    ConvDoesNotFitImage {
        /// The layers given.
        conv: Vec<ConvLayer>,
        /// The image shape given.
        image: ImageShape,
        /// What does not fit.
        reason: String,
    },
    /// Resuming a run with settings other than the checkpointed run's.
    #[error("resuming needs the settings of the checkpointed run; these differ: {}", differences.iter().map(|d| format!("{} {} (checkpoint: {})", d.setting, d.now, d.then)).collect::<Vec<_>>().join(", "))]
    ResumeSettingsDiffer {
        /// Each differing setting.
        differences: Vec<SettingDifference>,
    },
    /// Resuming with fewer epochs than the checkpointed run has done.
    #[error("the run is to end after {epochs} epochs but its checkpoint has done {epochs_done}; expected at least {epochs_done} epochs")]
    EpochsBelowCheckpoint {
        /// The epochs asked for.
        epochs: usize,
        /// The epochs the checkpoint has done.
        epochs_done: usize,
    },
    /// Too few rows with a target for both parts of the validation split.
    #[error("{file}: {} with a target {} too few for a validation split of {fraction}; expected enough rows for both parts (or no split)", crate::number_text::rows(*rows), crate::number_text::agree(*rows, "is", "are"))]
    TooFewRowsForSplit {
        /// The training file.
        file: String,
        /// Rows with a target.
        rows: usize,
        /// The validation fraction.
        fraction: f64,
    },
    /// Too few rows with a target for the folds of cross-validation.
    #[error("{file}: {} with a target {} too few for {folds} folds", crate::number_text::rows(*rows), crate::number_text::agree(*rows, "is", "are"))]
    TooFewRowsForFolds {
        /// The training file.
        file: String,
        /// Rows with a target.
        rows: usize,
        /// Folds asked for.
        folds: usize,
    },
    /// An image shape the feature columns do not fill.
    #[error("{file}: the image shape {image} needs {} numeric feature columns (the pixels); the data has {n_features} feature columns, {n_numeric} of them numeric", image.len())]
    ImageShapeMismatch {
        /// The training file.
        file: String,
        /// The image shape given.
        image: ImageShape,
        /// Feature columns of the data.
        n_features: usize,
        /// Numeric ones among them.
        n_numeric: usize,
    },
    /// A class weight for a label that is not a class of the target.
    #[error("{file}: column '{target}': the class weights name the label '{label}', which is not a class of the target; the classes are: {}", classes.join(", "))]
    UnknownClassWeightLabel {
        /// The training file.
        file: String,
        /// The target column.
        target: String,
        /// The label named.
        label: String,
        /// The classes of the target.
        classes: Vec<String>,
    },
}

impl SettingsError {
    /// True when the settings are wrong whatever the data (a front end's usage error);
    /// false when they do not fit this data.
    pub fn is_usage(&self) -> bool {
        !matches!(
            self,
            SettingsError::TooFewRowsForSplit { .. }
                | SettingsError::TooFewRowsForFolds { .. }
                | SettingsError::ImageShapeMismatch { .. }
                | SettingsError::UnknownClassWeightLabel { .. }
        )
    }
}

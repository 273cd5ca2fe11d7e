//! The library's settings errors in the command line's words: each setting by its flag.

use csvnn::number_text::{agree, rows as rows_text};
use csvnn::train::{LossChoice, Monitor, SettingsError};
use csvnn::{Error, Location};

/// The flag of a `TrainSettings` field: `validation_split` -> `--validation-split`.
pub fn flag(setting: &str) -> String {
    format!("--{}", setting.replace('_', "-"))
}

/// `error` as the command line says it.
pub fn render_settings_error(error: &SettingsError) -> String {
    let data = |location: Location, message: String| Error::data(location, message).to_string();
    match error {
        SettingsError::OutOfRange {
            setting,
            value,
            expected,
        } => format!("{} {value}: expected {expected}", flag(setting)),
        SettingsError::NoTarget => "--target is required".to_string(),
        SettingsError::ConvNeedsImageShape => "--conv needs --image-shape".to_string(),
        SettingsError::AugmentNeedsImageShape { item } => {
            format!("--augment {item} needs --image-shape")
        }
        SettingsError::AugmentDoesNotFitData { item, reason } => {
            format!("--augment {item} {reason}")
        }
        SettingsError::EncodersWithoutSequences => "--rnn, --attention, --pool, --text-encoder and --embedding-dim need a text column (--text) or a series (--sequence-shape); the table has neither".to_string(),
        SettingsError::TargetDiffersFromPreprocessor { given, fitted } => format!(
            "--target is '{given}' but the preprocessor was fitted for the target '{fitted}'"
        ),
        SettingsError::TaskContradictsPreprocessor { given, fitted } => {
            format!("--task {given} contradicts the preprocessor, which is for {fitted}")
        }
        SettingsError::ClassWeightsNeedClassification => {
            "--class-weight needs a classification task".to_string()
        }
        SettingsError::LossDoesNotFitTask { loss, .. } => match loss {
            LossChoice::Mse => {
                "--loss mse does not fit a classification task; use cross-entropy".to_string()
            }
            _ => "--loss cross-entropy does not fit a regression task; use mse".to_string(),
        },
        SettingsError::MonitorDoesNotFitTask { monitor, task } => format!(
            "--monitor {} does not fit a {task} task; expected one of: {}",
            monitor.name(),
            Monitor::names_for(*task).join(", ")
        ),
        SettingsError::PlateauNeedsValidation => "--reduce-on-plateau needs validation data (--validation-split above 0 or --validation FILE)".to_string(),
        SettingsError::ConvDoesNotFitImage {
            conv,
            image,
            reason,
        } => {
            let layers: Vec<String> = conv
                .iter()
                .map(|c| format!("{}:{}", c.filters, c.kernel))
                .collect();
            format!(
                "--conv {} does not fit --image-shape {image}: {reason}",
                layers.join(",")
            )
        }
        SettingsError::ResumeSettingsDiffer { differences } => {
            let differing: Vec<String> = differences
                .iter()
                .map(|d| format!("{} {} (checkpoint: {})", flag(&d.setting), d.now, d.then))
                .collect();
            format!(
                "--resume needs the flags of the checkpointed run; these differ: {}",
                differing.join(", ")
            )
        }
        SettingsError::EpochsBelowCheckpoint {
            epochs,
            epochs_done,
        } => format!(
            "--epochs {epochs} is fewer than the {epochs_done} epochs the checkpoint has done; expected at least {epochs_done}"
        ),
        SettingsError::TooFewRowsForSplit {
            file,
            rows,
            fraction,
        } => data(
            Location::file(file),
            format!("{} with a target {} too few for --validation-split {fraction}; expected enough rows for both parts (or use --validation-split 0)", rows_text(*rows), agree(*rows, "is", "are")),
        ),
        SettingsError::TooFewRowsForFolds { file, rows, folds } => data(
            Location::file(file),
            format!("{} with a target {} too few for --folds {folds}", rows_text(*rows), agree(*rows, "is", "are")),
        ),
        SettingsError::ImageShapeMismatch {
            file,
            image,
            n_features,
            n_numeric,
        } => data(
            Location::file(file),
            format!(
                "--image-shape {image} needs {} numeric feature columns (the pixels); the data has {n_features} feature columns, {n_numeric} of them numeric",
                image.len()
            ),
        ),
        SettingsError::UnknownClassWeightLabel {
            file,
            target,
            label,
            classes,
        } => data(
            Location::file(file).column(target),
            format!(
                "--class-weight names the label '{label}', which is not a class of the target; the classes are: {}",
                classes.join(", ")
            ),
        ),
        other => other.to_string(),
    }
}

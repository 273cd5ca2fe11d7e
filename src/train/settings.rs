//! `TrainSettings`: everything that decides a trained model (the data and how to read it,
//! preprocessing, architecture, optimizer, schedule, validation), with documented defaults,
//! checked once by `check` before any work.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::augment::Augment;
use super::choices::{
    ActivationChoice, Bound, ClassWeights, ConvLayer, LossChoice, OptimizerChoice,
    SettingDifference,
};
use super::distill::DistillSettings;
use super::encoder_settings::EncoderSettings;
use super::monitor::Monitor;
use super::settings_error::SettingsError;
use crate::data::CsvSource;
use crate::nn::ImageShape;
use crate::preprocess::{KindOptions, OrdinalLevels, TaskChoice, DEFAULT_MAX_CATEGORIES};
use crate::train::ScheduleKind;

/// The fraction of the rows held out for validation when nothing is said.
pub const DEFAULT_VALIDATION_SPLIT: f64 = 0.1;

/// What decides a trained model. `TrainSettings::new(path, target)` gives the defaults
/// listed on each field; `check` validates the values once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// The training file and how to read it.
    pub data: CsvSource,
    /// The target column's name.
    pub target: String,
    /// A pipeline file saved by `preprocess::save_preprocessor`, used as it is instead of
    /// fitting one. Default: none.
    pub preprocessor: Option<PathBuf>,
    /// Columns to leave out (each must exist). Default: none.
    pub drop: Vec<String>,
    /// Columns to treat as categorical even when their values are numbers. Default: none.
    pub categorical: Vec<String>,
    /// Columns of ordered categories, each encoded as its level's index. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ordinal: Vec<OrdinalLevels>,
    /// Date, text and series columns, and the tokenizer. Default: none declared (dates
    /// and text are detected).
    #[serde(default, skip_serializing_if = "KindOptions::is_default")]
    pub kinds: KindOptions,
    /// Most one-hot inputs per categorical column; the rarest values beyond share one
    /// input. Default: `DEFAULT_MAX_CATEGORIES` (1000); at least 2.
    pub max_categories: usize,
    /// The task. Default: `Auto`.
    pub task: TaskChoice,
    /// Widths of the hidden layers. Default: `[64]`.
    pub hidden: Vec<usize>,
    /// Treat the feature columns as the pixels of an image of this shape. Default: none.
    pub image_shape: Option<ImageShape>,
    /// Convolution layers before the dense ones (needs `image_shape`). Default: none.
    pub conv: Option<Vec<ConvLayer>>,
    /// How text and series blocks are encoded before the dense layers. Default:
    /// `EncoderSettings::new()` (not written to files while it is the default).
    #[serde(default, skip_serializing_if = "EncoderSettings::is_unset")]
    pub encoders: EncoderSettings,
    /// Activation of the hidden dense layers. Default: `Auto` (files written before it
    /// name the activation they used, which reads as the same choice).
    pub activation: ActivationChoice,
    /// The loss. Default: `Auto`.
    pub loss: LossChoice,
    /// The optimizer. Default: Adam.
    pub optimizer: OptimizerChoice,
    /// Learning rate, above 0. Default: 0.001.
    pub lr: f32,
    /// Momentum of SGD, in [0, 1). Default: 0.9.
    pub momentum: f32,
    /// Weight decay, at least 0. Default: 0.
    pub weight_decay: f32,
    /// Dropout rate after each hidden layer, in [0, 1). Default: 0.
    pub dropout: f32,
    /// Rows per mini-batch, at least 1. Default: 32.
    pub batch_size: usize,
    /// Passes over the training rows, at least 1. Default: 100.
    pub epochs: usize,
    /// Seed of every random choice (split, weights, shuffling). Default: 42.
    pub seed: u64,
    /// Fraction of the rows held out for validation, in [0, 1); 0 turns validation off.
    /// Default: 0.1.
    pub validation_split: f64,
    /// A separate validation file (read like `data`), instead of the split. Default: none.
    pub validation: Option<String>,
    /// Train a table of fewer than `SMALL_TABLE_ROWS` rows on all of them, without the
    /// validation split: a 10% split of it holds under 50 rows, too few to choose an epoch
    /// by, and the rows it takes are missed more than early stopping helps (measured in
    /// docs/defaults.md). Not applied with a plateau schedule or another monitored value,
    /// which need validation. Default: true; a caller that chose `validation_split`
    /// sets it to false. (Missing from older files: false, as they trained.)
    #[serde(default)]
    pub whole_small_tables: bool,
    /// Epochs without a better monitored value before stopping; 0 turns early stopping
    /// off. Default: 10.
    pub patience: usize,
    /// Least change of the monitored value that counts as an improvement. Default: 0.
    pub min_delta: f64,
    /// The validation value that decides the best epoch and early stopping; one that
    /// fits the task. Default: the loss.
    #[serde(default)]
    pub monitor: Monitor,
    /// Learning-rate schedule after the warm-up. Default: constant.
    pub lr_schedule: ScheduleKind,
    /// Epochs of linear warm-up. Default: 0.
    pub warmup_epochs: usize,
    /// Epochs between decays of the step schedule, at least 1. Default: 30.
    pub lr_step_size: usize,
    /// Decay factor of the step schedule, in (0, 1]. Default: 0.1.
    pub lr_gamma: f64,
    /// Reduce the learning rate when the validation loss stops falling. Default: false.
    pub reduce_on_plateau: bool,
    /// Factor of each plateau reduction, in (0, 1]. Default: 0.5.
    pub plateau_factor: f64,
    /// Epochs without improvement before a plateau reduction, at least 1. Default: 5.
    pub plateau_patience: usize,
    /// The plateau reductions' floor, at least 0. Default: 1e-6.
    pub min_lr: f64,
    /// Class weights of the loss (classification). Default: none (all 1).
    pub class_weight: Option<ClassWeights>,
    /// Transforms of the training batches (never of validation or prediction rows).
    /// Default: none (not written to files while it is none).
    #[serde(default, skip_serializing_if = "Augment::is_none")]
    pub augment: Augment,
    /// Learn from a teacher model's probabilities as well as the labels. Default: none
    /// (not written to files while it is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<DistillSettings>,
}

impl Default for TrainSettings {
    /// The defaults, with no data path and no target (`check` refuses an empty target).
    fn default() -> Self {
        TrainSettings {
            data: CsvSource::new(""),
            target: String::new(),
            preprocessor: None,
            drop: Vec::new(),
            categorical: Vec::new(),
            ordinal: Vec::new(),
            kinds: KindOptions::default(),
            max_categories: DEFAULT_MAX_CATEGORIES,
            task: TaskChoice::Auto,
            hidden: vec![64],
            image_shape: None,
            conv: None,
            encoders: EncoderSettings::new(),
            activation: ActivationChoice::Auto,
            loss: LossChoice::Auto,
            optimizer: OptimizerChoice::Adam,
            lr: 0.001,
            momentum: 0.9,
            weight_decay: 0.0,
            dropout: 0.0,
            batch_size: 32,
            epochs: 100,
            seed: 42,
            validation_split: DEFAULT_VALIDATION_SPLIT,
            validation: None,
            whole_small_tables: true,
            patience: 10,
            min_delta: 0.0,
            monitor: Monitor::Loss,
            lr_schedule: ScheduleKind::Constant,
            warmup_epochs: 0,
            lr_step_size: 30,
            lr_gamma: 0.1,
            reduce_on_plateau: false,
            plateau_factor: 0.5,
            plateau_patience: 5,
            min_lr: 1e-6,
            class_weight: None,
            augment: Augment::default(),
            distill: None,
        }
    }
}

impl TrainSettings {
    /// The defaults for training on `path` to predict the column `target`.
    pub fn new(path: impl Into<String>, target: impl Into<String>) -> Self {
        TrainSettings {
            data: CsvSource::new(path),
            target: target.into(),
            ..TrainSettings::default()
        }
    }

    /// Check every value against its range and the combinations that cannot work whatever
    /// the data; the first problem is the error.
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.target.is_empty() {
            return Err(SettingsError::NoTarget);
        }
        let ranges: [(&'static str, f64, Bound); 14] = [
            ("lr", self.lr as f64, Bound::Positive),
            ("momentum", self.momentum as f64, Bound::Fraction),
            ("weight_decay", self.weight_decay as f64, Bound::NonNegative),
            ("dropout", self.dropout as f64, Bound::Fraction),
            ("batch_size", self.batch_size as f64, Bound::AtLeast(1)),
            ("epochs", self.epochs as f64, Bound::AtLeast(1)),
            ("validation_split", self.validation_split, Bound::Fraction),
            ("min_delta", self.min_delta, Bound::NonNegative),
            ("lr_step_size", self.lr_step_size as f64, Bound::AtLeast(1)),
            ("lr_gamma", self.lr_gamma, Bound::UnitInterval),
            ("plateau_factor", self.plateau_factor, Bound::UnitInterval),
            (
                "plateau_patience",
                self.plateau_patience as f64,
                Bound::AtLeast(1),
            ),
            ("min_lr", self.min_lr, Bound::NonNegative),
            (
                "max_categories",
                self.max_categories as f64,
                Bound::AtLeast(2),
            ),
        ];
        for (setting, value, bound) in ranges {
            if !bound.holds(value) {
                return Err(SettingsError::OutOfRange {
                    setting,
                    value: value.to_string(),
                    expected: bound.expected(),
                });
            }
        }
        if let Some(d) = &self.distill {
            let ranges = [
                ("distill_temperature", d.temperature as f64, Bound::Positive),
                ("distill_weight", d.weight as f64, Bound::ZeroToOne),
            ];
            if let Some((setting, value, bound)) = ranges.into_iter().find(|r| !r.2.holds(r.1)) {
                return Err(SettingsError::OutOfRange {
                    setting,
                    value: value.to_string(),
                    expected: bound.expected(),
                });
            }
        }
        if self.hidden.contains(&0) {
            return Err(SettingsError::OutOfRange {
                setting: "hidden",
                value: format!("{:?}", self.hidden),
                expected: "positive layer widths".to_string(),
            });
        }
        if let Some((setting, value, expected)) = self.encoders.out_of_range() {
            return Err(SettingsError::OutOfRange {
                setting,
                value,
                expected: expected.to_string(),
            });
        }
        if self.conv.is_some() && self.image_shape.is_none() {
            return Err(SettingsError::ConvNeedsImageShape);
        }
        if let (Some(item), None) = (self.augment.image_items().next(), self.image_shape) {
            return Err(SettingsError::AugmentNeedsImageShape { item: item.name() });
        }
        if let Some(ClassWeights::Given(pairs)) = &self.class_weight {
            if let Some((label, w)) = pairs
                .iter()
                .find(|(_, w)| !Bound::Positive.holds(*w as f64))
            {
                return Err(SettingsError::OutOfRange {
                    setting: "class_weight",
                    value: format!("{label}={w}"),
                    expected: Bound::Positive.expected(),
                });
            }
        }
        Ok(())
    }

    /// The settings that differ from `other`, by field name, with both values as JSON
    /// text (as written, so an f32 `0.1` reads `0.1`).
    pub fn differences(&self, other: &TrainSettings) -> Vec<SettingDifference> {
        let value = |s: &TrainSettings| -> serde_json::Value {
            serde_json::from_str(&serde_json::to_string(s).unwrap_or_default()).unwrap_or_default()
        };
        let (now, then) = (value(self), value(other));
        now.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| then.get(k.as_str()) != Some(v))
            .map(|(k, v)| SettingDifference {
                setting: k.clone(),
                now: v.to_string(),
                then: then
                    .get(k.as_str())
                    .cloned()
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_each_range_is_checked() {
        assert_eq!(TrainSettings::new("a.csv", "y").check(), Ok(()));
        assert_eq!(
            TrainSettings::default().check(),
            Err(SettingsError::NoTarget)
        );
        let bad = TrainSettings {
            lr: 0.0,
            ..TrainSettings::new("a.csv", "y")
        };
        assert_eq!(
            bad.check().unwrap_err().to_string(),
            "the setting `lr` is 0; expected a number greater than 0"
        );
        let bad = TrainSettings {
            dropout: 1.0,
            ..TrainSettings::new("a.csv", "y")
        };
        assert!(matches!(
            bad.check(),
            Err(SettingsError::OutOfRange {
                setting: "dropout",
                ..
            })
        ));
        let bad = TrainSettings {
            conv: Some(vec![ConvLayer {
                filters: 4,
                kernel: 3,
            }]),
            ..TrainSettings::new("a.csv", "y")
        };
        assert_eq!(bad.check(), Err(SettingsError::ConvNeedsImageShape));
    }

    #[test]
    fn distillation_ranges_are_checked() {
        let with = |temperature: f32, weight: f32| TrainSettings {
            distill: Some(DistillSettings {
                temperature,
                weight,
                ..DistillSettings::new("big.json")
            }),
            ..TrainSettings::new("a.csv", "y")
        };
        assert_eq!(with(2.0, 0.0).check(), Ok(()));
        assert_eq!(with(0.5, 1.0).check(), Ok(()));
        assert_eq!(
            with(0.0, 0.5).check().unwrap_err().to_string(),
            "the setting `distill_temperature` is 0; expected a number greater than 0"
        );
        assert_eq!(
            with(2.0, 1.5).check().unwrap_err().to_string(),
            "the setting `distill_weight` is 1.5; expected a number from 0 to 1"
        );
        // Without a teacher nothing is written, so other files stay as they were.
        let text = serde_json::to_string(&TrainSettings::new("a.csv", "y")).unwrap();
        assert!(!text.contains("distill"));
    }

    #[test]
    fn differences_name_the_fields_with_values_as_written() {
        let a = TrainSettings::new("a.csv", "y");
        let b = TrainSettings {
            lr: 0.1,
            ..a.clone()
        };
        assert_eq!(
            b.differences(&a),
            vec![SettingDifference {
                setting: "lr".into(),
                now: "0.1".into(),
                then: "0.001".into()
            }]
        );
        assert!(a.differences(&a).is_empty());
    }
}

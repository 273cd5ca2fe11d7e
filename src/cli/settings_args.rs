//! The flags that decide a model besides the data and the target (`SettingsArgs`, shared
//! by `train` and `cv`), their value types and parsers, and how they become the library's
//! `TrainSettings`.

use super::encoder_args::EncoderArgs;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{
    parse_fraction, parse_fraction_f32, parse_hidden, parse_non_negative_f32,
    parse_non_negative_f64, parse_positive_f32, parse_positive_usize, parse_seed,
    parse_unit_interval, parse_usize, HiddenLayers,
};
use csvnn::data::CsvSource;
use csvnn::nn::ImageShape;
use csvnn::train::{
    ActivationChoice, Augment, ClassWeights, ConvLayer, LossChoice, Monitor, OptimizerChoice,
    ScheduleKind, TrainSettings, DEFAULT_VALIDATION_SPLIT,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// tanh for a table of plain columns; relu after --conv and sequence or text encoders.
    Auto,
    Relu,
    Tanh,
    Sigmoid,
    LeakyRelu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Cross-entropy for classification, MSE for regression.
    Auto,
    CrossEntropy,
    Mse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    Adam,
    Sgd,
}

/// What decides the model besides the data and the target: the preprocessing and the
/// training settings (shared by `train` and `cv`); `to_settings` makes the library's
/// `TrainSettings`. The field names are those of `TrainSettings`.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Use a pipeline saved by `csvnn preprocess -o` as it is instead of fitting one.
    #[arg(long, value_name = "PREP.json")]
    pub preprocessor: Option<PathBuf>,

    #[command(flatten)]
    pub columns: super::column_args::ColumnArgs,

    /// Hidden layer widths, e.g. 64,32; `none` for no hidden layer.
    #[arg(long, value_name = "N[,N...]", default_value = "64", allow_negative_numbers = true, value_parser = parse_hidden)]
    pub hidden: HiddenLayers,

    /// Treat the feature columns as an image of HEIGHTxWIDTHxCHANNELS pixels (row-major,
    /// channel fastest), standardised with one shared mean and std; for --conv.
    #[arg(long, value_name = "HxWxC", value_parser = parse_image_shape, conflicts_with = "sequence_shape")]
    pub image_shape: Option<ImageShape>,

    /// Convolution layers before the dense ones, FILTERS:KERNEL each (e.g. 32:3,64:3),
    /// each followed by ReLU and 2x2 max-pooling; needs --image-shape.
    #[arg(long, value_name = "F:K[,F:K...]", value_parser = parse_conv, requires = "image_shape")]
    pub conv: Option<ConvLayers>,

    /// Activation of the hidden layers.
    #[arg(long, value_enum, default_value_t = ActivationArg::Auto)]
    pub activation: ActivationArg,

    /// The loss; one that does not fit the task is an error.
    #[arg(long, value_enum, default_value_t = LossArg::Auto)]
    pub loss: LossArg,

    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,

    /// Learning rate.
    #[arg(long, default_value_t = 0.001, allow_negative_numbers = true, value_parser = parse_positive_f32)]
    pub lr: f32,

    /// Momentum (SGD only).
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true, value_parser = parse_fraction_f32)]
    pub momentum: f32,

    /// Weight decay: L2 for SGD, decoupled (AdamW) for Adam.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = parse_non_negative_f32)]
    pub weight_decay: f32,

    /// Dropout rate after each hidden layer, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = parse_fraction_f32)]
    pub dropout: f32,

    /// Rows per mini-batch.
    #[arg(long, default_value_t = 32, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub batch_size: usize,

    /// Passes over the training rows.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub epochs: usize,

    /// Seed of every random choice (split, initial weights, shuffling).
    #[arg(long, default_value_t = 42, allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: u64,

    /// Fraction of the rows held out at random for validation; 0 turns validation off
    /// [default: 0.1; 0 for a table of fewer than 500 rows].
    #[arg(long, allow_negative_numbers = true, value_parser = parse_fraction)]
    pub validation_split: Option<f64>,

    /// A separate validation file (instead of --validation-split).
    #[arg(long, value_name = "FILE", conflicts_with = "validation_split")]
    pub validation: Option<String>,

    /// Stop after this many epochs without a better --monitor value and keep the best
    /// weights; 0 turns early stopping off.
    #[arg(long, default_value_t = 10, allow_negative_numbers = true, value_parser = parse_usize)]
    pub patience: usize,

    /// The monitored value must improve by more than this to count (early stopping;
    /// --reduce-on-plateau watches the validation loss).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = parse_non_negative_f64)]
    pub min_delta: f64,

    /// The validation value that picks the best epoch and stops early: loss, or a metric
    /// of the task (accuracy, balanced_accuracy, macro_f1; rmse, mae, r2); metrics where
    /// higher is better are maximised.
    #[arg(long, value_enum, default_value_t = MonitorArg::Loss)]
    pub monitor: MonitorArg,

    /// Learning-rate schedule after the warm-up: constant, step (times --lr-gamma every
    /// --lr-step-size epochs) or cosine (down to 0 at the last epoch).
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    pub lr_schedule: ScheduleArg,

    /// Epochs of linear warm-up to --lr.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_usize)]
    pub warmup_epochs: usize,

    /// Epochs between decays of the step schedule.
    #[arg(long, default_value_t = 30, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub lr_step_size: usize,

    /// Decay factor of the step schedule.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true, value_parser = parse_unit_interval)]
    pub lr_gamma: f64,

    /// Multiply the learning rate by --plateau-factor after --plateau-patience epochs
    /// without a lower validation loss, down to --min-lr (needs validation data).
    #[arg(long)]
    pub reduce_on_plateau: bool,

    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true, value_parser = parse_unit_interval)]
    pub plateau_factor: f64,

    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub plateau_patience: usize,

    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true, value_parser = parse_non_negative_f64)]
    pub min_lr: f64,

    /// Weight the loss by class: `balanced` (n_rows / (n_classes · class count)) or
    /// LABEL=WEIGHT[,LABEL=WEIGHT...] (unlisted classes weigh 1; a label may start with `-`).
    /// Classification only.
    #[arg(long, value_name = "balanced|LABEL=W,...", allow_hyphen_values = true, value_parser = parse_class_weight)]
    pub class_weight: Option<ClassWeightArg>,

    /// Augment the training batches (never validation or prediction): comma-separated
    /// transforms, images: shift:N (pixels), rotate:DEG, flip (need --image-shape);
    /// numbers: noise:SIGMA (standardised units), mixup:ALPHA; text: token-dropout:P.
    /// E.g. shift:2,rotate:10,flip or noise:0.05,mixup:0.2.
    #[arg(long, value_name = "SPEC", value_parser = super::common::parse_augment)]
    pub augment: Option<Augment>,

    #[command(flatten)]
    pub encoders: EncoderArgs,
}

/// `--monitor`: the names are the metric keys of `evaluate --format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MonitorArg {
    Loss,
    Accuracy,
    #[value(name = "balanced_accuracy")]
    BalancedAccuracy,
    #[value(name = "macro_f1")]
    MacroF1,
    Rmse,
    Mae,
    R2,
}

impl From<MonitorArg> for Monitor {
    fn from(monitor: MonitorArg) -> Self {
        match monitor {
            MonitorArg::Loss => Monitor::Loss,
            MonitorArg::Accuracy => Monitor::Accuracy,
            MonitorArg::BalancedAccuracy => Monitor::BalancedAccuracy,
            MonitorArg::MacroF1 => Monitor::MacroF1,
            MonitorArg::Rmse => Monitor::Rmse,
            MonitorArg::Mae => Monitor::Mae,
            MonitorArg::R2 => Monitor::R2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    Constant,
    Step,
    Cosine,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeightArg {
    Balanced,
    Given(Vec<(String, f32)>),
}

fn parse_class_weight(value: &str) -> Result<ClassWeightArg, String> {
    if value.trim() == "balanced" {
        return Ok(ClassWeightArg::Balanced);
    }
    value
        .split(',')
        .map(|pair| {
            let (label, weight) = pair.rsplit_once('=').ok_or_else(|| {
                format!("'{pair}' is not LABEL=WEIGHT; expected `balanced` or LABEL=WEIGHT,...")
            })?;
            match weight.trim().parse::<f32>() {
                Ok(w) if w.is_finite() && w > 0.0 => Ok((label.trim().to_string(), w)),
                _ => Err(format!(
                    "the weight '{weight}' of '{label}' is not a positive number"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ClassWeightArg::Given)
}

/// `--conv` layers as one flag value (clap would read a bare `Vec` as repeated flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvLayers(pub Vec<(usize, usize)>);

fn parse_image_shape(value: &str) -> Result<ImageShape, String> {
    let parts: Vec<Result<usize, _>> = value
        .split(['x', 'X'])
        .map(|p| p.trim().parse::<usize>())
        .collect();
    match parts.as_slice() {
        [Ok(h), Ok(w), Ok(c)] if *h > 0 && *w > 0 && *c > 0 => Ok(ImageShape::new(*h, *w, *c)),
        [Ok(h), Ok(w)] if *h > 0 && *w > 0 => Ok(ImageShape::new(*h, *w, 1)),
        _ => Err("expected HEIGHTxWIDTHxCHANNELS, e.g. 28x28x1".to_string()),
    }
}

fn parse_conv(value: &str) -> Result<ConvLayers, String> {
    value
        .split(',')
        .map(|layer| {
            let parsed = layer
                .split_once(':')
                .map(|(f, k)| (f.trim().parse::<usize>(), k.trim().parse::<usize>()));
            match parsed {
                Some((Ok(f), Ok(k))) if f > 0 && k > 0 => Ok((f, k)),
                _ => Err(format!(
                    "'{layer}' is not FILTERS:KERNEL; expected e.g. 32:3,64:3"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ConvLayers)
}

impl SettingsArgs {
    /// The library's settings for these flags, training on `data` to predict `target`.
    pub fn to_settings(&self, data: CsvSource, target: String) -> TrainSettings {
        self.columns.apply(TrainSettings {
            data,
            target,
            preprocessor: self.preprocessor.clone(),
            hidden: self.hidden.0.clone(),
            image_shape: self.image_shape,
            conv: self.conv.as_ref().map(|c| {
                c.0.iter()
                    .map(|&(filters, kernel)| ConvLayer { filters, kernel })
                    .collect()
            }),
            encoders: self.encoders.to_settings(),
            activation: match self.activation {
                ActivationArg::Auto => ActivationChoice::Auto,
                ActivationArg::Relu => ActivationChoice::Relu,
                ActivationArg::Tanh => ActivationChoice::Tanh,
                ActivationArg::Sigmoid => ActivationChoice::Sigmoid,
                ActivationArg::LeakyRelu => ActivationChoice::LeakyRelu,
            },
            loss: match self.loss {
                LossArg::Auto => LossChoice::Auto,
                LossArg::CrossEntropy => LossChoice::CrossEntropy,
                LossArg::Mse => LossChoice::Mse,
            },
            optimizer: match self.optimizer {
                OptimizerArg::Adam => OptimizerChoice::Adam,
                OptimizerArg::Sgd => OptimizerChoice::Sgd,
            },
            lr: self.lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            dropout: self.dropout,
            batch_size: self.batch_size,
            epochs: self.epochs,
            seed: self.seed,
            validation_split: self.validation_split.unwrap_or(DEFAULT_VALIDATION_SPLIT),
            // A split, a patience or a min-delta the user chose asks for validation.
            whole_small_tables: self.validation_split.is_none()
                && self.patience == TrainSettings::default().patience
                && self.min_delta == 0.0,
            validation: self.validation.clone(),
            patience: self.patience,
            min_delta: self.min_delta,
            monitor: self.monitor.into(),
            lr_schedule: match self.lr_schedule {
                ScheduleArg::Constant => ScheduleKind::Constant,
                ScheduleArg::Step => ScheduleKind::Step,
                ScheduleArg::Cosine => ScheduleKind::Cosine,
            },
            warmup_epochs: self.warmup_epochs,
            lr_step_size: self.lr_step_size,
            lr_gamma: self.lr_gamma,
            reduce_on_plateau: self.reduce_on_plateau,
            plateau_factor: self.plateau_factor,
            plateau_patience: self.plateau_patience,
            min_lr: self.min_lr,
            class_weight: self.class_weight.as_ref().map(|c| match c {
                ClassWeightArg::Balanced => ClassWeights::Balanced,
                ClassWeightArg::Given(pairs) => ClassWeights::Given(pairs.clone()),
            }),
            augment: self.augment.clone().unwrap_or_default(),
            ..TrainSettings::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        settings: SettingsArgs,
    }

    #[test]
    fn the_flags_defaults_are_the_librarys() {
        let parsed = Wrapper::parse_from(["csvnn"]);
        assert_eq!(
            parsed
                .settings
                .to_settings(CsvSource::new("a.csv"), "y".to_string()),
            TrainSettings::new("a.csv", "y")
        );
    }
}

//! `csvnn train`: fit the pipeline on the training rows, train the network, save the model.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::checkpoint::{read_checkpoint, write_checkpoint};
use super::common::{
    line_list, parse_fraction, parse_hidden, parse_non_negative_f32, parse_positive_f32,
    parse_positive_usize, read_nonempty, warn_unknown_categories, DataArgs, HiddenLayers, Ui,
};
use super::preprocess::load_preprocessor;
use super::progress::Progress;
use csvnn::atomic::write_atomically;
use csvnn::data::{shuffled_split, stratified_split, RawTable};
use csvnn::model::{ClassWeight, Model, TrainingRecord, ValidationMetrics};
use csvnn::nn::{Activation, Loss, MlpConfig, Mse, Network, SoftmaxCrossEntropy};
use csvnn::preprocess::{
    infer_task, rows_with_target, target_index, EncodedTargets, FitOptions, Pipeline,
    TargetEncoder, Task,
};
use csvnn::train::{
    balanced_class_weights, train, Dataset, EpochRecord, Observer, OptimizerConfig, OwnedTargets,
    PlateauConfig, ScheduleConfig, ScheduleKind, TrainConfig, TrainState, ValidationMetric,
};
use csvnn::{Error, Location};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum TaskArg {
    Auto,
    Classification,
    Regression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum ActivationArg {
    Relu,
    Tanh,
    Sigmoid,
    LeakyRelu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum LossArg {
    /// Cross-entropy for classification, MSE for regression.
    Auto,
    CrossEntropy,
    Mse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum OptimizerArg {
    Adam,
    Sgd,
}

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The target column.
    #[arg(long, value_name = "COL")]
    pub target: String,

    /// Where to save the model (written atomically).
    #[arg(short = 'o', long = "output", value_name = "MODEL")]
    pub output: PathBuf,

    /// Use a pipeline saved by `csvnn preprocess -o` as it is instead of fitting one.
    #[arg(long, value_name = "PREP.json")]
    pub preprocessor: Option<PathBuf>,

    /// Identifier columns to leave out (naming a column that does not exist is an error).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub drop: Vec<String>,

    /// Columns to treat as categorical even when their values are numbers.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub categorical: Vec<String>,

    /// The task; auto: classification for a non-numeric target or one of at most 20
    /// distinct integers, else regression.
    #[arg(long, value_enum, default_value_t = TaskArg::Auto)]
    pub task: TaskArg,

    /// Hidden layer widths, e.g. 64,32; `none` for no hidden layer.
    #[arg(long, value_name = "N[,N...]", default_value = "64", value_parser = parse_hidden)]
    pub hidden: HiddenLayers,

    /// Activation of the hidden layers.
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu)]
    pub activation: ActivationArg,

    /// The loss; one that does not fit the task is an error.
    #[arg(long, value_enum, default_value_t = LossArg::Auto)]
    pub loss: LossArg,

    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,

    /// Learning rate.
    #[arg(long, default_value_t = 0.001, value_parser = parse_positive_f32)]
    pub lr: f32,

    /// Momentum (SGD only).
    #[arg(long, default_value_t = 0.9, value_parser = parse_momentum)]
    pub momentum: f32,

    /// Weight decay: L2 for SGD, decoupled (AdamW) for Adam.
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative_f32)]
    pub weight_decay: f32,

    /// Dropout rate after each hidden layer, in [0, 1).
    #[arg(long, default_value_t = 0.0, value_parser = parse_dropout)]
    pub dropout: f32,

    /// Rows per mini-batch.
    #[arg(long, default_value_t = 32, value_parser = parse_positive_usize)]
    pub batch_size: usize,

    /// Passes over the training rows.
    #[arg(long, default_value_t = 100, value_parser = parse_positive_usize)]
    pub epochs: usize,

    /// Seed of every random choice (split, initial weights, shuffling).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Fraction of the rows held out at random for validation; 0 turns validation off.
    #[arg(long, default_value_t = 0.1, value_parser = parse_fraction)]
    pub validation_split: f64,

    /// A separate validation file (instead of --validation-split).
    #[arg(long, value_name = "FILE", conflicts_with = "validation_split")]
    pub validation: Option<String>,

    /// Stop after this many epochs without a lower validation loss and keep the best
    /// weights; 0 turns early stopping off.
    #[arg(long, default_value_t = 10)]
    pub patience: usize,

    /// A validation loss must fall by more than this to count as an improvement (early
    /// stopping and --reduce-on-plateau).
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative_f64)]
    pub min_delta: f64,

    /// Learning-rate schedule after the warm-up: constant, step (times --lr-gamma every
    /// --lr-step-size epochs) or cosine (down to 0 at the last epoch).
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    pub lr_schedule: ScheduleArg,

    /// Epochs of linear warm-up to --lr.
    #[arg(long, default_value_t = 0)]
    pub warmup_epochs: usize,

    /// Epochs between decays of the step schedule.
    #[arg(long, default_value_t = 30, value_parser = parse_positive_usize)]
    pub lr_step_size: usize,

    /// Decay factor of the step schedule.
    #[arg(long, default_value_t = 0.1, value_parser = parse_unit_interval)]
    pub lr_gamma: f64,

    /// Multiply the learning rate by --plateau-factor after --plateau-patience epochs
    /// without a lower validation loss, down to --min-lr (needs validation data).
    #[arg(long)]
    pub reduce_on_plateau: bool,

    #[arg(long, default_value_t = 0.5, value_parser = parse_unit_interval)]
    pub plateau_factor: f64,

    #[arg(long, default_value_t = 5, value_parser = parse_positive_usize)]
    pub plateau_patience: usize,

    #[arg(long, default_value_t = 1e-6, value_parser = parse_non_negative_f64)]
    pub min_lr: f64,

    /// Weight the loss by class: `balanced` (n_rows / (n_classes · class count)) or
    /// LABEL=WEIGHT[,LABEL=WEIGHT...] (unlisted classes weigh 1). Classification only.
    #[arg(long, value_name = "balanced|LABEL=W,...", value_parser = parse_class_weight)]
    pub class_weight: Option<ClassWeightArg>,

    /// Write a checkpoint here after every epoch (atomically), to continue with --resume.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,

    /// Continue the run checkpointed in DIR: give the same flags as the interrupted run.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,

    /// Write one CSV row per epoch here: epoch, train_loss, val_loss, val_metric, lr, seconds.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum ScheduleArg {
    Constant,
    Step,
    Cosine,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

fn parse_non_negative_f64(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("expected a number of at least 0".to_string()),
    }
}

/// A factor in (0, 1].
fn parse_unit_interval(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err("expected a number greater than 0 and at most 1".to_string()),
    }
}

fn parse_momentum(value: &str) -> Result<f32, String> {
    match value.parse::<f32>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err("expected a number from 0 up to (not including) 1".to_string()),
    }
}

fn parse_dropout(value: &str) -> Result<f32, String> {
    parse_momentum(value)
}

/// The task: given, or inferred from the training target values (with the reason).
pub fn choose_task(
    arg: TaskArg,
    table: &RawTable,
    target: usize,
    rows: &[usize],
) -> Result<(Task, String), Error> {
    let column = &table.columns[target];
    match arg {
        TaskArg::Classification => Ok((Task::Classification, "given by --task".to_string())),
        TaskArg::Regression => Ok((Task::Regression, "given by --task".to_string())),
        TaskArg::Auto => {
            if rows.is_empty() {
                return Err(Error::data(
                    Location::file(&table.source).column(&table.headers[target]),
                    "the target has no values; expected at least one row with a target",
                ));
            }
            Ok(infer_task(rows.iter().map(|&r| column.get(r))))
        }
    }
}

fn dataset(x: ndarray::Array2<f32>, targets: EncodedTargets) -> Dataset {
    let y = match targets {
        EncodedTargets::Classes(c) => OwnedTargets::Classes(c),
        EncodedTargets::Values { standardised, .. } => {
            let n = standardised.len();
            OwnedTargets::Values(
                ndarray::Array2::from_shape_vec((n, 1), standardised).expect("n values"),
            )
        }
    };
    Dataset { x, y }
}

/// The data and settings of a run, ready for the training loop.
struct Prepared {
    task_reason: String,
    pipeline: Pipeline,
    train_data: Dataset,
    validation: Option<Dataset>,
}

fn warn_missing_targets(ui: &Ui, table: &RawTable, missing: &[u64]) {
    if !missing.is_empty() {
        ui.warn(&format!(
            "{}: {} rows have no target value and are left out (lines {})",
            table.source,
            missing.len(),
            line_list(missing)
        ));
    }
}

/// Training and validation rows: a random split, stratified by class for classification.
fn split_rows(
    args: &TrainArgs,
    table: &RawTable,
    target: usize,
    rows: &[usize],
    task: Task,
) -> Result<(Vec<usize>, Vec<usize>), Error> {
    if args.validation.is_some() || args.validation_split == 0.0 {
        return Ok((rows.to_vec(), Vec::new()));
    }
    let (a, b) = match task {
        Task::Classification => {
            let column = &table.columns[target];
            let mut ids = std::collections::BTreeMap::new();
            let groups: Vec<usize> = rows
                .iter()
                .map(|&r| {
                    let next = ids.len();
                    *ids.entry(column.get(r)).or_insert(next)
                })
                .collect();
            stratified_split(&groups, args.validation_split, args.seed)
        }
        Task::Regression => shuffled_split(rows.len(), args.validation_split, args.seed),
    };
    if a.is_empty() || b.is_empty() {
        return Err(Error::data(
            Location::file(&table.source),
            format!(
                "{} rows with a target are too few for --validation-split {}; expected enough rows for both parts (or use --validation-split 0)",
                rows.len(),
                args.validation_split
            ),
        ));
    }
    let pick = |idx: Vec<usize>| idx.into_iter().map(|i| rows[i]).collect::<Vec<_>>();
    Ok((pick(a), pick(b)))
}

/// Read the data, choose the task, split, fit (or load) the pipeline, encode.
fn prepare(args: &TrainArgs, ui: &Ui) -> Result<(Prepared, Task), Error> {
    let table = args.data.read()?;
    let preprocessor = args
        .preprocessor
        .as_deref()
        .map(load_preprocessor)
        .transpose()?;
    if let Some(p) = &preprocessor {
        if p.target != args.target {
            return Err(Error::config(format!(
                "--target is '{}' but the preprocessor was fitted for the target '{}'",
                args.target, p.target
            )));
        }
    }
    let na = preprocessor
        .as_ref()
        .map_or_else(|| args.data.na_values(), |p| p.na_values.clone());
    let target = target_index(&table, &args.target)?;
    let (rows, missing) = rows_with_target(&table, target, &na);
    warn_missing_targets(ui, &table, &missing);

    let (task, reason) = match &preprocessor {
        Some(p) => {
            let given = match args.task {
                TaskArg::Classification => Some(Task::Classification),
                TaskArg::Regression => Some(Task::Regression),
                TaskArg::Auto => None,
            };
            if given.is_some_and(|t| t != p.task()) {
                return Err(Error::config(format!(
                    "--task {} contradicts the preprocessor, which is for {}",
                    given.map_or(String::new(), |t| t.to_string()),
                    p.task()
                )));
            }
            (p.task(), "taken from the preprocessor".to_string())
        }
        None => choose_task(args.task, &table, target, &rows)?,
    };
    ui.info(&format!("task: {task} ({reason})"));
    check_loss_fits(args, task)?;
    if task == Task::Regression && args.class_weight.is_some() {
        return Err(Error::config("--class-weight needs a classification task"));
    }

    let validation_table = args
        .validation
        .as_deref()
        .map(|p| read_nonempty(p, &args.data.csv_options()))
        .transpose()?;
    let (train_rows, split_rows) = split_rows(args, &table, target, &rows, task)?;

    let pipeline = match preprocessor {
        Some(p) => p,
        None => {
            let options = FitOptions {
                target: args.target.clone(),
                drop: args.drop.clone(),
                categorical: args.categorical.clone(),
                na_values: na.clone(),
            };
            let (pipeline, warnings) = Pipeline::fit(&table, &train_rows, task, &options)?;
            for w in &warnings {
                ui.warn(w);
            }
            pipeline
        }
    };
    if task == Task::Classification && pipeline.target_encoder.labels().len() < 2 {
        return Err(Error::data(
            Location::file(&table.source).column(&args.target),
            format!(
                "the target has only one class ('{}') in the training rows; expected at least two",
                pipeline
                    .target_encoder
                    .labels()
                    .first()
                    .map_or("", |s| s.as_str())
            ),
        ));
    }

    let train_x = pipeline.transform(&table, Some(&train_rows))?;
    let train_data = dataset(train_x.x, pipeline.encode_targets(&table, &train_rows)?);
    let validation = match &validation_table {
        Some(vt) => {
            let vtarget = target_index(vt, &args.target)?;
            let (vrows, vmissing) = rows_with_target(vt, vtarget, &pipeline.na_values);
            warn_missing_targets(ui, vt, &vmissing);
            let transformed = pipeline.transform(vt, Some(&vrows))?;
            warn_unknown_categories(ui, &vt.source, &transformed.unknown_categories);
            Some(dataset(transformed.x, pipeline.encode_targets(vt, &vrows)?))
        }
        None if !split_rows.is_empty() => {
            let transformed = pipeline.transform(&table, Some(&split_rows))?;
            warn_unknown_categories(ui, &table.source, &transformed.unknown_categories);
            Some(dataset(
                transformed.x,
                pipeline.encode_targets(&table, &split_rows)?,
            ))
        }
        None => None,
    };
    if args.reduce_on_plateau && validation.is_none() {
        return Err(Error::config(
            "--reduce-on-plateau needs validation data (--validation-split above 0 or --validation FILE)",
        ));
    }
    Ok((
        Prepared {
            task_reason: reason,
            pipeline,
            train_data,
            validation,
        },
        task,
    ))
}

fn check_loss_fits(args: &TrainArgs, task: Task) -> Result<(), Error> {
    match (task, args.loss) {
        (Task::Classification, LossArg::Auto | LossArg::CrossEntropy)
        | (Task::Regression, LossArg::Auto | LossArg::Mse) => Ok(()),
        (Task::Classification, _) => Err(Error::config(
            "--loss mse does not fit a classification task; use cross-entropy",
        )),
        (Task::Regression, _) => Err(Error::config(
            "--loss cross-entropy does not fit a regression task; use mse",
        )),
    }
}

/// Class weights from --class-weight, over the training rows, in label order.
fn class_weights(
    args: &TrainArgs,
    encoder: &TargetEncoder,
    train: &Dataset,
) -> Result<Option<Vec<f32>>, Error> {
    let labels = encoder.labels();
    match (&args.class_weight, &train.y) {
        (None, _) | (_, OwnedTargets::Values(_)) => Ok(None),
        (Some(ClassWeightArg::Balanced), OwnedTargets::Classes(classes)) => {
            Ok(Some(balanced_class_weights(classes, labels.len())))
        }
        (Some(ClassWeightArg::Given(pairs)), OwnedTargets::Classes(_)) => {
            let mut weights = vec![1.0; labels.len()];
            for (label, w) in pairs {
                let class = encoder.class_index(label).ok_or_else(|| {
                    Error::data(
                        Location::file(&args.data.data).column(&args.target),
                        format!("--class-weight names the label '{label}', which is not a class of the target; the classes are: {}", labels.join(", ")),
                    )
                })?;
                weights[class] = *w;
            }
            Ok(Some(weights))
        }
    }
}

fn training_config(args: &TrainArgs) -> TrainConfig {
    let optimizer = match args.optimizer {
        OptimizerArg::Adam => OptimizerConfig::Adam {
            lr: args.lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: args.weight_decay,
        },
        OptimizerArg::Sgd => OptimizerConfig::Sgd {
            lr: args.lr,
            momentum: args.momentum,
            nesterov: false,
            weight_decay: args.weight_decay,
        },
    };
    let schedule = ScheduleConfig {
        kind: match args.lr_schedule {
            ScheduleArg::Constant => ScheduleKind::Constant,
            ScheduleArg::Step => ScheduleKind::Step,
            ScheduleArg::Cosine => ScheduleKind::Cosine,
        },
        warmup_epochs: args.warmup_epochs,
        step_size: args.lr_step_size,
        gamma: args.lr_gamma,
        plateau: args.reduce_on_plateau.then_some(PlateauConfig {
            factor: args.plateau_factor,
            patience: args.plateau_patience,
            min_lr: args.min_lr,
        }),
    };
    TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        patience: args.patience,
        min_delta: args.min_delta,
        seed: args.seed,
        optimizer,
        schedule,
    }
}

fn activation(arg: ActivationArg) -> Activation {
    match arg {
        ActivationArg::Relu => Activation::Relu,
        ActivationArg::Tanh => Activation::Tanh,
        ActivationArg::Sigmoid => Activation::Sigmoid,
        ActivationArg::LeakyRelu => Activation::LeakyRelu,
    }
}

/// The settings of a resumed run must be those of the checkpointed run (where the
/// checkpoint, log and model are written may differ).
fn check_same_settings(args: &TrainArgs, saved: &TrainArgs) -> Result<(), Error> {
    let strip = |a: &TrainArgs| {
        // Through text, so that f32 settings read back as written ("0.1", not 0.10000000149).
        let text = serde_json::to_string(a).unwrap_or_default();
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            for key in ["resume", "checkpoint_dir", "log", "output"] {
                map.remove(key);
            }
        }
        value
    };
    let (now, then) = (strip(args), strip(saved));
    if now != then {
        let differing: Vec<String> = now
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| then.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                format!(
                    "--{} {v} (checkpoint: {})",
                    k.replace('_', "-"),
                    then.get(k.as_str()).cloned().unwrap_or_default()
                )
            })
            .collect();
        return Err(Error::config(format!(
            "--resume needs the flags of the checkpointed run; these differ: {}",
            differing.join(", ")
        )));
    }
    Ok(())
}

/// Observes the training loop for the command line: progress, per-epoch seconds, the
/// --log file and the checkpoints.
struct RunObserver<'a> {
    progress: Progress,
    args: &'a TrainArgs,
    pipeline: &'a Pipeline,
    checkpoint_dir: Option<PathBuf>,
    seconds: Vec<f64>,
    epoch_start: std::time::Instant,
}

impl RunObserver<'_> {
    fn write_log(&self, path: &std::path::Path, history: &[EpochRecord]) -> Result<(), Error> {
        let mut text = String::from("epoch,train_loss,val_loss,val_metric,lr,seconds\n");
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        for (record, seconds) in history.iter().zip(&self.seconds) {
            text += &format!(
                "{},{},{},{},{},{seconds}\n",
                record.epoch,
                record.train_loss,
                opt(record.val_loss),
                opt(record.val_metric),
                record.lr
            );
        }
        write_atomically(path, |out| {
            out.write_all(text.as_bytes())
                .map_err(|e| Error::io(&path.display().to_string(), e))
        })
    }
}

impl Observer for RunObserver<'_> {
    fn epoch_started(&mut self, epoch: usize, n_epochs: usize, n_batches: usize) {
        self.epoch_start = std::time::Instant::now();
        self.progress.epoch_started(epoch, n_epochs, n_batches);
    }

    fn batch_done(&mut self, batch: usize, n_batches: usize, running_loss: f64) {
        self.progress.batch_done(batch, n_batches, running_loss);
    }

    fn epoch_done(
        &mut self,
        record: &EpochRecord,
        n_epochs: usize,
        state: &TrainState,
    ) -> Result<(), Error> {
        let seconds = self.epoch_start.elapsed().as_secs_f64();
        self.seconds.push(seconds);
        self.progress.epoch_done(record, n_epochs, seconds);
        if let Some(path) = &self.args.log {
            self.write_log(path, &state.history)?;
        }
        if let Some(dir) = &self.checkpoint_dir {
            write_checkpoint(dir, self.args, self.pipeline, &self.seconds, state)?;
        }
        Ok(())
    }
}

pub fn run(args: TrainArgs, ui: &Ui) -> anyhow::Result<()> {
    let checkpoint = args.resume.as_deref().map(read_checkpoint).transpose()?;
    if let Some(c) = &checkpoint {
        check_same_settings(&args, &c.args)?;
    }
    let (prepared, _task) = prepare(&args, ui)?;
    let Prepared {
        task_reason,
        pipeline,
        train_data,
        validation,
    } = prepared;
    if let Some(c) = &checkpoint {
        if c.pipeline != pipeline {
            return Err(Error::data(
                Location::file(&args.data.data),
                "the data differ from those of the checkpointed run (the fitted preprocessing is not the same); expected the same file",
            )
            .into());
        }
    }

    let config = training_config(&args);
    let mlp = MlpConfig {
        n_inputs: pipeline.n_inputs(),
        hidden: args.hidden.0.clone(),
        n_outputs: pipeline.target_encoder.n_outputs(),
        activation: activation(args.activation),
        dropout: args.dropout,
    };
    let weights = class_weights(&args, &pipeline.target_encoder, &train_data)?;
    let (loss, metric, metric_name, loss_name): (Box<dyn Loss>, _, _, _) =
        match &pipeline.target_encoder {
            TargetEncoder::Classification { .. } => (
                Box::new(SoftmaxCrossEntropy {
                    class_weights: weights.clone(),
                }),
                ValidationMetric::Accuracy,
                "accuracy",
                "cross_entropy",
            ),
            TargetEncoder::Regression { std, .. } => (
                Box::new(Mse),
                ValidationMetric::Rmse { target_std: *std },
                "rmse",
                "mse",
            ),
        };
    let (mut state, seconds) = match checkpoint {
        Some(c) => {
            ui.info(&format!(
                "resuming after epoch {} from {}",
                c.epochs_done,
                args.resume
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display()
            ));
            (c.state, c.seconds)
        }
        None => (
            TrainState::new(Network::mlp(&mlp, args.seed), &config),
            Vec::new(),
        ),
    };
    let shape: Vec<String> = std::iter::once(mlp.n_inputs)
        .chain(mlp.hidden.iter().copied())
        .chain(std::iter::once(mlp.n_outputs))
        .map(|n| n.to_string())
        .collect();
    ui.info(&format!(
        "training a {} network ({} parameters) on {} rows{}",
        shape.join("-"),
        state.network.n_params(),
        train_data.n_rows(),
        validation.as_ref().map_or(String::new(), |v| format!(
            ", validating on {} rows",
            v.n_rows()
        ))
    ));

    let mut observer = RunObserver {
        progress: Progress::new(ui.quiet, metric_name),
        args: &args,
        pipeline: &pipeline,
        checkpoint_dir: args.checkpoint_dir.clone().or_else(|| args.resume.clone()),
        seconds,
        epoch_start: std::time::Instant::now(),
    };
    let outcome = train(
        &mut state,
        loss.as_ref(),
        &train_data,
        validation.as_ref(),
        metric,
        &config,
        &mut observer,
    );
    observer.progress.finish();
    let outcome = outcome?;

    let validation_metrics = validation.as_ref().map(|v| {
        let (loss_value, metric_value) =
            csvnn::train::evaluate(&mut state.network, loss.as_ref(), v, metric);
        ValidationMetrics {
            loss: loss_value,
            accuracy: (metric_name == "accuracy").then_some(metric_value),
            rmse: (metric_name == "rmse").then_some(metric_value),
        }
    });
    if let Some(best) = outcome.best_epoch {
        ui.info(&format!(
            "{} after {} epochs; kept the weights of epoch {best} (lowest validation loss)",
            if outcome.stopped_early {
                "stopped early"
            } else {
                "finished"
            },
            state.history.len()
        ));
    }
    if let Some(m) = &validation_metrics {
        let value = m.accuracy.or(m.rmse).unwrap_or(f64::NAN);
        ui.info(&format!(
            "validation: loss {:.6}, {metric_name} {value:.6}",
            m.loss
        ));
    }
    let training = TrainingRecord {
        task_reason,
        hidden: args.hidden.0.clone(),
        activation: mlp.activation,
        loss: loss_name.to_string(),
        dropout: args.dropout,
        validation_split: if args.validation.is_some() {
            0.0
        } else {
            args.validation_split
        },
        rows_train: train_data.n_rows(),
        rows_validation: validation.as_ref().map_or(0, |v| v.n_rows()),
        class_weights: weights.map(|w| {
            pipeline
                .target_encoder
                .labels()
                .iter()
                .zip(w)
                .map(|(label, weight)| ClassWeight {
                    label: label.clone(),
                    weight,
                })
                .collect()
        }),
        config,
        epochs_run: state.history.len(),
        best_epoch: outcome.best_epoch,
        stopped_early: outcome.stopped_early,
    };
    let history = std::mem::take(&mut state.history);
    let model = Model::new(
        pipeline,
        state.network,
        training,
        history,
        validation_metrics,
    );
    model.save(&args.output)?;
    ui.info(&format!("saved the model to {}", args.output.display()));
    Ok(())
}

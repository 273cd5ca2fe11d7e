//! `csvnn train`: fit the pipeline on the training rows, train the network, save the model.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::checkpoint::{read_checkpoint, write_checkpoint};
use super::common::{
    parse_fraction, parse_hidden, parse_non_negative_f32, parse_positive_f32, parse_positive_usize,
    DataArgs, HiddenLayers, Ui,
};
use super::fit::{fit, load_source, metric_name, prepare};
use super::progress::Progress;
use csvnn::atomic::write_atomically;
use csvnn::data::RawTable;
use csvnn::nn::{threads, ImageShape};
use csvnn::preprocess::{infer_task, Pipeline, Task};
use csvnn::train::{EpochRecord, Observer, TrainState};
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

/// `csvnn train`: the settings, and where the model, checkpoints and log go.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct TrainArgs {
    #[command(flatten)]
    pub settings: TrainSettings,

    /// Where to save the model (written atomically).
    #[arg(short = 'o', long = "output", value_name = "MODEL")]
    pub output: PathBuf,

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

/// What decides the model: the data, the preprocessing and the training settings
/// (shared by `train` and `cv`).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct TrainSettings {
    #[command(flatten)]
    pub data: DataArgs,

    /// The target column.
    #[arg(long, value_name = "COL")]
    pub target: String,

    /// Use a pipeline saved by `csvnn preprocess -o` as it is instead of fitting one.
    #[arg(long, value_name = "PREP.json")]
    pub preprocessor: Option<PathBuf>,

    /// Identifier columns to leave out (naming a column that does not exist is an error).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub drop: Vec<String>,

    /// Columns to treat as categorical even when their values are numbers.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub categorical: Vec<String>,

    /// Most one-hot inputs per categorical column; the rarest values beyond it share one
    /// "other" input.
    #[arg(long, value_name = "N", default_value_t = csvnn::preprocess::DEFAULT_MAX_CATEGORIES, value_parser = super::common::parse_max_categories)]
    pub max_categories: usize,

    /// The task; auto: classification for a non-numeric target or one of at most 20
    /// distinct integers, else regression.
    #[arg(long, value_enum, default_value_t = TaskArg::Auto)]
    pub task: TaskArg,

    /// Hidden layer widths, e.g. 64,32; `none` for no hidden layer.
    #[arg(long, value_name = "N[,N...]", default_value = "64", value_parser = parse_hidden)]
    pub hidden: HiddenLayers,

    /// Treat the feature columns as an image of HEIGHTxWIDTHxCHANNELS pixels (row-major,
    /// channel fastest), standardised with one shared mean and std; for --conv.
    #[arg(long, value_name = "HxWxC", value_parser = parse_image_shape)]
    pub image_shape: Option<ImageShape>,

    /// Convolution layers before the dense ones, FILTERS:KERNEL each (e.g. 32:3,64:3),
    /// each followed by ReLU and 2x2 max-pooling; needs --image-shape.
    #[arg(long, value_name = "F:K[,F:K...]", value_parser = parse_conv, requires = "image_shape")]
    pub conv: Option<ConvLayers>,

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

/// `--conv` layers as one flag value (clap would read a bare `Vec` as repeated flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    if rows.is_empty() {
        return Err(Error::data(
            Location::file(&table.source).column(&table.headers[target]),
            "the target has no values; expected at least one row with a target",
        ));
    }
    match arg {
        TaskArg::Classification => Ok((Task::Classification, "given by --task".to_string())),
        TaskArg::Regression => Ok((Task::Regression, "given by --task".to_string())),
        TaskArg::Auto => Ok(infer_task(rows.iter().map(|&r| column.text_at(r)))),
    }
}

/// The settings of a resumed run must be those of the checkpointed run (where the
/// checkpoint, log and model are written may differ).
fn check_same_settings(settings: &TrainSettings, saved: &TrainSettings) -> Result<(), Error> {
    // Through text, so that f32 settings read back as written ("0.1", not 0.10000000149).
    let value = |s: &TrainSettings| -> serde_json::Value {
        serde_json::from_str(&serde_json::to_string(s).unwrap_or_default()).unwrap_or_default()
    };
    let (now, then) = (value(settings), value(saved));
    if now != then {
        let differing: Vec<String> = now
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| then.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                let old = then.get(k.as_str()).cloned().unwrap_or_default();
                format!("--{} {v} (checkpoint: {old})", k.replace('_', "-"))
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
pub struct RunObserver<'a> {
    pub progress: Progress,
    pub args: Option<&'a TrainArgs>,
    pub pipeline: &'a Pipeline,
    pub seconds: Vec<f64>,
    pub epoch_start: std::time::Instant,
}

impl<'a> RunObserver<'a> {
    pub fn new(
        ui: &Ui,
        args: Option<&'a TrainArgs>,
        pipeline: &'a Pipeline,
        seconds: Vec<f64>,
    ) -> Self {
        RunObserver {
            progress: Progress::new(ui.quiet, metric_name(pipeline)),
            args,
            pipeline,
            seconds,
            epoch_start: std::time::Instant::now(),
        }
    }

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
        let Some(args) = self.args else { return Ok(()) };
        if let Some(path) = &args.log {
            self.write_log(path, &state.history)?;
        }
        if let Some(dir) = args.checkpoint_dir.as_ref().or(args.resume.as_ref()) {
            write_checkpoint(dir, args, self.pipeline, &self.seconds, state)?;
        }
        Ok(())
    }
}

/// `threads`: the threads the matrix products of training split their work over.
pub fn run(args: TrainArgs, ui: &Ui, threads: usize) -> anyhow::Result<()> {
    let checkpoint = args.resume.as_deref().map(read_checkpoint).transpose()?;
    if let Some(c) = &checkpoint {
        check_same_settings(&args.settings, &c.args.settings)?;
    }
    let settings = &args.settings;
    let source = load_source(settings, ui)?;
    let prepared = prepare(settings, &source, &source.rows, ui)?;
    let (state, seconds) = match checkpoint {
        Some(c) => {
            if c.pipeline != prepared.pipeline {
                return Err(Error::data(
                    Location::file(&source.table.source),
                    "the data differ from those of the checkpointed run (the fitted preprocessing is not the same); expected the same file",
                )
                .into());
            }
            ui.info(&format!("resuming after epoch {}", c.epochs_done));
            (Some(c.state), c.seconds)
        }
        None => (None, Vec::new()),
    };
    let mut observer = RunObserver::new(ui, Some(&args), &prepared.pipeline, seconds);
    let _threads = threads::install(threads);
    let model = fit(settings, &source, &prepared, state, &mut observer, ui);
    observer.progress.finish();
    let model = model?;
    model.save(&args.output)?;
    ui.info(&format!("saved the model to {}", args.output.display()));
    Ok(())
}

//! `csvnn train`: fit the pipeline on the training rows, train the network, save the model.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{
    line_list, parse_fraction, parse_hidden, parse_non_negative_f32, parse_positive_f32,
    parse_positive_usize, read_nonempty, warn_unknown_categories, DataArgs, HiddenLayers, Ui,
};
use super::preprocess::load_preprocessor;
use super::progress::Progress;
use csvnn::data::{shuffled_split, RawTable};
use csvnn::model::{Model, TrainingRecord, ValidationMetrics};
use csvnn::nn::{Activation, Loss, MlpConfig, Mse, Network, SoftmaxCrossEntropy};
use csvnn::preprocess::{
    infer_task, rows_with_target, target_index, EncodedTargets, FitOptions, Pipeline, Task,
};
use csvnn::train::{train, Dataset, OptimizerConfig, OwnedTargets, TrainConfig, ValidationMetric};
use csvnn::{Error, Location};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    Auto,
    Classification,
    Regression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
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

#[derive(Debug, Args)]
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
        TaskArg::Auto => Ok(infer_task(rows.iter().map(|&r| column.get(r)))),
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

pub fn run(args: TrainArgs, ui: &Ui) -> anyhow::Result<()> {
    let table = args.data.read(ui)?;
    let na = args.data.na_values();
    let preprocessor = match &args.preprocessor {
        Some(path) => Some(load_preprocessor(path)?),
        None => None,
    };
    if let Some(p) = &preprocessor {
        if p.target != args.target {
            return Err(Error::config(format!(
                "--target is '{}' but the preprocessor was fitted for the target '{}'",
                args.target, p.target
            ))
            .into());
        }
    }
    let na = preprocessor.as_ref().map_or(na, |p| p.na_values.clone());
    let target = target_index(&table, &args.target)?;
    let (rows, missing) = rows_with_target(&table, target, &na);
    if !missing.is_empty() {
        ui.warn(&format!(
            "{}: {} rows have no target value and are left out (lines {})",
            table.source,
            missing.len(),
            line_list(&missing)
        ));
    }

    let (task, reason) = match &preprocessor {
        Some(p) => {
            let given = match args.task {
                TaskArg::Classification => Some(Task::Classification),
                TaskArg::Regression => Some(Task::Regression),
                TaskArg::Auto => None,
            };
            if given.is_some_and(|t| t != p.task()) {
                return Err(Error::config(format!(
                    "--task {:?} contradicts the preprocessor, which is for {}",
                    args.task,
                    p.task()
                ))
                .into());
            }
            (p.task(), "taken from the preprocessor".to_string())
        }
        None => choose_task(args.task, &table, target, &rows)?,
    };
    ui.info(&format!("task: {task} ({reason})"));
    let loss_name = match (task, args.loss) {
        (Task::Classification, LossArg::Auto | LossArg::CrossEntropy) => "cross_entropy",
        (Task::Regression, LossArg::Auto | LossArg::Mse) => "mse",
        (task, loss) => {
            return Err(Error::config(format!(
                "--loss {} does not fit a {task} task; use {}",
                match loss {
                    LossArg::Mse => "mse",
                    _ => "cross-entropy",
                },
                match task {
                    Task::Classification => "cross-entropy",
                    Task::Regression => "mse",
                }
            ))
            .into())
        }
    };

    // Training and validation rows: a separate file, a random split, or none.
    let validation_table = match &args.validation {
        Some(path) => Some(read_nonempty(path, &args.data.csv_options(), ui)?),
        None => None,
    };
    let (train_rows, split_rows) = if validation_table.is_none() && args.validation_split > 0.0 {
        let (a, b) = shuffled_split(rows.len(), args.validation_split, args.seed);
        let pick = |idx: Vec<usize>| idx.into_iter().map(|i| rows[i]).collect::<Vec<_>>();
        (pick(a), pick(b))
    } else {
        (rows.clone(), Vec::new())
    };
    if args.validation_split > 0.0
        && validation_table.is_none()
        && (split_rows.is_empty() || train_rows.is_empty())
    {
        return Err(Error::data(
            Location::file(&table.source),
            format!(
                "{} rows with a target are too few for --validation-split {}; expected enough rows for both parts (or use --validation-split 0)",
                rows.len(),
                args.validation_split
            ),
        )
        .into());
    }

    let pipeline = match preprocessor {
        Some(p) => p,
        None => {
            let options = FitOptions {
                target: args.target.clone(),
                drop: args.drop.clone(),
                categorical: args.categorical.clone(),
                na_values: na.clone(),
                max_categories: args.max_categories,
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
        )
        .into());
    }

    let train_x = pipeline.transform(&table, Some(&train_rows))?;
    let train_data = dataset(train_x.x, pipeline.encode_targets(&table, &train_rows)?);
    let validation = match &validation_table {
        Some(vt) => {
            let vtarget = target_index(vt, &args.target)?;
            let (vrows, vmissing) = rows_with_target(vt, vtarget, &pipeline.na_values);
            if !vmissing.is_empty() {
                ui.warn(&format!(
                    "{}: {} rows have no target value and are left out (lines {})",
                    vt.source,
                    vmissing.len(),
                    line_list(&vmissing)
                ));
            }
            if vrows.is_empty() {
                return Err(Error::data(
                    Location::file(&vt.source).column(&args.target),
                    "no row has a target value; expected at least one to validate on",
                )
                .into());
            }
            let transformed = pipeline.transform(vt, Some(&vrows))?;
            warn_unknown_categories(ui, &vt.source, &transformed.unknown_categories);
            super::common::warn_non_finite(ui, &vt.source, &transformed.non_finite);
            Some(dataset(transformed.x, pipeline.encode_targets(vt, &vrows)?))
        }
        None if !split_rows.is_empty() => {
            let transformed = pipeline.transform(&table, Some(&split_rows))?;
            warn_unknown_categories(ui, &table.source, &transformed.unknown_categories);
            super::common::warn_non_finite(ui, &table.source, &transformed.non_finite);
            Some(dataset(
                transformed.x,
                pipeline.encode_targets(&table, &split_rows)?,
            ))
        }
        None => None,
    };

    let activation = match args.activation {
        ActivationArg::Relu => Activation::Relu,
        ActivationArg::Tanh => Activation::Tanh,
        ActivationArg::Sigmoid => Activation::Sigmoid,
        ActivationArg::LeakyRelu => Activation::LeakyRelu,
    };
    let mlp = MlpConfig {
        n_inputs: pipeline.n_inputs(),
        hidden: args.hidden.0.clone(),
        n_outputs: pipeline.target_encoder.n_outputs(),
        activation,
        dropout: args.dropout,
    };
    let mut network = Network::mlp(&mlp, args.seed);
    let shape: Vec<String> = std::iter::once(mlp.n_inputs)
        .chain(mlp.hidden.iter().copied())
        .chain(std::iter::once(mlp.n_outputs))
        .map(|n| n.to_string())
        .collect();
    ui.info(&format!(
        "training a {} network ({} parameters) on {} rows{}",
        shape.join("-"),
        network.n_params(),
        train_data.n_rows(),
        validation.as_ref().map_or(String::new(), |v| format!(
            ", validating on {} rows",
            v.n_rows()
        ))
    ));

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
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        patience: args.patience,
        seed: args.seed,
        optimizer,
    };
    let (loss, metric, metric_name): (Box<dyn Loss>, _, _) = match &pipeline.target_encoder {
        csvnn::preprocess::TargetEncoder::Classification { .. } => (
            Box::new(SoftmaxCrossEntropy::default()),
            ValidationMetric::Accuracy,
            "accuracy",
        ),
        csvnn::preprocess::TargetEncoder::Regression { std, .. } => (
            Box::new(Mse),
            ValidationMetric::Rmse { target_std: *std },
            "rmse",
        ),
    };
    let mut progress = Progress::new(ui.quiet, metric_name);
    let outcome = train(
        &mut network,
        loss.as_ref(),
        &train_data,
        validation.as_ref(),
        metric,
        &config,
        &mut progress,
    );
    progress.finish();
    let outcome = outcome?;

    let validation_metrics = validation.as_ref().map(|v| {
        let (loss_value, metric_value) =
            csvnn::train::evaluate(&mut network, loss.as_ref(), v, metric);
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
            outcome.history.len()
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
        task_reason: reason,
        hidden: args.hidden.0.clone(),
        activation,
        loss: loss_name.to_string(),
        dropout: args.dropout,
        validation_split: if args.validation.is_some() {
            0.0
        } else {
            args.validation_split
        },
        rows_train: train_data.n_rows(),
        rows_validation: validation.as_ref().map_or(0, |v| v.n_rows()),
        config,
        epochs_run: outcome.history.len(),
        best_epoch: outcome.best_epoch,
        stopped_early: outcome.stopped_early,
    };
    let model = Model::new(
        pipeline,
        network,
        training,
        outcome.history,
        validation_metrics,
    );
    model.save(&args.output)?;
    ui.info(&format!("saved the model to {}", args.output.display()));
    Ok(())
}

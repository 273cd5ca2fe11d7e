//! Fitting a model from `TrainSettings`, shared by `train` and `cv`: read the data and
//! choose the task (`Source`), split and preprocess a pool of rows (`Prepared`), then run
//! the training loop and assemble the `Model`.

use super::common::{line_list, read_nonempty, warn_non_finite, warn_unknown_categories, Ui};
use super::preprocess::load_preprocessor;
use super::train::{
    choose_task, ActivationArg, ClassWeightArg, LossArg, OptimizerArg, ScheduleArg, TaskArg,
    TrainSettings,
};
use csvnn::data::{shuffled_split, stratified_split, Cell, RawTable};
use csvnn::model::{ClassWeight, Model, TrainingRecord, ValidationMetrics};
use csvnn::nn::{
    Activation, CnnConfig, ConvSpec, ImageShape, Loss, MlpConfig, Mse, Network, SoftmaxCrossEntropy,
};
use csvnn::preprocess::{
    rows_with_target, target_index, EncodedTargets, Feature, FitOptions, NumericColumn, Pipeline,
    TargetEncoder, Task,
};
use csvnn::train::{
    balanced_class_weights, evaluate, train, Dataset, Observer, OptimizerConfig, OwnedTargets,
    PlateauConfig, ScheduleConfig, ScheduleKind, TrainConfig, TrainState, ValidationMetric,
};
use csvnn::{Error, Location};

/// The training file read, its rows with a target, and the task.
pub struct Source {
    pub table: RawTable,
    pub preprocessor: Option<Pipeline>,
    pub target: usize,
    /// Rows whose target is present.
    pub rows: Vec<usize>,
    pub task: Task,
    pub task_reason: String,
}

/// Data of one training run, ready for the loop.
pub struct Prepared {
    pub pipeline: Pipeline,
    pub train_data: Dataset,
    pub validation: Option<Dataset>,
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

/// Read the training file and choose the task (saying why).
pub fn load_source(settings: &TrainSettings, ui: &Ui) -> Result<Source, Error> {
    let table = settings.data.read(ui)?;
    let preprocessor = settings
        .preprocessor
        .as_deref()
        .map(load_preprocessor)
        .transpose()?;
    if let Some(p) = &preprocessor {
        if p.target != settings.target {
            return Err(Error::config(format!(
                "--target is '{}' but the preprocessor was fitted for the target '{}'",
                settings.target, p.target
            )));
        }
    }
    let na = preprocessor
        .as_ref()
        .map_or_else(|| settings.data.na_values(), |p| p.na_values.clone());
    let target = target_index(&table, &settings.target)?;
    let (rows, missing) = rows_with_target(&table, target, &na);
    warn_missing_targets(ui, &table, &missing);
    let (task, task_reason) = match &preprocessor {
        Some(p) => {
            let given = match settings.task {
                TaskArg::Classification => Some(Task::Classification),
                TaskArg::Regression => Some(Task::Regression),
                TaskArg::Auto => None,
            };
            if let Some(given) = given.filter(|&t| t != p.task()) {
                return Err(Error::config(format!(
                    "--task {given} contradicts the preprocessor, which is for {}",
                    p.task()
                )));
            }
            (p.task(), "taken from the preprocessor".to_string())
        }
        None => choose_task(settings.task, &table, target, &rows)?,
    };
    ui.info(&format!("task: {task} ({task_reason})"));
    check_loss_fits(settings, task)?;
    if task == Task::Regression && settings.class_weight.is_some() {
        return Err(Error::config("--class-weight needs a classification task"));
    }
    Ok(Source {
        table,
        preprocessor,
        target,
        rows,
        task,
        task_reason,
    })
}

fn check_loss_fits(settings: &TrainSettings, task: Task) -> Result<(), Error> {
    match (task, settings.loss) {
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

/// Class index of each row's target label (in order of first appearance), for stratifying.
pub fn label_groups(table: &RawTable, target: usize, rows: &[usize]) -> Vec<usize> {
    let column = &table.columns[target];
    let mut ids = std::collections::HashMap::new();
    rows.iter()
        .map(|&r| {
            let next = ids.len();
            *ids.entry(column.text_at(r)).or_insert(next)
        })
        .collect()
}

/// Split `pool` into training and validation rows: a random split, stratified by class
/// for classification; none with a validation file or a split of 0.
fn split_validation(
    settings: &TrainSettings,
    source: &Source,
    pool: &[usize],
) -> Result<(Vec<usize>, Vec<usize>), Error> {
    if settings.validation.is_some() || settings.validation_split == 0.0 {
        return Ok((pool.to_vec(), Vec::new()));
    }
    let (a, b) = match source.task {
        Task::Classification => stratified_split(
            &label_groups(&source.table, source.target, pool),
            settings.validation_split,
            settings.seed,
        ),
        Task::Regression => shuffled_split(pool.len(), settings.validation_split, settings.seed),
    };
    if a.is_empty() || b.is_empty() {
        return Err(Error::data(
            Location::file(&source.table.source),
            format!(
                "{} rows with a target are too few for --validation-split {}; expected enough rows for both parts (or use --validation-split 0)",
                pool.len(),
                settings.validation_split
            ),
        ));
    }
    let pick = |idx: Vec<usize>| idx.into_iter().map(|i| pool[i]).collect::<Vec<_>>();
    Ok((pick(a), pick(b)))
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

/// Split `pool` for validation, fit (or reuse) the pipeline on its training rows, encode.
pub fn prepare(
    settings: &TrainSettings,
    source: &Source,
    pool: &[usize],
    ui: &Ui,
) -> Result<Prepared, Error> {
    let table = &source.table;
    let validation_table = settings
        .validation
        .as_deref()
        .map(|p| read_nonempty(p, &settings.data.csv_options(), ui))
        .transpose()?;
    let (train_rows, split_rows) = split_validation(settings, source, pool)?;
    let pipeline = match &source.preprocessor {
        Some(p) => p.clone(),
        None => {
            let options = FitOptions {
                target: settings.target.clone(),
                drop: settings.drop.clone(),
                categorical: settings.categorical.clone(),
                na_values: settings.data.na_values(),
                max_categories: settings.max_categories,
            };
            let (pipeline, warnings) = Pipeline::fit(table, &train_rows, source.task, &options)?;
            for w in &warnings {
                ui.warn(&super::render::render_warning(w));
            }
            pipeline
        }
    };
    let pipeline = match settings.image_shape {
        Some(image) if source.preprocessor.is_none() => {
            share_pixel_scale(pipeline, image, table, &train_rows)?
        }
        _ => pipeline,
    };
    if source.task == Task::Classification && pipeline.target_encoder.labels().len() < 2 {
        return Err(Error::data(
            Location::file(&table.source).column(&settings.target),
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
    let train_x = pipeline.transform(table, Some(&train_rows))?;
    let train_data = dataset(train_x.x, pipeline.encode_targets(table, &train_rows)?);
    let validation = match &validation_table {
        Some(vt) => {
            let vtarget = target_index(vt, &settings.target)?;
            let (vrows, vmissing) = rows_with_target(vt, vtarget, &pipeline.na_values);
            warn_missing_targets(ui, vt, &vmissing);
            if vrows.is_empty() {
                return Err(Error::data(
                    Location::file(&vt.source).column(&settings.target),
                    "no row has a target value; expected at least one to validate on",
                ));
            }
            let transformed = pipeline.transform(vt, Some(&vrows))?;
            warn_unknown_categories(ui, &vt.source, &transformed.unknown_categories);
            warn_non_finite(ui, &vt.source, &transformed.non_finite);
            Some(dataset(transformed.x, pipeline.encode_targets(vt, &vrows)?))
        }
        None if !split_rows.is_empty() => {
            let transformed = pipeline.transform(table, Some(&split_rows))?;
            warn_unknown_categories(ui, &table.source, &transformed.unknown_categories);
            warn_non_finite(ui, &table.source, &transformed.non_finite);
            Some(dataset(
                transformed.x,
                pipeline.encode_targets(table, &split_rows)?,
            ))
        }
        None => None,
    };
    if settings.reduce_on_plateau && validation.is_none() {
        return Err(Error::config(
            "--reduce-on-plateau needs validation data (--validation-split above 0 or --validation FILE)",
        ));
    }
    Ok(Prepared {
        pipeline,
        train_data,
        validation,
    })
}

/// Give every pixel column the mean and std of all pixels of the training rows: per-pixel
/// scaling would blow up rarely-lit border pixels, and a convolution shares its weights
/// across pixels.
fn share_pixel_scale(
    mut pipeline: Pipeline,
    image: ImageShape,
    table: &RawTable,
    rows: &[usize],
) -> Result<Pipeline, Error> {
    let n_features = pipeline.features.len();
    let numeric: Vec<&mut NumericColumn> = pipeline
        .features
        .iter_mut()
        .filter_map(|f| match f {
            Feature::Numeric(n) => Some(n),
            Feature::Categorical(_) => None,
        })
        .collect();
    if numeric.len() != image.len() || n_features != image.len() {
        return Err(Error::data(
            Location::file(&table.source),
            format!(
                "--image-shape {image} needs {} numeric feature columns (the pixels); the data has {n_features} feature columns, {} of them numeric",
                image.len(),
                numeric.len()
            ),
        ));
    }
    // Every pixel of every training row, missing ones at their column's imputed value.
    let (mut sum, mut sum_sq, mut count) = (0.0f64, 0.0f64, 0usize);
    for n in &numeric {
        let column = table
            .column(&n.name)
            .expect("the pipeline was fitted on this table");
        let cells = column.cells(&pipeline.na_values);
        for &row in rows {
            let v = match cells.get(row) {
                Cell::Number(v) => v,
                _ => n.impute,
            };
            sum += v;
            sum_sq += v * v;
            count += 1;
        }
    }
    let mean = sum / count.max(1) as f64;
    let std = (sum_sq / count.max(1) as f64 - mean * mean).max(0.0).sqrt();
    let std = if std > 0.0 { std } else { 1.0 };
    for n in numeric {
        n.mean = mean;
        n.std = std;
    }
    Ok(pipeline)
}

/// Class weights from --class-weight over the training rows, in label order.
fn class_weights(
    settings: &TrainSettings,
    encoder: &TargetEncoder,
    train: &Dataset,
) -> Result<Option<Vec<f32>>, Error> {
    let labels = encoder.labels();
    match (&settings.class_weight, &train.y) {
        (None, _) | (_, OwnedTargets::Values(_)) => Ok(None),
        (Some(ClassWeightArg::Balanced), OwnedTargets::Classes(classes)) => {
            Ok(Some(balanced_class_weights(classes, labels.len())))
        }
        (Some(ClassWeightArg::Given(pairs)), OwnedTargets::Classes(_)) => {
            let mut weights = vec![1.0; labels.len()];
            for (label, w) in pairs {
                let class = encoder.class_index(label).ok_or_else(|| {
                    Error::data(
                        Location::file(&settings.data.data).column(&settings.target),
                        format!(
                            "--class-weight names the label '{label}', which is not a class of the target; the classes are: {}",
                            labels.join(", ")
                        ),
                    )
                })?;
                weights[class] = *w;
            }
            Ok(Some(weights))
        }
    }
}

pub fn training_config(settings: &TrainSettings) -> TrainConfig {
    let optimizer = match settings.optimizer {
        OptimizerArg::Adam => OptimizerConfig::Adam {
            lr: settings.lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: settings.weight_decay,
        },
        OptimizerArg::Sgd => OptimizerConfig::Sgd {
            lr: settings.lr,
            momentum: settings.momentum,
            nesterov: false,
            weight_decay: settings.weight_decay,
        },
    };
    let schedule = ScheduleConfig {
        kind: match settings.lr_schedule {
            ScheduleArg::Constant => ScheduleKind::Constant,
            ScheduleArg::Step => ScheduleKind::Step,
            ScheduleArg::Cosine => ScheduleKind::Cosine,
        },
        warmup_epochs: settings.warmup_epochs,
        step_size: settings.lr_step_size,
        gamma: settings.lr_gamma,
        plateau: settings.reduce_on_plateau.then_some(PlateauConfig {
            factor: settings.plateau_factor,
            patience: settings.plateau_patience,
            min_lr: settings.min_lr,
        }),
    };
    TrainConfig {
        epochs: settings.epochs,
        batch_size: settings.batch_size,
        patience: settings.patience,
        min_delta: settings.min_delta,
        seed: settings.seed,
        optimizer,
        schedule,
    }
}

pub fn mlp_config(settings: &TrainSettings, pipeline: &Pipeline) -> MlpConfig {
    MlpConfig {
        n_inputs: pipeline.n_inputs(),
        hidden: settings.hidden.0.clone(),
        n_outputs: pipeline.target_encoder.n_outputs(),
        activation: match settings.activation {
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Sigmoid => Activation::Sigmoid,
            ActivationArg::LeakyRelu => Activation::LeakyRelu,
        },
        dropout: settings.dropout,
    }
}

/// The name of the validation metric of a pipeline's task.
pub fn metric_name(pipeline: &Pipeline) -> &'static str {
    match pipeline.task() {
        Task::Classification => "accuracy",
        Task::Regression => "rmse",
    }
}

/// A CNN when --conv is given, else an MLP.
fn build_network(settings: &TrainSettings, mlp: &MlpConfig) -> Result<Network, Error> {
    match (settings.image_shape, &settings.conv) {
        (Some(image), Some(conv)) => Network::cnn(
            &CnnConfig {
                image,
                conv: conv.0.iter().map(|&(f, k)| ConvSpec::same(f, k)).collect(),
                hidden: mlp.hidden.clone(),
                n_outputs: mlp.n_outputs,
                activation: mlp.activation,
                dropout: mlp.dropout,
            },
            settings.seed,
        )
        .map_err(|e| {
            let layers: Vec<String> = conv.0.iter().map(|(f, k)| format!("{f}:{k}")).collect();
            Error::config(format!(
                "--conv {} does not fit --image-shape {image}: {e}",
                layers.join(",")
            ))
        }),
        _ => Ok(Network::mlp(mlp, settings.seed)?),
    }
}

/// Train on `prepared` (from `state`, or from fresh weights) and assemble the model.
pub fn fit(
    settings: &TrainSettings,
    source: &Source,
    prepared: &Prepared,
    state: Option<TrainState>,
    observer: &mut dyn Observer,
    ui: &Ui,
) -> Result<Model, Error> {
    let Prepared {
        pipeline,
        train_data,
        validation,
    } = prepared;
    let config = training_config(settings);
    let mlp = mlp_config(settings, pipeline);
    let weights = class_weights(settings, &pipeline.target_encoder, train_data)?;
    let (loss, metric, loss_name): (Box<dyn Loss>, _, _) = match &pipeline.target_encoder {
        TargetEncoder::Classification { .. } => (
            Box::new(SoftmaxCrossEntropy {
                class_weights: weights.clone(),
            }),
            ValidationMetric::Accuracy,
            "cross_entropy",
        ),
        TargetEncoder::Regression { std, .. } => (
            Box::new(Mse),
            ValidationMetric::Rmse { target_std: *std },
            "mse",
        ),
    };
    let mut state = match state {
        Some(state) => state,
        None => TrainState::new(build_network(settings, &mlp)?, &config),
    };
    let mut shape: Vec<String> = std::iter::once(mlp.n_inputs)
        .chain(mlp.hidden.iter().copied())
        .chain(std::iter::once(mlp.n_outputs))
        .map(|n| n.to_string())
        .collect();
    if let (Some(image), Some(conv)) = (settings.image_shape, &settings.conv) {
        shape[0] = std::iter::once(image.to_string())
            .chain(conv.0.iter().map(|(f, k)| format!("conv{f}:{k}")))
            .collect::<Vec<_>>()
            .join("-");
    }
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
    let outcome = train(
        &mut state,
        loss.as_ref(),
        train_data,
        validation.as_ref(),
        metric,
        &config,
        observer,
    )?;

    let metric_name = metric_name(pipeline);
    let validation_metrics = validation.as_ref().map(|v| {
        let (loss_value, metric_value) = evaluate(&mut state.network, loss.as_ref(), v, metric);
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
        task_reason: source.task_reason.clone(),
        hidden: mlp.hidden.clone(),
        activation: mlp.activation,
        loss: loss_name.to_string(),
        dropout: settings.dropout,
        validation_split: if settings.validation.is_some() {
            0.0
        } else {
            settings.validation_split
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
    Ok(Model::new(
        pipeline.clone(),
        state.network,
        training,
        history,
        validation_metrics,
    ))
}

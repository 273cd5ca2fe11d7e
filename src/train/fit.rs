//! The library's training entry point: `fit` reads the data named by `TrainSettings`,
//! chooses the task, fits the preprocessing, trains the network and returns the `Model`
//! (its history included). `Source::load`, `prepare` and `train_model` are its stages, for
//! callers that resume a run or train on parts of a table (cross-validation).

use super::augmenter::AugmentLayout;
use super::choices::{ClassWeights, OptimizerChoice};
use super::distill::{distilled_dataset, DistillLoss, DistillSettings};
use super::encoder_plan::{describe_plan, encoder_plans};
use super::monitor::Monitor;
use super::notice::Notice;
use super::prepare::{prepare, Prepared};
use super::schedule::{PlateauConfig, ScheduleConfig};
use super::settings::TrainSettings;
use super::settings_error::SettingsError;
use super::source::Source;
use super::trainer::{
    evaluate, train, Dataset, Observer, OptimizerConfig, OwnedTargets, TrainConfig, TrainState,
    ValidationMetric,
};
use crate::data::RawTable;
use crate::error::Result;
use crate::model::{ClassWeight, Model, TrainingRecord, ValidationMetrics};
use crate::nn::{CnnConfig, ConvSpec, Loss, MlpConfig, Mse, Network, SoftmaxCrossEntropy};
use crate::preprocess::{Pipeline, TargetEncoder, Task};

use super::class_weights::balanced_class_weights;

/// Train a model on the file `settings.data` names: read it, choose the task, split off
/// the validation rows, fit the preprocessing on the training rows, train, and assemble
/// the model. Progress and notices reach `observer` (`&mut ()` ignores them).
pub fn fit(settings: &TrainSettings, observer: &mut dyn Observer) -> Result<Model> {
    let source = Source::load(settings, observer)?;
    fit_source(settings, &source, observer)
}

/// `fit` on a table already read (`settings.data.path` is not read).
pub fn fit_table(
    table: RawTable,
    settings: &TrainSettings,
    observer: &mut dyn Observer,
) -> Result<Model> {
    let source = Source::from_table(table, settings, observer)?;
    fit_source(settings, &source, observer)
}

fn fit_source(
    settings: &TrainSettings,
    source: &Source,
    observer: &mut dyn Observer,
) -> Result<Model> {
    let prepared = prepare(settings, source, &source.rows, observer)?;
    train_model(settings, source, &prepared, None, observer)
}

/// The loop's settings: optimizer, schedule, epochs, batches, early stopping, seed.
pub fn training_config(settings: &TrainSettings) -> TrainConfig {
    let optimizer = match settings.optimizer {
        OptimizerChoice::Adam => OptimizerConfig::Adam {
            lr: settings.lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: settings.weight_decay,
        },
        OptimizerChoice::Sgd => OptimizerConfig::Sgd {
            lr: settings.lr,
            momentum: settings.momentum,
            nesterov: false,
            weight_decay: settings.weight_decay,
        },
    };
    let schedule = ScheduleConfig {
        kind: settings.lr_schedule,
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
        monitor: settings.monitor,
        augment: settings.augment.clone(),
        augment_layout: AugmentLayout::default(),
    }
}

/// The dense part of the network for `pipeline`'s inputs and outputs.
pub fn mlp_config(settings: &TrainSettings, pipeline: &Pipeline) -> MlpConfig {
    let plain = settings.conv.is_none() && encoder_plans(&settings.encoders, pipeline).is_empty();
    MlpConfig {
        n_inputs: pipeline.n_inputs(),
        hidden: settings.hidden.clone(),
        n_outputs: pipeline.target_encoder.n_outputs(),
        activation: settings.activation.resolve(plain),
        dropout: settings.dropout,
    }
}

/// The notices at the end of a fit: which epoch's weights were kept (when early stopping
/// chose one; `run` is the epochs run, the kept epoch, whether it stopped early), and the
/// kept weights' validation scores.
pub(crate) fn notice_kept(
    observer: &mut dyn Observer,
    monitor: Monitor,
    (epochs_run, best_epoch, stopped_early): (usize, Option<usize>, bool),
    validation: Option<&ValidationMetrics>,
    metric: &'static str,
) {
    if let Some(best_epoch) = best_epoch {
        observer.notice(Notice::BestEpochKept {
            monitor,
            epochs_run,
            best_epoch,
            stopped_early,
        });
    }
    if let Some(m) = validation {
        observer.notice(Notice::Validation {
            loss: m.loss,
            metric,
            value: m.accuracy.or(m.rmse).unwrap_or(f64::NAN),
        });
    }
}

/// The name of the validation metric of a task: `accuracy` or `rmse`.
pub fn metric_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "accuracy",
        Task::Regression => "rmse",
    }
}

/// Encoders and a dense head when the rows hold text or series, a CNN when convolution
/// layers are set, else an MLP.
pub(crate) fn build_network(
    settings: &TrainSettings,
    pipeline: &Pipeline,
    mlp: &MlpConfig,
) -> Result<Network> {
    let encoders = encoder_plans(&settings.encoders, pipeline);
    if !encoders.is_empty() {
        return Ok(Network::with_encoders(mlp, &encoders, settings.seed)?);
    }
    match (settings.image_shape, &settings.conv) {
        (Some(image), Some(conv)) => Network::cnn(
            &CnnConfig {
                image,
                conv: conv
                    .iter()
                    .map(|c| ConvSpec::same(c.filters, c.kernel))
                    .collect(),
                hidden: mlp.hidden.clone(),
                n_outputs: mlp.n_outputs,
                activation: mlp.activation,
                dropout: mlp.dropout,
            },
            settings.seed,
        )
        .map_err(|e| {
            SettingsError::ConvDoesNotFitImage {
                conv: conv.clone(),
                image,
                reason: e.to_string(),
            }
            .into()
        }),
        _ => Ok(Network::mlp(mlp, settings.seed)?),
    }
}

/// Stop when `settings.monitor` names a value `task` does not report.
pub(crate) fn check_monitor(settings: &TrainSettings, task: Task) -> Result<()> {
    if settings.monitor.fits(task) {
        return Ok(());
    }
    Err(SettingsError::MonitorDoesNotFitTask {
        monitor: settings.monitor,
        task,
    }
    .into())
}

/// The loss, the validation metric and the loss's name for `encoder`'s task; a
/// classifier's loss weighs its classes by `class_weights` (`None`: all 1).
pub(crate) fn loss_for(
    encoder: &TargetEncoder,
    class_weights: Option<Vec<f32>>,
) -> (Box<dyn Loss>, ValidationMetric, &'static str) {
    match encoder {
        TargetEncoder::Classification { .. } => (
            Box::new(SoftmaxCrossEntropy { class_weights }),
            ValidationMetric::Accuracy,
            "cross_entropy",
        ),
        TargetEncoder::Regression { std, .. } => (
            Box::new(Mse),
            ValidationMetric::Rmse { target_std: *std },
            "mse",
        ),
    }
}

/// Class weights over the training rows, in label order.
fn class_weights(
    settings: &TrainSettings,
    encoder: &TargetEncoder,
    train: &Dataset,
) -> Result<Option<Vec<f32>>, SettingsError> {
    let labels = encoder.labels();
    match (&settings.class_weight, &train.y) {
        (None, _) | (_, OwnedTargets::Values(_)) => Ok(None),
        (Some(ClassWeights::Balanced), OwnedTargets::Classes(classes)) => {
            Ok(Some(balanced_class_weights(classes, labels.len())))
        }
        (Some(ClassWeights::Given(pairs)), OwnedTargets::Classes(_)) => {
            let mut weights = vec![1.0; labels.len()];
            for (label, w) in pairs {
                let class = encoder.class_index(label).ok_or_else(|| {
                    SettingsError::UnknownClassWeightLabel {
                        file: settings.data.path.clone(),
                        target: settings.target.clone(),
                        label: label.clone(),
                        classes: labels.to_vec(),
                    }
                })?;
                weights[class] = *w;
            }
            Ok(Some(weights))
        }
    }
}

/// The layer widths joined by `-` (a CNN's image and convolution layers first, the
/// encoders of text and series in brackets after the input width).
fn shape_text(settings: &TrainSettings, pipeline: &Pipeline, mlp: &MlpConfig) -> String {
    let mut shape: Vec<String> = std::iter::once(mlp.n_inputs)
        .chain(mlp.hidden.iter().copied())
        .chain(std::iter::once(mlp.n_outputs))
        .map(|n| n.to_string())
        .collect();
    let encoders = encoder_plans(&settings.encoders, pipeline);
    if !encoders.is_empty() {
        let described: Vec<String> = encoders.iter().map(describe_plan).collect();
        shape[0] = format!("{}-[{}]", shape[0], described.join("; "));
    }
    if let (Some(image), Some(conv)) = (settings.image_shape, &settings.conv) {
        shape[0] = std::iter::once(image.to_string())
            .chain(
                conv.iter()
                    .map(|c| format!("conv{}:{}", c.filters, c.kernel)),
            )
            .collect::<Vec<_>>()
            .join("-");
    }
    shape.join("-")
}

/// Train on `prepared` (from `state`, or from fresh weights) and assemble the model.
pub fn train_model(
    settings: &TrainSettings,
    source: &Source,
    prepared: &Prepared,
    state: Option<TrainState>,
    observer: &mut dyn Observer,
) -> Result<Model> {
    let Prepared {
        pipeline,
        train_data,
        validation,
        train_rows,
    } = prepared;
    let mut config = training_config(settings);
    config.augment_layout = AugmentLayout::new(&settings.augment, pipeline, settings.image_shape)?;
    let task = pipeline.task();
    check_monitor(settings, task)?;
    let mlp = mlp_config(settings, pipeline);
    let weights = class_weights(settings, &pipeline.target_encoder, train_data)?;
    let (loss, metric, loss_name) = loss_for(&pipeline.target_encoder, weights.clone());
    // The teacher scores the rows anew on every call, a resumed run's too.
    let distilled = match &settings.distill {
        Some(d) => Some(distilled_dataset(
            d,
            &source.table,
            train_rows,
            pipeline,
            train_data,
        )?),
        None => None,
    };
    let loss: Box<dyn Loss> = match (&settings.distill, &pipeline.target_encoder) {
        (Some(d), TargetEncoder::Classification { .. }) => Box::new(DistillLoss {
            ce: SoftmaxCrossEntropy {
                class_weights: weights.clone(),
            },
            temperature: d.temperature,
            weight: d.weight,
        }),
        _ => loss,
    };
    let train_data = distilled.as_ref().unwrap_or(train_data);
    let mut state = match state {
        Some(state) => state,
        None => TrainState::new(build_network(settings, pipeline, &mlp)?, &config),
    };
    observer.notice(Notice::TrainingStarted {
        shape: &shape_text(settings, pipeline, &mlp),
        n_params: state.network.n_params(),
        rows_train: train_data.n_rows(),
        rows_validation: validation.as_ref().map(Dataset::n_rows),
    });
    let outcome = train(
        &mut state,
        loss.as_ref(),
        train_data,
        validation.as_ref(),
        metric,
        &config,
        observer,
    )?;

    let metric_name = metric_name(pipeline.task());
    let validation_metrics = validation.as_ref().map(|v| {
        let (loss_value, metric_value) = evaluate(&mut state.network, loss.as_ref(), v, metric);
        ValidationMetrics {
            loss: loss_value,
            accuracy: (metric_name == "accuracy").then_some(metric_value),
            rmse: (metric_name == "rmse").then_some(metric_value),
        }
    });
    notice_kept(
        observer,
        settings.monitor,
        (
            state.history.len(),
            outcome.best_epoch,
            outcome.stopped_early,
        ),
        validation_metrics.as_ref(),
        metric_name,
    );
    let training = TrainingRecord {
        task_reason: source.task_reason.clone(),
        hidden: mlp.hidden.clone(),
        activation: mlp.activation,
        loss: loss_name.to_string(),
        dropout: settings.dropout,
        validation_split: if settings.validation.is_some() || validation.is_none() {
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
        tuned: None,
        distilled: settings.distill.as_ref().map(DistillSettings::note),
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

//! `train`: one function that reads top to bottom; buffers for batches and gradients are
//! allocated once, so the steady-state step allocates nothing. Everything that changes
//! from epoch to epoch lives in `TrainState`, which a checkpoint saves and restores.

use ndarray::s;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::augment::Augment;
use super::augmenter::{mixed_loss_and_grad, AugmentLayout, Augmenter};
use super::dataset::Batcher;
pub use super::dataset::{Dataset, OwnedTargets};
use super::divergence::divergence;
use super::early_stopping::EarlyStopping;
use super::mask::WeightMask;
use super::monitor::{Monitor, Tally};
use super::notice::Notice;
use super::schedule::{PlateauState, ScheduleConfig};
use crate::error::{Error, Result};
use crate::nn::{Adam, AdamConfig, AnyOptimizer, Buffer, Loss, Network, Optimizer, Sgd, SgdConfig};
use crate::parallel::{FlushDenormals, StepThreads};

/// The optimizer and its settings, as recorded in the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// Adam with bias correction (see `Adam`).
    Adam {
        /// Base learning rate.
        lr: f32,
        /// Decay rate of the first moment.
        beta1: f32,
        /// Decay rate of the second moment.
        beta2: f32,
        /// ε added to the denominator.
        eps: f32,
        /// Decoupled weight decay (AdamW); 0 is plain Adam.
        weight_decay: f32,
    },
    /// Stochastic gradient descent (see `Sgd`).
    Sgd {
        /// Base learning rate.
        lr: f32,
        /// Momentum; 0 is plain SGD.
        momentum: f32,
        /// Nesterov momentum instead of the classical one.
        nesterov: bool,
        /// L2 penalty added to the gradient.
        weight_decay: f32,
    },
}

impl OptimizerConfig {
    /// A fresh optimizer with these settings and no state.
    pub fn build(&self) -> AnyOptimizer {
        match *self {
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => AnyOptimizer::Adam(Adam::new(AdamConfig {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            })),
            OptimizerConfig::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
            } => AnyOptimizer::Sgd(Sgd::new(SgdConfig {
                lr,
                momentum,
                nesterov,
                weight_decay,
            })),
        }
    }

    /// The base learning rate, before any schedule.
    pub fn lr(&self) -> f32 {
        match *self {
            OptimizerConfig::Adam { lr, .. } | OptimizerConfig::Sgd { lr, .. } => lr,
        }
    }
}

/// Settings of the training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Total epochs of the run, counting those a resumed state has already done.
    pub epochs: usize,
    /// Rows per mini-batch, clamped to 1..=n_rows; the last batch may be smaller.
    pub batch_size: usize,
    /// Epochs without a better validation loss before stopping; 0 turns early stopping off.
    pub patience: usize,
    /// A validation loss must fall by more than this to count as an improvement.
    pub min_delta: f64,
    /// Seed of the RNG that shuffles the rows every epoch.
    pub seed: u64,
    /// The optimizer and its base learning rate.
    pub optimizer: OptimizerConfig,
    /// How the learning rate changes from epoch to epoch.
    pub schedule: ScheduleConfig,
    /// The validation value that decides the best epoch (the file omits the default,
    /// the loss).
    #[serde(default, skip_serializing_if = "Monitor::is_loss")]
    pub monitor: Monitor,
    /// The augmentation of the training batches (the file omits none).
    #[serde(default, skip_serializing_if = "Augment::is_none")]
    pub augment: Augment,
    /// Where the augmentation acts in the inputs (`AugmentLayout::new`); not recorded.
    #[serde(skip)]
    pub augment_layout: AugmentLayout,
}

/// The validation metric reported each epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValidationMetric {
    /// Fraction of rows whose largest output is the true class (classification).
    Accuracy,
    /// RMSE in the target's units: the network's RMSE times the target's std.
    Rmse {
        /// Standard deviation the regression targets were divided by when standardised.
        target_std: f64,
    },
}

impl ValidationMetric {
    /// This metric's value in `tally`.
    pub fn value(self, tally: &Tally) -> f64 {
        match self {
            ValidationMetric::Accuracy => tally.accuracy(),
            ValidationMetric::Rmse { target_std } => tally.rmse() * target_std,
        }
    }

    /// The std regression errors are multiplied by to be in the target's units (1 for
    /// classification).
    pub fn target_std(self) -> f64 {
        match self {
            ValidationMetric::Accuracy => 1.0,
            ValidationMetric::Rmse { target_std } => target_std,
        }
    }
}

/// What one epoch measured; `TrainState::history` keeps one per epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// Mean loss over the epoch's training rows, measured during the updates.
    pub train_loss: f64,
    /// Validation loss after the epoch; `None` without validation rows.
    pub val_loss: Option<f64>,
    /// Accuracy (classification) or RMSE in target units (regression).
    pub val_metric: Option<f64>,
    /// The monitored validation value, when the monitor is not the loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitored: Option<f64>,
    /// The learning rate used throughout the epoch.
    pub lr: f64,
}

/// Receives progress, and the state after each epoch (to checkpoint it); the library
/// itself never prints and never writes files.
pub trait Observer {
    /// Something the run chose or found in the data (see `Notice`).
    fn notice(&mut self, _notice: Notice<'_>) {}
    /// Before the first batch of `epoch` (1-based) of `n_epochs`, split into `n_batches`.
    fn epoch_started(&mut self, _epoch: usize, _n_epochs: usize, _n_batches: usize) {}
    /// After the update of `batch` (1-based); `running_loss` is the mean loss over the
    /// epoch's rows so far.
    fn batch_done(&mut self, _batch: usize, _n_batches: usize, _running_loss: f64) {}
    /// After each epoch, once `state` includes it (`record` is the last of its history);
    /// an error stops training and `train` returns it.
    fn epoch_done(
        &mut self,
        _record: &EpochRecord,
        _n_epochs: usize,
        _state: &TrainState,
    ) -> Result<()> {
        Ok(())
    }
}

/// An observer that ignores everything.
impl Observer for () {}

/// Everything that changes during training: enough to continue after an interruption.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed; training resumes at `epochs_done + 1`.
    pub epochs_done: usize,
    /// Early stopping has ended the run; `train` then does no more epochs.
    pub stopped_early: bool,
    /// The network: the latest weights, or the best epoch's once `train` returns with
    /// early stopping on.
    pub network: Network,
    /// The optimizer with its state (velocity or moments, step count).
    pub optimizer: AnyOptimizer,
    /// The RNG that shuffles the rows; seeded from `TrainConfig::seed`.
    #[serde(with = "crate::rng_state")]
    pub rng: ChaCha8Rng,
    /// One record per completed epoch.
    pub history: Vec<EpochRecord>,
    /// The best validation loss so far and its weights (kept when `patience > 0`).
    pub early_stopping: EarlyStopping,
    /// The reduce-on-plateau rule's state.
    pub plateau: PlateauState,
    /// The untrained network's loss on the first batch, where divergence is measured
    /// from (`None` before the first batch, and in checkpoints older than it).
    #[serde(default)]
    pub initial_loss: Option<f64>,
}

impl TrainState {
    /// The state before the first epoch: `network` as given, a fresh optimizer from
    /// `config.optimizer` and the RNG seeded with `config.seed`.
    pub fn new(network: Network, config: &TrainConfig) -> Self {
        TrainState {
            epochs_done: 0,
            stopped_early: false,
            network,
            optimizer: config.optimizer.build(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            history: Vec::new(),
            early_stopping: EarlyStopping::default(),
            plateau: PlateauState::default(),
            initial_loss: None,
        }
    }
}

/// How a call to `train` ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// The epoch whose weights the network holds, when early stopping chose them.
    pub best_epoch: Option<usize>,
    /// Training stopped before `TrainConfig::epochs` for lack of improvement.
    pub stopped_early: bool,
}

/// Rows per forward pass when evaluating.
const EVAL_CHUNK: usize = 1024;

/// The tally of `network` over a whole dataset: its loss and every metric.
pub fn tally(network: &mut Network, loss: &dyn Loss, data: &Dataset) -> Tally {
    let n = data.n_rows();
    let mut tally = Tally::default();
    for start in (0..n).step_by(EVAL_CHUNK) {
        let end = (start + EVAL_CHUNK).min(n);
        let out = network.forward(data.x.slice(s![start..end, ..]), false);
        let y = data.targets(start..end);
        let chunk_loss = loss.loss(out, y);
        tally.add(out, y, chunk_loss);
    }
    tally
}

/// Loss and metric of `network` over a whole dataset.
pub fn evaluate(
    network: &mut Network,
    loss: &dyn Loss,
    data: &Dataset,
    metric: ValidationMetric,
) -> (f64, f64) {
    let tally = tally(network, loss, data);
    (tally.loss(), metric.value(&tally))
}

/// Continue training from `state` up to `config.epochs`. With `validation`, the loss and
/// metric are measured after every epoch; with `patience > 0` training stops after that
/// many epochs without the monitored value (`config.monitor`, the loss by default) better
/// by more than `min_delta`, and the best epoch's weights are restored at the end. A
/// training loss that becomes infinite or NaN, or diverges while finite (see
/// `divergence`), stops the run with an error.
pub fn train(
    state: &mut TrainState,
    loss: &dyn Loss,
    train_data: &Dataset,
    validation: Option<&Dataset>,
    metric: ValidationMetric,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<TrainOutcome> {
    let data = TrainData {
        train: train_data,
        validation,
        metric,
    };
    train_masked(state, loss, data, config, None, observer)
}

/// The rows `train_masked` trains on and validates with, and the validation metric.
#[derive(Clone, Copy)]
pub struct TrainData<'a> {
    /// The training rows.
    pub train: &'a Dataset,
    /// The validation rows, if any.
    pub validation: Option<&'a Dataset>,
    /// The metric reported on them.
    pub metric: ValidationMetric,
}

/// How an epoch's steps ended: its mean training loss, its learning rate and the tally of
/// the validation rows (none without them).
pub(crate) struct EpochEnd {
    pub(crate) epoch: usize,
    pub(crate) train_loss: f64,
    pub(crate) lr: f64,
    pub(crate) tally: Option<Tally>,
}

/// The end of an epoch, shared by `train` and the streamed fit: its record, the plateau
/// schedule, early stopping, the divergence check and the observer.
pub(crate) fn close_epoch(
    state: &mut TrainState,
    config: &TrainConfig,
    metric: ValidationMetric,
    end: EpochEnd,
    early_stopping: bool,
    observer: &mut dyn Observer,
) -> Result<()> {
    let EpochEnd {
        epoch,
        train_loss,
        lr,
        tally,
    } = end;
    let monitored = tally
        .as_ref()
        .map(|t| t.value(config.monitor, metric.target_std()));
    let record = EpochRecord {
        epoch,
        train_loss,
        val_loss: tally.as_ref().map(Tally::loss),
        val_metric: tally.as_ref().map(|t| metric.value(t)),
        monitored: monitored.filter(|_| !config.monitor.is_loss()),
        lr,
    };
    if let (Some(val_loss), Some(monitored)) = (record.val_loss, monitored) {
        config
            .schedule
            .observe(&mut state.plateau, val_loss, config.min_delta);
        if early_stopping {
            let stop = state.early_stopping.update(
                monitored,
                config.monitor.higher_is_better(),
                epoch,
                &mut state.network,
                config.patience,
                config.min_delta,
            );
            state.stopped_early = stop && epoch < config.epochs;
        }
    }
    state.epochs_done = epoch;
    state.history.push(record.clone());
    let losses = state.history.iter().map(|r| r.train_loss);
    if let Some((how, reference)) = divergence(losses, state.initial_loss) {
        return Err(Error::LossDiverged {
            how,
            epoch,
            loss: record.train_loss,
            reference,
        });
    }
    observer.epoch_done(&record, config.epochs, state)
}

/// As `train`, holding the weights of `mask` at exactly zero: their gradient is zeroed
/// before every optimizer step and the weights after it (the fine-tuning of a pruned
/// network).
pub fn train_masked(
    state: &mut TrainState,
    loss: &dyn Loss,
    data: TrainData<'_>,
    config: &TrainConfig,
    mask: Option<&WeightMask>,
    observer: &mut dyn Observer,
) -> Result<TrainOutcome> {
    let TrainData {
        train: train_data,
        validation,
        metric,
    } = data;
    if let Some(mask) = mask {
        mask.apply(&mut state.network);
    }
    let n = train_data.n_rows();
    if n == 0 {
        return Err(Error::Training("no training rows".to_string()));
    }
    let validation = validation.filter(|v| v.n_rows() > 0);
    let early_stopping = config.patience > 0 && validation.is_some();
    // Subnormal floats cost a microcode assist per operation; see `FlushDenormals`.
    let _flush_denormals = FlushDenormals::new();
    let batch_size = config.batch_size.clamp(1, n);
    let n_batches = n.div_ceil(batch_size);
    let base_lr = config.optimizer.lr() as f64;
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut batcher = Batcher::default();
    let mut grad = Buffer::default();
    // Mixup's second targets and gradient; augmentation draws from its own streams.
    let (mut partners, mut partner_grad) = (Batcher::default(), Buffer::default());
    let mut augmenter = Augmenter::new(&config.augment, &config.augment_layout, config.seed);
    let mut threads = StepThreads::new();

    while state.epochs_done < config.epochs && !state.stopped_early {
        let epoch = state.epochs_done + 1;
        let lr = config
            .schedule
            .lr(base_lr, epoch, config.epochs, &state.plateau);
        state.optimizer.set_learning_rate(lr as f32);
        observer.epoch_started(epoch, config.epochs, n_batches);
        // A fresh permutation from the RNG alone, so a checkpoint need not store the order.
        order.clear();
        order.extend(0..n);
        order.shuffle(&mut state.rng);
        let mut loss_sum = 0.0;
        for (batch, rows) in order.chunks(batch_size).enumerate() {
            let _threads = threads.step();
            batcher.fill(train_data, rows);
            let mixup = augmenter.apply(batcher.x.view_mut(), rows, epoch, batch + 1);
            if mixup.is_some() {
                partners.fill_targets(train_data, augmenter.partner_rows());
            }
            let network = &mut state.network;
            let output = network.forward(batcher.x.view(), true);
            grad.resize(output.nrows(), output.ncols());
            let own = batcher.targets(train_data);
            let batch_loss = match mixup {
                None => loss.loss_and_grad(output, own, grad.view_mut()),
                Some(lambda) => mixed_loss_and_grad(
                    loss,
                    output,
                    own,
                    partners.targets(train_data),
                    lambda,
                    grad.view_mut(),
                    &mut partner_grad,
                ),
            };
            if !batch_loss.is_finite() {
                return Err(Error::Diverged {
                    loss: batch_loss,
                    epoch,
                    batch: batch + 1,
                });
            }
            if epoch == 1 && batch == 0 {
                state.initial_loss = Some(batch_loss);
            }
            network.backward(batcher.x.view(), grad.view());
            if let Some(mask) = mask {
                mask.mask_gradients(network);
            }
            state.optimizer.step(network);
            if let Some(mask) = mask {
                mask.apply(network);
            }
            loss_sum += batch_loss * rows.len() as f64;
            observer.batch_done(
                batch + 1,
                n_batches,
                loss_sum / ((batch * batch_size + rows.len()) as f64),
            );
        }

        let tally = validation.map(|v| tally(&mut state.network, loss, v));
        let end = EpochEnd {
            epoch,
            train_loss: loss_sum / n as f64,
            lr,
            tally,
        };
        close_epoch(state, config, metric, end, early_stopping, observer)?;
    }

    if early_stopping {
        state.early_stopping.restore_best(&mut state.network);
    }
    Ok(TrainOutcome {
        best_epoch: if early_stopping {
            state.early_stopping.best_epoch
        } else {
            None
        },
        stopped_early: state.stopped_early,
    })
}

//! `train`: one function that reads top to bottom; buffers for batches and gradients are
//! allocated once, so the steady-state step allocates nothing.

use ndarray::{s, Array2, ArrayView1, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::{
    Adam, AdamConfig, Buffer, FlushDenormals, Loss, Network, Optimizer, Sgd, SgdConfig, Targets,
};

/// The optimizer and its settings, as recorded in the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum OptimizerConfig {
    Adam {
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
    },
    Sgd {
        lr: f32,
        momentum: f32,
        nesterov: bool,
        weight_decay: f32,
    },
}

impl OptimizerConfig {
    pub fn build(&self) -> Box<dyn Optimizer> {
        match *self {
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => Box::new(Adam::new(AdamConfig {
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
            } => Box::new(Sgd::new(SgdConfig {
                lr,
                momentum,
                nesterov,
                weight_decay,
            })),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Epochs without a better validation loss before stopping; 0 turns early stopping off.
    pub patience: usize,
    pub seed: u64,
    pub optimizer: OptimizerConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OwnedTargets {
    Classes(Vec<u32>),
    /// (n_rows, n_outputs)
    Values(Array2<f32>),
}

/// Inputs and targets of a set of rows.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// (n_rows, n_inputs)
    pub x: Array2<f32>,
    pub y: OwnedTargets,
}

impl Dataset {
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }

    fn targets(&self, rows: std::ops::Range<usize>) -> Targets<'_> {
        match &self.y {
            OwnedTargets::Classes(c) => Targets::Classes(&c[rows]),
            OwnedTargets::Values(v) => Targets::Values(v.slice(s![rows, ..])),
        }
    }
}

/// The validation metric reported each epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValidationMetric {
    Accuracy,
    /// RMSE in the target's units: the network's RMSE times the target's std.
    Rmse {
        target_std: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    /// Accuracy (classification) or RMSE in target units (regression).
    pub val_metric: Option<f64>,
    pub lr: f64,
}

/// Receives progress; the library itself never prints.
pub trait Observer {
    fn epoch_started(&mut self, _epoch: usize, _n_epochs: usize, _n_batches: usize) {}
    fn batch_done(&mut self, _batch: usize, _running_loss: f64) {}
    fn epoch_done(&mut self, _record: &EpochRecord, _n_epochs: usize) {}
}

/// An observer that ignores everything.
impl Observer for () {}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights the network holds, when validation chose them.
    pub best_epoch: Option<usize>,
    pub stopped_early: bool,
}

/// Gathers shuffled rows into reusable batch buffers.
struct Batcher {
    x: Buffer,
    classes: Vec<u32>,
    values: Buffer,
}

impl Batcher {
    fn fill(&mut self, data: &Dataset, rows: &[usize]) {
        self.x.resize(rows.len(), data.x.ncols());
        for (mut dst, &row) in self.x.view_mut().axis_iter_mut(Axis(0)).zip(rows) {
            dst.assign(&data.x.row(row));
        }
        match &data.y {
            OwnedTargets::Classes(c) => {
                self.classes.clear();
                self.classes.extend(rows.iter().map(|&r| c[r]));
            }
            OwnedTargets::Values(v) => {
                self.values.resize(rows.len(), v.ncols());
                for (mut dst, &row) in self.values.view_mut().axis_iter_mut(Axis(0)).zip(rows) {
                    dst.assign(&v.row(row));
                }
            }
        }
    }

    fn targets(&self, data: &Dataset) -> Targets<'_> {
        match data.y {
            OwnedTargets::Classes(_) => Targets::Classes(&self.classes),
            OwnedTargets::Values(_) => Targets::Values(self.values.view()),
        }
    }
}

/// Rows per forward pass when evaluating.
const EVAL_CHUNK: usize = 1024;

/// Loss and metric of `network` over a whole dataset.
pub fn evaluate(
    network: &mut Network,
    loss: &dyn Loss,
    data: &Dataset,
    metric: ValidationMetric,
) -> (f64, f64) {
    let n = data.n_rows();
    let (mut loss_sum, mut correct, mut squared) = (0.0, 0usize, 0.0);
    for start in (0..n).step_by(EVAL_CHUNK) {
        let end = (start + EVAL_CHUNK).min(n);
        let out = network.forward(data.x.slice(s![start..end, ..]), false);
        let y = data.targets(start..end);
        loss_sum += loss.loss(out, y) * (end - start) as f64;
        match y {
            Targets::Classes(classes) => {
                for (row, &c) in out.axis_iter(Axis(0)).zip(classes) {
                    correct += (argmax(row) == c as usize) as usize;
                }
            }
            Targets::Values(values) => {
                squared += out
                    .iter()
                    .zip(values.iter())
                    .map(|(&o, &t)| ((o - t) as f64).powi(2))
                    .sum::<f64>();
            }
        }
    }
    let value = match metric {
        ValidationMetric::Accuracy => correct as f64 / n as f64,
        ValidationMetric::Rmse { target_std } => (squared / n as f64).sqrt() * target_std,
    };
    (loss_sum / n as f64, value)
}

/// Index of the largest value (the first on ties).
pub fn argmax(row: ArrayView1<f32>) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Train `network` in place. With `validation`, the loss and metric are measured after
/// every epoch; with `patience > 0` training stops after that many epochs without a lower
/// validation loss and the best epoch's weights are restored.
pub fn train(
    network: &mut Network,
    loss: &dyn Loss,
    train_data: &Dataset,
    validation: Option<&Dataset>,
    metric: ValidationMetric,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<TrainOutcome> {
    let n = train_data.n_rows();
    if n == 0 {
        return Err(Error::Training("no training rows".to_string()));
    }
    // Subnormal floats cost a microcode assist per operation; see `FlushDenormals`.
    let _flush_denormals = FlushDenormals::new();
    let batch_size = config.batch_size.clamp(1, n);
    let n_batches = n.div_ceil(batch_size);
    let mut optimizer = config.optimizer.build();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut batcher = Batcher {
        x: Buffer::default(),
        classes: Vec::new(),
        values: Buffer::default(),
    };
    let mut grad = Buffer::default();
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(f64, usize)> = None;
    let mut best_params = Vec::new();
    let mut stopped_early = false;

    for epoch in 1..=config.epochs {
        observer.epoch_started(epoch, config.epochs, n_batches);
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for (batch, rows) in order.chunks(batch_size).enumerate() {
            batcher.fill(train_data, rows);
            let output = network.forward(batcher.x.view(), true);
            grad.resize(output.nrows(), output.ncols());
            let batch_loss =
                loss.loss_and_grad(output, batcher.targets(train_data), grad.view_mut());
            if !batch_loss.is_finite() {
                return Err(Error::Training(format!(
                    "the training loss became {batch_loss} at epoch {epoch}, batch {}; try a lower --lr",
                    batch + 1
                )));
            }
            network.backward(batcher.x.view(), grad.view());
            optimizer.step(network);
            loss_sum += batch_loss * rows.len() as f64;
            observer.batch_done(
                batch + 1,
                loss_sum / ((batch * batch_size + rows.len()) as f64),
            );
        }

        let (val_loss, val_metric) = match validation {
            Some(v) if v.n_rows() > 0 => {
                let (l, m) = evaluate(network, loss, v, metric);
                (Some(l), Some(m))
            }
            _ => (None, None),
        };
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / n as f64,
            val_loss,
            val_metric,
            lr: optimizer.learning_rate() as f64,
        };
        observer.epoch_done(&record, config.epochs);
        history.push(record);

        if let (Some(val_loss), true) = (val_loss, config.patience > 0) {
            if best.is_none_or(|(b, _)| val_loss < b) {
                best = Some((val_loss, epoch));
                network.copy_params_into(&mut best_params);
            } else if epoch - best.map_or(0, |(_, e)| e) >= config.patience {
                stopped_early = epoch < config.epochs;
                break;
            }
        }
    }

    let best_epoch = best.map(|(_, epoch)| epoch);
    if best_epoch.is_some() {
        network.load_params_from(&best_params);
    }
    Ok(TrainOutcome {
        history,
        best_epoch,
        stopped_early,
    })
}

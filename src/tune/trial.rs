//! Training one trial and scoring it on the study's validation rows: a seeded holdout
//! split of the training file, or K folds (one network per fold, the losses averaged).
//! A trial continues from its last rung's state, which gives the same weights as training
//! from scratch to the new epoch count (constant learning rate, no early stopping).

use super::space::TrialSettings;
use crate::error::{Error, Result};
use crate::nn::{Loss, Mse, SoftmaxCrossEntropy};
use crate::preprocess::TargetEncoder;
use crate::train::{
    assign_folds, build_network, dataset, mlp_config, prepare, train, training_config,
    AugmentLayout, EpochRecord, Observer, Prepared, Source, TrainSettings, TrainState,
    ValidationMetric,
};

/// The rows a study trains and validates its trials on: one part for a holdout split,
/// one per fold.
#[derive(Debug)]
pub struct Evaluation {
    parts: Vec<Prepared>,
}

/// The training states of one trial, one per part, after its last rung.
#[derive(Debug, Clone)]
pub struct TrialRun {
    states: Vec<TrainState>,
}

/// How training one rung of a trial ended.
#[derive(Debug)]
pub enum RungOutcome {
    /// Trained: the states to continue from, the mean validation loss and metric.
    Done {
        /// The states after the rung.
        run: TrialRun,
        /// Mean validation loss over the parts.
        val_loss: f64,
        /// Mean validation accuracy or RMSE over the parts.
        val_metric: f64,
    },
    /// Training failed (the loss diverged); the message says how.
    Failed(String),
    /// `stop` asked to end it before the last epoch.
    Stopped,
}

impl Evaluation {
    /// A holdout split: `fraction` of the rows (stratified for classification, seeded with
    /// `base.seed`) validate, the rest train; the pipeline is fitted on the training rows.
    pub fn holdout(
        base: &TrainSettings,
        source: &Source,
        fraction: f64,
        observer: &mut dyn Observer,
    ) -> Result<Evaluation> {
        // The holdout is the study's yardstick, whatever the table's size.
        let settings = TrainSettings {
            validation_split: fraction,
            validation: None,
            whole_small_tables: false,
            ..base.clone()
        };
        let part = prepare(&settings, source, &source.rows, observer)?;
        Ok(Evaluation { parts: vec![part] })
    }

    /// K folds as `train::cross_validate` deals them: each part trains on the other folds
    /// (its own pipeline) and validates on its fold.
    pub fn folds(
        base: &TrainSettings,
        source: &Source,
        k: usize,
        observer: &mut dyn Observer,
    ) -> Result<Evaluation> {
        if source.rows.len() < k {
            return Err(crate::train::SettingsError::TooFewRowsForFolds {
                file: source.table.source.clone(),
                rows: source.rows.len(),
                folds: k,
            }
            .into());
        }
        let settings = TrainSettings {
            validation_split: 0.0,
            validation: None,
            ..base.clone()
        };
        let folds = assign_folds(source, k, base.seed);
        let mut parts = Vec::with_capacity(k);
        for (i, held_out) in folds.iter().enumerate() {
            let mut pool: Vec<usize> = folds
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .flat_map(|(_, f)| f.iter().copied())
                .collect();
            pool.sort_unstable();
            let mut part = prepare(&settings, source, &pool, observer)?;
            let x = part.pipeline.transform(&source.table, Some(held_out))?.x;
            let y = part.pipeline.encode_targets(&source.table, held_out)?;
            part.validation = Some(dataset(x, y));
            parts.push(part);
        }
        Ok(Evaluation { parts })
    }

    /// Training rows of all parts together (a rung's work is epochs times this).
    pub fn train_rows(&self) -> usize {
        self.parts.iter().map(|p| p.train_data.n_rows()).sum()
    }

    /// Train `trial` (on `base`, without early stopping) to `epochs`, from `run` when
    /// given (it must be this trial's, at fewer epochs) or from fresh weights. `stop` is
    /// asked after every epoch whether to give up.
    pub fn train_rung(
        &self,
        base: &TrainSettings,
        trial: &TrialSettings,
        run: Option<TrialRun>,
        epochs: usize,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<RungOutcome> {
        let settings = TrainSettings {
            epochs,
            patience: 0,
            ..trial.apply(base)
        };
        let mut config = training_config(&settings);
        let mut states = match run {
            Some(run) => run.states,
            None => Vec::with_capacity(self.parts.len()),
        };
        let (mut loss_sum, mut metric_sum) = (0.0, 0.0);
        for (i, part) in self.parts.iter().enumerate() {
            if states.len() <= i {
                let mlp = mlp_config(&settings, &part.pipeline);
                let network = build_network(&settings, &part.pipeline, &mlp)?;
                states.push(TrainState::new(network, &config));
            }
            config.augment_layout =
                AugmentLayout::new(&settings.augment, &part.pipeline, settings.image_shape)?;
            let (loss, metric) = loss_and_metric(&part.pipeline.target_encoder);
            let validation = part.validation.as_ref();
            let mut observer = StopObserver {
                stop: &mut *stop,
                stopped: false,
            };
            let trained = train(
                &mut states[i],
                loss.as_ref(),
                &part.train_data,
                validation,
                metric,
                &config,
                &mut observer,
            );
            match trained {
                Ok(_) => {}
                Err(_) if observer.stopped => return Ok(RungOutcome::Stopped),
                Err(e @ (Error::Diverged { .. } | Error::LossDiverged { .. })) => {
                    return Ok(RungOutcome::Failed(e.to_string()))
                }
                Err(e) => return Err(e),
            }
            let last = states[i].history.last();
            let (Some(val_loss), Some(val_metric)) = (
                last.and_then(|r| r.val_loss),
                last.and_then(|r| r.val_metric),
            ) else {
                return Err(Error::Training("a trial has no validation rows".into()));
            };
            if !val_loss.is_finite() {
                return Ok(RungOutcome::Failed(format!(
                    "the validation loss became {val_loss}"
                )));
            }
            loss_sum += val_loss;
            metric_sum += val_metric;
        }
        let n = self.parts.len() as f64;
        Ok(RungOutcome::Done {
            run: TrialRun { states },
            val_loss: loss_sum / n,
            val_metric: metric_sum / n,
        })
    }
}

/// The loss and validation metric of a task (no class weights: a study tunes the rest).
fn loss_and_metric(encoder: &TargetEncoder) -> (Box<dyn Loss>, ValidationMetric) {
    match encoder {
        TargetEncoder::Classification { .. } => (
            Box::new(SoftmaxCrossEntropy {
                class_weights: None,
            }),
            ValidationMetric::Accuracy,
        ),
        TargetEncoder::Regression { std, .. } => {
            (Box::new(Mse), ValidationMetric::Rmse { target_std: *std })
        }
    }
}

/// Asks `stop` after each epoch and ends training when it says so.
struct StopObserver<'a> {
    stop: &'a mut dyn FnMut() -> bool,
    stopped: bool,
}

impl Observer for StopObserver<'_> {
    fn epoch_done(&mut self, _: &EpochRecord, _: usize, _: &TrainState) -> Result<()> {
        if (self.stop)() {
            self.stopped = true;
            return Err(Error::Training("the time budget is spent".into()));
        }
        Ok(())
    }
}

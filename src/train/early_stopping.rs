//! Early stopping on a validation value (the loss, or a monitored metric): remembers the
//! best epoch and its weights, and says when `patience` epochs have passed without an
//! improvement larger than `min_delta`.

use serde::{Deserialize, Serialize};

use crate::nn::Network;

/// The early-stopping record of a run (saved in checkpoints); the default has seen nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The last validation value that counted as an improvement; `None` before any.
    /// (Named for the loss, the value it first watched, so older checkpoints still load.)
    pub best_loss: Option<f64>,
    /// The epoch (1-based) of `best_loss`.
    pub best_epoch: Option<usize>,
    /// The best epoch's parameters, in `Network::visit_params` order.
    pub best_params: Vec<f32>,
    /// Epochs since `best_epoch`.
    pub epochs_without_improvement: usize,
}

impl EarlyStopping {
    /// Record an epoch's validation value (higher is better when `maximize`); true when
    /// training should stop.
    pub fn update(
        &mut self,
        value: f64,
        maximize: bool,
        epoch: usize,
        network: &mut Network,
        patience: usize,
        min_delta: f64,
    ) -> bool {
        let improves = |best: f64| {
            if maximize {
                value > best + min_delta
            } else {
                value < best - min_delta
            }
        };
        if self.best_loss.is_none_or(improves) {
            self.best_loss = Some(value);
            self.best_epoch = Some(epoch);
            network.copy_params_into(&mut self.best_params);
            self.epochs_without_improvement = 0;
            false
        } else {
            self.epochs_without_improvement += 1;
            self.epochs_without_improvement >= patience
        }
    }

    /// Put the best epoch's weights back into `network`.
    pub fn restore_best(&self, network: &mut Network) {
        if self.best_epoch.is_some() {
            network.load_params_from(&self.best_params);
        }
    }
}

//! Learning-rate schedules: a warm-up, then constant, step or cosine decay, optionally
//! scaled down further when the validation loss reaches a plateau.

use serde::{Deserialize, Serialize};

/// How the rate decays after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `step_size` epochs after the warm-up.
    Step,
    /// Half a cosine from the base rate down to 0 over the epochs after the warm-up.
    Cosine,
}

/// Reduce the rate by `factor` after `patience` epochs without a lower validation loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlateauConfig {
    /// Multiplier applied at each reduction, e.g. 0.1.
    pub factor: f64,
    /// Epochs without improvement before a reduction.
    pub patience: usize,
    /// The rate is never reduced below this.
    pub min_lr: f64,
}

/// The learning-rate schedule of a run. Default: constant, no warm-up, `step_size` 30,
/// `gamma` 0.1, no plateau rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleConfig {
    /// The decay after the warm-up.
    pub kind: ScheduleKind,
    /// Epochs of linear warm-up from base/warmup to base.
    pub warmup_epochs: usize,
    /// Epochs between two decays of `ScheduleKind::Step` (0 counts as 1).
    pub step_size: usize,
    /// Multiplier of each decay of `ScheduleKind::Step`.
    pub gamma: f64,
    /// Reduce-on-plateau rule on top of `kind`; `None` turns it off.
    pub plateau: Option<PlateauConfig>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            kind: ScheduleKind::Constant,
            warmup_epochs: 0,
            step_size: 30,
            gamma: 0.1,
            plateau: None,
        }
    }
}

/// What the plateau rule remembers between epochs (saved in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateauState {
    /// The last validation loss that counted as an improvement; `None` before any.
    pub best_loss: Option<f64>,
    /// Epochs since the last improvement or reduction.
    pub epochs_without_improvement: usize,
    /// Product of the reductions so far.
    pub scale: f64,
}

impl Default for PlateauState {
    fn default() -> Self {
        PlateauState {
            best_loss: None,
            epochs_without_improvement: 0,
            scale: 1.0,
        }
    }
}

impl ScheduleConfig {
    /// The learning rate of `epoch` (1-based) for a run of `n_epochs`.
    pub fn lr(&self, base: f64, epoch: usize, n_epochs: usize, plateau: &PlateauState) -> f64 {
        let warmup = self.warmup_epochs;
        if epoch <= warmup {
            return base * epoch as f64 / warmup as f64 * plateau.scale;
        }
        let after = (epoch - 1 - warmup) as f64;
        let decay = match self.kind {
            ScheduleKind::Constant => 1.0,
            ScheduleKind::Step => self
                .gamma
                .powi((after as usize / self.step_size.max(1)) as i32),
            ScheduleKind::Cosine => {
                let span = n_epochs.saturating_sub(warmup).max(1) as f64;
                0.5 * (1.0 + (std::f64::consts::PI * after / span).cos())
            }
        };
        let lr = base * decay * plateau.scale;
        match self.plateau {
            Some(p) => lr.max(p.min_lr.min(base)),
            None => lr,
        }
    }

    /// Update the plateau rule with an epoch's validation loss.
    pub fn observe(&self, plateau: &mut PlateauState, val_loss: f64, min_delta: f64) {
        let Some(config) = self.plateau else { return };
        if plateau
            .best_loss
            .is_none_or(|best| val_loss < best - min_delta)
        {
            plateau.best_loss = Some(val_loss);
            plateau.epochs_without_improvement = 0;
        } else {
            plateau.epochs_without_improvement += 1;
            if plateau.epochs_without_improvement >= config.patience {
                plateau.scale *= config.factor;
                plateau.epochs_without_improvement = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lrs(config: &ScheduleConfig, n: usize) -> Vec<f64> {
        let state = PlateauState::default();
        (1..=n).map(|e| config.lr(1.0, e, n, &state)).collect()
    }

    #[test]
    fn warmup_then_step_decay() {
        let config = ScheduleConfig {
            kind: ScheduleKind::Step,
            warmup_epochs: 2,
            step_size: 2,
            gamma: 0.5,
            plateau: None,
        };
        assert_eq!(lrs(&config, 7), [0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn cosine_goes_from_base_towards_zero() {
        let config = ScheduleConfig {
            kind: ScheduleKind::Cosine,
            ..Default::default()
        };
        let values = lrs(&config, 4);
        let expected = [1.0, 0.853_553_390_593_273_8, 0.5, 0.146_446_609_406_726_24];
        for (v, e) in values.iter().zip(expected) {
            assert!((v - e).abs() < 1e-12, "{values:?}");
        }
    }

    #[test]
    fn plateau_reduces_after_patience_and_respects_the_minimum() {
        let config = ScheduleConfig {
            plateau: Some(PlateauConfig {
                factor: 0.1,
                patience: 2,
                min_lr: 0.005,
            }),
            ..Default::default()
        };
        let mut state = PlateauState::default();
        for loss in [1.0, 0.9, 0.95, 0.95] {
            config.observe(&mut state, loss, 0.0);
        }
        assert!((config.lr(1.0, 5, 10, &state) - 0.1).abs() < 1e-12);
        for loss in [0.95, 0.95, 0.95, 0.95] {
            config.observe(&mut state, loss, 0.0);
        }
        assert_eq!(config.lr(1.0, 9, 10, &state), 0.005);
    }
}

//! `TuneSettings`: what decides a study (the data and target, the search space, how many
//! trials or how long, how trials are validated, the rungs' epochs), with documented
//! defaults, checked once by `check`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::space::SearchSpace;
use crate::error::{Error, Result};
use crate::train::TrainSettings;

/// How long a study searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// Synchronous successive halving over this many trials; the result does not depend
    /// on timing.
    Trials(usize),
    /// Asynchronous successive halving until this much wall-clock time is spent,
    /// the final refit included.
    Time(Duration),
}

/// How a trial is scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    /// This fraction of the rows, split off once with the study's seed.
    Holdout(f64),
    /// The mean validation loss over this many folds.
    Folds(usize),
}

impl Validation {
    /// `holdout 0.2` or `5 folds`.
    pub fn describe(self) -> String {
        match self {
            Validation::Holdout(f) => format!("holdout {f}"),
            Validation::Folds(k) => format!("{k} folds"),
        }
    }
}

/// The default number of trials.
pub const DEFAULT_TRIALS: usize = 27;
/// The default holdout fraction.
pub const DEFAULT_HOLDOUT: f64 = 0.2;

/// What decides a study. `TuneSettings::new(base)` gives the defaults listed on each
/// field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneSettings {
    /// The data, target and seed, and every setting the study does not tune (the tuned
    /// ones are replaced by each trial's).
    pub base: TrainSettings,
    /// The values the trials draw from. Default: `SearchSpace::default()`.
    pub space: SearchSpace,
    /// Trials or time. Default: `Trials(DEFAULT_TRIALS)`.
    pub budget: Budget,
    /// How trials are scored. Default: `Holdout(DEFAULT_HOLDOUT)`.
    pub validation: Validation,
    /// Epochs of the first rung, at least 1. Default: 3.
    pub min_epochs: usize,
    /// Epochs of the last rung, at least `min_epochs`. Default: 81.
    pub max_epochs: usize,
    /// A rung keeps the best 1/eta of its trials and gives them eta times the epochs;
    /// at least 2. Default: 3.
    pub eta: usize,
}

impl TuneSettings {
    /// The defaults, tuning on `base`'s data and target with `base.seed`.
    pub fn new(base: TrainSettings) -> TuneSettings {
        TuneSettings {
            base,
            space: SearchSpace::default(),
            budget: Budget::Trials(DEFAULT_TRIALS),
            validation: Validation::Holdout(DEFAULT_HOLDOUT),
            min_epochs: 3,
            max_epochs: 81,
            eta: 3,
        }
    }

    /// Check the values; the first problem is the error (a usage error).
    pub fn check(&self) -> Result<()> {
        self.base.check()?;
        let problem = match (self.budget, self.validation) {
            (Budget::Trials(0), _) => Some("the number of trials must be at least 1".to_string()),
            (Budget::Time(d), _) if d.is_zero() => {
                Some("the time budget must be more than 0 seconds".to_string())
            }
            (_, Validation::Folds(k)) if k < 2 => Some(format!("{k} folds; expected at least 2")),
            (_, Validation::Holdout(f)) if !(f > 0.0 && f < 1.0) => Some(format!(
                "a holdout fraction of {f}; expected a number between 0 and 1"
            )),
            _ if self.min_epochs == 0 => Some("min_epochs must be at least 1".to_string()),
            _ if self.max_epochs < self.min_epochs => Some(format!(
                "max_epochs {} is below min_epochs {}",
                self.max_epochs, self.min_epochs
            )),
            _ if self.eta < 2 => Some(format!("eta {}; expected at least 2", self.eta)),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(Error::config(problem));
        }
        self.space
            .check()
            .map_err(|p| Error::config(format!("search space: {p}")))
    }

    /// What a journal records of the study, so that `--resume` continues only the same
    /// study: everything but where the model goes.
    pub fn fingerprint(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

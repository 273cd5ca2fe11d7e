//! The files of a study run as independent jobs: a `Plan` lists one rung's trials (with
//! the study's settings and the records of the rungs before), a `TrialResult` is what one
//! job returns. A result names its plan by the plan's fingerprint, a hash of its content.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::journal::TrialRecord;
use super::schedule::Schedule;
use super::settings::{Budget, TuneSettings};
use super::space::TrialSettings;
use crate::error::{Error, Location, Result};

/// The `format` of a plan file.
pub const PLAN_FORMAT: &str = "csvnn-tune-plan";
/// The `format` of a trial's result file.
pub const RESULT_FORMAT: &str = "csvnn-tune-trial";

/// One rung of a synchronous study, its trials to be trained as independent jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always `"csvnn-tune-plan"`.
    pub format: String,
    /// The study (`TuneSettings::fingerprint`): the data, target, seed, space, number of
    /// trials, validation and rungs.
    pub study: serde_json::Value,
    /// The rung, from 0.
    pub rung: usize,
    /// Epochs each trial of this rung trains to, in all.
    pub epochs: usize,
    /// Whether this is the study's last rung: collecting its results gives the model
    /// rather than another plan.
    pub last: bool,
    /// The trials of this rung, in trial order; a job trains entry `K` of this list.
    pub trials: Vec<PlanTrial>,
    /// The records of the rungs before, in the order the one-process study makes them.
    pub history: Vec<TrialRecord>,
}

/// One trial of a plan's rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanTrial {
    /// The trial's index in the study, from 0.
    pub trial: usize,
    /// Its settings.
    pub settings: TrialSettings,
    /// Epochs it reached at the rung before (0 at rung 0). A job trains it from fresh
    /// weights to the plan's epochs, which gives the weights continuing would.
    pub epochs_done: usize,
}

/// What training one entry of a plan gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// Always `"csvnn-tune-trial"`.
    pub format: String,
    /// The fingerprint of the plan it was trained from (`Plan::fingerprint`).
    pub plan: String,
    /// The entry of the plan's `trials`, from 0.
    pub entry: usize,
    /// The trial's index in the study.
    pub trial: usize,
    /// The plan's rung.
    pub rung: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Validation loss after the last epoch; `None` when training failed.
    pub val_loss: Option<f64>,
    /// Validation accuracy or RMSE, like `val_loss`.
    pub val_metric: Option<f64>,
    /// Why training failed, if it did.
    pub failed: Option<String>,
    /// Wall-clock seconds the training took.
    pub seconds: f64,
}

impl Plan {
    /// The study the plan belongs to, checked: its settings must read back to the same
    /// fingerprint, hold a number of trials, and give this rung these epochs.
    pub fn settings(&self) -> Result<TuneSettings> {
        let settings: TuneSettings = serde_json::from_value(self.study.clone())
            .map_err(|e| Error::config(format!("`study` is not a study's settings ({e})")))?;
        if settings.fingerprint() != self.study {
            return Err(Error::config("`study` does not read back to itself"));
        }
        settings.check()?;
        if let Budget::Time(_) = settings.budget {
            return Err(Error::config(
                "a plan is for a number of trials, not a time budget",
            ));
        }
        let schedule = schedule(&settings);
        let last = self.rung + 1 == schedule.epochs.len();
        if schedule.epochs.get(self.rung) != Some(&self.epochs) || self.last != last {
            return Err(Error::config(format!(
                "rung {} of {} epochs is not a rung of the study (its rungs train {:?} epochs)",
                self.rung, self.epochs, schedule.epochs
            )));
        }
        Ok(settings)
    }

    /// A 16-digit hex hash of the plan's content (64-bit FNV-1a of its compact JSON): the
    /// results of a plan carry it, so that results of another plan are told apart.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{hash:016x}")
    }

    /// Read and check the plan at `path`; a problem names the file.
    pub fn read(path: &Path) -> Result<Plan> {
        let shown = path.display().to_string();
        let plan: Plan = read_json(path, PLAN_FORMAT, "a tune plan")?;
        plan.settings()
            .map_err(|e| Error::config(format!("{shown}: {e}")))?;
        Ok(plan)
    }

    /// Write the plan to `path` (atomically, pretty-printed).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_json(path, self)
    }
}

impl TrialResult {
    /// Read the result at `path`; a file that is not one names the file.
    pub fn read(path: &Path) -> Result<TrialResult> {
        read_json(path, RESULT_FORMAT, "a trial's result")
    }

    /// Write the result to `path` (atomically).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_json(path, self)
    }

    /// The study's record of this result, the trial's `settings` given.
    pub fn record(&self, settings: TrialSettings) -> TrialRecord {
        TrialRecord {
            trial: self.trial,
            rung: self.rung,
            settings,
            epochs: self.epochs,
            val_loss: self.val_loss,
            val_metric: self.val_metric,
            failed: self.failed.clone(),
            seconds: self.seconds,
        }
    }
}

/// The rungs of a study.
pub(super) fn schedule(settings: &TuneSettings) -> Schedule {
    Schedule::new(settings.min_epochs, settings.max_epochs, settings.eta)
}

/// A JSON object whose `format` is `format`, read as a `T`.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, format: &str, what: &str) -> Result<T> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(&shown, e))?;
    let not = |why: String| Error::data(Location::file(&shown), format!("not {what} ({why})"));
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| not(e.to_string()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(format) {
        return Err(not(format!("expected \"format\": \"{format}\"")));
    }
    serde_json::from_value(value).map_err(|e| not(e.to_string()))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let shown = path.display().to_string();
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::io(&shown, e.into()))?;
    text.push('\n');
    crate::atomic::write_atomically(path, |out| {
        out.write_all(text.as_bytes())
            .map_err(|e| Error::io(&shown, e))
    })
}

#[cfg(test)]
mod tests {
    use super::super::jobs::make_plan;
    use super::*;
    use crate::train::TrainSettings;

    #[test]
    fn a_plan_reads_back_its_study_and_its_fingerprint_follows_its_content() {
        let base = TrainSettings::new("data/auto_mpg.train.csv", "mpg");
        let settings = TuneSettings {
            budget: Budget::Trials(4),
            ..TuneSettings::new(base)
        };
        let plan = make_plan(&settings).unwrap();
        assert_eq!(plan.settings().unwrap(), settings);
        assert_eq!((plan.rung, plan.epochs, plan.last), (0, 3, false));
        assert_eq!(plan.trials.len(), 4);
        let same: Plan = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
        assert_eq!(same.fingerprint(), plan.fingerprint());
        let mut other = plan.clone();
        other.trials[1].settings.lr *= 2.0;
        assert_ne!(other.fingerprint(), plan.fingerprint());
        let wrong_rung = Plan {
            epochs: 4,
            ..plan.clone()
        };
        assert!(wrong_rung.settings().is_err());
        let timed = TuneSettings {
            budget: Budget::Time(std::time::Duration::from_secs(60)),
            ..settings
        };
        assert!(make_plan(&timed).is_err());
    }
}

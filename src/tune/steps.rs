//! The steps a study is made of, shared by `tune` (one process) and the plan route
//! (each trial its own process): loading the data and the validation rows, drawing the
//! trials, training one trial-rung into a record, choosing who goes on after a rung of a
//! synchronous study, and refitting the best trial on all rows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::journal::TrialRecord;
use super::leaderboard::{leaderboard, LeaderRow};
use super::schedule::{best_of, Schedule};
use super::settings::{TuneSettings, Validation};
use super::space::TrialSettings;
use super::trial::{Evaluation, RungOutcome, TrialRun};
use crate::error::{Error, Result};
use crate::model::{Model, TuneNote};
use crate::train::{metric_name, prepare, train_model, Observer, Source, TrainSettings};

/// Receives a study's progress; as an `Observer` it hears about the data and the refit.
pub trait TuneObserver: Observer {
    /// A trial finished a rung (not called for the records a resumed study reuses).
    fn trial_done(&mut self, _record: &TrialRecord) -> Result<()> {
        Ok(())
    }
    /// The search ended; `best` is refitted on all rows next.
    fn refit_started(&mut self, _best: &LeaderRow) {}
    /// The refit of `row` diverged on all rows (`error`); the next best trial is refitted.
    fn refit_diverged(&mut self, _row: &LeaderRow, _error: &Error) {}
}

/// What a study found and the refitted model.
#[derive(Debug)]
pub struct TuneOutcome {
    /// Every trial-rung, in the order the study ran (or reused) them.
    pub records: Vec<TrialRecord>,
    /// One row per trial, best first.
    pub leaderboard: Vec<LeaderRow>,
    /// The best settings trained on all rows; its training record holds a `TuneNote`.
    pub model: Model,
    /// `accuracy` or `rmse`.
    pub metric: &'static str,
}

/// The table and the rows trials train and validate on.
pub(super) fn load(
    settings: &TuneSettings,
    observer: &mut dyn Observer,
) -> Result<(Source, Evaluation)> {
    let source = Source::load(&settings.base, observer)?;
    let evaluation = match settings.validation {
        Validation::Holdout(f) => Evaluation::holdout(&settings.base, &source, f, observer)?,
        Validation::Folds(k) => Evaluation::folds(&settings.base, &source, k, observer)?,
    };
    Ok((source, evaluation))
}

/// The generator that draws a study's trials, in trial order.
pub(super) fn trial_rng(settings: &TuneSettings) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(settings.base.seed ^ 0x7E57_7E57)
}

/// The settings of the study's first `n` trials.
pub(super) fn draw_trials(settings: &TuneSettings, n: usize) -> Vec<TrialSettings> {
    let mut rng = trial_rng(settings);
    (0..n).map(|_| settings.space.sample(&mut rng)).collect()
}

/// Train trial `t` (settings `trial`) to rung `k` (`epochs`), from `run` or from fresh
/// weights: its record and, unless it failed, the state to continue from. `None` when
/// `stop` ended it early.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_record(
    evaluation: &Evaluation,
    base: &TrainSettings,
    t: usize,
    k: usize,
    trial: TrialSettings,
    run: Option<TrialRun>,
    epochs: usize,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Option<(TrialRecord, Option<TrialRun>)>> {
    let began = std::time::Instant::now();
    let outcome = evaluation.train_rung(base, &trial, run, epochs, stop)?;
    let (val_loss, val_metric, failed, run) = match outcome {
        RungOutcome::Stopped => return Ok(None),
        RungOutcome::Failed(why) => (None, None, Some(why), None),
        RungOutcome::Done {
            run,
            val_loss,
            val_metric,
        } => (Some(val_loss), Some(val_metric), None, Some(run)),
    };
    let record = TrialRecord {
        trial: t,
        rung: k,
        settings: trial,
        epochs,
        val_loss,
        val_metric,
        failed,
        seconds: began.elapsed().as_secs_f64(),
    };
    Ok(Some((record, run)))
}

/// The trials that go on after rung `k` of a synchronous study of `n` trials, in trial
/// order: the best `1/eta` of the rung's `records` (ties by trial index, failed ones
/// never). `None` when the study ends after rung `k` (the last rung, or none left).
pub(super) fn promoted(
    schedule: &Schedule,
    n: usize,
    k: usize,
    records: &[TrialRecord],
) -> Option<Vec<usize>> {
    let sizes = schedule.rung_sizes(n);
    if k + 1 >= sizes.len() {
        return None;
    }
    let results: Vec<(Option<f64>, usize)> = records
        .iter()
        .filter(|r| r.rung == k)
        .map(|r| (r.val_loss, r.trial))
        .collect();
    let mut alive = best_of(&results, sizes[k + 1]);
    alive.sort_unstable();
    (!alive.is_empty()).then_some(alive)
}

/// When a refit under a time budget has to end, and how long each trial's refit is
/// expected to take (by trial index).
pub(super) struct RefitClock {
    pub deadline: Instant,
    pub estimates: BTreeMap<usize, Duration>,
}

impl RefitClock {
    /// The fallback after a diverged refit: the first of `rows` (leaderboard order) whose
    /// refit is expected to end in time, else the quickest (the budget is overrun
    /// least). `None` when `rows` is empty.
    fn pick<'r>(&self, rows: &[&'r LeaderRow]) -> Option<&'r LeaderRow> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let estimate =
            |row: &LeaderRow| self.estimates.get(&row.trial).copied().unwrap_or_default();
        rows.iter()
            .find(|row| estimate(row) <= left)
            .or_else(|| rows.iter().min_by_key(|row| estimate(row)))
            .copied()
    }
}

/// Rank `records` and train the best trial's settings on all rows of `source` for the
/// epochs it reached, without a validation split; the model notes the study. After a
/// diverged refit the next best is refitted; with a `clock`, the next best that is
/// expected to end in time.
pub(super) fn refit(
    settings: &TuneSettings,
    source: &Source,
    records: Vec<TrialRecord>,
    clock: Option<&RefitClock>,
    observer: &mut dyn TuneObserver,
) -> Result<TuneOutcome> {
    let board = leaderboard(&records);
    if board.first().is_none_or(|best| best.val_loss.is_none()) {
        let why = board
            .first()
            .and_then(|r| r.failed.clone())
            .unwrap_or_default();
        return Err(Error::Training(format!(
            "every trial failed; the first: {why}"
        )));
    }
    // A trial that held on 80% of the rows can still diverge on all of them (a high
    // learning rate, more steps per epoch): then the next best is refitted, in the
    // leaderboard's order, so the result stays the same on every run (under a time
    // budget, skipping those whose refit would overrun it).
    let mut left: Vec<&LeaderRow> = board.iter().filter(|row| row.val_loss.is_some()).collect();
    let mut next = left.remove(0);
    let (best, mut model) = loop {
        let row = next;
        observer.refit_started(row);
        let refit = TrainSettings {
            epochs: row.epochs,
            validation_split: 0.0,
            validation: None,
            ..row.settings.apply(&settings.base)
        };
        let prepared = prepare(&refit, source, &source.rows, observer)?;
        match train_model(&refit, source, &prepared, None, observer) {
            Ok(model) => break (row.clone(), model),
            Err(e @ (Error::Diverged { .. } | Error::LossDiverged { .. })) if !left.is_empty() => {
                observer.refit_diverged(row, &e);
                next = match clock {
                    Some(clock) => clock.pick(&left).expect("rows are left"),
                    None => left[0],
                };
                left.retain(|r| r.trial != next.trial);
            }
            Err(e) => return Err(e),
        }
    };
    model.training.tuned = Some(TuneNote {
        trials: board.len(),
        best_trial: best.trial,
        rung: best.rung,
        epochs: best.epochs,
        val_loss: best.val_loss.unwrap_or(f64::NAN),
        val_metric: best.val_metric.unwrap_or(f64::NAN),
        validation: settings.validation.describe(),
    });
    Ok(TuneOutcome {
        records,
        leaderboard: board,
        model,
        metric: metric_name(source.task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;
    use crate::train::OptimizerChoice;

    /// Records the CLI's observer would hear about, by trial.
    #[derive(Default)]
    struct Heard {
        started: Vec<usize>,
        diverged: Vec<usize>,
    }
    impl Observer for Heard {}
    impl TuneObserver for Heard {
        fn refit_started(&mut self, best: &LeaderRow) {
            self.started.push(best.trial);
        }
        fn refit_diverged(&mut self, row: &LeaderRow, _error: &Error) {
            self.diverged.push(row.trial);
        }
    }

    fn record(trial: usize, lr: f32, val_loss: f64) -> TrialRecord {
        TrialRecord {
            trial,
            rung: 0,
            settings: TrialSettings {
                optimizer: OptimizerChoice::Sgd,
                lr,
                hidden: vec![8],
                activation: Activation::Relu,
                dropout: 0.0,
                weight_decay: 0.0,
                batch_size: 32,
                encoders: None,
            },
            epochs: 3,
            val_loss: Some(val_loss),
            val_metric: Some(0.0),
            failed: None,
            seconds: 0.0,
        }
    }

    /// The best trial's learning rate blows up on all rows: the next best is refitted and
    /// the model says so; with nothing left the divergence is the error.
    #[test]
    fn a_refit_that_diverges_falls_back_to_the_next_best_trial() {
        let base = TrainSettings::new("data/auto_mpg.train.csv", "mpg");
        let settings = TuneSettings::new(TrainSettings {
            drop: vec!["name".into()],
            ..base
        });
        let (source, _) = load(&settings, &mut Heard::default()).unwrap();
        let records = vec![record(0, 1e6, 0.1), record(1, 1e-3, 0.2)];
        let mut heard = Heard::default();
        let outcome = refit(&settings, &source, records, None, &mut heard).unwrap();
        assert_eq!((heard.started, heard.diverged), (vec![0, 1], vec![0]));
        let note = outcome.model.training.tuned.unwrap();
        assert_eq!((note.best_trial, note.val_loss), (1, 0.2));

        let mut heard = Heard::default();
        let error = refit(
            &settings,
            &source,
            vec![record(0, 1e6, 0.1)],
            None,
            &mut heard,
        )
        .unwrap_err();
        assert!(
            matches!(error, Error::Diverged { .. } | Error::LossDiverged { .. }),
            "{error}"
        );
        assert_eq!(heard.diverged, Vec::<usize>::new());
    }

    /// Under a time budget the fallback is the next best trial expected to end in time
    /// (trial 1's refit would take an hour, trial 2's a moment); when none is, the
    /// quickest.
    #[test]
    fn a_fallback_under_a_budget_skips_trials_that_would_overrun_it() {
        let base = TrainSettings::new("data/auto_mpg.train.csv", "mpg");
        let settings = TuneSettings::new(TrainSettings {
            drop: vec!["name".into()],
            ..base
        });
        let (source, _) = load(&settings, &mut Heard::default()).unwrap();
        let records = || {
            vec![
                record(0, 1e6, 0.1),
                record(1, 1e-3, 0.2),
                record(2, 1e-3, 0.3),
            ]
        };
        let clock = |hour_for_1: bool| RefitClock {
            deadline: Instant::now() + Duration::from_secs(60),
            estimates: BTreeMap::from([
                (0, Duration::from_secs(1)),
                (1, Duration::from_secs(if hour_for_1 { 3600 } else { 1 })),
                (2, Duration::from_secs(if hour_for_1 { 1 } else { 7200 })),
            ]),
        };
        let mut heard = Heard::default();
        refit(
            &settings,
            &source,
            records(),
            Some(&clock(true)),
            &mut heard,
        )
        .unwrap();
        assert_eq!((heard.started, heard.diverged), (vec![0, 2], vec![0]));

        let mut heard = Heard::default();
        refit(
            &settings,
            &source,
            records(),
            Some(&clock(false)),
            &mut heard,
        )
        .unwrap();
        assert_eq!(heard.started, vec![0, 1]);

        let mut slow = clock(true);
        slow.estimates.insert(2, Duration::from_secs(5000));
        let mut heard = Heard::default();
        refit(&settings, &source, records(), Some(&slow), &mut heard).unwrap();
        assert_eq!(heard.started, vec![0, 1], "none fits: the quickest");
    }
}

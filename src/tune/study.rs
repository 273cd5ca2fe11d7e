//! `tune`: run a study and refit its best settings. With a number of trials, synchronous
//! successive halving: every trial of a rung finishes before the best 1/eta go on, and
//! nothing depends on timing. With a time budget, asynchronous promotion (ASHA): a trial
//! goes on as soon as it is among the best 1/eta of its rung's results so far, otherwise
//! a new trial starts; the search stops in time for the refit to end within the budget.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;

use super::journal::TrialRecord;
use super::leaderboard::leaderboard;
use super::schedule::{best_of, Schedule};
use super::settings::{Budget, TuneSettings};
use super::space::TrialSettings;
use super::steps::{
    load, promoted, refit, train_record, trial_rng, RefitClock, TuneObserver, TuneOutcome,
};
use super::trial::{Evaluation, TrialRun};
use crate::error::{Error, Result};

/// Run the study `settings` describes, reusing the trial-rungs of `done` (a journal of
/// the same study) instead of training them again, then refit the best trial's settings
/// on all rows for as many epochs as it reached.
pub fn tune(
    settings: &TuneSettings,
    done: &[TrialRecord],
    observer: &mut dyn TuneObserver,
) -> Result<TuneOutcome> {
    let start = Instant::now();
    settings.check()?;
    let (source, evaluation) = load(settings, observer)?;
    let mut study = Study {
        settings,
        schedule: Schedule::new(settings.min_epochs, settings.max_epochs, settings.eta),
        evaluation,
        rng: trial_rng(settings),
        drawn: Vec::new(),
        done: done.iter().map(|r| ((r.trial, r.rung), r)).collect(),
        records: Vec::new(),
        work: Vec::new(),
        runs: BTreeMap::new(),
        rows: source.rows.len(),
    };
    let clock = match settings.budget {
        Budget::Trials(n) => {
            study.synchronous(n, observer)?;
            None
        }
        Budget::Time(budget) => {
            study.asynchronous(start, budget, observer)?;
            Some(RefitClock {
                deadline: start + budget,
                estimates: study.refit_estimates(),
            })
        }
    };
    refit(settings, &source, study.records, clock.as_ref(), observer)
}

/// Whether a rung was trained (or reused) or the time ran out.
enum Ran {
    Yes,
    OutOfTime,
}

struct Study<'a> {
    settings: &'a TuneSettings,
    schedule: Schedule,
    evaluation: Evaluation,
    /// Draws the trials' settings, in trial order.
    rng: ChaCha8Rng,
    drawn: Vec<TrialSettings>,
    done: BTreeMap<(usize, usize), &'a TrialRecord>,
    records: Vec<TrialRecord>,
    /// Row-epochs trained for each record (to estimate how long training takes).
    work: Vec<f64>,
    /// The states to continue from: trial -> (rung, run).
    runs: BTreeMap<usize, (usize, TrialRun)>,
    /// Rows with a target (the refit trains on all of them).
    rows: usize,
}

impl Study<'_> {
    /// Trial `t`'s settings, drawing trials up to it.
    fn trial(&mut self, t: usize) -> TrialSettings {
        while self.drawn.len() <= t {
            let next = self.settings.space.sample(&mut self.rng);
            self.drawn.push(next);
        }
        self.drawn[t].clone()
    }

    /// Train trial `t` to rung `k` (or reuse the journal's record), stopping at `deadline`.
    fn run_rung(
        &mut self,
        t: usize,
        k: usize,
        deadline: Option<Instant>,
        observer: &mut dyn TuneObserver,
    ) -> Result<Ran> {
        let trial = self.trial(t);
        let epochs = self.schedule.epochs[k];
        if let Some(&done) = self.done.get(&(t, k)).filter(|r| r.settings == trial) {
            self.runs.remove(&t);
            self.records.push(done.clone());
            self.work
                .push((epochs * self.evaluation.train_rows()) as f64);
            return Ok(Ran::Yes);
        }
        let run = match self.runs.remove(&t) {
            Some((rung, run)) if rung + 1 == k => Some(run),
            _ => None,
        };
        let from = if run.is_some() {
            self.schedule.epochs[k - 1]
        } else {
            0
        };
        let mut stop = || deadline.is_some_and(|d| Instant::now() >= d);
        let base = &self.settings.base;
        let trained = train_record(&self.evaluation, base, t, k, trial, run, epochs, &mut stop)?;
        let Some((record, run)) = trained else {
            return Ok(Ran::OutOfTime);
        };
        if let Some(run) = run.filter(|_| k + 1 < self.schedule.epochs.len()) {
            self.runs.insert(t, (k, run));
        }
        observer.trial_done(&record)?;
        self.records.push(record);
        self.work
            .push(((epochs - from) * self.evaluation.train_rows()) as f64);
        Ok(Ran::Yes)
    }

    /// The results at rung `k` as (loss, trial) pairs.
    fn results(&self, k: usize) -> Vec<(Option<f64>, usize)> {
        self.records
            .iter()
            .filter(|r| r.rung == k)
            .map(|r| (r.val_loss, r.trial))
            .collect()
    }

    /// Synchronous successive halving over `n` trials.
    fn synchronous(&mut self, n: usize, observer: &mut dyn TuneObserver) -> Result<()> {
        let mut alive: Vec<usize> = (0..n).collect();
        for k in 0.. {
            for &t in &alive {
                self.run_rung(t, k, None, observer)?;
            }
            match promoted(&self.schedule, n, k, &self.records) {
                Some(next) => alive = next,
                None => break,
            }
            self.runs.retain(|t, _| alive.contains(t));
        }
        Ok(())
    }

    /// Asynchronous successive halving until the search's share of `budget` is spent.
    fn asynchronous(
        &mut self,
        start: Instant,
        budget: Duration,
        observer: &mut dyn TuneObserver,
    ) -> Result<()> {
        loop {
            let deadline = start + budget.saturating_sub(self.refit_estimate());
            let first = self.records.is_empty();
            if Instant::now() >= deadline && !first {
                return Ok(());
            }
            let (t, k) = self.next_job();
            // The first rung runs until the whole budget is spent: without a result
            // there is nothing to refit.
            let stop_at = if first { start + budget } else { deadline };
            if let Ran::OutOfTime = self.run_rung(t, k, Some(stop_at), observer)? {
                if self.records.is_empty() {
                    return Err(Error::Training(format!(
                        "the time budget of {:?} ended before the first trial finished its first {} epochs; give a longer budget or fewer epochs",
                        budget, self.schedule.epochs[0]
                    )));
                }
                return Ok(());
            }
            self.prune_runs(k);
        }
    }

    /// A promotion, highest rung first, else a new trial at rung 0.
    fn next_job(&self) -> (usize, usize) {
        for k in (0..self.schedule.epochs.len().saturating_sub(1)).rev() {
            let results = self.results(k);
            let promoted: BTreeSet<usize> = self
                .records
                .iter()
                .filter(|r| r.rung == k + 1)
                .map(|r| r.trial)
                .collect();
            let promotable = self.schedule.promotable(results.len());
            if let Some(t) = best_of(&results, promotable)
                .into_iter()
                .find(|t| !promoted.contains(t))
            {
                return (t, k + 1);
            }
        }
        let next = self.records.iter().map(|r| r.trial + 1).max().unwrap_or(0);
        (next, 0)
    }

    /// Keep the states of rung `k` only for trials that may still be promoted soon (a
    /// dropped one is retrained from scratch if it is, with the same result).
    fn prune_runs(&mut self, k: usize) {
        let results = self.results(k);
        let keep = 2 * self.schedule.promotable(results.len()) + 1;
        let kept = best_of(&results, keep);
        self.runs
            .retain(|t, (rung, _)| *rung != k || kept.contains(t));
    }

    /// How long the refit of the current best trial will take (zero before any result).
    fn refit_estimate(&self) -> Duration {
        let board = leaderboard(&self.records);
        board
            .first()
            .filter(|b| b.val_loss.is_some())
            .map_or(Duration::ZERO, |best| {
                self.estimate(best.trial, best.epochs)
            })
    }

    /// How long each finished trial's refit will take, by trial index.
    fn refit_estimates(&self) -> BTreeMap<usize, Duration> {
        leaderboard(&self.records)
            .iter()
            .filter(|row| row.val_loss.is_some())
            .map(|row| (row.trial, self.estimate(row.trial, row.epochs)))
            .collect()
    }

    /// How long training trial `t` on all rows for `epochs` will take, from its own pace
    /// (its seconds per row-epoch), with a fifth more for preparing the data.
    fn estimate(&self, t: usize, epochs: usize) -> Duration {
        let (seconds, work) = self
            .records
            .iter()
            .zip(&self.work)
            .filter(|(r, _)| r.trial == t)
            .fold((0.0, 0.0), |(s, w), (r, &rw)| (s + r.seconds, w + rw));
        if work <= 0.0 {
            return Duration::ZERO;
        }
        let estimate = 1.2 * seconds / work * (epochs * self.rows) as f64;
        Duration::from_secs_f64(estimate.min(1e9))
    }
}

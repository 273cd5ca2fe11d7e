//! A synchronous study run as independent jobs: `make_plan` writes down rung 0's trials,
//! `run_trial` trains one of them (any process, any order), `collect` ranks a rung's
//! results as `tune` does and gives the next rung's plan or, after the last rung, the
//! refitted model. The steps are `tune`'s own, so the model is the one `tune` makes.

use super::plan::{schedule, Plan, PlanTrial, TrialResult, PLAN_FORMAT, RESULT_FORMAT};
use super::settings::{Budget, TuneSettings};
use super::steps::{draw_trials, load, promoted, refit, train_record, TuneObserver, TuneOutcome};
use crate::error::{Error, Result};
use crate::train::{Observer, Source};

/// What collecting a rung's results gave.
#[derive(Debug)]
pub enum Collected {
    /// Another rung follows: its plan.
    Next(Plan),
    /// The study ended: the records, the leaderboard and the refitted model.
    Done(Box<TuneOutcome>),
}

/// The plan of rung 0 of the synchronous study `settings` describes (it must hold a
/// number of trials): every trial, drawn as `tune` draws them.
pub fn make_plan(settings: &TuneSettings) -> Result<Plan> {
    settings.check()?;
    let Budget::Trials(n) = settings.budget else {
        return Err(Error::config(
            "a plan is for a number of trials, not a time budget",
        ));
    };
    let trials = draw_trials(settings, n)
        .into_iter()
        .enumerate()
        .map(|(trial, settings)| PlanTrial {
            trial,
            settings,
            epochs_done: 0,
        })
        .collect();
    Ok(Plan {
        format: PLAN_FORMAT.to_string(),
        study: settings.fingerprint(),
        rung: 0,
        epochs: schedule(settings).epochs[0],
        last: schedule(settings).epochs.len() == 1,
        trials,
        history: Vec::new(),
    })
}

/// Train entry `entry` of `plan` (from fresh weights to the plan's epochs, which gives
/// the weights the one-process study reaches by continuing) and score it.
pub fn run_trial(plan: &Plan, entry: usize, observer: &mut dyn Observer) -> Result<TrialResult> {
    let settings = plan.settings()?;
    let Some(planned) = plan.trials.get(entry) else {
        return Err(out_of_range(plan, entry));
    };
    let (_, evaluation) = load(&settings, observer)?;
    let trained = train_record(
        &evaluation,
        &settings.base,
        planned.trial,
        plan.rung,
        planned.settings.clone(),
        None,
        plan.epochs,
        &mut || false,
    )?;
    let Some((record, _)) = trained else {
        return Err(Error::Training(
            "a trial stopped without being asked".into(),
        ));
    };
    Ok(TrialResult {
        format: RESULT_FORMAT.to_string(),
        plan: plan.fingerprint(),
        entry,
        trial: record.trial,
        rung: record.rung,
        epochs: record.epochs,
        val_loss: record.val_loss,
        val_metric: record.val_metric,
        failed: record.failed,
        seconds: record.seconds,
    })
}

/// The error for an entry the plan does not have.
fn out_of_range(plan: &Plan, entry: usize) -> Error {
    Error::config(format!(
        "there is no entry {entry} in the plan: it lists {} trials (rung {}), entries 0 to {}",
        plan.trials.len(),
        plan.rung,
        plan.trials.len().saturating_sub(1)
    ))
}

/// Rank the rung of `plan` from `results` (each with the name of its file), which must
/// be this plan's and hold every entry once; then the next rung's plan, or after the
/// last rung the best trial refitted on all rows.
pub fn collect(
    plan: &Plan,
    results: &[(String, TrialResult)],
    observer: &mut dyn TuneObserver,
) -> Result<Collected> {
    let settings = plan.settings()?;
    let records = rung_records(plan, results)?;
    let mut all = plan.history.clone();
    all.extend(records);
    let Budget::Trials(n) = settings.budget else {
        unreachable!("Plan::settings refuses a time budget");
    };
    let schedule = schedule(&settings);
    if let Some(alive) = promoted(&schedule, n, plan.rung, &all) {
        let trials = alive
            .into_iter()
            .filter_map(|t| plan.trials.iter().find(|p| p.trial == t))
            .map(|p| PlanTrial {
                trial: p.trial,
                settings: p.settings.clone(),
                epochs_done: plan.epochs,
            })
            .collect();
        return Ok(Collected::Next(Plan {
            format: PLAN_FORMAT.to_string(),
            study: plan.study.clone(),
            rung: plan.rung + 1,
            epochs: schedule.epochs[plan.rung + 1],
            last: plan.rung + 2 == schedule.epochs.len(),
            trials,
            history: all,
        }));
    }
    let source = Source::load(&settings.base, observer)?;
    refit(&settings, &source, all, None, observer).map(|outcome| Collected::Done(Box::new(outcome)))
}

/// The records of the plan's rung, in entry order, after checking that every result is
/// this plan's and every entry has exactly one.
fn rung_records(
    plan: &Plan,
    results: &[(String, TrialResult)],
) -> Result<Vec<super::journal::TrialRecord>> {
    let fingerprint = plan.fingerprint();
    let mut by_entry: Vec<Option<&(String, TrialResult)>> = vec![None; plan.trials.len()];
    for named @ (file, result) in results {
        if result.plan != fingerprint {
            return Err(Error::config(format!(
                "{file}: the result of another plan (fingerprint {}; this plan's is {fingerprint})",
                result.plan
            )));
        }
        let planned = plan.trials.get(result.entry);
        if planned.map(|p| (p.trial, plan.rung, plan.epochs))
            != Some((result.trial, result.rung, result.epochs))
        {
            return Err(Error::config(format!(
                "{file}: trial {} at rung {} ({} epochs) is not entry {} of the plan",
                result.trial, result.rung, result.epochs, result.entry
            )));
        }
        match by_entry[result.entry] {
            Some((first, _)) => {
                return Err(Error::config(format!(
                    "{first} and {file} are both the result of entry {} (trial {})",
                    result.entry, result.trial
                )))
            }
            None => by_entry[result.entry] = Some(named),
        }
    }
    let missing: Vec<String> = by_entry
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_none())
        .map(|(k, _)| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::config(format!(
            "no result for {} {} of the plan (it lists {} trials, rung {}); run {} and collect again",
            if missing.len() == 1 { "entry" } else { "entries" },
            missing.join(", "),
            plan.trials.len(),
            plan.rung,
            if missing.len() == 1 { "it" } else { "them" },
        )));
    }
    Ok(by_entry
        .into_iter()
        .flatten()
        .zip(&plan.trials)
        .map(|((_, result), planned)| result.record(planned.settings.clone()))
        .collect())
}

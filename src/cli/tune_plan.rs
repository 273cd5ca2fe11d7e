//! `csvnn tune` with each trial as its own job: --make-plan writes rung 0's plan,
//! --plan P --run-trial K trains one trial of it into a result file, --plan P --collect
//! RESULT... ranks the rung and writes the next plan, or the model and the journal with
//! the leaderboard, as `tune` does in one process.

use super::common::{write_stdout, Ui};
use super::tune::{report, TuneArgs, TuneUi};
use csvnn::atomic::check_writable_file;
use csvnn::tune::{
    collect, journal_path, make_plan, run_trial, write_journal, Collected, Plan, TrialResult,
};
use csvnn::Error;

pub fn run(args: TuneArgs, ui: &Ui) -> anyhow::Result<()> {
    let step = match (&args.run_trial, &args.collect) {
        (Some(_), _) => Some("--run-trial needs --plan PLAN: the plan whose trial to train"),
        (_, Some(_)) => Some("--collect needs --plan PLAN: the plan whose results these are"),
        _ => None,
    };
    if let (None, Some(problem)) = (&args.plan, step) {
        return Err(
            Error::config(format!("{problem} (written by --make-plan or --collect)")).into(),
        );
    }
    check_writable_file(&args.output)?;
    let mut observer = TuneUi {
        ui,
        journal: None,
        metric: None,
    };
    let Some(path) = &args.plan else {
        return write_plan(&args, ui);
    };
    let plan = Plan::read(path)?;
    if let Some(k) = args.run_trial {
        if k >= plan.trials.len() {
            return Err(Error::config(format!(
                "--run-trial {k} is out of range: {} lists {} trials (rung {}), so K goes from 0 to {}",
                path.display(),
                plan.trials.len(),
                plan.rung,
                plan.trials.len().saturating_sub(1)
            ))
            .into());
        }
        let result = run_trial(&plan, k, &mut observer)?;
        result.write(&args.output)?;
        let record = result.record(plan.trials[k].settings.clone());
        ui.info(&format!(
            "{}; wrote {}",
            observer.trial_line(&record),
            args.output.display()
        ));
        return Ok(());
    }
    let files = args.collect.as_deref().unwrap_or_default();
    let results = files
        .iter()
        .map(|f| Ok((f.display().to_string(), TrialResult::read(f)?)))
        .collect::<csvnn::Result<Vec<_>>>()?;
    match collect(&plan, &results, &mut observer)? {
        Collected::Next(next) => {
            next.write(&args.output)?;
            let trials: Vec<String> = next.trials.iter().map(|t| t.trial.to_string()).collect();
            ui.info(&format!(
                "rung {}: {} {} on to rung {} ({} epochs); wrote its plan to {}; run K from 0 to {}",
                plan.rung,
                if trials.len() == 1 { "trial" } else { "trials" },
                trials.join(", ") + if trials.len() == 1 { " goes" } else { " go" },
                next.rung,
                next.epochs,
                args.output.display(),
                trials.len() - 1
            ));
            Ok(())
        }
        Collected::Done(outcome) => {
            let settings = plan.settings()?;
            let journal = journal_path(&args.output);
            check_writable_file(&journal)?;
            outcome.model.save(&args.output)?;
            write_journal(&journal, &settings.fingerprint(), &outcome.records)?;
            ui.info(&format!("saved the model to {}", args.output.display()));
            let text = report(&outcome, &settings, args.format, &args.output, &journal)?;
            write_stdout(&text)?;
            Ok(())
        }
    }
}

/// --make-plan: the plan of rung 0 to -o.
fn write_plan(args: &TuneArgs, ui: &Ui) -> anyhow::Result<()> {
    let plan = make_plan(&args.settings()?)?;
    plan.write(&args.output)?;
    ui.info(&format!(
        "wrote the plan of rung 0 ({} trials, {} epoch{} each) to {}; run each with --plan {} --run-trial K for K from 0 to {}",
        plan.trials.len(),
        plan.epochs,
        if plan.epochs == 1 { "" } else { "s" },
        args.output.display(),
        args.output.display(),
        plan.trials.len() - 1
    ));
    Ok(())
}

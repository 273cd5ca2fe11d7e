//! `csvnn tune`: the flags of a study mapped to `TuneSettings`, the journal beside the
//! model (started afresh, or continued with --resume), one line per finished trial-rung,
//! and the leaderboard as a table or JSON. The plan route (--make-plan, --plan) is
//! `tune_plan.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::column_args::ColumnArgs;
use super::common::{
    bounded_usize, parse_positive_usize, parse_seed, write_stdout, ReadingArgs, Ui,
};
use super::notices::render_notice;
use super::preprocess::Format;
use csvnn::atomic::check_writable_file;
use csvnn::train::{Bound, Notice, Observer, TrainSettings};
use csvnn::tune::{
    append_record, journal_path, read_journal, tune, write_journal, Budget, LeaderRow, SearchSpace,
    TrialRecord, TuneObserver, TuneOutcome, TuneSettings, Validation, DEFAULT_HOLDOUT,
    DEFAULT_TRIALS,
};
use csvnn::Error;

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The CSV file (gzip is recognised by its content), or `-` for stdin.
    #[arg(long, value_name = "FILE", required_unless_present = "plan")]
    pub data: Option<String>,

    #[command(flatten)]
    pub reading: ReadingArgs,

    /// The target column.
    #[arg(long, value_name = "COL", required_unless_present = "plan")]
    pub target: Option<String>,

    #[command(flatten)]
    pub columns: ColumnArgs,

    /// Where to save the model trained with the best settings; the journal of trials
    /// goes beside it (model.json -> model.trials.jsonl). With --make-plan, --run-trial
    /// or --collect: the plan, the trial's result, or the next plan or the model.
    #[arg(short = 'o', long = "output", value_name = "MODEL")]
    pub output: PathBuf,

    /// Trials of synchronous successive halving (default 27); the result is the same on
    /// every run.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub trials: Option<usize>,

    /// Search for this long instead (e.g. 90s, 5m, 1h), the final training included;
    /// trials are promoted asynchronously, so the result depends on timing.
    #[arg(long, value_name = "DURATION", conflicts_with = "trials", value_parser = parse_duration)]
    pub time_budget: Option<Duration>,

    /// Score trials by K-fold cross-validation (the mean validation loss) instead of a
    /// holdout of a fifth of the rows.
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = parse_folds)]
    pub folds: Option<usize>,

    /// Seed of the trials drawn, the holdout split or folds, and every training run.
    #[arg(long, default_value_t = 42, value_name = "S", value_parser = parse_seed)]
    pub seed: u64,

    /// A JSON file narrowing or widening the search space (see docs/tune.md).
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,

    /// Epochs of the first rung.
    #[arg(long, default_value_t = 3, value_name = "N", allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub min_epochs: usize,

    /// Epochs of the last rung (each rung trains 3 times the epochs of the one before).
    #[arg(long, default_value_t = 81, value_name = "N", allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub max_epochs: usize,

    /// Continue the study of the journal beside MODEL: trial-rungs it records are not
    /// trained again (the flags must be those it was started with).
    #[arg(long)]
    pub resume: bool,

    /// How to print the leaderboard.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the plan of the study's first rung to -o instead of running it, so that
    /// each trial runs as its own job (--plan with --run-trial, then --collect).
    #[arg(long, conflicts_with_all = ["time_budget", "resume"])]
    pub make_plan: bool,

    /// A plan written by --make-plan or --collect: run one of its trials (--run-trial)
    /// or collect their results (--collect). The study's flags come from the plan.
    #[arg(long, value_name = "FILE", requires = "plan_step", conflicts_with_all = [
        "data", "delimiter", "na_values", "skip_bad_rows", "target", "trials", "time_budget",
        "folds", "seed", "space", "min_epochs", "max_epochs", "resume", "make_plan",
        "drop", "categorical", "ordinal", "max_categories", "task", "date", "date_format",
        "text", "max_tokens", "min_count", "vocab_size", "ngrams", "ngram_buckets",
        "sequence_shape",
    ])]
    pub plan: Option<PathBuf>,

    /// Train trial K (from 0) of the plan and write its result to -o.
    #[arg(long, value_name = "K", group = "plan_step")]
    pub run_trial: Option<usize>,

    /// The results of every trial of the plan: rank them and write the next rung's plan
    /// to -o, or after the last rung the model trained with the best settings.
    #[arg(long, value_name = "RESULT", num_args = 1.., group = "plan_step")]
    pub collect: Option<Vec<PathBuf>>,
}

fn parse_folds(value: &str) -> Result<usize, String> {
    bounded_usize(value, Bound::AtLeast(2))
}

/// `90s`, `5m`, `1.5h`: a positive number and a unit.
fn parse_duration(value: &str) -> Result<Duration, String> {
    let expected = || {
        "expected a positive number of seconds, minutes or hours, such as 90s, 5m or 1h".to_string()
    };
    let value = value.trim();
    let (number, unit) = value.split_at(value.len().saturating_sub(1));
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(expected()),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n * scale < 1e9 => {
            Ok(Duration::from_secs_f64(n * scale))
        }
        _ => Err(expected()),
    }
}

/// Renders data notices, appends each finished trial-rung to the journal (when there is
/// one) and says so.
pub(super) struct TuneUi<'a> {
    pub ui: &'a Ui,
    pub journal: Option<PathBuf>,
    pub metric: Option<&'static str>,
}

impl TuneUi<'_> {
    /// `trial 3, rung 1 (3 epochs): val loss 0.123456, rmse 3.1416 (0.4 s)`.
    pub fn trial_line(&self, r: &TrialRecord) -> String {
        let result = match (r.val_loss, r.val_metric, &r.failed) {
            (Some(loss), Some(metric), _) => format!(
                "val loss {loss:.6}, {} {metric:.4}",
                self.metric.unwrap_or("metric")
            ),
            (_, _, failed) => format!("failed: {}", failed.as_deref().unwrap_or("")),
        };
        format!(
            "trial {}, rung {} ({} epoch{}): {result} ({:.1} s)",
            r.trial,
            r.rung,
            r.epochs,
            if r.epochs == 1 { "" } else { "s" },
            r.seconds
        )
    }
}

impl Observer for TuneUi<'_> {
    fn notice(&mut self, notice: Notice<'_>) {
        if let Notice::TaskChosen { task, .. } = notice {
            self.metric = Some(csvnn::train::metric_name(task));
        }
        render_notice(self.ui, notice);
    }
}

impl TuneObserver for TuneUi<'_> {
    fn trial_done(&mut self, r: &TrialRecord) -> csvnn::Result<()> {
        if let Some(journal) = &self.journal {
            append_record(journal, r)?;
        }
        self.ui.info(&self.trial_line(r));
        Ok(())
    }

    fn refit_started(&mut self, best: &LeaderRow) {
        self.ui.info(&format!(
            "best: trial {} ({}); training it on all rows for {} epochs",
            best.trial, best.summary, best.epochs
        ));
    }

    fn refit_diverged(&mut self, row: &LeaderRow, error: &Error) {
        self.ui.warn(&format!(
            "trial {} diverged when trained on all rows ({}); refitting the next best",
            row.trial,
            super::render::render_error(error)
        ));
    }
}

impl TuneArgs {
    /// Whether the trials run as independent jobs (`tune_plan.rs`).
    pub fn is_plan_route(&self) -> bool {
        self.make_plan || self.plan.is_some() || self.run_trial.is_some() || self.collect.is_some()
    }

    /// The study the flags describe (not with --plan: the plan holds it).
    pub(super) fn settings(&self) -> Result<TuneSettings, Error> {
        let base = self.columns.apply(TrainSettings {
            data: self
                .reading
                .to_source(self.data.as_deref().unwrap_or_default()),
            target: self.target.clone().unwrap_or_default(),
            seed: self.seed,
            ..TrainSettings::default()
        });
        if self.max_epochs < self.min_epochs {
            return Err(Error::config(format!(
                "--max-epochs {} is below --min-epochs {}",
                self.max_epochs, self.min_epochs
            )));
        }
        Ok(TuneSettings {
            space: match &self.space {
                Some(path) => SearchSpace::from_file(path)?,
                None => SearchSpace::default(),
            }
            .with_default_encoders(&base),
            budget: match self.time_budget {
                Some(d) => Budget::Time(d),
                None => Budget::Trials(self.trials.unwrap_or(DEFAULT_TRIALS)),
            },
            validation: match self.folds {
                Some(k) => Validation::Folds(k),
                None => Validation::Holdout(DEFAULT_HOLDOUT),
            },
            min_epochs: self.min_epochs,
            max_epochs: self.max_epochs,
            ..TuneSettings::new(base)
        })
    }
}

pub fn run(args: TuneArgs, ui: &Ui) -> anyhow::Result<()> {
    let journal = journal_path(&args.output);
    check_writable_file(&args.output)?;
    check_writable_file(&journal)?;
    let settings = args.settings()?;
    let study = settings.fingerprint();
    let done = if args.resume && journal.exists() {
        let (then, records) = read_journal(&journal)?;
        if then != study {
            return Err(Error::config(format!(
                "{}: the journal is of a study with other flags or data; give the flags it was started with, or leave out --resume to start afresh",
                journal.display()
            ))
            .into());
        }
        ui.info(&format!(
            "resuming the study of {}: {} trial-rungs done",
            journal.display(),
            records.len()
        ));
        records
    } else {
        if args.resume {
            ui.info(&format!(
                "no journal {} yet; starting the study",
                journal.display()
            ));
        }
        Vec::new()
    };
    write_journal(&journal, &study, &done)?;
    let mut observer = TuneUi {
        ui,
        journal: Some(journal.clone()),
        metric: None,
    };
    let outcome = tune(&settings, &done, &mut observer)?;
    outcome.model.save(&args.output)?;
    ui.info(&format!("saved the model to {}", args.output.display()));
    let text = report(&outcome, &settings, args.format, &args.output, &journal)?;
    write_stdout(&text)?;
    Ok(())
}

/// The leaderboard of a finished study as a table or JSON.
pub(super) fn report(
    outcome: &TuneOutcome,
    settings: &TuneSettings,
    format: Format,
    model: &Path,
    journal: &Path,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => {
            let json = serde_json::json!({
                "metric": outcome.metric,
                "validation": settings.validation.describe(),
                "trials": outcome.leaderboard.len(),
                "best_trial": outcome.leaderboard.first().map(|r| r.trial),
                "model": model.display().to_string(),
                "journal": journal.display().to_string(),
                "leaderboard": outcome.leaderboard,
            });
            serde_json::to_string_pretty(&json)? + "\n"
        }
        Format::Table => table(&outcome.leaderboard, outcome.metric),
    })
}

/// The leaderboard as text, best first; the seconds are the last column.
fn table(rows: &[LeaderRow], metric: &str) -> String {
    let width = rows
        .iter()
        .map(|r| r.summary.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut text = format!(
        "{:>5} {:>4} {:>6} {:>10} {:>10}  {:<width$} {:>8}\n",
        "trial", "rung", "epochs", "val_loss", metric, "settings", "seconds"
    );
    let number = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.6}"));
    for r in rows {
        text += &format!(
            "{:>5} {:>4} {:>6} {:>10} {:>10}  {:<width$} {:>8.1}\n",
            r.trial,
            r.rung,
            r.epochs,
            number(r.val_loss),
            number(r.val_metric),
            r.summary,
            r.seconds
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("-1m").is_err());
    }
}

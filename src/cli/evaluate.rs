//! `csvnn evaluate`: score a saved model on a CSV file that has the target column.

use std::path::PathBuf;

use clap::Args;

use super::common::{write_stdout, DataArgs, Ui};
use super::gate::{self, Direction, GateMissed, Threshold};
use super::notices::UiNotices;
use super::preprocess::Format;
use csvnn::data::RawTable;
use csvnn::evaluate::Scored;
use csvnn::model::Model;
use csvnn::Error;

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    #[command(flatten)]
    pub data: DataArgs,

    /// How to print the metrics; json keys are stable for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Exit with code 3 when a metric is below its threshold, e.g.
    /// `accuracy=0.9,macro_f1=0.85` (for CI gates).
    #[arg(long, value_name = "KEY=VALUE[,KEY=VALUE...]", value_delimiter = ',', value_parser = gate::parse_threshold)]
    pub fail_under: Vec<Threshold>,

    /// Exit with code 3 when a metric is above its threshold, e.g. `rmse=10`.
    #[arg(long, value_name = "KEY=VALUE[,KEY=VALUE...]", value_delimiter = ',', value_parser = gate::parse_threshold)]
    pub fail_over: Vec<Threshold>,

    /// Binary classification: predict the positive class (the second label) when its
    /// probability is at least P. Default: the more probable class (0.5).
    #[arg(long, value_name = "P", value_parser = parse_probability, allow_negative_numbers = true)]
    pub threshold: Option<f64>,

    /// Read the data a chunk at a time instead of whole (the same report; keeps the
    /// scores, 8 + 8 x classes bytes a row); see docs/streaming.md.
    #[arg(long)]
    pub streaming: bool,
}

/// `--threshold`: a probability in [0, 1].
pub fn parse_probability(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("expected a probability from 0 to 1".to_string()),
    }
}

/// `--threshold` needs a model with two classes.
pub fn check_threshold_flag(model: &Model, threshold: Option<f64>) -> Result<(), Error> {
    let labels = model.pipeline.target_encoder.labels();
    if threshold.is_none() || labels.len() == 2 {
        return Ok(());
    }
    let what = if labels.is_empty() {
        "this model does regression".to_string()
    } else {
        format!(
            "this model has {} classes ({})",
            labels.len(),
            labels.join(", ")
        )
    };
    Err(Error::config(format!(
        "--threshold needs a binary classification model; {what}"
    )))
}

pub fn run(args: EvaluateArgs, ui: &Ui) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let gates: Vec<(Direction, &Threshold)> = (args.fail_under.iter())
        .map(|t| (Direction::Under, t))
        .chain(args.fail_over.iter().map(|t| (Direction::Over, t)))
        .collect();
    gate::check_keys(model.task, &gates)?;
    check_threshold_flag(&model, args.threshold)?;
    let scored = if args.streaming {
        let source = args.data.to_source();
        csvnn::evaluate_stream::score_stream(
            &model,
            &source.path,
            &source.csv_options(),
            args.threshold,
            &mut UiNotices(ui),
        )?
    } else {
        let table = args.data.read(ui)?;
        score_at(&model, &table, args.threshold, ui)?
    };
    let text = match (&scored, args.format) {
        (Scored::Classification { report, .. }, Format::Table) => report.to_table(),
        (Scored::Regression { report, .. }, Format::Table) => report.to_table(),
        (Scored::Classification { report, .. }, Format::Json) => {
            serde_json::to_string_pretty(report)? + "\n"
        }
        (Scored::Regression { report, .. }, Format::Json) => {
            serde_json::to_string_pretty(report)? + "\n"
        }
    };
    write_stdout(&text)?;
    if !gates.is_empty() {
        let misses = gate::check(&scored.to_json(), &gates);
        if !misses.is_empty() {
            return Err(GateMissed(misses).into());
        }
        let met: Vec<String> = gates
            .iter()
            .map(|(d, t)| format!("{} {} {}", t.key, d.operator_met(), t.value))
            .collect();
        ui.info(&format!("metric gates met: {}", met.join(", ")));
    }
    Ok(())
}

/// Score `model` on the rows of `table` that have a target value, with the warnings shown.
pub fn score(model: &Model, table: &RawTable, ui: &Ui) -> anyhow::Result<Scored> {
    score_at(model, table, None, ui)
}

/// As [`score`], with a binary classifier's classes predicted at `threshold`.
fn score_at(
    model: &Model,
    table: &RawTable,
    threshold: Option<f64>,
    ui: &Ui,
) -> anyhow::Result<Scored> {
    Ok(csvnn::evaluate::score_at(
        model,
        table,
        threshold,
        &mut UiNotices(ui),
    )?)
}

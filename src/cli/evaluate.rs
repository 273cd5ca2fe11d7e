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
}

pub fn run(args: EvaluateArgs, ui: &Ui) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let gates: Vec<(Direction, &Threshold)> = (args.fail_under.iter())
        .map(|t| (Direction::Under, t))
        .chain(args.fail_over.iter().map(|t| (Direction::Over, t)))
        .collect();
    gate::check_keys(model.task, &gates)?;
    let table = args.data.read(ui)?;
    let scored = score(&model, &table, ui)?;
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
    Ok(csvnn::evaluate::score(model, table, &mut UiNotices(ui))?)
}

//! `csvnn evaluate`: score a saved model on a CSV file that has the target column.

use std::path::PathBuf;

use clap::Args;

use super::common::{
    line_list, warn_non_finite, warn_unknown_categories, warn_unused_columns, write_stdout,
    DataArgs, Ui,
};
use super::gate::{self, Direction, GateMissed, Threshold};
use super::preprocess::Format;
use csvnn::data::RawTable;
use csvnn::evaluate::Scored;
use csvnn::metrics::{classification_report, regression_report};
use csvnn::model::{Model, Predictions};
use csvnn::preprocess::{rows_with_target, EncodedTargets};
use csvnn::{Error, Location};

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

pub fn run(args: EvaluateArgs, ui: &Ui, threads: usize) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let gates: Vec<(Direction, &Threshold)> = (args.fail_under.iter())
        .map(|t| (Direction::Under, t))
        .chain(args.fail_over.iter().map(|t| (Direction::Over, t)))
        .collect();
    gate::check_keys(model.task, &gates)?;
    let table = args.data.read(ui)?;
    let scored = score(&model, &table, ui, threads)?;
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

/// Score `model` on the rows of `table` that have a target value.
pub fn score(model: &Model, table: &RawTable, ui: &Ui, threads: usize) -> anyhow::Result<Scored> {
    let pipeline = &model.pipeline;
    let target = table.column_index(&pipeline.target).ok_or_else(|| {
        Error::data(
            Location::file(&table.source),
            format!(
                "the target column '{}' is missing; evaluate needs it to score the model (use predict for files without it)",
                pipeline.target
            ),
        )
    })?;
    warn_unused_columns(ui, pipeline, table);
    let (rows, missing) = rows_with_target(table, target, &pipeline.na_values);
    if !missing.is_empty() {
        ui.warn(&format!(
            "{}: {} rows have no target value and are not scored (lines {})",
            table.source,
            missing.len(),
            line_list(&missing)
        ));
    }
    if rows.is_empty() {
        return Err(Error::data(
            Location::file(&table.source).column(&pipeline.target),
            "no row has a target value; expected at least one to score",
        )
        .into());
    }
    let transformed = pipeline.transform(table, Some(&rows))?;
    warn_unknown_categories(ui, &table.source, &transformed.unknown_categories);
    warn_non_finite(ui, &table.source, &transformed.non_finite);
    let targets = pipeline.encode_targets(table, &rows)?;
    let scored = match (model.predict(transformed.x.view(), threads), targets) {
        (Predictions::Classes { probs, .. }, EncodedTargets::Classes(classes)) => {
            let y_true: Vec<usize> = classes.iter().map(|&c| c as usize).collect();
            let report =
                classification_report(pipeline.target_encoder.labels(), &y_true, probs.view());
            Scored::Classification {
                report,
                y_true,
                probs,
            }
        }
        (Predictions::Values(values), EncodedTargets::Values { raw, .. }) => {
            let report = regression_report(&raw, &values);
            Scored::Regression {
                report,
                y_true: raw,
                y_pred: values,
            }
        }
        _ => unreachable!("the model's predictions and targets come from one encoder"),
    };
    Ok(scored)
}

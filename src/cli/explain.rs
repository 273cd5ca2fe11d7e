//! `csvnn explain`: permutation importance of each input column of a saved model, on a CSV
//! file that has the target column.

use std::path::PathBuf;

use clap::Args;

use super::common::{
    parse_positive_usize, warn_unknown_categories, warn_unused_columns, write_stdout, DataArgs, Ui,
};
use super::notices::UiNotices;
use super::preprocess::Format;
use csvnn::explain::{permutation_importance, ExplainConfig};
use csvnn::model::Model;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    #[command(flatten)]
    pub data: DataArgs,

    /// Shuffles per column; the table shows the mean and standard deviation of the drops.
    #[arg(long, value_name = "N", default_value_t = 5, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub repeats: usize,

    /// Seed of the shuffles.
    #[arg(long, value_name = "S", default_value_t = 42, allow_negative_numbers = true, value_parser = super::common::parse_seed)]
    pub seed: u64,

    /// How to print the result; json keys are stable for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(args: ExplainArgs, ui: &Ui) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let table = args.data.read(ui)?;
    warn_unused_columns(ui, &model.pipeline, &table);
    let config = ExplainConfig {
        repeats: args.repeats,
        seed: args.seed,
    };
    let explained = permutation_importance(&model, &table, &config, &mut UiNotices(ui))?;
    warn_unknown_categories(ui, &table.source, &explained.unknown_categories);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&explained.importance)? + "\n",
        Format::Table => explained.importance.to_table(),
    };
    write_stdout(&text)?;
    Ok(())
}

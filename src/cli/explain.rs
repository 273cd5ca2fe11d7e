//! `csvnn explain`: permutation importance of each input column of a saved model, on a CSV
//! file that has the target column; on a seeded sample of its rows with `--sample`, or
//! when the file looks too big to read whole.

use std::path::PathBuf;

use clap::Args;

use super::common::{
    parse_positive_usize, warn_skipped_rows, warn_unknown_categories, warn_unused_columns,
    write_stdout, DataArgs, Ui,
};
use super::notices::UiNotices;
use super::preprocess::Format;
use csvnn::data::{memory_shortfall, sample_table, RawTable};
use csvnn::explain::{permutation_importance, ExplainConfig, RowSample};
use csvnn::model::Model;

/// Rows sampled when the file looks too big to read whole and `--sample` is not given.
pub const DEFAULT_SAMPLE_ROWS: usize = 100_000;

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

    /// Seed of the shuffles (and of --sample's draws).
    #[arg(long, value_name = "S", default_value_t = 42, allow_negative_numbers = true, value_parser = super::common::parse_seed)]
    pub seed: u64,

    /// Explain on a uniform sample of N rows drawn in one pass with --seed (stdin and gzip
    /// work). Default: the whole file, or 100000 rows when it looks too big to read whole.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub sample: Option<usize>,

    /// How to print the result; json keys are stable for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(args: ExplainArgs, ui: &Ui) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let (table, sample) = read(&args, ui)?;
    warn_unused_columns(ui, &model.pipeline, &table);
    let config = ExplainConfig {
        repeats: args.repeats,
        seed: args.seed,
        sample,
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

/// The rows to explain on: the whole file, or a sample when `--sample` asks for one or the
/// file looks too big to read whole (said in an info line, with the seed).
fn read(args: &ExplainArgs, ui: &Ui) -> anyhow::Result<(RawTable, Option<RowSample>)> {
    let path = &args.data.data;
    let requested = match args.sample {
        Some(n) => n,
        None => match memory_shortfall(path) {
            Some(short) => {
                ui.info(&format!(
                    "{path} looks too big to read whole (about {:.1} GB needed, {:.1} GB available); explaining on a uniform sample of {DEFAULT_SAMPLE_ROWS} rows drawn with seed {} (--sample N sets the size)",
                    short.needed as f64 / 1e9,
                    short.available as f64 / 1e9,
                    args.seed
                ));
                DEFAULT_SAMPLE_ROWS
            }
            None => return Ok((args.data.read(ui)?, None)),
        },
    };
    let options = args.data.to_source().csv_options();
    let sampled = sample_table(path, &options, requested, args.seed)?;
    warn_skipped_rows(ui, &sampled.table);
    let rows = sampled.table.n_rows() as u64;
    if args.sample.is_some() && rows == sampled.rows_read {
        ui.info(&format!(
            "{}: --sample {requested} is at least its {rows} rows; using them all",
            sampled.table.source
        ));
    }
    let sample = RowSample {
        requested,
        rows,
        of_rows: sampled.rows_read,
        seed: args.seed,
    };
    Ok((sampled.table, Some(sample)))
}

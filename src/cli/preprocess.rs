//! `csvnn preprocess`: profile a CSV file; with -o, save a pipeline fitted on all of it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::column_args::ColumnArgs;
use super::common::{write_stdout, DataArgs, Ui};
use super::notices::UiNotices;
use super::render::render_warning;
use csvnn::preprocess::{profile_table, save_preprocessor, FitOptions, Pipeline};
use csvnn::train::{Source, TrainSettings};

#[derive(Debug, Args)]
pub struct PreprocessArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The target column.
    #[arg(long, value_name = "COL")]
    pub target: String,

    #[command(flatten)]
    pub columns: ColumnArgs,

    /// Save the fitted pipeline here, for `train --preprocessor`.
    #[arg(short = 'o', long = "output", value_name = "PREP.json")]
    pub output: Option<PathBuf>,

    /// How to print the profile.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub fn run(args: PreprocessArgs, ui: &Ui) -> anyhow::Result<()> {
    if let Some(path) = &args.output {
        csvnn::atomic::check_writable_file(path)?;
    }
    let table = args.data.read(ui)?;
    // The task is chosen as `train` chooses it.
    let settings = TrainSettings {
        data: args.data.to_source(),
        ..args.columns.apply(TrainSettings::new(
            args.data.data.clone(),
            args.target.clone(),
        ))
    };
    let source = Source::from_table(table, &settings, &mut UiNotices(ui))?;
    let options = FitOptions {
        target: args.target.clone(),
        drop: settings.drop.clone(),
        categorical: settings.categorical.clone(),
        ordinal: settings.ordinal.clone(),
        na_values: settings.data.na_values(),
        max_categories: settings.max_categories,
        kinds: settings.kinds.clone(),
    };
    let (pipeline, warnings) = Pipeline::fit(&source.table, &source.rows, source.task, &options)?;
    for w in &warnings {
        if w.is_info() {
            ui.info(&render_warning(w));
        } else {
            ui.warn(&render_warning(w));
        }
    }
    let profile = profile_table(&source.table, &pipeline);
    match args.format {
        Format::Table => write_stdout(&profile.to_table())?,
        Format::Json => write_stdout(&(serde_json::to_string_pretty(&profile)? + "\n"))?,
    }
    if let Some(path) = &args.output {
        save_preprocessor(path, &pipeline)?;
        ui.info(&format!("saved the preprocessor to {}", path.display()));
    }
    Ok(())
}

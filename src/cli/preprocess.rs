//! `csvnn preprocess`: profile a CSV file; with -o, save a pipeline fitted on all of it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::common::{line_list, parse_max_categories, write_stdout, DataArgs, Ui};
use super::train::{choose_task, TaskArg};
use csvnn::atomic::write_atomically;
use csvnn::preprocess::{
    profile_table, rows_with_target, target_index, FitOptions, Pipeline, DEFAULT_MAX_CATEGORIES,
};
use csvnn::Error;

#[derive(Debug, Args)]
pub struct PreprocessArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The target column.
    #[arg(long, value_name = "COL")]
    pub target: String,

    /// Identifier columns to leave out.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub drop: Vec<String>,

    /// Columns to treat as categorical even when their values are numbers.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub categorical: Vec<String>,

    /// Most one-hot inputs per categorical column; the rarest values beyond it share one
    /// "other" input.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CATEGORIES, value_parser = parse_max_categories)]
    pub max_categories: usize,

    /// The task; auto decides from the target's values.
    #[arg(long, value_enum, default_value_t = TaskArg::Auto)]
    pub task: TaskArg,

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

pub const PREPROCESSOR_FORMAT: &str = "csvnn-preprocessor";
pub const PREPROCESSOR_VERSION: u32 = 1;

/// The file `preprocess -o` writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct PreprocessorFile {
    pub format: String,
    pub format_version: u32,
    pub pipeline: Pipeline,
}

pub fn load_preprocessor(path: &std::path::Path) -> Result<Pipeline, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| Error::io(&shown, e))?;
    let bad = |message: String| Error::ModelFile {
        path: shown.clone(),
        message,
    };
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        bad(format!(
            "invalid JSON at line {} column {} ({e})",
            e.line(),
            e.column()
        ))
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some(PREPROCESSOR_FORMAT) {
        return Err(bad(format!(
            "not a csvnn preprocessor (expected \"format\": \"{PREPROCESSOR_FORMAT}\"; write one with `csvnn preprocess -o`)"
        )));
    }
    let version = value
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if version > PREPROCESSOR_VERSION as u64 {
        return Err(bad(format!(
            "preprocessor format version {version} is newer than this csvnn reads ({PREPROCESSOR_VERSION})"
        )));
    }
    let file: PreprocessorFile =
        serde_json::from_value(value).map_err(|e| bad(format!("the file is damaged: {e}")))?;
    Ok(file.pipeline)
}

pub fn run(args: PreprocessArgs, ui: &Ui) -> anyhow::Result<()> {
    let table = args.data.read(ui)?;
    let na = args.data.na_values();
    let target = target_index(&table, &args.target)?;
    let (rows, missing) = rows_with_target(&table, target, &na);
    if !missing.is_empty() {
        ui.warn(&format!(
            "{}: {} rows have no target value and are left out (lines {})",
            table.source,
            missing.len(),
            line_list(&missing)
        ));
    }
    let (task, reason) = choose_task(args.task, &table, target, &rows)?;
    ui.info(&format!("task: {task} ({reason})"));
    let options = FitOptions {
        target: args.target.clone(),
        drop: args.drop.clone(),
        categorical: args.categorical.clone(),
        na_values: na,
        max_categories: args.max_categories,
    };
    let (pipeline, warnings) = Pipeline::fit(&table, &rows, task, &options)?;
    for w in &warnings {
        ui.warn(&super::render::render_warning(w));
    }
    let profile = profile_table(&table, &pipeline);
    match args.format {
        Format::Table => write_stdout(&profile.to_table())?,
        Format::Json => write_stdout(&(serde_json::to_string_pretty(&profile)? + "\n"))?,
    }
    if let Some(path) = &args.output {
        let file = PreprocessorFile {
            format: PREPROCESSOR_FORMAT.to_string(),
            format_version: PREPROCESSOR_VERSION,
            pipeline,
        };
        write_atomically(path, |out| {
            serde_json::to_writer_pretty(&mut *out, &file)
                .map_err(|e| Error::io(&path.display().to_string(), e.into()))
        })?;
        ui.info(&format!("saved the preprocessor to {}", path.display()));
    }
    Ok(())
}

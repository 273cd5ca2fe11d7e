//! `csvnn export`: write a saved model in another format (ONNX).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::Ui;
use csvnn::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A standard ONNX graph (opset 13, 17 with attention): input `input` (N, n_inputs),
    /// numeric columns in raw units, categorical columns one-hot, date parts, series values
    /// and token ids; output `probabilities` or `prediction`.
    Onnx,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// The format to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,

    /// The file to write (written atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(args: ExportArgs, ui: &Ui) -> anyhow::Result<()> {
    csvnn::atomic::check_writable_file(&args.output)?;
    let model = Model::load(&args.model)?;
    match args.format {
        ExportFormat::Onnx => csvnn::onnx::export(&model, &args.output)?,
    }
    let layout = csvnn::onnx::input_layout(&model);
    ui.info(&format!(
        "wrote {}: input 'input' (N, {}) with {} (layout in the metadata 'csvnn.inputs'), output '{}'",
        args.output.display(),
        layout.len(),
        input_counts(&layout),
        match model.task {
            csvnn::preprocess::Task::Classification => "probabilities",
            csvnn::preprocess::Task::Regression => "prediction",
        }
    ));
    Ok(())
}

/// "2 numeric and 9 date inputs": how many inputs of each kind, in a fixed order.
fn input_counts(layout: &[csvnn::onnx::InputSlot]) -> String {
    let kinds = [
        ("numeric", "numeric"),
        ("categorical", "one-hot"),
        ("ordinal", "ordinal"),
        ("date", "date"),
        ("series", "series"),
        ("token_ids", "token-id"),
    ];
    let counts: Vec<String> = kinds
        .iter()
        .filter_map(|&(kind, name)| {
            let n = layout.iter().filter(|s| s.kind == kind).count();
            (n > 0).then(|| format!("{n} {name}"))
        })
        .collect();
    match counts.split_last() {
        None => "no inputs".to_string(),
        Some((last, [])) => format!("{last} inputs"),
        Some((last, rest)) => format!("{} and {last} inputs", rest.join(", ")),
    }
}

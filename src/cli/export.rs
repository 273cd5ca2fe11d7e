//! `csvnn export`: write a saved model in another format (ONNX).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::Ui;
use csvnn::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A standard ONNX graph (opset 13): input `input` (N, n_inputs), numeric columns in
    /// raw units and categorical columns one-hot; output `probabilities` or `prediction`.
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
    let categorical = layout.iter().filter(|s| s.kind == "categorical").count();
    ui.info(&format!(
        "wrote {}: input 'input' (N, {}) with {} numeric and {categorical} one-hot inputs (layout in the metadata 'csvnn.inputs'), output '{}'",
        args.output.display(),
        layout.len(),
        layout.len() - categorical,
        match model.task {
            csvnn::preprocess::Task::Classification => "probabilities",
            csvnn::preprocess::Task::Regression => "prediction",
        }
    ));
    Ok(())
}

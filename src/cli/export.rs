//! `csvnn export`: write a saved model in another format (ONNX).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::Ui;
use csvnn::model::Model;
use csvnn::onnx::Inputs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A standard ONNX graph (opset 13, 17 with attention; ai.onnx.ml 2 for raw inputs):
    /// outputs `probabilities` and `label`, or `prediction`.
    Onnx,
}

/// How the exported graph takes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputsArg {
    /// One input per CSV column, named as the column, shape (N, 1): numbers as double (NaN
    /// = missing), categorical and ordinal columns as strings, dates as Unix seconds,
    /// text as token ids; the graph does all the preprocessing.
    Raw,
    /// One float input `input` (N, n_inputs): categorical columns one-hot, ordinal
    /// columns level indices, date parts (the earlier default; layout in the metadata `csvnn.inputs`).
    Encoded,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// The format to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,

    /// The graph's inputs: raw CSV columns, or csvnn's encoded row.
    #[arg(long, value_enum, default_value = "raw", value_name = "LAYOUT")]
    pub inputs: InputsArg,

    /// The file to write (written atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(args: ExportArgs, ui: &Ui) -> anyhow::Result<()> {
    csvnn::atomic::check_writable_file(&args.output)?;
    let model = Model::load(&args.model)?;
    let inputs = match args.inputs {
        InputsArg::Raw => Inputs::Raw,
        InputsArg::Encoded => Inputs::Encoded,
    };
    match args.format {
        ExportFormat::Onnx => csvnn::onnx::export(&model, &args.output, inputs)?,
    }
    let classification = model.task == csvnn::preprocess::Task::Classification;
    let message = match inputs {
        Inputs::Raw => format!(
            "wrote {}: {} (one per column, described in the metadata 'csvnn.columns'), {}",
            args.output.display(),
            column_counts(&csvnn::onnx::column_inputs(&model)),
            if classification {
                "outputs 'probabilities' and 'label'"
            } else {
                "output 'prediction'"
            }
        ),
        Inputs::Encoded => {
            let layout = csvnn::onnx::input_layout(&model);
            format!(
                "wrote {}: input 'input' (N, {}) with {} (layout in the metadata 'csvnn.inputs'), output '{}'",
                args.output.display(),
                layout.len(),
                input_counts(&layout),
                if classification { "probabilities" } else { "prediction" }
            )
        }
    };
    ui.info(&message);
    Ok(())
}

/// "3 numeric and 2 string inputs": the raw graph's inputs by element type.
fn column_counts(columns: &[csvnn::onnx::ColumnInput]) -> String {
    let count = |t: &str| columns.iter().filter(|c| c.elem_type == t).count();
    let counts: Vec<String> = [("double", "double"), ("string", "string")]
        .iter()
        .filter(|&&(t, _)| count(t) > 0)
        .map(|&(t, name)| format!("{} {name}", count(t)))
        .collect();
    match counts.as_slice() {
        [] => "no inputs".to_string(),
        [one] => format!("{one} inputs"),
        [a, b] => format!("{a} and {b} inputs"),
        _ => unreachable!("two element types"),
    }
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

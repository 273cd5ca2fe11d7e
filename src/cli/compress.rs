//! `csvnn compress`: a smaller, faster copy of a saved model that scores the same rows
//! (int8 weights); the summary on stdout as a table or JSON.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::common::write_stdout;
use super::preprocess::Format;
use csvnn::compress::{quantize_int8, CompressionRecord};
use csvnn::model::Model;

#[derive(Debug, Args)]
pub struct CompressArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// The compressed model to write (atomically); a normal model file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    #[command(flatten)]
    pub how: CompressOptions,

    /// How to print the summary; json keys are stable for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// What to do to the model (at least one).
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct CompressOptions {
    /// Quantize the dense layers' weights to int8 (one scale per output) and their inputs
    /// per row as they run; other layers keep f32 weights. Inference only.
    #[arg(long)]
    pub int8: bool,
}

/// The summary of one run (`--format json`).
#[derive(Debug, Serialize)]
struct Summary<'a> {
    model: String,
    output: String,
    model_bytes: u64,
    output_bytes: u64,
    compression: &'a CompressionRecord,
}

/// The size of a written file, 0 when it cannot be read (a pipe).
fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `a / b` with two decimals, "-" when b is 0.
fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        "-".to_string()
    } else {
        format!("{:.3}x", a as f64 / b as f64)
    }
}

fn to_table(s: &Summary) -> String {
    let mut out = format!(
        "wrote {}: {} bytes, {} of {} ({} bytes)\n",
        s.output,
        s.output_bytes,
        ratio(s.output_bytes, s.model_bytes),
        s.model,
        s.model_bytes
    );
    if let Some(n) = &s.compression.int8 {
        out += &format!(
            "int8: {} layers, weights {} -> {} bytes ({})\n",
            n.layers_int8,
            n.f32_weight_bytes,
            n.int8_weight_bytes,
            ratio(n.int8_weight_bytes, n.f32_weight_bytes)
        );
        if !n.layers_f32.is_empty() {
            out += &format!("kept f32: {}\n", n.layers_f32.join(", "));
        }
    }
    out
}

pub fn run(args: CompressArgs) -> anyhow::Result<()> {
    csvnn::atomic::check_writable_file(&args.output)?;
    let model = Model::load(&args.model)?;
    let mut compressed = model;
    if args.how.int8 {
        compressed = quantize_int8(&compressed)?;
    }
    compressed.save(&args.output)?;
    let record = compressed.compression.unwrap_or_default();
    let summary = Summary {
        model: args.model.display().to_string(),
        output: args.output.display().to_string(),
        model_bytes: file_bytes(&args.model),
        output_bytes: file_bytes(&args.output),
        compression: &record,
    };
    let text = match args.format {
        Format::Table => to_table(&summary),
        Format::Json => serde_json::to_string_pretty(&summary)? + "\n",
    };
    write_stdout(&text)?;
    Ok(())
}

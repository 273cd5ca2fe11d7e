//! `csvnn compress`: a smaller, faster copy of a saved model that scores the same rows:
//! `--prune S` zeroes the fraction S of the smallest dense and convolution weights and
//! fine-tunes the rest on `--data`; `--int8` quantizes the dense, conv, GRU and LSTM layers
//! (after pruning when both are given). The summary on stdout as a table or JSON.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::{bounded_usize, write_stdout, DataArgs, ReadingArgs, Ui};
use super::notices::UiNotices;
use super::preprocess::Format;
use csvnn::compress::{prune, quantize_int8, CompressionRecord, PruneSettings, Scope};
use csvnn::model::Model;

/// Where the pruning threshold is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PruneScope {
    /// One magnitude threshold over all pruned layers.
    Global,
    /// Each layer pruned to the sparsity on its own.
    Layer,
}

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

    /// The training CSV to fine-tune a pruned model on; it must have the model's columns
    /// and target.
    #[arg(long, value_name = "FILE")]
    pub data: Option<String>,

    #[command(flatten)]
    pub reading: ReadingArgs,

    /// Epochs of fine-tuning after pruning, with the model's optimizer, learning rate,
    /// batch size and seed (0: none).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_epochs)]
    pub epochs: usize,

    /// One threshold over all layers (global) or the sparsity in each layer (layer).
    #[arg(long, value_enum, value_name = "SCOPE", default_value_t = PruneScope::Global)]
    pub prune_scope: PruneScope,

    /// How to print the summary; json keys are stable for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// What to do to the model (at least one).
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct CompressOptions {
    /// Quantize the weights of the dense, conv, GRU and LSTM layers to int8 (a 1-byte scale
    /// code per output); dense layers with 32 inputs or more and 8 outputs or more quantize
    /// their inputs per row as they run, the others dequantize their weights on load and
    /// run in f32; other layers (embeddings, attention) keep f32 weights. Inference only.
    #[arg(long)]
    pub int8: bool,

    /// Magnitude pruning: zero this fraction (between 0 and 1) of the weights of the
    /// dense and convolution layers, then fine-tune the rest on --data.
    #[arg(long, value_name = "S", allow_negative_numbers = true, value_parser = parse_sparsity, requires = "data")]
    pub prune: Option<f64>,
}

/// `--prune`: a fraction strictly between 0 and 1.
pub fn parse_sparsity(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s < 1.0 => Ok(s),
        _ => Err("expected a fraction between 0 and 1, both excluded, e.g. 0.8".to_string()),
    }
}

/// `--epochs`: a whole number, 0 included.
fn parse_epochs(value: &str) -> Result<usize, String> {
    bounded_usize(value, csvnn::train::Bound::AtLeast(0))
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
    if let Some(n) = &s.compression.pruned {
        out += &format!(
            "pruned: {:.1}% of the dense and convolution weights are zero ({} threshold, asked {}), fine-tuned {} epochs on {} rows of {}\n",
            n.achieved() * 100.0,
            n.threshold,
            n.sparsity,
            n.fine_tune_epochs,
            n.rows,
            n.data
        );
    }
    if let Some(n) = &s.compression.int8 {
        out += &format!(
            "int8: {} layers, weights {} -> {} bytes ({})\n",
            n.layers_int8,
            n.f32_weight_bytes,
            n.int8_weight_bytes,
            ratio(n.int8_weight_bytes, n.f32_weight_bytes)
        );
        if !n.products.is_empty() {
            out += &format!(
                "products: {} (f32: the int8 weights dequantized on load, for conv, GRU and LSTM layers and dense layers with fewer than {} inputs or {} outputs)\n",
                n.products.join(", "),
                csvnn::compress::F32_PRODUCT_INPUTS,
                csvnn::compress::F32_PRODUCT_OUTPUTS
            );
        }
        if !n.layers_f32.is_empty() {
            out += &format!("kept f32: {}\n", n.layers_f32.join(", "));
        }
    }
    out
}

pub fn run(args: CompressArgs, ui: &Ui) -> anyhow::Result<()> {
    csvnn::atomic::check_writable_file(&args.output)?;
    let model = Model::load(&args.model)?;
    let mut compressed = model;
    if let Some(sparsity) = args.how.prune {
        let data = DataArgs {
            data: args.data.clone().unwrap_or_default(),
            reading: args.reading.clone(),
        };
        let table = data.read(ui)?;
        let settings = PruneSettings {
            sparsity,
            epochs: args.epochs,
            scope: match args.prune_scope {
                PruneScope::Global => Scope::Global,
                PruneScope::Layer => Scope::Layer,
            },
        };
        compressed = prune(&compressed, &table, &settings, &mut UiNotices(ui))?;
    }
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

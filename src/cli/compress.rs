//! `csvnn compress`: a smaller model from a trained one. `--prune S` zeroes the fraction S
//! of the smallest dense and convolution weights and fine-tunes the rest on `--data`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{bounded_usize, DataArgs, ReadingArgs, Ui};
use super::notices::UiNotices;
use csvnn::atomic::check_writable_file;
use csvnn::compress::{prune, PruneSettings, Scope};
use csvnn::model::Model;
use csvnn::Error;

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

    /// Where to save the compressed model (written atomically).
    #[arg(short = 'o', long = "output", value_name = "SMALL")]
    pub output: PathBuf,

    /// Magnitude pruning: zero this fraction (between 0 and 1) of the weights of the
    /// dense and convolution layers, then fine-tune the rest on --data.
    #[arg(long, value_name = "S", allow_negative_numbers = true, value_parser = parse_sparsity, requires = "data")]
    pub prune: Option<f64>,

    /// The training CSV to fine-tune the pruned model on; it must have the model's
    /// columns and target.
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

pub fn run(args: CompressArgs, ui: &Ui) -> anyhow::Result<()> {
    let Some(sparsity) = args.prune else {
        return Err(Error::config("compress needs a method: --prune S --data TRAIN").into());
    };
    check_writable_file(&args.output)?;
    let model = Model::load(&args.model)?;
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
    let pruned = prune(&model, &table, &settings, &mut UiNotices(ui))?;
    let note = pruned
        .compression
        .as_ref()
        .and_then(|c| c.pruned.as_ref())
        .expect("prune records its note");
    pruned.save(&args.output)?;
    ui.info(&format!(
        "pruned {:.1}% of the dense and convolution weights ({} threshold), fine-tuned {} epochs on {} rows; saved the model to {}",
        note.achieved() * 100.0,
        note.threshold,
        note.fine_tune_epochs,
        note.rows,
        args.output.display()
    ));
    Ok(())
}

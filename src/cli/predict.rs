//! `csvnn predict`: write a saved model's predictions, one row per input row, as CSV or
//! JSON lines. The input is read and scored in chunks of rows and each chunk's output is
//! flushed before the next is read, so `predict --data -` works in a pipe with bounded
//! memory whatever the input's length.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::common::{
    parse_positive_usize, warn_non_finite, warn_skipped_rows, warn_unknown_categories,
    warn_unused_columns, DataArgs, Ui,
};
use super::evaluate::{check_threshold_flag, parse_probability};
use csvnn::atomic::write_atomically;
use csvnn::data::TableChunks;
use csvnn::model::Model;
use csvnn::preprocess::{NonFiniteValues, UnknownCategories};
use csvnn::scoring::{score_table, PredictionFormat, PredictionWriter};
use csvnn::{Error, Location};

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    #[command(flatten)]
    pub data: DataArgs,

    /// Output file; `-` or nothing for stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,

    /// Add a `proba_<label>` column per class (classification only).
    #[arg(long)]
    pub proba: bool,

    /// Input columns to copy before the prediction, verbatim.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub keep: Vec<String>,

    /// Output format: CSV with a header, or JSON lines (one object per row, with the CSV's
    /// column names as keys).
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
    pub format: OutputFormat,

    /// Binary classification: predict the positive class (the second label) when its
    /// probability is at least P. Default: the more probable class (0.5).
    #[arg(long, value_name = "P", value_parser = parse_probability, allow_negative_numbers = true)]
    pub threshold: Option<f64>,

    /// The input has no header line (a shard of a bigger file): these are its column
    /// names, in order; line 1 is a row. The delimiter is `,` unless --delimiter. Not for
    /// Parquet, which names its own columns.
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,

    /// CSV output without its header line (for every shard but the first). JSON lines
    /// have no header line: there it changes nothing.
    #[arg(long)]
    pub no_output_header: bool,

    /// Rows read, scored and written (then flushed) at a time; bounds the memory used.
    #[arg(long, value_name = "N", default_value_t = 8192, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub chunk_rows: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Csv,
    Jsonl,
}

impl From<OutputFormat> for PredictionFormat {
    fn from(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Csv => PredictionFormat::Csv,
            OutputFormat::Jsonl => PredictionFormat::Jsonl,
        }
    }
}

/// A per-column tally that chunks add up (unseen categories, non-finite numbers).
trait ColumnTally {
    fn column(&self) -> &str;
    fn count_mut(&mut self) -> &mut usize;
}

impl ColumnTally for UnknownCategories {
    fn column(&self) -> &str {
        &self.column
    }
    fn count_mut(&mut self) -> &mut usize {
        &mut self.count
    }
}

impl ColumnTally for NonFiniteValues {
    fn column(&self) -> &str {
        &self.column
    }
    fn count_mut(&mut self) -> &mut usize {
        &mut self.count
    }
}

/// Add one chunk's tallies to the running totals (the first occurrence is kept).
fn merge_counts<T: ColumnTally>(total: &mut Vec<T>, chunk: Vec<T>) {
    for mut item in chunk {
        match total.iter_mut().find(|t| t.column() == item.column()) {
            Some(t) => *t.count_mut() += *item.count_mut(),
            None => total.push(item),
        }
    }
}

/// Score `chunks` and write the predictions to `out`; returns the number of rows.
/// The first chunk is scored before anything is written, so an error in a small input
/// leaves the output empty.
#[allow(clippy::too_many_arguments)]
fn predict_chunks(
    out: &mut dyn Write,
    shown: &str,
    chunks: &mut TableChunks,
    model: &Model,
    args: &PredictArgs,
    keep: &[usize],
    ui: &Ui,
) -> Result<usize, Error> {
    let labels = model.pipeline.target_encoder.labels();
    let mut writer = PredictionWriter::new(
        out,
        shown,
        args.format.into(),
        chunks.headers(),
        keep,
        labels,
        args.proba,
    );
    let mut unknown = Vec::new();
    let mut non_finite = Vec::new();
    let mut n_rows = 0;
    let mut next = Some(chunks.next_chunk()?.unwrap_or_else(|| chunks.empty_table()));
    let mut first = true;
    while let Some(table) = next {
        warn_skipped_rows(ui, &table);
        let scored = score_table(model, &table, args.threshold)?;
        merge_counts(&mut unknown, scored.unknown_categories);
        merge_counts(&mut non_finite, scored.non_finite);
        if first && !args.no_output_header {
            writer.write_header()?;
            first = false;
        }
        writer.write_rows(&table, &scored.predictions)?;
        n_rows += table.n_rows();
        next = chunks.next_chunk()?;
    }
    warn_unknown_categories(ui, chunks.source(), &unknown);
    warn_non_finite(ui, chunks.source(), &non_finite);
    Ok(n_rows)
}

pub fn run(args: PredictArgs, ui: &Ui) -> anyhow::Result<()> {
    if let Some(path) = args.output.as_deref().filter(|p| *p != "-") {
        csvnn::atomic::check_writable_file(Path::new(path))?;
    }
    let model = Model::load(&args.model)?;
    if args.proba && model.pipeline.target_encoder.labels().is_empty() {
        return Err(Error::config(
            "--proba needs a classification model; this model does regression",
        )
        .into());
    }
    check_threshold_flag(&model, args.threshold)?;
    let mut options = args.data.to_source().csv_options();
    options.columns = args.columns.clone();
    let mut chunks = TableChunks::open(&args.data.data, &options, args.chunk_rows)?;
    let table = chunks.empty_table();
    let keep = args
        .keep
        .iter()
        .map(|name| {
            table.column_index(name).ok_or_else(|| {
                Error::data(
                    Location::file(&table.source),
                    format!(
                        "--keep names the column '{name}', which is not in the file; the columns are: {}",
                        table.header_list()
                    ),
                )
                .with_hint(csvnn::data::delimiter_hint(&table.headers))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    warn_unused_columns(ui, &model.pipeline, &table);
    match args.output.as_deref() {
        None | Some("-") => {
            let mut stdout = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            predict_chunks(
                &mut stdout,
                "<stdout>",
                &mut chunks,
                &model,
                &args,
                &keep,
                ui,
            )?;
        }
        Some(path) => {
            let mut n_rows = 0;
            write_atomically(Path::new(path), |out| {
                n_rows = predict_chunks(out, path, &mut chunks, &model, &args, &keep, ui)?;
                Ok(())
            })?;
            ui.info(&format!("wrote {n_rows} predictions to {path}"));
        }
    }
    Ok(())
}

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
use super::number::{json_cell, json_number, json_string};
use csvnn::atomic::write_atomically;
use csvnn::data::{RawTable, TableChunks};
use csvnn::metrics::classes_at_threshold;
use csvnn::model::{Model, Predictions};
use csvnn::number_text::round_trip;
use csvnn::preprocess::{NonFiniteValues, UnknownCategories};
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

fn csv_error(path: &str, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::io(path, std::io::Error::other(format!("{other:?}"))),
    }
}

/// Writes prediction rows as CSV or JSON lines: the kept columns, `prediction`, then
/// probabilities.
struct PredictionWriter<'a> {
    sink: Sink<'a>,
    shown: &'a str,
    /// Output column names.
    header: Vec<String>,
    keep: &'a [usize],
    labels: &'a [String],
    proba: bool,
}

enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    Jsonl {
        out: &'a mut dyn Write,
        line: String,
    },
}

impl<'a> PredictionWriter<'a> {
    fn new(
        out: &'a mut dyn Write,
        shown: &'a str,
        format: OutputFormat,
        headers: &[String],
        keep: &'a [usize],
        labels: &'a [String],
        proba: bool,
    ) -> Self {
        let mut header: Vec<String> = keep.iter().map(|&k| headers[k].clone()).collect();
        header.push("prediction".to_string());
        if proba {
            header.extend(labels.iter().map(|l| format!("proba_{l}")));
        }
        let sink = match format {
            OutputFormat::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
            OutputFormat::Jsonl => Sink::Jsonl {
                out,
                line: String::new(),
            },
        };
        PredictionWriter {
            sink,
            shown,
            header,
            keep,
            labels,
            proba,
        }
    }

    /// The CSV header line (JSON lines have none).
    fn write_header(&mut self) -> Result<(), Error> {
        match &mut self.sink {
            Sink::Csv(writer) => writer
                .write_record(&self.header)
                .map_err(|e| csv_error(self.shown, e)),
            Sink::Jsonl { .. } => Ok(()),
        }
    }

    /// One output row per row of `table`, then a flush.
    fn write_rows(&mut self, table: &RawTable, predictions: &Predictions) -> Result<(), Error> {
        let mut record: Vec<String> = Vec::with_capacity(self.header.len());
        for row in 0..table.n_rows() {
            record.clear();
            record.extend(
                self.keep
                    .iter()
                    .map(|&k| table.columns[k].text_at(row).into_owned()),
            );
            match &mut self.sink {
                Sink::Csv(writer) => {
                    match predictions {
                        Predictions::Classes { probs, classes } => {
                            record.push(self.labels[classes[row]].clone());
                            if self.proba {
                                record.extend(probs.row(row).iter().map(|&p| round_trip(p)));
                            }
                        }
                        Predictions::Values(values) => record.push(round_trip(values[row])),
                    }
                    writer
                        .write_record(&record)
                        .map_err(|e| csv_error(self.shown, e))?;
                }
                Sink::Jsonl { out, line } => {
                    line.clear();
                    line.push('{');
                    let mut values = record.iter().map(|v| json_cell(v)).collect::<Vec<_>>();
                    match predictions {
                        Predictions::Classes { probs, classes } => {
                            values.push(json_string(&self.labels[classes[row]]));
                            if self.proba {
                                values.extend(probs.row(row).iter().map(|&p| json_number(p)));
                            }
                        }
                        Predictions::Values(v) => values.push(json_number(v[row])),
                    }
                    for (i, (key, value)) in self.header.iter().zip(&values).enumerate() {
                        if i > 0 {
                            line.push(',');
                        }
                        line.push_str(&json_string(key));
                        line.push(':');
                        line.push_str(value);
                    }
                    line.push_str("}\n");
                    out.write_all(line.as_bytes())
                        .map_err(|e| Error::io(self.shown, e))?;
                }
            }
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), Error> {
        match &mut self.sink {
            Sink::Csv(writer) => writer.flush(),
            Sink::Jsonl { out, .. } => out.flush(),
        }
        .map_err(|e| Error::io(self.shown, e))
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
        args.format,
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
        let transformed = model.pipeline.transform(&table, None)?;
        merge_counts(&mut unknown, transformed.unknown_categories);
        merge_counts(&mut non_finite, transformed.non_finite);
        let mut predictions = model.predict(transformed.x.view());
        if let (Some(t), Predictions::Classes { probs, classes }) =
            (args.threshold, &mut predictions)
        {
            *classes = classes_at_threshold(probs.view(), t);
        }
        if first && !args.no_output_header {
            writer.write_header()?;
            first = false;
        }
        writer.write_rows(&table, &predictions)?;
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

//! `csvnn predict`: write a saved model's predictions as CSV, one row per input row.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::common::{warn_non_finite, warn_unknown_categories, warn_unused_columns, DataArgs, Ui};
use csvnn::atomic::write_atomically;
use csvnn::data::RawTable;
use csvnn::model::{Model, Predictions};
use csvnn::{Error, Location};

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    #[command(flatten)]
    pub data: DataArgs,

    /// Output CSV file; `-` or nothing for stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,

    /// Add a `proba_<label>` column per class (classification only).
    #[arg(long)]
    pub proba: bool,

    /// Input columns to copy before the prediction, verbatim.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub keep: Vec<String>,
}

fn csv_error(path: &str, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::io(path, std::io::Error::other(format!("{other:?}"))),
    }
}

/// Write the predictions CSV: the kept columns, `prediction`, then probabilities.
fn write_predictions(
    out: &mut dyn Write,
    shown: &str,
    table: &RawTable,
    keep: &[usize],
    labels: &[String],
    predictions: &Predictions,
    proba: bool,
) -> Result<(), Error> {
    let mut writer = csv::Writer::from_writer(out);
    let mut header: Vec<String> = keep.iter().map(|&k| table.headers[k].clone()).collect();
    header.push("prediction".to_string());
    if proba {
        header.extend(labels.iter().map(|l| format!("proba_{l}")));
    }
    writer
        .write_record(&header)
        .map_err(|e| csv_error(shown, e))?;
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for row in 0..table.n_rows() {
        record.clear();
        record.extend(keep.iter().map(|&k| table.columns[k].get(row).to_string()));
        match predictions {
            Predictions::Classes { probs, classes } => {
                record.push(labels[classes[row]].clone());
                if proba {
                    record.extend(probs.row(row).iter().map(|p| p.to_string()));
                }
            }
            Predictions::Values(values) => record.push(values[row].to_string()),
        }
        writer
            .write_record(&record)
            .map_err(|e| csv_error(shown, e))?;
    }
    writer.flush().map_err(|e| Error::io(shown, e))
}

pub fn run(args: PredictArgs, ui: &Ui, threads: usize) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    if args.proba && model.pipeline.target_encoder.labels().is_empty() {
        return Err(Error::config(
            "--proba needs a classification model; this model does regression",
        )
        .into());
    }
    let table = args.data.read_any(ui)?;
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
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    warn_unused_columns(ui, &model.pipeline, &table);
    let transformed = model.pipeline.transform(&table, None)?;
    warn_unknown_categories(ui, &table.source, &transformed.unknown_categories);
    warn_non_finite(ui, &table.source, &transformed.non_finite);
    let predictions = model.predict(transformed.x.view(), threads);
    let labels = model.pipeline.target_encoder.labels();
    match args.output.as_deref() {
        None | Some("-") => {
            let mut stdout = std::io::stdout().lock();
            write_predictions(
                &mut stdout,
                "<stdout>",
                &table,
                &keep,
                labels,
                &predictions,
                args.proba,
            )?;
        }
        Some(path) => {
            write_atomically(Path::new(path), |out| {
                write_predictions(out, path, &table, &keep, labels, &predictions, args.proba)
            })?;
            ui.info(&format!("wrote {} predictions to {path}", table.n_rows()));
        }
    }
    Ok(())
}

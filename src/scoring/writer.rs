//! `PredictionWriter`: prediction rows as `predict` writes them, CSV with a header or JSON
//! lines: the kept input columns verbatim, `prediction`, then one `proba_<label>` per
//! class. `csvnn predict` and `csvnn serve` both write through it, so their bytes agree.

use std::io::Write;

use super::json::{json_cell, json_number, json_string};
use crate::data::RawTable;
use crate::error::{Error, Result};
use crate::model::Predictions;
use crate::number_text::round_trip;

/// How prediction rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictionFormat {
    /// CSV with a header line.
    Csv,
    /// One JSON object per line, keyed by the CSV's column names.
    Jsonl,
}

/// A csv crate error as an I/O error on `shown`.
fn csv_error(shown: &str, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(shown, io),
        other => Error::io(shown, std::io::Error::other(format!("{other:?}"))),
    }
}

/// Writes prediction rows as CSV or JSON lines: the kept columns, `prediction`, then
/// probabilities.
pub struct PredictionWriter<'a> {
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
    /// A writer into `out` (named `shown` in errors). `headers` are the input's column
    /// names, `keep` the indices of those copied before the prediction, `labels` the
    /// model's classes (empty for regression); `proba` adds a probability per class.
    pub fn new(
        out: &'a mut dyn Write,
        shown: &'a str,
        format: PredictionFormat,
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
            PredictionFormat::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
            PredictionFormat::Jsonl => Sink::Jsonl {
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

    /// The output column names.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The CSV header line (JSON lines have none).
    pub fn write_header(&mut self) -> Result<()> {
        match &mut self.sink {
            Sink::Csv(writer) => writer
                .write_record(&self.header)
                .map_err(|e| csv_error(self.shown, e)),
            Sink::Jsonl { .. } => Ok(()),
        }
    }

    /// One output row per row of `table`, then a flush.
    pub fn write_rows(&mut self, table: &RawTable, predictions: &Predictions) -> Result<()> {
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

    /// Flush what was written to the output.
    pub fn flush(&mut self) -> Result<()> {
        match &mut self.sink {
            Sink::Csv(writer) => writer.flush(),
            Sink::Jsonl { out, .. } => out.flush(),
        }
        .map_err(|e| Error::io(self.shown, e))
    }
}

//! Scoring one request body, on a blocking thread: a CSV body is read as `predict` reads
//! a file; a JSON body's rows become the same kind of table (one column per key); both
//! are scored and written by `crate::scoring`, so a CSV answer is byte for byte what
//! `csvnn predict` writes for the same rows.

use std::io::Cursor;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::problem::Problem;
use super::state::ServedModel;
use crate::data::{read_owned_table_from, CsvOptions, RawTable};
use crate::error::Error;
use crate::scoring::{score_table_with, PredictionFormat, PredictionWriter};

/// What the body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyKind {
    /// A CSV table with a header line.
    Csv,
    /// `{"rows": [...], "proba": bool, "keep": [...]}`.
    Json,
}

/// The query's options: what `predict --proba` and `--keep` do.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Options {
    pub proba: bool,
    pub keep: Vec<String>,
}

impl Options {
    /// `proba=true|false` and `keep=COL,...` (repeatable); any other parameter is refused.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Options, Problem> {
        let mut options = Options::default();
        for (key, value) in pairs {
            match key.as_str() {
                "proba" => options.proba = parse_bool(value)?,
                "keep" => options
                    .keep
                    .extend(value.split(',').map(|c| c.trim().to_string())),
                other => {
                    return Err(Problem::bad_request(format!(
                        "unknown query parameter '{other}'; expected proba or keep"
                    )))
                }
            }
        }
        Ok(options)
    }
}

fn parse_bool(value: &str) -> Result<bool, Problem> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Problem::bad_request(format!(
            "proba must be true or false, not '{value}'"
        ))),
    }
}

/// A JSON body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBody {
    rows: Vec<Map<String, Value>>,
    #[serde(default)]
    proba: bool,
    #[serde(default)]
    keep: Vec<String>,
}

/// A scored request: the answer's bytes and the rows in it.
#[derive(Debug)]
pub(super) struct Scored {
    pub body: Vec<u8>,
    pub rows: usize,
}

/// Score `body` with `model`. Bad input of any kind is a 400 (worded by `render` where
/// the library found it), too many rows a 413.
pub(super) fn answer(
    served: &ServedModel,
    body: Vec<u8>,
    kind: BodyKind,
    mut options: Options,
    max_rows: usize,
    render: &dyn Fn(&Error) -> String,
) -> Result<Scored, Problem> {
    let model = &served.model;
    let bad = |e: Error| Problem::bad_request(render(&e));
    let table = match kind {
        BodyKind::Csv => read_owned_table_from(Cursor::new(body), "<body>", &CsvOptions::default())
            .map_err(bad)?,
        BodyKind::Json => {
            let request: JsonBody = serde_json::from_slice(&body).map_err(|e| {
                Problem::bad_request(format!("<body>: not the expected JSON ({e}); expected {{\"rows\": [{{\"column\": value, ...}}, ...]}} with optional \"proba\": true and \"keep\": [\"column\", ...]"))
            })?;
            too_many_rows(request.rows.len(), max_rows)?;
            options.proba |= request.proba;
            options.keep.extend(request.keep);
            if request.rows.is_empty() {
                return Ok(Scored {
                    body: b"{\"predictions\":[]}\n".to_vec(),
                    rows: 0,
                });
            }
            let csv = rows_as_csv(&request.rows)?;
            let comma = CsvOptions {
                delimiter: Some(b','),
                ..CsvOptions::default()
            };
            read_owned_table_from(Cursor::new(csv), "<rows>", &comma).map_err(bad)?
        }
    };
    too_many_rows(table.n_rows(), max_rows)?;
    let labels = model.pipeline.target_encoder.labels();
    if options.proba && labels.is_empty() {
        return Err(Problem::bad_request(
            "proba needs a classification model; this model does regression",
        ));
    }
    let keep = keep_indices(&table, &options.keep)?;
    let mut network = served.take_network();
    let scored = score_table_with(model, &mut network, &table, None).map_err(bad);
    served.put_back(network);
    let scored = scored?;
    let format = match kind {
        BodyKind::Csv => PredictionFormat::Csv,
        BodyKind::Json => PredictionFormat::Jsonl,
    };
    let mut out = Vec::new();
    {
        let mut writer = PredictionWriter::new(
            &mut out,
            "<answer>",
            format,
            &table.headers,
            &keep,
            labels,
            options.proba,
        );
        writer.write_header().map_err(bad)?;
        writer
            .write_rows(&table, &scored.predictions)
            .map_err(bad)?;
    }
    if kind == BodyKind::Json {
        out = json_answer(&out);
    }
    Ok(Scored {
        body: out,
        rows: table.n_rows(),
    })
}

fn too_many_rows(rows: usize, max_rows: usize) -> Result<(), Problem> {
    if rows > max_rows {
        return Err(Problem::too_large(format!(
            "the body has {rows} rows, more than the limit of {max_rows} per request"
        )));
    }
    Ok(())
}

/// The indices of the `keep` columns; a name not in the table is a 400.
fn keep_indices(table: &RawTable, names: &[String]) -> Result<Vec<usize>, Problem> {
    names
        .iter()
        .map(|name| {
            table.column_index(name).ok_or_else(|| {
                Problem::bad_request(format!(
                    "{}: keep names the column '{name}', which is not in the body; the columns are: {}",
                    table.source,
                    table.header_list()
                ))
            })
        })
        .collect()
}

/// JSON lines (one object per row) as `{"predictions": [...]}`.
fn json_answer(lines: &[u8]) -> Vec<u8> {
    let mut out = b"{\"predictions\":[".to_vec();
    for (i, line) in lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"]}\n");
    out
}

/// The rows of a JSON body as CSV text: one column per key found in any row (in key
/// order), a missing key or `null` an empty (missing) cell, a number as its JSON text, a
/// boolean as `true` or `false`. Arrays and objects are refused.
fn rows_as_csv(rows: &[Map<String, Value>]) -> Result<Vec<u8>, Problem> {
    let mut columns: Vec<&String> = rows.iter().flat_map(|row| row.keys()).collect();
    columns.sort();
    columns.dedup();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let written = |r: csv::Result<()>| {
        r.map_err(|e| Problem::bad_request(format!("<rows>: the rows do not make a table: {e}")))
    };
    written(writer.write_record(&columns))?;
    let mut record: Vec<String> = Vec::with_capacity(columns.len());
    for (i, row) in rows.iter().enumerate() {
        record.clear();
        for &column in &columns {
            record.push(match row.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(other) => {
                    let what = if other.is_array() { "an array" } else { "an object" };
                    return Err(Problem::bad_request(format!(
                        "<rows>: row {}: the value of '{column}' is {what}; expected a string, a number, a boolean or null",
                        i + 1
                    )));
                }
            });
        }
        written(writer.write_record(&record))?;
    }
    writer
        .into_inner()
        .map_err(|e| Problem::bad_request(format!("<rows>: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn json_rows_become_a_table_with_every_key() {
        let rows = [
            row(&[("b", Value::from(1.5)), ("a", Value::from("x, \"y\""))]),
            row(&[("c", Value::Bool(true)), ("a", Value::Null)]),
        ];
        let csv = String::from_utf8(rows_as_csv(&rows).unwrap()).unwrap();
        assert_eq!(csv, "a,b,c\n\"x, \"\"y\"\"\",1.5,\n,,true\n");
    }

    #[test]
    fn nested_json_values_are_refused_with_their_row() {
        let rows = [
            row(&[("a", Value::from(1))]),
            row(&[("a", serde_json::json!([1]))]),
        ];
        let problem = rows_as_csv(&rows).unwrap_err();
        assert_eq!(problem.status.as_u16(), 400);
        assert!(
            problem
                .message
                .contains("row 2: the value of 'a' is an array"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn query_options_are_checked() {
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let options = Options::from_query(&pairs(&[("proba", "true"), ("keep", "a, b")])).unwrap();
        assert_eq!(
            options,
            Options {
                proba: true,
                keep: vec!["a".into(), "b".into()]
            }
        );
        assert!(Options::from_query(&pairs(&[("proba", "yes")])).is_err());
        assert!(Options::from_query(&pairs(&[("threshold", "0.5")])).is_err());
    }

    #[test]
    fn json_lines_join_into_one_array() {
        assert_eq!(
            json_answer(b"{\"a\":1}\n{\"a\":2}\n"),
            b"{\"predictions\":[{\"a\":1},{\"a\":2}]}\n"
        );
        assert_eq!(json_answer(b""), b"{\"predictions\":[]}\n");
    }
}

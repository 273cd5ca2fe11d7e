//! A series: the feature columns of a row, in file order, read as T steps of C channels
//! (time-major, channel fastest) and encoded as one sequence block (`nn::sequence`):
//! `[L, standardised values of the L valid steps, zeros for the padding steps]`. Trailing
//! empty cells are padding, so series may be shorter than T; a gap (an empty cell followed
//! by a value) is an error. Each channel is standardised with its own training mean and
//! standard deviation over the valid values.

use serde::{Deserialize, Serialize};

use super::kinds::SequenceShape;
use super::numeric::mean_and_std;
use crate::data::{Cell, Cells, NaValues, RawTable};
use crate::error::{Error, Result};

/// A fitted series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceColumn {
    /// A name for the series: its first and last columns, `t000_c0..t024_c11`.
    pub name: String,
    /// Its T x C columns, in order (step by step, channel fastest).
    pub columns: Vec<String>,
    /// T steps of C channels.
    pub shape: SequenceShape,
    /// Per channel: the training mean of its valid values.
    pub mean: Vec<f64>,
    /// Per channel: their population standard deviation (1 when constant).
    pub std: Vec<f64>,
}

/// How a row's cells fail to be a series.
enum SeriesProblem {
    /// An empty cell (position) followed by a value (position).
    Gap(usize, usize),
    /// The series ends inside a step: its first empty cell (position).
    PartialStep(usize),
    /// A cell that is not a finite number (position).
    NotANumber(usize),
}

/// Read a row's series: `value(position, v)` for every valid value, in order; returns the
/// number of valid steps L.
fn read_series(
    cells: &[Cells],
    row: usize,
    channels: usize,
    mut value: impl FnMut(usize, f64),
) -> Result<usize, SeriesProblem> {
    let mut end = None;
    for (position, column) in cells.iter().enumerate() {
        match column.get(row) {
            Cell::Missing => {
                end.get_or_insert(position);
            }
            Cell::Number(v) => match end {
                Some(gap) => return Err(SeriesProblem::Gap(gap, position)),
                None => value(position, v),
            },
            Cell::NonFinite | Cell::Text(_) => return Err(SeriesProblem::NotANumber(position)),
        }
    }
    let end = end.unwrap_or(cells.len());
    if end % channels != 0 {
        return Err(SeriesProblem::PartialStep(end));
    }
    Ok(end / channels)
}

/// The error for a row that is not a series; `columns` are the table's column indices.
fn series_error(table: &RawTable, row: usize, columns: &[usize], problem: SeriesProblem) -> Error {
    match problem {
        SeriesProblem::Gap(gap, next) => Error::data(
            table.location(row, columns[gap]),
            format!(
                "a gap in the series: the cell is empty but column '{}' after it is not; a series may only end early (empty cells at its end)",
                table.headers[columns[next]]
            ),
        ),
        SeriesProblem::PartialStep(end) => Error::data(
            table.location(row, columns[end]),
            "the series ends inside a step (this channel is empty, an earlier one of its step is not); a step has all its channels or none".to_string(),
        ),
        SeriesProblem::NotANumber(position) => {
            let cell = table.columns[columns[position]].text_at(row);
            Error::data(
                table.location(row, columns[position]),
                format!("'{cell}' is not a number; expected a finite number (the column is part of the series)"),
            )
        }
    }
}

/// "1 column", "35 columns".
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

impl SequenceColumn {
    /// What a series read from a file lacks, as (found, expected): at least one step and
    /// one channel, T x C columns, one mean and standard deviation per channel. Encoding
    /// indexes by all of them, so a model or preprocessor file is refused without them.
    pub fn shape_problem(&self) -> Option<(String, String)> {
        let (steps, channels) = (self.shape.steps, self.shape.channels);
        if steps == 0 || channels == 0 {
            return Some((
                format!("{steps} steps of {channels} channels"),
                "at least 1 of each".to_string(),
            ));
        }
        // Multiplied without overflow: the shape may be anything a file holds.
        if steps.checked_mul(channels) != Some(self.columns.len()) {
            return Some((
                count(self.columns.len(), "column"),
                format!(
                    "{}, {steps} steps of {channels} channels",
                    steps as u128 * channels as u128
                ),
            ));
        }
        [("mean", &self.mean), ("standard deviation", &self.std)]
            .into_iter()
            .find(|(_, stats)| stats.len() != channels)
            .map(|(what, stats)| {
                (
                    count(stats.len(), what),
                    format!("{channels}, one per channel"),
                )
            })
    }

    /// Fit on `rows`: the table columns `columns` (exactly T x C of them) as one series.
    pub(crate) fn fit(
        table: &RawTable,
        rows: &[usize],
        columns: &[usize],
        shape: SequenceShape,
        na: &NaValues,
    ) -> Result<Self> {
        let cells: Vec<Cells> = columns
            .iter()
            .map(|&i| table.columns[i].cells(na))
            .collect();
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); shape.channels];
        for &row in rows {
            read_series(&cells, row, shape.channels, |position, v| {
                values[position % shape.channels].push(v)
            })
            .map_err(|problem| series_error(table, row, columns, problem))?;
        }
        let (mean, std) = values.iter().map(|v| mean_and_std(v)).unzip();
        let names: Vec<String> = columns.iter().map(|&i| table.headers[i].clone()).collect();
        Ok(SequenceColumn {
            name: format!("{}..{}", names[0], names[names.len() - 1]),
            columns: names,
            shape,
            mean,
            std,
        })
    }

    /// Network inputs: the length column and T x C values.
    pub fn width(&self) -> usize {
        1 + self.shape.len()
    }

    /// Write the block of `row` into `out` (`width()` values, zeros on entry);
    /// `columns` are the table's indices of the series' columns.
    pub(crate) fn encode(
        &self,
        table: &RawTable,
        cells: &[Cells],
        columns: &[usize],
        row: usize,
        out: &mut [f32],
    ) -> Result<()> {
        let channels = self.shape.channels;
        let steps = read_series(cells, row, channels, |position, v| {
            let c = position % channels;
            out[1 + position] = ((v - self.mean[c]) / self.std[c]) as f32;
        })
        .map_err(|problem| series_error(table, row, columns, problem))?;
        out[0] = steps as f32;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table_from, CsvOptions};

    fn table(text: &str) -> RawTable {
        read_table_from(
            std::io::Cursor::new(text.to_string()),
            "s.csv",
            &CsvOptions::default(),
        )
        .unwrap()
    }

    const SHAPE: SequenceShape = SequenceShape {
        steps: 3,
        channels: 2,
    };

    #[test]
    fn padding_lengths_and_per_channel_stats() {
        let t = table("a0,b0,a1,b1,a2,b2\n1,10,3,30,,\n5,50,7,70,9,90\n,,,,,\n");
        let columns: Vec<usize> = (0..6).collect();
        let rows = [0, 1, 2];
        let na = NaValues::default();
        let col = SequenceColumn::fit(&t, &rows, &columns, SHAPE, &na).unwrap();
        assert_eq!(col.name, "a0..b2");
        // Channel a: 1 3 5 7 9 (mean 5, std sqrt 8); channel b ten times that.
        assert_eq!(col.mean, [5.0, 50.0]);
        assert!((col.std[0] - 8f64.sqrt()).abs() < 1e-12);
        assert!((col.std[1] - 10.0 * 8f64.sqrt()).abs() < 1e-9);
        let cells: Vec<Cells> = columns.iter().map(|&i| t.columns[i].cells(&na)).collect();
        let mut out = vec![0f32; col.width()];
        col.encode(&t, &cells, &columns, 0, &mut out).unwrap();
        let z = |v: f64| ((v - 5.0) / 8f64.sqrt()) as f32;
        assert_eq!(out, [2.0, z(1.0), z(1.0), z(3.0), z(3.0), 0.0, 0.0]);
        let mut out = vec![0f32; col.width()];
        col.encode(&t, &cells, &columns, 2, &mut out).unwrap();
        assert_eq!(out, [0.0; 7]);
    }

    #[test]
    fn gaps_partial_steps_and_words_are_errors() {
        let columns: Vec<usize> = (0..6).collect();
        let na = NaValues::default();
        let fit = |text: &str| {
            SequenceColumn::fit(&table(text), &[0], &columns, SHAPE, &na)
                .unwrap_err()
                .to_string()
        };
        let header = "a0,b0,a1,b1,a2,b2\n";
        assert_eq!(
            fit(&format!("{header}1,2,,,5,6\n")),
            "s.csv: line 2: column 'a1': a gap in the series: the cell is empty but column 'a2' after it is not; a series may only end early (empty cells at its end)"
        );
        assert_eq!(
            fit(&format!("{header}1,2,3,,,\n")),
            "s.csv: line 2: column 'b1': the series ends inside a step (this channel is empty, an earlier one of its step is not); a step has all its channels or none"
        );
        assert_eq!(
            fit(&format!("{header}1,2,x,4,5,6\n")),
            "s.csv: line 2: column 'a1': 'x' is not a number; expected a finite number (the column is part of the series)"
        );
    }
}

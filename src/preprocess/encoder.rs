//! `ColumnEncoder`: one feature's column of a table encoded into network inputs, block by
//! block of rows, with what it found that could not be encoded.

use super::categorical::{CategoricalColumn, Slot};
use super::date::DateColumn;
use super::findings::{NonFiniteValues, UnknownCategories};
use super::fit_date::bad_date;
use super::numeric::NumericColumn;
use super::ordinal::OrdinalColumn;
use super::pipeline::Feature;
use super::series::SequenceColumn;
use super::text::TextColumn;
use crate::data::{looks_like_localized_number, Cell, Cells, Column, NaValues, RawTable};
use crate::error::{Error, Result};

/// One feature's column of a table being encoded into network inputs, with what it found
/// that could not be encoded.
pub(crate) struct ColumnEncoder<'a> {
    column: &'a Column,
    /// Table column index, for messages.
    index: usize,
    /// The first network input of the feature.
    offset: usize,
    pub(crate) kind: EncoderKind<'a>,
}

/// How the column is encoded, and what was found that could not be.
pub(crate) enum EncoderKind<'a> {
    Numeric {
        feature: &'a NumericColumn,
        cells: Cells<'a>,
        bad: Option<NonFiniteValues>,
    },
    Categorical {
        feature: &'a CategoricalColumn,
        na: &'a NaValues,
        unknown: Option<UnknownCategories>,
    },
    Ordinal {
        feature: &'a OrdinalColumn,
        na: &'a NaValues,
        unknown: Option<UnknownCategories>,
    },
    Date {
        feature: &'a DateColumn,
        na: &'a NaValues,
    },
    Text {
        feature: &'a TextColumn,
        na: &'a NaValues,
    },
    Sequence {
        feature: &'a SequenceColumn,
        cells: Vec<Cells<'a>>,
        columns: &'a [usize],
    },
}

impl<'a> ColumnEncoder<'a> {
    /// The encoder of `feature`, columns `indices` of `table` (one, or a series'),
    /// inputs from `offset` on.
    pub(crate) fn new(
        feature: &'a Feature,
        table: &'a RawTable,
        indices: &'a [usize],
        offset: usize,
        na: &'a NaValues,
    ) -> Self {
        let index = indices[0];
        let column = &table.columns[index];
        let kind = match feature {
            Feature::Numeric(feature) => EncoderKind::Numeric {
                feature,
                cells: column.cells(na),
                bad: None,
            },
            Feature::Categorical(feature) => EncoderKind::Categorical {
                feature,
                na,
                unknown: None,
            },
            Feature::Ordinal(feature) => EncoderKind::Ordinal {
                feature,
                na,
                unknown: None,
            },
            Feature::Date(feature) => EncoderKind::Date { feature, na },
            Feature::Text(feature) => EncoderKind::Text { feature, na },
            Feature::Sequence(feature) => EncoderKind::Sequence {
                feature,
                cells: indices
                    .iter()
                    .map(|&i| table.columns[i].cells(na))
                    .collect(),
                columns: indices,
            },
        };
        ColumnEncoder {
            column,
            index,
            offset,
            kind,
        }
    }

    /// Write the inputs of `rows` into `out`, their rows of `n_inputs` values.
    pub(crate) fn encode(
        &mut self,
        table: &RawTable,
        rows: &[usize],
        out: &mut [f32],
        n_inputs: usize,
    ) -> Result<()> {
        let column = self.column;
        match &mut self.kind {
            EncoderKind::Numeric {
                feature,
                cells,
                bad,
            } => {
                if encode_plain(feature, cells, rows, out, n_inputs, self.offset) {
                    return Ok(());
                }
                for (i, &row) in rows.iter().enumerate() {
                    let mut value = match cells.get(row) {
                        Cell::Number(v) => Some(v),
                        Cell::Missing => None,
                        Cell::NonFinite => Some(f64::INFINITY), // counted below
                        Cell::Text(text) => {
                            let expected = if looks_like_localized_number(text) {
                                "expected a plain number like 1234.5 (no decimal comma, no thousands separators)"
                            } else {
                                "expected a number (the column is numeric in the model)"
                            };
                            return Err(Error::data(
                                table.location(row, self.index),
                                format!("'{text}' is not a number; {expected}"),
                            ));
                        }
                    };
                    let mut encoded = feature.transform(value);
                    if value.is_some() && !encoded.is_finite() {
                        value = None;
                        encoded = feature.transform(value);
                        bad.get_or_insert_with(|| NonFiniteValues {
                            column: feature.name.clone(),
                            count: 0,
                            first_value: column.text_at(row).into_owned(),
                            first_line: table.lines[row],
                        })
                        .count += 1;
                    }
                    out[i * n_inputs + self.offset] = encoded;
                }
            }
            EncoderKind::Categorical {
                feature,
                na,
                unknown,
            } => {
                for (i, &row) in rows.iter().enumerate() {
                    let cell = column.text_at(row);
                    let value = (!na.is_missing(&cell)).then_some(&*cell);
                    let slot = feature.slot(value);
                    match slot {
                        Slot::Known(position) | Slot::Other(position) => {
                            out[i * n_inputs + self.offset + position] = 1.0
                        }
                        // In a column with an "other" input, unseen values go there
                        // quietly, as the rarest training values do.
                        Slot::Unknown => {
                            unknown
                                .get_or_insert_with(|| UnknownCategories {
                                    column: feature.name.clone(),
                                    as_missing: false,
                                    count: 0,
                                    first_value: cell.to_string(),
                                    first_line: table.lines[row],
                                })
                                .count += 1
                        }
                    }
                }
            }
            EncoderKind::Ordinal {
                feature,
                na,
                unknown,
            } => {
                for (i, &row) in rows.iter().enumerate() {
                    let cell = column.text_at(row);
                    let index = if na.is_missing(&cell) {
                        None
                    } else {
                        let index = feature.index(&cell);
                        if index.is_none() {
                            unknown
                                .get_or_insert_with(|| UnknownCategories {
                                    column: feature.name.clone(),
                                    as_missing: true,
                                    count: 0,
                                    first_value: cell.to_string(),
                                    first_line: table.lines[row],
                                })
                                .count += 1;
                        }
                        index
                    };
                    out[i * n_inputs + self.offset] = feature.transform(index);
                }
            }
            EncoderKind::Date { feature, na } => {
                let width = feature.width();
                for (i, &row) in rows.iter().enumerate() {
                    let cell = column.text_at(row);
                    let start = i * n_inputs + self.offset;
                    let out = &mut out[start..start + width];
                    if na.is_missing(&cell) {
                        feature.transform(None, out);
                        continue;
                    }
                    match feature.parse(&cell) {
                        Ok(date) => feature.transform(Some(&date), out),
                        Err(problem) => {
                            let format = feature.format.as_ref();
                            return Err(bad_date(table, row, self.index, format, &problem));
                        }
                    }
                }
            }
            EncoderKind::Text { feature, na } => {
                let width = feature.width();
                for (i, &row) in rows.iter().enumerate() {
                    let cell = column.text_at(row);
                    let start = i * n_inputs + self.offset;
                    let cell = (!na.is_missing(&cell)).then_some(&*cell);
                    feature.transform(cell, &mut out[start..start + width]);
                }
            }
            EncoderKind::Sequence {
                feature,
                cells,
                columns,
            } => {
                let width = feature.width();
                for (i, &row) in rows.iter().enumerate() {
                    let start = i * n_inputs + self.offset;
                    feature.encode(table, cells, columns, row, &mut out[start..start + width])?;
                }
            }
        }
        Ok(())
    }
}

/// Rows a block of `encode_plain` takes at most.
const PLAIN_BLOCK: usize = 64;
/// Columns `encode_run` takes at most: a row's inputs of a run fill a cache line.
pub(crate) const RUN: usize = 16;

impl ColumnEncoder<'_> {
    /// True for a numeric column of plain numbers (`Cells::plain_values`), which
    /// `encode_run` takes.
    pub(crate) fn is_plain_numeric(&self) -> bool {
        matches!(&self.kind, EncoderKind::Numeric { cells, .. } if cells.is_plain())
    }

    /// The first network input of the feature.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }
}

/// `encode` of each of `encoders` (at most `RUN` plain numeric columns whose inputs
/// follow each other) for a block of `rows`, the columns' values standardised into a
/// tile first: each row's inputs of the run are then stored together, not one column
/// at a time (a block's rows of hundreds of inputs are more than the cache keeps).
pub(crate) fn encode_run(
    encoders: &mut [ColumnEncoder<'_>],
    table: &RawTable,
    rows: &[usize],
    out: &mut [f32],
    n_inputs: usize,
) -> Result<()> {
    let (n, k) = (rows.len(), encoders.len());
    let mut tile = [0.0f32; PLAIN_BLOCK * RUN];
    let mut encoded = [0.0f32; PLAIN_BLOCK];
    // The columns' values are asked of the cache two columns ahead.
    let prefetch = |j: usize| {
        if let Some(EncoderKind::Numeric { cells, .. }) = encoders.get(j).map(|e| &e.kind) {
            cells.prefetch(rows);
        }
    };
    prefetch(0);
    prefetch(1);
    let all_plain = n <= PLAIN_BLOCK
        && k <= RUN
        && encoders.iter().enumerate().all(|(j, encoder)| {
            prefetch(j + 2);
            let EncoderKind::Numeric { feature, cells, .. } = &encoder.kind else {
                return false;
            };
            let done = standardise_plain(feature, cells, rows, &mut encoded[..n]);
            for (i, &e) in encoded[..n].iter().enumerate() {
                tile[i * RUN + j] = e;
            }
            done
        });
    if !all_plain {
        // A non-finite input (counted by `encode`), or not a run.
        for encoder in encoders {
            encoder.encode(table, rows, out, n_inputs)?;
        }
        return Ok(());
    }
    let offset = encoders[0].offset;
    for (i, inputs) in tile.chunks_exact(RUN).take(n).enumerate() {
        let start = i * n_inputs + offset;
        out[start..start + k].copy_from_slice(&inputs[..k]);
    }
    Ok(())
}

/// A block of a column of plain numbers (`Cells::plain_values`) encoded as
/// `NumericColumn::transform` encodes each cell, in loops the compiler vectorises: the
/// values gathered, then all standardised, then stored. `false`, with `out` left for
/// the cell-by-cell loop, when the column is not plain, the block is too long, or a cell
/// encodes to a non-finite input (which that loop counts).
fn encode_plain(
    feature: &NumericColumn,
    cells: &Cells<'_>,
    rows: &[usize],
    out: &mut [f32],
    n_inputs: usize,
    offset: usize,
) -> bool {
    let n = rows.len();
    let mut encoded = [0.0f32; PLAIN_BLOCK];
    if n > PLAIN_BLOCK || !standardise_plain(feature, cells, rows, &mut encoded[..n]) {
        return false;
    }
    for (i, &e) in encoded[..n].iter().enumerate() {
        out[i * n_inputs + offset] = e;
    }
    true
}

/// The inputs of `rows` (at most `PLAIN_BLOCK`) of a column of plain numbers into
/// `encoded`; `false` when the column is not plain or an input is not finite.
fn standardise_plain(
    feature: &NumericColumn,
    cells: &Cells<'_>,
    rows: &[usize],
    encoded: &mut [f32],
) -> bool {
    let n = rows.len();
    let mut values = [0.0f64; PLAIN_BLOCK];
    if !cells.plain_values(rows, &mut values[..n]) {
        return false;
    }
    standardise(
        &values[..n],
        feature.mean,
        feature.std,
        feature.impute,
        encoded,
    );
    encoded.iter().all(|e| e.is_finite())
}

crate::nn::fast_math::vectorised_fn! {
    /// `NumericColumn::transform` of each of `values` into `encoded`: the division, which
    /// bounds the transform, four or eight at a time.
    fn standardise(values: &[f64], mean: f64, std: f64, impute: f64, encoded: &mut [f32]) {
        for (e, &v) in encoded.iter_mut().zip(values) {
            // NaN: an empty cell, imputed.
            let v = if v.is_nan() { impute } else { v };
            *e = ((v - mean) / std) as f32;
        }
    }
}

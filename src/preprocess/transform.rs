//! `Pipeline::transform`: network inputs for the rows of a table, encoded on all cores,
//! and what could not be encoded.

use std::ops::Range;

use ndarray::Array2;

use super::encoder::{encode_run, ColumnEncoder, EncoderKind, RUN};
use super::findings::{merge_finding, NonFiniteValues, UnknownCategories};
use super::pipeline::Pipeline;
use crate::data::{delimiter_hint, RawTable};
use crate::error::{Error, Location, Result};

/// Network inputs for a set of rows, and what could not be encoded.
#[derive(Debug, Clone)]
pub struct Transformed {
    /// (n_rows, n_inputs)
    pub x: Array2<f32>,
    /// Categorical values not seen in training, and ordinal values not among the
    /// levels, per column.
    pub unknown_categories: Vec<UnknownCategories>,
    /// Numeric cells that were infinite or out of range, encoded as missing.
    pub non_finite: Vec<NonFiniteValues>,
}

/// The encoders in order as ranges: runs of at most `RUN` plain numeric columns whose
/// inputs follow each other (`true`), and single other encoders (`false`).
fn runs(encoders: &[ColumnEncoder<'_>]) -> Vec<(Range<usize>, bool)> {
    let mut runs: Vec<(Range<usize>, bool)> = Vec::new();
    for (i, encoder) in encoders.iter().enumerate() {
        let plain = encoder.is_plain_numeric();
        if let Some((run, true)) = runs.last_mut() {
            let follows = encoders[i - 1].offset() + 1 == encoder.offset();
            if plain && follows && run.len() < RUN {
                run.end = i + 1;
                continue;
            }
        }
        runs.push((i..i + 1, plain));
    }
    runs
}

/// Rows per block of `Pipeline::transform`, and fewest rows per thread.
const BLOCK_ROWS: usize = 64;
const PARALLEL_MIN_ROWS: usize = 4096;

impl Pipeline {
    /// Network inputs for `rows` of `table` (all rows when `None`), columns found by name.
    pub fn transform(&self, table: &RawTable, rows: Option<&[usize]>) -> Result<Transformed> {
        let all_rows: Vec<usize>;
        let rows = match rows {
            Some(rows) => rows,
            None => {
                all_rows = (0..table.n_rows()).collect();
                &all_rows
            }
        };
        let by_name = table.index_by_name();
        let mut columns = Vec::with_capacity(self.features.len());
        let mut offset = 0;
        for feature in &self.features {
            let mut indices = Vec::new();
            for name in feature.columns() {
                let index = by_name.get(name).copied().ok_or_else(|| {
                    Error::data(
                        Location::file(&table.source),
                        format!(
                            "the feature column '{name}' is missing; the model needs it; the columns are: {}",
                            table.header_list()
                        ),
                    )
                    .with_hint(delimiter_hint(&table.headers))
                })?;
                indices.push(index);
            }
            columns.push((feature, indices, offset));
            offset += feature.width();
        }
        let n_inputs = offset;
        let mut x = Array2::<f32>::zeros((rows.len(), n_inputs));
        let out = x.as_slice_mut().expect("a new array is contiguous");
        // Contiguous parts of the rows on all cores (each cell is encoded alone, so the
        // result does not depend on the split); within a part, a block of rows at a time
        // with every column in turn, so that the block's inputs stay in cache.
        let threads = crate::parallel::current_threads();
        let parts = threads.min(rows.len().div_ceil(PARALLEL_MIN_ROWS)).max(1);
        let part_rows = rows
            .len()
            .div_ceil(parts)
            .next_multiple_of(BLOCK_ROWS)
            .max(1);
        let encode_part = |rows: &[usize], out: &mut [f32]| -> Result<Vec<ColumnEncoder>> {
            let mut encoders: Vec<_> = columns
                .iter()
                .map(|(feature, indices, offset)| {
                    ColumnEncoder::new(feature, table, indices, *offset, &self.na_values)
                })
                .collect();
            let runs = runs(&encoders);
            for (block, block_rows) in rows.chunks(BLOCK_ROWS).enumerate() {
                let first = block * BLOCK_ROWS * n_inputs;
                let block_out = &mut out[first..first + block_rows.len() * n_inputs];
                for (run, plain) in &runs {
                    let encoders = &mut encoders[run.clone()];
                    if *plain {
                        encode_run(encoders, table, block_rows, block_out, n_inputs)?;
                        continue;
                    }
                    for encoder in encoders {
                        encoder.encode(table, block_rows, block_out, n_inputs)?;
                    }
                }
            }
            Ok(encoders)
        };
        // One part runs here: a thread would cost more than a few rows (a served request).
        let encoded: Vec<Result<Vec<ColumnEncoder>>> = if parts == 1 {
            vec![encode_part(rows, out)]
        } else {
            std::thread::scope(|scope| {
                let mut handles = Vec::new();
                let mut rest = &mut out[..];
                for part in rows.chunks(part_rows) {
                    let (part_out, after) = rest.split_at_mut(part.len() * n_inputs);
                    rest = after;
                    let encode_part = &encode_part;
                    handles.push(scope.spawn(move || encode_part(part, part_out)));
                }
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        // What could not be encoded, per column, over the parts in row order.
        let mut non_finite: Vec<Option<NonFiniteValues>> = vec![None; columns.len()];
        let mut unknown: Vec<Option<UnknownCategories>> = vec![None; columns.len()];
        for part in encoded {
            for (i, encoder) in part?.into_iter().enumerate() {
                match encoder.kind {
                    EncoderKind::Numeric { bad, .. } => merge_finding(&mut non_finite[i], bad),
                    EncoderKind::Categorical { unknown: u, .. }
                    | EncoderKind::Ordinal { unknown: u, .. } => merge_finding(&mut unknown[i], u),
                    EncoderKind::Date { .. }
                    | EncoderKind::Text { .. }
                    | EncoderKind::Sequence { .. } => {}
                }
            }
        }
        let non_finite: Vec<_> = non_finite.into_iter().flatten().collect();
        let unknown_categories: Vec<_> = unknown.into_iter().flatten().collect();
        Ok(Transformed {
            x,
            unknown_categories,
            non_finite,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table_from, Cell, CsvOptions};
    use crate::preprocess::{Feature, FitOptions, Task};

    /// Runs of plain numeric columns (more than `RUN` side by side, cut by a categorical
    /// column and by a column with a word in it) encode each cell as the feature's
    /// `transform` does, in any order of rows and any block's length.
    #[test]
    fn runs_of_plain_columns_encode_each_cell_as_its_feature() {
        let names: Vec<String> = (0..40).map(|j| format!("p{j}")).collect();
        let mut text = format!(
            "{},c,{},w,y\n",
            names[..20].join(","),
            names[20..].join(",")
        );
        for i in 0..300usize {
            let cells: Vec<String> = (0..40)
                .map(|j| match (i * 7 + j * 13) % 23 {
                    0 => String::new(),
                    k => ((i * 31 + j * k) % 256).to_string(),
                })
                .collect();
            let w = if i == 150 {
                "x".to_string()
            } else {
                i.to_string()
            };
            let c = ["a", "b", "c"][i % 3];
            let (left, right) = (cells[..20].join(","), cells[20..].join(","));
            text += &format!("{left},{c},{right},{w},{}\n", i % 3);
        }
        let table =
            read_table_from(std::io::Cursor::new(text), "t.csv", &CsvOptions::default()).unwrap();
        let options = FitOptions {
            target: "y".into(),
            categorical: vec!["w".into()],
            ..FitOptions::default()
        };
        let all: Vec<usize> = (0..300).collect();
        let (pipeline, _) = Pipeline::fit(&table, &all, Task::Classification, &options).unwrap();
        let rows: Vec<usize> = (0..300).rev().step_by(2).chain(0..70).collect();
        let x = pipeline.transform(&table, Some(&rows)).unwrap().x;
        let mut offset = 0;
        for feature in &pipeline.features {
            if let Feature::Numeric(numeric) = feature {
                let column = &table.columns[table.index_by_name()[numeric.name.as_str()]];
                let cells = column.cells(&pipeline.na_values);
                for (i, &row) in rows.iter().enumerate() {
                    let value = match cells.get(row) {
                        Cell::Number(v) => Some(v),
                        _ => None,
                    };
                    let expected = numeric.transform(value);
                    assert_eq!(x[[i, offset]].to_bits(), expected.to_bits(), "{row}");
                }
            }
            offset += feature.width();
        }
        assert!(offset > 40 + 3, "40 numbers, c and w one-hot");
    }
}

//! `Pipeline`: everything needed to turn the rows of a CSV file into network inputs and
//! targets, matched by column name. Fitted on training rows only, saved in the model.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use std::collections::HashSet;

use super::{CategoricalColumn, NumericColumn, Slot, TargetEncoder, Task};
use crate::data::{looks_like_localized_number, Cell, Cells, Column, NaValues, RawTable};
use crate::error::{Error, Location, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Feature {
    Numeric(NumericColumn),
    Categorical(CategoricalColumn),
}

impl Feature {
    pub fn name(&self) -> &str {
        match self {
            Feature::Numeric(c) => &c.name,
            Feature::Categorical(c) => &c.name,
        }
    }

    /// Number of network inputs this column becomes.
    pub fn width(&self) -> usize {
        match self {
            Feature::Numeric(_) => 1,
            Feature::Categorical(c) => c.width(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub target: String,
    pub target_encoder: TargetEncoder,
    /// Feature columns in the order of the network's inputs.
    pub features: Vec<Feature>,
    /// Columns ignored by name (`--drop`, and columns with no value in training).
    pub dropped: Vec<String>,
    pub na_values: NaValues,
}

/// What `Pipeline::fit` needs besides the data.
#[derive(Debug, Clone)]
pub struct FitOptions {
    pub target: String,
    pub drop: Vec<String>,
    pub categorical: Vec<String>,
    pub na_values: NaValues,
    /// Most one-hot inputs per categorical column; the rarest values beyond share one.
    pub max_categories: usize,
}

/// The default of `--max-categories`.
pub const DEFAULT_MAX_CATEGORIES: usize = 1000;

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            target: String::new(),
            drop: Vec::new(),
            categorical: Vec::new(),
            na_values: NaValues::default(),
            max_categories: DEFAULT_MAX_CATEGORIES,
        }
    }
}

/// A categorical column with at least this many values, nearly all distinct, is
/// probably an identifier.
const IDENTIFIER_MIN_VALUES: usize = 20;
const IDENTIFIER_DISTINCT_SHARE: f64 = 0.9;

/// Network inputs for a set of rows, and what could not be encoded.
#[derive(Debug, Clone)]
pub struct Transformed {
    /// (n_rows, n_inputs)
    pub x: Array2<f32>,
    pub unknown_categories: Vec<UnknownCategories>,
    /// Numeric cells that were infinite or out of range, encoded as missing.
    pub non_finite: Vec<NonFiniteValues>,
}

/// Values of a categorical column not seen in training (encoded as all zeros; a column
/// with an "other" input encodes them there and does not report them).
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownCategories {
    pub column: String,
    pub count: usize,
    pub first_value: String,
    pub first_line: u64,
}

/// Cells of a numeric column that were infinite, beyond f64 ("1e400"), or so far from
/// the training values that they cannot be standardised into an f32: imputed as missing.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFiniteValues {
    pub column: String,
    pub count: usize,
    pub first_value: String,
    pub first_line: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EncodedTargets {
    /// Class indices into the encoder's labels.
    Classes(Vec<u32>),
    /// Values in the target's units and standardised for the network.
    Values {
        raw: Vec<f64>,
        standardised: Vec<f32>,
    },
}

/// Check that every named column exists, naming the flag that asked for it.
pub fn check_columns_exist(table: &RawTable, names: &[String], flag: &str) -> Result<()> {
    for name in names {
        if table.column_index(name).is_none() {
            return Err(Error::data(
                Location::file(&table.source),
                format!(
                    "{flag} names the column '{name}', which does not exist; the columns are: {}",
                    table.header_list()
                ),
            ));
        }
    }
    Ok(())
}

/// The index of the target column, or an error listing the columns that exist.
pub fn target_index(table: &RawTable, target: &str) -> Result<usize> {
    table.column_index(target).ok_or_else(|| {
        Error::data(
            Location::file(&table.source),
            format!(
                "the target column '{target}' was not found; the columns are: {}",
                table.header_list()
            ),
        )
    })
}

/// Rows whose target is present, and the lines of those whose target is missing.
pub fn rows_with_target(table: &RawTable, target: usize, na: &NaValues) -> (Vec<usize>, Vec<u64>) {
    let cells = table.columns[target].cells(na);
    let mut kept = Vec::with_capacity(table.n_rows());
    let mut missing = Vec::new();
    for row in 0..table.n_rows() {
        if cells.is_missing(row) {
            missing.push(table.lines[row]);
        } else {
            kept.push(row);
        }
    }
    (kept, missing)
}

impl Pipeline {
    /// Fit every transform on `rows` of `table` (rows whose target is present).
    /// Returns the pipeline and warnings about what was repaired or dropped.
    pub fn fit(
        table: &RawTable,
        rows: &[usize],
        task: Task,
        options: &FitOptions,
    ) -> Result<(Pipeline, Vec<String>)> {
        let target = target_index(table, &options.target)?;
        check_columns_exist(table, &options.drop, "--drop")?;
        check_columns_exist(table, &options.categorical, "--categorical")?;
        let na = &options.na_values;
        let mut warnings = Vec::new();
        let mut features = Vec::new();
        let mut dropped = options.drop.clone();
        let drop: HashSet<&str> = options.drop.iter().map(String::as_str).collect();
        let categorical: HashSet<&str> = options.categorical.iter().map(String::as_str).collect();

        // Columns are fitted independently, on all cores; outcomes are taken in column
        // order, so warnings and the first error do not depend on the thread count.
        let fitted = in_parallel(table.headers.len(), |index| {
            let name = &table.headers[index];
            if index == target || drop.contains(name.as_str()) {
                return Ok(ColumnFit::Skipped);
            }
            fit_column(
                table,
                rows,
                index,
                categorical.contains(name.as_str()),
                options,
            )
        });
        for outcome in fitted {
            match outcome? {
                ColumnFit::Skipped => {}
                ColumnFit::Empty(name, warning) => {
                    warnings.push(warning);
                    dropped.push(name);
                }
                ColumnFit::Feature(feature, column_warnings) => {
                    warnings.extend(column_warnings);
                    features.push(feature);
                }
            }
        }

        // A target of numbers written with decimal commas would become class labels or
        // fail as numbers: refuse it, naming the first such value.
        let target_column = &table.columns[target];
        let mut first_localized = None;
        let mut numbers_only = true;
        for &row in rows {
            if target_column.stored_number(row).is_some() {
                continue;
            }
            let cell = target_column.text_at(row);
            if cell.parse::<f64>().is_err() {
                if looks_like_localized_number(&cell) {
                    first_localized.get_or_insert(row);
                } else {
                    numbers_only = false;
                    break;
                }
            }
        }
        if let (true, Some(row)) = (numbers_only, first_localized) {
            return Err(Error::data(
                table.location(row, target),
                format!("'{}' {LOCALIZED_TARGET}", target_column.text_at(row)),
            ));
        }

        let target_values = rows.iter().map(|&row| target_column.text_at(row));
        let target_encoder = match task {
            Task::Classification => TargetEncoder::fit_classes(target_values),
            Task::Regression => {
                let mut values = Vec::with_capacity(rows.len());
                for &row in rows {
                    values.push(parse_target_value(table, target, row)?);
                }
                TargetEncoder::fit_values(&values)
            }
        };

        let pipeline = Pipeline {
            target: options.target.clone(),
            target_encoder,
            features,
            dropped,
            na_values: na.clone(),
        };
        Ok((pipeline, warnings))
    }

    pub fn task(&self) -> Task {
        self.target_encoder.task()
    }

    /// Number of network inputs.
    pub fn n_inputs(&self) -> usize {
        self.features.iter().map(Feature::width).sum()
    }

    /// Input columns of `table` the pipeline does not use (neither feature, target nor dropped).
    pub fn unused_columns<'a>(&self, table: &'a RawTable) -> Vec<&'a str> {
        let used: HashSet<&str> = self
            .features
            .iter()
            .map(Feature::name)
            .chain(self.dropped.iter().map(String::as_str))
            .chain(std::iter::once(self.target.as_str()))
            .collect();
        table
            .headers
            .iter()
            .filter(|h| !used.contains(h.as_str()))
            .map(String::as_str)
            .collect()
    }

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
            let index = by_name.get(feature.name()).copied().ok_or_else(|| {
                Error::data(
                    Location::file(&table.source),
                    format!(
                        "the feature column '{}' is missing; the model needs it; the columns are: {}",
                        feature.name(),
                        table.header_list()
                    ),
                )
            })?;
            columns.push((feature, index, offset));
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
                .map(|&(feature, index, offset)| {
                    ColumnEncoder::new(feature, table, index, offset, &self.na_values)
                })
                .collect();
            for (block, block_rows) in rows.chunks(BLOCK_ROWS).enumerate() {
                let first = block * BLOCK_ROWS * n_inputs;
                let block_out = &mut out[first..first + block_rows.len() * n_inputs];
                for encoder in &mut encoders {
                    encoder.encode(table, block_rows, block_out, n_inputs)?;
                }
            }
            Ok(encoders)
        };
        let encoded: Vec<Result<Vec<ColumnEncoder>>> = std::thread::scope(|scope| {
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
        });
        // What could not be encoded, per column, over the parts in row order.
        let mut non_finite: Vec<Option<NonFiniteValues>> = vec![None; columns.len()];
        let mut unknown: Vec<Option<UnknownCategories>> = vec![None; columns.len()];
        for part in encoded {
            for (i, encoder) in part?.into_iter().enumerate() {
                match encoder.kind {
                    EncoderKind::Numeric { bad, .. } => merge_finding(&mut non_finite[i], bad),
                    EncoderKind::Categorical { unknown: u, .. } => {
                        merge_finding(&mut unknown[i], u)
                    }
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

    /// Targets of `rows` (whose target is present) for training or scoring.
    pub fn encode_targets(&self, table: &RawTable, rows: &[usize]) -> Result<EncodedTargets> {
        let target = target_index(table, &self.target)?;
        match &self.target_encoder {
            TargetEncoder::Classification { labels } => {
                let mut classes = Vec::with_capacity(rows.len());
                for &row in rows {
                    let label = table.columns[target].text_at(row);
                    let class = self.target_encoder.class_index(&label).ok_or_else(|| {
                        Error::data(
                            table.location(row, target),
                            format!(
                                "the label '{label}' was not seen in training; the model knows: {}",
                                labels.join(", ")
                            ),
                        )
                    })?;
                    classes.push(class as u32);
                }
                Ok(EncodedTargets::Classes(classes))
            }
            TargetEncoder::Regression { mean, std } => {
                let mut raw = Vec::with_capacity(rows.len());
                for &row in rows {
                    raw.push(parse_target_value(table, target, row)?);
                }
                let standardised = raw.iter().map(|v| ((v - mean) / std) as f32).collect();
                Ok(EncodedTargets::Values { raw, standardised })
            }
        }
    }
}

/// Rows per block of `Pipeline::transform`, and fewest rows per thread.
const BLOCK_ROWS: usize = 64;
const PARALLEL_MIN_ROWS: usize = 4096;

/// A count of cells with their first example, found in consecutive parts of the rows.
trait Finding {
    fn add(&mut self, later: Self);
}

impl Finding for NonFiniteValues {
    fn add(&mut self, later: Self) {
        self.count += later.count;
    }
}

impl Finding for UnknownCategories {
    fn add(&mut self, later: Self) {
        self.count += later.count;
    }
}

fn merge_finding<T: Finding>(total: &mut Option<T>, part: Option<T>) {
    match (total.as_mut(), part) {
        (Some(total), Some(part)) => total.add(part),
        (None, part) => *total = part,
        (_, None) => {}
    }
}

/// One feature's column of a table being encoded into network inputs, with what it found
/// that could not be encoded.
struct ColumnEncoder<'a> {
    column: &'a Column,
    /// Table column index, for messages.
    index: usize,
    /// The first network input of the feature.
    offset: usize,
    kind: EncoderKind<'a>,
}

enum EncoderKind<'a> {
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
}

impl<'a> ColumnEncoder<'a> {
    fn new(
        feature: &'a Feature,
        table: &'a RawTable,
        index: usize,
        offset: usize,
        na: &'a NaValues,
    ) -> Self {
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
        };
        ColumnEncoder {
            column,
            index,
            offset,
            kind,
        }
    }

    /// Write the inputs of `rows` into `out`, their rows of `n_inputs` values.
    fn encode(
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
                                    count: 0,
                                    first_value: cell.to_string(),
                                    first_line: table.lines[row],
                                })
                                .count += 1
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// What fitting one column gave.
enum ColumnFit {
    /// The target or a dropped column.
    Skipped,
    /// No value in the training rows: dropped, with a warning.
    Empty(String, String),
    /// A feature, with warnings about what was repaired.
    Feature(Feature, Vec<String>),
}

/// Fit the transform of column `index` on `rows`.
fn fit_column(
    table: &RawTable,
    rows: &[usize],
    index: usize,
    forced_categorical: bool,
    options: &FitOptions,
) -> Result<ColumnFit> {
    let name = &table.headers[index];
    let na = &options.na_values;
    let column = &table.columns[index];
    let cells = column.cells(na);
    let mut warnings = Vec::new();
    let mut numbers = Vec::with_capacity(rows.len());
    let mut present = 0usize;
    let mut non_finite = 0usize;
    // Text cells: how many look like localized numbers, how many do not, and the
    // first of each kind (row).
    let (mut localized, mut words) = (0usize, 0usize);
    let (mut first_localized, mut first_word) = (None, None);
    for &row in rows {
        match cells.get(row) {
            Cell::Missing => {}
            Cell::Number(v) => {
                present += 1;
                numbers.push(v);
            }
            Cell::NonFinite => {
                present += 1;
                non_finite += 1;
            }
            Cell::Text(text) => {
                present += 1;
                if looks_like_localized_number(text) {
                    localized += 1;
                    first_localized.get_or_insert(row);
                } else {
                    words += 1;
                    first_word.get_or_insert(row);
                }
            }
        }
    }
    let n_numbers = numbers.len() + non_finite;
    let is_numeric = !forced_categorical && localized + words == 0;
    if !forced_categorical && localized + words > 0 {
        // A column of numbers with a few other values, or of numbers written with
        // a decimal comma or thousands separators, is refused: guessing would
        // train on something else than the file says.
        let numeric_like = n_numbers + localized;
        let row = if localized > 0 && words == 0 {
            first_localized
        } else if numeric_like > words {
            first_word.min(first_localized).or(first_word)
        } else {
            None
        };
        if let Some(row) = row {
            return Err(not_a_number_error(table, row, index, numeric_like, present));
        }
    }
    if present == 0 {
        return Ok(ColumnFit::Empty(
            name.clone(),
            format!(
                "{}: column '{name}' has no value in the training rows; it is dropped",
                table.source
            ),
        ));
    }
    if is_numeric {
        if non_finite > 0 {
            warnings.push(format!(
                "{}: column '{name}': {non_finite} infinite or out-of-range values are treated as missing",
                table.source
            ));
        }
        Ok(ColumnFit::Feature(
            Feature::Numeric(NumericColumn::fit(name, &numbers)),
            warnings,
        ))
    } else {
        let values = rows
            .iter()
            .map(|&row| column.text_at(row))
            .filter(|v| !na.is_missing(v));
        let fitted = CategoricalColumn::fit(name, values, options.max_categories);
        let distinct =
            fitted.categories.len() + fitted.other.as_ref().map_or(0, |o| o.n_categories);
        if present >= IDENTIFIER_MIN_VALUES
            && distinct as f64 >= IDENTIFIER_DISTINCT_SHARE * present as f64
        {
            warnings.push(format!(
                "{}: column '{name}' has {distinct} distinct values in {present} rows, like an identifier; it will not help predict new rows (leave it out with --drop {name})",
                table.source
            ));
        }
        if let Some(other) = &fitted.other {
            warnings.push(format!(
                "{}: column '{name}' has {distinct} distinct values, more than --max-categories {}; the {} rarest ({} rows) share one input",
                table.source, options.max_categories, other.n_categories, other.count
            ));
        }
        Ok(ColumnFit::Feature(Feature::Categorical(fitted), warnings))
    }
}

/// `f(0..n)` in order, the indices shared out in contiguous ranges over the cores.
fn in_parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = crate::parallel::current_threads();
    let per_thread = n.div_ceil(threads.max(1)).max(1);
    if threads == 1 || n < 2 {
        return (0..n).map(f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..n)
            .step_by(per_thread)
            .map(|start| scope.spawn(move || (start..n.min(start + per_thread)).map(f).collect()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h: std::thread::ScopedJoinHandle<Vec<T>>| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The error for a text cell in a column whose other values are numbers.
fn not_a_number_error(
    table: &RawTable,
    row: usize,
    column: usize,
    numeric_like: usize,
    present: usize,
) -> Error {
    let cell = table.columns[column].text_at(row);
    let name = &table.headers[column];
    let message = if looks_like_localized_number(&cell) {
        format!(
            "'{cell}' looks like a number with a decimal comma or thousands separators, which csvnn does not guess at; expected a plain number like 1234.5 (or --categorical {name})"
        )
    } else {
        format!(
            "'{cell}' is not a number, but {numeric_like} of the column's {present} values are; expected a number (mark missing values with --na-values, or treat the column as categories with --categorical {name})"
        )
    };
    Error::data(table.location(row, column), message)
}

const LOCALIZED_TARGET: &str = "looks like a number with a decimal comma or thousands separators, which csvnn does not guess at; expected a plain number like 1234.5 in the target";

fn parse_target_value(table: &RawTable, target: usize, row: usize) -> Result<f64> {
    let column = &table.columns[target];
    if let Some(value) = column.stored_number(row) {
        return Ok(value);
    }
    let cell = column.text_at(row);
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ if looks_like_localized_number(&cell) => Err(Error::data(
            table.location(row, target),
            format!("'{cell}' {LOCALIZED_TARGET}"),
        )),
        _ => Err(Error::data(
            table.location(row, target),
            format!("'{cell}' is not a finite number; expected a number for a regression target"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table_from, CsvOptions};

    /// 10,000 rows: enough for transform to use several parts where there are cores.
    fn big_table() -> RawTable {
        let mut text = String::from("x,c,y\n");
        for i in 0..10_000 {
            let x = match i {
                17 | 9_000 | 9_500 => "1e400".to_string(),
                _ if i % 7 == 0 => String::new(),
                _ => format!("{}.{}", i % 100, i % 3),
            };
            let c = if i < 8_000 {
                ["a", "b", "c"][i % 3]
            } else {
                "d"
            };
            text += &format!("{x},{c},{}\n", i % 2);
        }
        read_table_from(
            std::io::Cursor::new(text),
            "big.csv",
            &CsvOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn transform_in_parts_equals_row_by_row() {
        let table = big_table();
        let train: Vec<usize> = (0..8_000).collect();
        let options = FitOptions {
            target: "y".into(),
            ..FitOptions::default()
        };
        let (pipeline, _) = Pipeline::fit(&table, &train, Task::Classification, &options).unwrap();
        let whole = pipeline.transform(&table, None).unwrap();
        for row in (0..table.n_rows()).step_by(37).chain([17, 9_000, 9_999]) {
            let one = pipeline.transform(&table, Some(&[row])).unwrap();
            assert_eq!(one.x.row(0), whole.x.row(row), "row {row}");
        }
        // Findings summed over the parts, with the first one in row order.
        assert_eq!(
            whole.non_finite,
            [NonFiniteValues {
                column: "x".into(),
                count: 3,
                first_value: "1e400".into(),
                first_line: 19,
            }]
        );
        assert_eq!(
            whole.unknown_categories,
            [UnknownCategories {
                column: "c".into(),
                count: 2_000,
                first_value: "d".into(),
                first_line: 8_002,
            }]
        );
    }

    #[test]
    fn the_first_bad_column_is_reported() {
        let mut text = String::from("a,b,c,d,y\n");
        for i in 0..50 {
            let b = if i == 40 { "oops" } else { "1" };
            let d = if i == 10 { "bad" } else { "2" };
            text += &format!("1,{b},3,{d},{}\n", i % 2);
        }
        let table =
            read_table_from(std::io::Cursor::new(text), "t.csv", &CsvOptions::default()).unwrap();
        let rows: Vec<usize> = (0..50).collect();
        let options = FitOptions {
            target: "y".into(),
            ..FitOptions::default()
        };
        let err = Pipeline::fit(&table, &rows, Task::Classification, &options).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("t.csv: line 42: column 'b': 'oops' is not a number"),
            "{err}"
        );
    }
}

//! `Pipeline::fit`: each column's transform fitted on the training rows, on all cores,
//! with warnings about what was repaired or dropped; and the target encoder.

use std::collections::{HashMap, HashSet};

use super::categorical::CategoricalColumn;
use super::column_fit::ColumnFit;
use super::columns::{check_column_kinds, check_columns_exist, target_index};
use super::date_format::DateFormat;
use super::fit_date::{detect_date, fit_date_column};
use super::fit_series::fit_series;
use super::fit_text::{check_text_options, detect_text, fit_text_column};
use super::numeric::{means_and_stds, NumericColumn};
use super::ordinal::{OrdinalColumn, OrdinalLevels};
use super::pipeline::{Feature, FitOptions, Pipeline};
use super::target::{TargetEncoder, Task};
use super::target_values::{parse_target_value, LOCALIZED_TARGET};
use super::warning::FitWarning;
use crate::data::{looks_like_localized_number, Cell, NaValues, RawTable};
use crate::error::{one_line, Error, Hint, Result, Setting};

/// A categorical column with at least this many values, nearly all distinct, is
/// probably an identifier.
const IDENTIFIER_MIN_VALUES: usize = 20;
const IDENTIFIER_DISTINCT_SHARE: f64 = 0.9;
/// A number of larger magnitude in a numeric column is most likely a mistake (a sentinel
/// like 9e99, a unit slip, a corrupt cell): past it, standardising squashes the column's
/// other values together.
pub const HUGE_VALUE: f64 = 1e15;

impl Pipeline {
    /// Fit every transform on `rows` of `table` (rows whose target is present).
    /// Returns the pipeline and warnings about what was repaired or dropped.
    pub fn fit(
        table: &RawTable,
        rows: &[usize],
        task: Task,
        options: &FitOptions,
    ) -> Result<(Pipeline, Vec<FitWarning>)> {
        let target = target_index(table, &options.target)?;
        check_columns_exist(table, &options.drop, Setting::Drop)?;
        check_columns_exist(table, &options.categorical, Setting::Categorical)?;
        let ordinal_names: Vec<String> = options.ordinal.iter().map(|o| o.column.clone()).collect();
        check_columns_exist(table, &ordinal_names, Setting::Ordinal)?;
        let kinds = &options.kinds;
        check_columns_exist(table, &kinds.date, Setting::Date)?;
        let format_names: Vec<String> = kinds
            .date_formats
            .iter()
            .map(|d| d.column.clone())
            .collect();
        check_columns_exist(table, &format_names, Setting::DateFormat)?;
        check_columns_exist(table, &kinds.text, Setting::Text)?;
        check_text_options(&kinds.text_options)?;
        check_column_kinds(options)?;
        let na = &options.na_values;
        let mut warnings = Vec::new();
        let mut features = Vec::new();
        let mut dropped = options.drop.clone();
        let drop: HashSet<&str> = options.drop.iter().map(String::as_str).collect();
        let categorical: HashSet<&str> = options.categorical.iter().map(String::as_str).collect();
        let ordinal: HashMap<&str, &OrdinalLevels> = options
            .ordinal
            .iter()
            .map(|o| (o.column.as_str(), o))
            .collect();
        // Declared date columns, with their format (`None`: ISO 8601).
        let dates: HashMap<&str, Option<&DateFormat>> = kinds
            .date
            .iter()
            .map(|c| (c.as_str(), None))
            .chain(
                kinds
                    .date_formats
                    .iter()
                    .map(|d| (d.column.as_str(), Some(&d.format))),
            )
            .collect();

        // Columns are fitted independently, on all cores; outcomes are taken in column
        // order, so warnings and the first error do not depend on the thread count.
        let fitted = match kinds.sequence_shape {
            Some(shape) => {
                let series = fit_series(table, rows, target, shape, options)?;
                vec![Ok(ColumnFit::Feature(series, Vec::new()))]
            }
            None => in_numeric_groups(table.headers.len(), |index| {
                let name = &table.headers[index];
                if index == target || drop.contains(name.as_str()) {
                    return Ok(ColumnFit::Skipped);
                }
                if let Some(levels) = ordinal.get(name.as_str()) {
                    return Ok(fit_ordinal_column(table, rows, index, levels, na));
                }
                if let Some(format) = dates.get(name.as_str()) {
                    return fit_date_column(table, rows, index, *format, na);
                }
                if kinds.text.contains(name) {
                    let text = &kinds.text_options;
                    return Ok(fit_text_column(table, rows, index, text, na));
                }
                fit_column(
                    table,
                    rows,
                    index,
                    categorical.contains(name.as_str()),
                    options,
                )
            }),
        };
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
                ColumnFit::Numeric(..) => unreachable!("finished by in_numeric_groups"),
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
    // Numbers beyond `HUGE_VALUE` in magnitude: how many, and the first (row).
    let (mut huge, mut first_huge) = (0usize, None);
    // Text cells: how many look like localized numbers, how many do not, and the
    // first of each kind (row).
    let (mut localized, mut words) = (0usize, 0usize);
    let (mut first_localized, mut first_word) = (None, None);
    // A column of plain numbers (missing: NaN) is taken whole, in loops without a
    // branch per cell; the same numbers and counts as the loop below.
    let plain = cells.extend_plain_values(rows, &mut numbers);
    if plain {
        let (missing, over) = numbers.iter().fold((0, 0), |(m, h), v| {
            (m + v.is_nan() as usize, h + (v.abs() > HUGE_VALUE) as usize)
        });
        if missing > 0 {
            numbers.retain(|v| !v.is_nan());
        }
        (present, huge) = (numbers.len(), over);
        if huge > 0 {
            first_huge = rows
                .iter()
                .copied()
                .find(|&row| matches!(cells.get(row), Cell::Number(v) if v.abs() > HUGE_VALUE));
        }
    }
    for &row in rows.iter().filter(|_| !plain) {
        match cells.get(row) {
            Cell::Missing => {}
            Cell::Number(v) => {
                present += 1;
                numbers.push(v);
                if v.abs() > HUGE_VALUE {
                    huge += 1;
                    first_huge.get_or_insert(row);
                }
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
        return Ok(ColumnFit::empty(table, index));
    }
    if is_numeric {
        if non_finite > 0 {
            warnings.push(FitWarning::NonFinite {
                file: table.source.clone(),
                column: name.clone(),
                count: non_finite,
            });
        }
        if let Some(row) = first_huge {
            warnings.push(FitWarning::HugeValues {
                file: table.source.clone(),
                column: name.clone(),
                count: huge,
                first_value: column.text_at(row).into_owned(),
                first_line: table.lines[row],
            });
        }
        Ok(ColumnFit::Numeric(name.clone(), numbers, warnings))
    } else {
        // A string column may be dates (every value ISO 8601), or text.
        if !forced_categorical {
            if let Some(fit) = detect_date(table, rows, index, na)? {
                return Ok(fit);
            }
            let text = &options.kinds.text_options;
            if let Some(fit) = detect_text(table, rows, index, text, na) {
                return Ok(fit);
            }
        }
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
            warnings.push(FitWarning::Identifier {
                file: table.source.clone(),
                column: name.clone(),
                distinct,
                present,
            });
        }
        if let Some(other) = &fitted.other {
            warnings.push(FitWarning::TooManyCategories {
                file: table.source.clone(),
                column: name.clone(),
                distinct,
                max_categories: options.max_categories,
                folded: other.n_categories,
                folded_rows: other.count,
            });
        }
        Ok(ColumnFit::Feature(Feature::Categorical(fitted), warnings))
    }
}

/// Fit the ordinal column `index` on `rows`: values not among `levels` are treated as
/// missing, with a warning.
fn fit_ordinal_column(
    table: &RawTable,
    rows: &[usize],
    index: usize,
    levels: &OrdinalLevels,
    na: &NaValues,
) -> ColumnFit {
    let name = &table.headers[index];
    let column = &table.columns[index];
    let present: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&row| !na.is_missing(&column.text_at(row)))
        .collect();
    if present.is_empty() {
        return ColumnFit::empty(table, index);
    }
    let texts: Vec<_> = present.iter().map(|&row| column.text_at(row)).collect();
    let fitted = OrdinalColumn::fit(levels, texts.iter().map(|t| &**t));
    let unknown: Vec<usize> = present
        .iter()
        .copied()
        .filter(|&row| fitted.index(&column.text_at(row)).is_none())
        .collect();
    let warnings = match unknown.first() {
        Some(&row) => vec![FitWarning::UnknownLevels {
            file: table.source.clone(),
            column: name.clone(),
            levels: levels.levels.clone(),
            count: unknown.len(),
            first_value: column.text_at(row).into_owned(),
            first_line: table.lines[row],
        }],
        None => Vec::new(),
    };
    ColumnFit::Feature(Feature::Ordinal(fitted), warnings)
}

/// `in_parallel` over columns four at a time, whose numeric columns then take their
/// means and stds together (`means_and_stds`); outcomes in column order.
fn in_numeric_groups(
    n: usize,
    f: impl Fn(usize) -> Result<ColumnFit> + Sync,
) -> Vec<Result<ColumnFit>> {
    const GROUP: usize = 4;
    let groups = in_parallel(n.div_ceil(GROUP), |group| {
        let mut fits: Vec<_> = (group * GROUP..n.min(group * GROUP + GROUP))
            .map(&f)
            .collect();
        let mut values: Vec<Vec<f64>> = fits
            .iter_mut()
            .filter_map(|fit| match fit {
                Ok(ColumnFit::Numeric(_, values, _)) => Some(std::mem::take(values)),
                _ => None,
            })
            .collect();
        let mut stats = means_and_stds(&mut values).into_iter();
        for fit in &mut fits {
            if let Ok(ColumnFit::Numeric(name, _, warnings)) = fit {
                let (mean, std) = stats.next().expect("one per numeric column");
                let feature = NumericColumn {
                    name: std::mem::take(name),
                    impute: mean,
                    mean,
                    std,
                };
                *fit = Ok(ColumnFit::Feature(
                    Feature::Numeric(feature),
                    std::mem::take(warnings),
                ));
            }
        }
        fits
    });
    groups.into_iter().flatten().collect()
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
    let column_name = one_line(name);
    let (message, hint) = if looks_like_localized_number(&cell) {
        (
            format!(
                "'{cell}' looks like a number with a decimal comma or thousands separators, which csvnn does not guess at; expected a plain number like 1234.5"
            ),
            Hint::CleanNumbers {
                column: column_name,
            },
        )
    } else {
        (
            format!(
                "'{cell}' is not a number, but {numeric_like} of the column's {present} values are; expected a number"
            ),
            Hint::NaValuesOrCategorical {
                column: column_name,
            },
        )
    };
    Error::data(table.location(row, column), message).with_hint(Some(hint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table_from, CsvOptions};
    use crate::preprocess::{NonFiniteValues, UnknownCategories};

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
                as_missing: false,
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

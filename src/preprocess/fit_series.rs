//! Fitting a series (`KindOptions::sequence_shape`): every feature column, in file order,
//! becomes one `SequenceColumn`; the column count must be the shape's.

use std::collections::HashSet;

use super::kinds::SequenceShape;
use super::pipeline::{Feature, FitOptions};
use super::series::SequenceColumn;
use crate::data::RawTable;
use crate::error::{Error, Result, Setting};

/// The series of `table`'s feature columns (all but `target` and the dropped ones),
/// fitted on `rows`.
pub(crate) fn fit_series(
    table: &RawTable,
    rows: &[usize],
    target: usize,
    shape: SequenceShape,
    options: &FitOptions,
) -> Result<Feature> {
    let kinds = &options.kinds;
    if !(options.categorical.is_empty()
        && options.ordinal.is_empty()
        && kinds.date.is_empty()
        && kinds.date_formats.is_empty()
        && kinds.text.is_empty())
    {
        return Err(Error::BadSetting {
            setting: Setting::SequenceShape,
            problem: "makes every feature column part of the series, so no column can be given another kind (categorical, ordinal, date, text); drop those columns instead".to_string(),
        });
    }
    let drop: HashSet<&str> = options.drop.iter().map(String::as_str).collect();
    let columns: Vec<usize> = (0..table.headers.len())
        .filter(|&i| i != target && !drop.contains(table.headers[i].as_str()))
        .collect();
    if columns.len() != shape.len() {
        return Err(Error::BadSetting {
            setting: Setting::SequenceShape,
            problem: format!(
                "is {shape}, {} values per row, but {} has {} feature columns (every column but the target and the dropped ones); they must be exactly {}",
                shape.len(),
                table.source,
                columns.len(),
                shape.len()
            ),
        });
    }
    let na = &options.na_values;
    Ok(Feature::Sequence(SequenceColumn::fit(
        table, rows, &columns, shape, na,
    )?))
}

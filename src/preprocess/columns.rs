//! Finding the columns a pipeline's settings name in a table, with errors that list the
//! columns there are.

use crate::data::{delimiter_hint, NaValues, RawTable};
use crate::error::{Error, Location, Result, Setting};

/// Check that every column named by `setting` exists.
pub(crate) fn check_columns_exist(
    table: &RawTable,
    names: &[String],
    setting: Setting,
) -> Result<()> {
    for name in names {
        if table.column_index(name).is_none() {
            return Err(
                Error::unknown_column(&table.source, setting, name, &table.headers)
                    .with_hint(delimiter_hint(&table.headers)),
            );
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
        .with_hint(delimiter_hint(&table.headers))
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

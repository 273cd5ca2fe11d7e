//! Finding the columns a pipeline's settings name in a table, with errors that list the
//! columns there are.

use super::pipeline::FitOptions;
use crate::data::{delimiter_hint, NaValues, RawTable};
use crate::error::{closest_name, did_you_mean, one_line, Error, Location, Result, Setting};

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

/// Check that each ordinal column is named once, and not also dropped or categorical.
pub(crate) fn check_ordinal_columns(options: &FitOptions) -> Result<()> {
    let others = [
        (Setting::Drop, &options.drop),
        (Setting::Categorical, &options.categorical),
    ];
    for (i, ordinal) in options.ordinal.iter().enumerate() {
        let column = &ordinal.column;
        let named_by = |names: &Vec<String>| names.contains(column);
        let other = if options.ordinal[..i].iter().any(|o| o.column == *column) {
            Some(Setting::Ordinal)
        } else {
            others
                .iter()
                .find(|(_, names)| named_by(names))
                .map(|&(setting, _)| setting)
        };
        if let Some(other) = other {
            return Err(Error::ColumnInTwoSettings {
                column: one_line(column),
                setting: Setting::Ordinal,
                other,
            });
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
                "the target column '{target}' was not found{}; the columns are: {}",
                did_you_mean(
                    closest_name(target, &table.headers)
                        .map(one_line)
                        .as_deref()
                ),
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

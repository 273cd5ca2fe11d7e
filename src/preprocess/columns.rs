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

/// Check that each column given a kind (ordinal, date, date format, text) is named once,
/// and not also by a setting before it (dropped, categorical, another kind).
pub(crate) fn check_column_kinds(options: &FitOptions) -> Result<()> {
    let kinds = &options.kinds;
    let named: Vec<(Setting, Vec<&String>)> = vec![
        (Setting::Drop, options.drop.iter().collect()),
        (Setting::Categorical, options.categorical.iter().collect()),
        (
            Setting::Ordinal,
            options.ordinal.iter().map(|o| &o.column).collect(),
        ),
        (Setting::Date, kinds.date.iter().collect()),
        (
            Setting::DateFormat,
            kinds.date_formats.iter().map(|d| &d.column).collect(),
        ),
        (Setting::Text, kinds.text.iter().collect()),
    ];
    // The first two may overlap (a dropped column's kind does not matter).
    for (k, (setting, columns)) in named.iter().enumerate().skip(2) {
        for (i, column) in columns.iter().enumerate() {
            let other = if columns[..i].contains(column) {
                Some(*setting)
            } else {
                named[..k]
                    .iter()
                    .find(|(_, names)| names.contains(column))
                    .map(|&(setting, _)| setting)
            };
            if let Some(other) = other {
                return Err(Error::ColumnInTwoSettings {
                    column: one_line(column),
                    setting: *setting,
                    other,
                });
            }
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

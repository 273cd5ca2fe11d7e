//! Fitting date columns: declared ones (a format or ISO 8601), and string columns whose
//! values all read as ISO 8601 dates.

use super::column_fit::ColumnFit;
use super::date::{date_error_message, parse_date, DateColumn};
use super::date_format::DateFormat;
use super::date_parse::{parse_iso, DateProblem, DateTime};
use super::pipeline::Feature;
use crate::data::{NaValues, RawTable};
use crate::error::{one_line, Error, Hint, Result};

/// Fit column `index` as a date column on `rows`: every present cell must parse (with
/// `format`, or as ISO 8601); the first that does not is the error.
pub(crate) fn fit_date_column(
    table: &RawTable,
    rows: &[usize],
    index: usize,
    format: Option<&DateFormat>,
    na: &NaValues,
) -> Result<ColumnFit> {
    let column = &table.columns[index];
    let mut dates = Vec::with_capacity(rows.len());
    for &row in rows {
        let cell = column.text_at(row);
        if na.is_missing(&cell) {
            continue;
        }
        match parse_date(format, &cell) {
            Ok(date) => dates.push(date),
            Err(problem) => return Err(bad_date(table, row, index, format, &problem)),
        }
    }
    if dates.is_empty() {
        return Ok(ColumnFit::empty(table, index));
    }
    let name = &table.headers[index];
    let fitted = DateColumn::fit(name, format.cloned(), &dates);
    Ok(ColumnFit::Feature(Feature::Date(fitted), Vec::new()))
}

/// A string column whose present training values all have the form of an ISO 8601 date is
/// a date column (`Some`); one where most do is an error naming the first that does not
/// (or the first absurd date); otherwise `None`.
pub(crate) fn detect_date(
    table: &RawTable,
    rows: &[usize],
    index: usize,
    na: &NaValues,
) -> Result<Option<ColumnFit>> {
    let column = &table.columns[index];
    let (mut dates, mut others) = (Vec::new(), 0usize);
    let (mut first_other, mut first_absurd) = (None, None);
    for &row in rows {
        let cell = column.text_at(row);
        if na.is_missing(&cell) {
            continue;
        }
        match parse_iso(&cell) {
            Ok(date) => dates.push(date),
            Err(DateProblem::Absurd(reason)) => {
                first_absurd.get_or_insert((row, reason));
                dates.push(placeholder());
            }
            Err(DateProblem::NotADate) => {
                others += 1;
                first_other.get_or_insert(row);
                // Most values are not dates: the column is something else.
                if others * 2 >= rows.len() {
                    return Ok(None);
                }
            }
        }
    }
    if dates.is_empty() || others >= dates.len() {
        return Ok(None);
    }
    let first_absurd_row = first_absurd.as_ref().map(|(row, _)| *row);
    let first_error = match (first_other, first_absurd_row) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(row) = first_error {
        let cell = column.text_at(row);
        let error = match (&first_absurd, first_other == Some(row)) {
            (Some((_, reason)), false) => {
                bad_date(table, row, index, None, &DateProblem::Absurd(reason.clone()))
            }
            _ => Error::data(
                table.location(row, index),
                format!(
                    "'{cell}' is not a date, but {} of the column's {} values are; expected ISO 8601, like 2016-03-01 or 2016-03-01T12:30:00Z",
                    dates.len(),
                    dates.len() + others
                ),
            )
            .with_hint(Some(Hint::DateFormat {
                column: one_line(&table.headers[index]),
            })),
        };
        return Err(error);
    }
    let name = &table.headers[index];
    let fitted = DateColumn::fit(name, None, &dates);
    Ok(Some(ColumnFit::Feature(Feature::Date(fitted), Vec::new())))
}

/// A date standing in for an absurd one, which becomes an error before it is used.
fn placeholder() -> DateTime {
    DateTime {
        year: 1970,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0.0,
        has_time: false,
    }
}

/// The error for a cell of a date column that is not a date.
pub(crate) fn bad_date(
    table: &RawTable,
    row: usize,
    index: usize,
    format: Option<&DateFormat>,
    problem: &DateProblem,
) -> Error {
    let cell = table.columns[index].text_at(row);
    let hint = (*problem == DateProblem::NotADate && format.is_none()).then(|| Hint::DateFormat {
        column: one_line(&table.headers[index]),
    });
    Error::data(
        table.location(row, index),
        date_error_message(&cell, format, problem),
    )
    .with_hint(hint)
}

//! `Cells`: a column read with a set of missing markers, cell by cell or, for a column
//! of plain numbers, a block of rows at a time.

use super::column::{Column, Repr, Values};
use super::value::{parse_cell, plain_number, Cell, NaValues};

/// A column read with a set of missing markers: `get` says what a cell holds, as
/// `parse_cell` would on its text, without parsing a stored number again.
pub struct Cells<'a> {
    column: &'a Column,
    na: &'a NaValues,
    sentinels: Vec<f64>,
    plain: Plain<'a>,
}

/// Ask the cache for `values` (a hint: no effect on the result).
#[inline(always)]
fn prefetch<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    for offset in (0..std::mem::size_of_val(values)).step_by(64) {
        // SAFETY: a prefetch reads nothing the program sees and cannot fault; the
        // address is inside `values`.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((values.as_ptr() as *const i8).add(offset));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// The values of a column of numbers with no cell kept as text and no numeric missing
/// marker: every cell is its value, or missing (NaN, an empty cell).
enum Plain<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    No,
}

impl Column {
    /// What the cells hold, with `na` marking missing values.
    pub fn cells<'a>(&'a self, na: &'a NaValues) -> Cells<'a> {
        Cells::new(self, na)
    }
}

impl<'a> Cells<'a> {
    /// The cells of `column`, with `na` marking missing values.
    fn new(column: &'a Column, na: &'a NaValues) -> Self {
        // Missing markers that are numbers ("-999") are found by comparing text; only
        // cells equal to one of them in value need the comparison.
        let sentinels: Vec<f64> =
            na.0.iter()
                .filter_map(|token| plain_number(token))
                .collect();
        let plain = match &column.0 {
            Repr::Numbers(n) if n.exception_rows.is_empty() && sentinels.is_empty() => {
                match &n.values {
                    Values::F32(v) => Plain::F32(v),
                    Values::F64(v) => Plain::F64(v),
                }
            }
            _ => Plain::No,
        };
        Cells {
            column,
            na,
            sentinels,
            plain,
        }
    }

    /// What the cell of `row` holds, as `parse_cell` would read its text.
    #[inline]
    pub fn get(&self, row: usize) -> Cell<'a> {
        let value = match self.plain {
            Plain::F32(values) => values[row] as f64,
            Plain::F64(values) => values[row],
            Plain::No => return self.get_general(row),
        };
        if value.is_nan() {
            Cell::Missing
        } else {
            Cell::Number(value)
        }
    }

    fn get_general(&self, row: usize) -> Cell<'a> {
        let numbers = match &self.column.0 {
            Repr::Text(s) => return parse_cell(s.get(row), self.na),
            Repr::Numbers(n) => n,
        };
        let value = numbers.value(row);
        if value.is_nan() {
            return match numbers.exception(row) {
                Some(text) => parse_cell(text, self.na),
                None => Cell::Missing,
            };
        }
        if self.sentinels.contains(&value) && self.na.is_missing(&numbers.text(row)) {
            return Cell::Missing;
        }
        Cell::Number(value)
    }

    /// The values of `rows` into `out` (NaN for a missing cell) when the column is plain
    /// numbers (every cell a number or empty, no missing marker that is a number): the
    /// values `get` gives, for loops that need no per-cell branch. `false`, with `out`
    /// untouched, otherwise.
    pub fn plain_values(&self, rows: &[usize], out: &mut [f64]) -> bool {
        match self.plain {
            Plain::F32(values) => {
                for (o, &row) in out.iter_mut().zip(rows) {
                    *o = values[row] as f64;
                }
            }
            Plain::F64(values) => {
                for (o, &row) in out.iter_mut().zip(rows) {
                    *o = values[row];
                }
            }
            Plain::No => return false,
        }
        true
    }

    /// Ask the cache for the values of `rows` of a plain column when they lie together
    /// (rows in order), to be read a little later (a hint: no effect on any result). A
    /// transform reads hundreds of columns side by side: more streams than the hardware
    /// prefetcher follows, at the same offsets within their pages.
    pub fn prefetch(&self, rows: &[usize]) {
        let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
            return;
        };
        if last < first || last - first >= 2 * rows.len() {
            return;
        }
        let span = first..last + 1;
        match self.plain {
            Plain::F32(values) => prefetch(values.get(span).unwrap_or(&[])),
            Plain::F64(values) => prefetch(values.get(span).unwrap_or(&[])),
            Plain::No => {}
        }
    }

    /// True when the column is plain numbers (see `plain_values`).
    pub fn is_plain(&self) -> bool {
        !matches!(self.plain, Plain::No)
    }

    /// `plain_values` appended to `out` (`false`, with `out` untouched, when the column
    /// is not plain numbers).
    pub fn extend_plain_values(&self, rows: &[usize], out: &mut Vec<f64>) -> bool {
        match self.plain {
            Plain::F32(values) => out.extend(rows.iter().map(|&row| values[row] as f64)),
            Plain::F64(values) => out.extend(rows.iter().map(|&row| values[row])),
            Plain::No => return false,
        }
        true
    }

    /// True when the cell of `row` is empty or a missing marker.
    pub fn is_missing(&self, row: usize) -> bool {
        self.get(row) == Cell::Missing
    }
}

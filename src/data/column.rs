//! `Column`: one column's cells, stored by what they hold. A column of numbers keeps each
//! value once, as a float parsed while reading (preprocessing never parses it again, and a
//! float takes less memory than its text), plus the few cells whose text the value cannot
//! rebuild ("007", "1e5", "NA") as text beside it. A column with many such cells is kept
//! as text. Either way every cell's trimmed text comes back exactly.

use std::borrow::Cow;

use super::str_column::StrColumn;
use super::value::{canonical_decimal, plain_number, small_integer};

/// One column's cells: numbers stored as values, the rest as text; `Default` is an empty
/// column that stores numbers while it can.
#[derive(Debug, Clone)]
pub struct Column(pub(super) Repr);

#[derive(Debug, Clone)]
pub(super) enum Repr {
    Text(StrColumn),
    Numbers(Numbers),
}

impl Default for Column {
    fn default() -> Self {
        Column(Repr::Numbers(Numbers::default()))
    }
}

/// Cells as floats. f32 while every value is exactly an f32 (integers such as pixels), so
/// that the column takes half the memory; f64 from the first value that is not.
#[derive(Debug, Clone)]
pub(super) enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

#[derive(Debug, Clone)]
pub(super) struct Numbers {
    /// NaN for an empty cell and for a cell that is not a finite number.
    pub(super) values: Values,
    /// Digits after the decimal point of each cell, to rebuild its text; empty while every
    /// cell so far has none.
    decimals: Vec<u8>,
    /// The rows (ascending) whose text the value does not rebuild, and their text.
    pub(super) exception_rows: Vec<u32>,
    exception_text: StrColumn,
}

impl Default for Numbers {
    fn default() -> Self {
        Numbers {
            values: Values::F32(Vec::new()),
            decimals: Vec::new(),
            exception_rows: Vec::new(),
            exception_text: StrColumn::default(),
        }
    }
}

/// A column of numbers with more cells kept as text than this (and than a quarter of its
/// rows) is stored as text: it is mostly words or missing markers.
const MAX_EXCEPTIONS: usize = 16;

impl Numbers {
    fn len(&self) -> usize {
        match &self.values {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    pub(super) fn value(&self, row: usize) -> f64 {
        match &self.values {
            Values::F32(v) => v[row] as f64,
            Values::F64(v) => v[row],
        }
    }

    #[inline]
    fn push_value(&mut self, value: f64) {
        match &mut self.values {
            Values::F32(v) if (value as f32) as f64 == value || value.is_nan() => {
                v.push(value as f32)
            }
            Values::F64(v) => v.push(value),
            Values::F32(_) => self.widen_and_push(value),
        }
    }

    /// The first value that is not exactly an f32: the column becomes f64.
    #[cold]
    fn widen_and_push(&mut self, value: f64) {
        if let Values::F32(v) = &self.values {
            let mut wide: Vec<f64> = Vec::with_capacity(v.capacity().max(v.len() + 1));
            wide.extend(v.iter().map(|&x| x as f64));
            wide.push(value);
            self.values = Values::F64(wide);
        }
    }

    /// A cell whose text `format!("{value:.decimals$}")` rebuilds.
    #[inline]
    fn push_number(&mut self, value: f64, decimals: u8) {
        if decimals != 0 || !self.decimals.is_empty() {
            self.decimals.resize(self.len(), 0);
            self.decimals.push(decimals);
        }
        self.push_value(value);
    }

    /// A cell kept as text (with its value when it is a finite number, else NaN).
    /// `false` when the exception text would pass the column limit.
    fn push_exception(&mut self, value: f64, text: &str) -> bool {
        if !self.exception_text.try_push(text) {
            return false;
        }
        self.exception_rows.push(self.len() as u32);
        if !self.decimals.is_empty() {
            self.decimals.push(0);
        }
        self.push_value(value);
        true
    }

    pub(super) fn exception(&self, row: usize) -> Option<&str> {
        if self.exception_rows.is_empty() {
            return None;
        }
        self.exception_rows
            .binary_search(&(row as u32))
            .ok()
            .map(|i| self.exception_text.get(i))
    }

    pub(super) fn text(&self, row: usize) -> Cow<'_, str> {
        if let Some(text) = self.exception(row) {
            return Cow::Borrowed(text);
        }
        let value = self.value(row);
        if value.is_nan() {
            return Cow::Borrowed("");
        }
        let decimals = self.decimals.get(row).copied().unwrap_or(0) as usize;
        Cow::Owned(format!("{value:.decimals$}"))
    }

    fn has_many_exceptions(&self) -> bool {
        let n = self.exception_rows.len();
        n > MAX_EXCEPTIONS && n * 4 > self.len()
    }

    fn to_text(&self) -> Option<StrColumn> {
        let mut text = StrColumn::default();
        (0..self.len())
            .all(|row| text.try_push(&self.text(row)))
            .then_some(text)
    }

    /// Append the cells of `other` (read after this column's).
    fn append(&mut self, other: Numbers) {
        let len = self.len();
        match (&mut self.values, other.values) {
            (Values::F32(v), Values::F32(w)) => v.extend_from_slice(&w),
            (Values::F64(v), Values::F32(w)) => v.extend(w.iter().map(|&x| x as f64)),
            (Values::F64(v), Values::F64(w)) => v.extend_from_slice(&w),
            (Values::F32(v), Values::F64(w)) => {
                let mut wide: Vec<f64> = Vec::with_capacity(v.len() + w.len());
                wide.extend(v.iter().map(|&x| x as f64));
                wide.extend_from_slice(&w);
                self.values = Values::F64(wide);
            }
        }
        if !other.decimals.is_empty() || !self.decimals.is_empty() {
            self.decimals.resize(len, 0);
            self.decimals.extend_from_slice(&other.decimals);
            self.decimals.resize(self.len(), 0);
        }
        self.exception_rows
            .extend(other.exception_rows.iter().map(|&row| row + len as u32));
        assert!(
            self.exception_text.try_append(&other.exception_text),
            "within the text limit (checked by the caller)"
        );
    }

    fn shrink_to_fit(&mut self) {
        match &mut self.values {
            Values::F32(v) => v.shrink_to_fit(),
            Values::F64(v) => v.shrink_to_fit(),
        }
        self.decimals.shrink_to_fit();
        self.exception_rows.shrink_to_fit();
    }
}

impl Column {
    /// An empty column that stores its cells as text whatever they hold.
    pub fn text() -> Self {
        Column(Repr::Text(StrColumn::default()))
    }

    /// Number of cells (rows).
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Text(s) => s.len(),
            Repr::Numbers(n) => n.len(),
        }
    }

    /// True when the column has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the cells are stored as numbers (a hint for tests and benchmarks).
    pub fn stores_numbers(&self) -> bool {
        matches!(self.0, Repr::Numbers(_))
    }

    /// Append a trimmed cell; `false` (and nothing appended) when the column would hold
    /// more than `MAX_COLUMN_BYTES` of text.
    pub fn try_push(&mut self, cell: &str) -> bool {
        let numbers = match &mut self.0 {
            Repr::Text(s) => return s.try_push(cell),
            Repr::Numbers(n) => n,
        };
        if cell.is_empty() {
            numbers.push_value(f64::NAN);
            return true;
        }
        if let Some((value, decimals)) = canonical_decimal(cell.as_bytes()) {
            numbers.push_number(value, decimals);
            return true;
        }
        let value = plain_number(cell).unwrap_or(f64::NAN);
        if !numbers.push_exception(value, cell) {
            return false;
        }
        if numbers.has_many_exceptions() {
            match numbers.to_text() {
                Some(text) => self.0 = Repr::Text(text),
                None => return false,
            }
        }
        true
    }

    /// Append a cell given as raw bytes when it is a plain number (no text check needed);
    /// `false`, with nothing appended, for anything else.
    #[inline]
    pub fn try_push_number(&mut self, bytes: &[u8]) -> bool {
        let Repr::Numbers(numbers) = &mut self.0 else {
            return false;
        };
        // Small integers (pixels, counts, codes) in an f32 column with no decimals yet:
        // the value `push_number` would store, without the checks it needs for others.
        if let (Values::F32(values), true) = (&mut numbers.values, numbers.decimals.is_empty()) {
            if let Some(value) = small_integer(bytes) {
                values.push(value);
                return true;
            }
        }
        match canonical_decimal(bytes) {
            Some((value, decimals)) => {
                numbers.push_number(value, decimals);
                true
            }
            None => false,
        }
    }

    /// A column of the cells whose values are `values`, each a small integer as
    /// `try_push_number` reads it: the column that pushing each cell in turn makes.
    pub(super) fn from_small_integers(values: Vec<f32>) -> Column {
        Column(Repr::Numbers(Numbers {
            values: Values::F32(values),
            ..Numbers::default()
        }))
    }

    /// Room for `additional` more cells of numbers without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        if let Repr::Numbers(n) = &mut self.0 {
            match &mut n.values {
                Values::F32(v) => v.reserve(additional),
                Values::F64(v) => v.reserve(additional),
            }
        }
    }

    /// Append a cell of a column known to be small (tests, generated tables).
    pub fn push(&mut self, cell: &str) {
        assert!(self.try_push(cell), "a column holds at most 4 GiB of text");
    }

    /// The cell's trimmed text, exactly as in the file.
    pub fn text_at(&self, row: usize) -> Cow<'_, str> {
        match &self.0 {
            Repr::Text(s) => Cow::Borrowed(s.get(row)),
            Repr::Numbers(n) => n.text(row),
        }
    }

    /// For a cell stored as a number whose text its value rebuilds: the value's bits and
    /// its digits after the point, which decide `text_at` (a key to keep that text
    /// formatted once); `None` for any other cell.
    pub fn number_key(&self, row: usize) -> Option<(u64, u8)> {
        match &self.0 {
            Repr::Numbers(n) if n.exception(row).is_none() => {
                let value = n.value(row);
                let decimals = n.decimals.get(row).copied().unwrap_or(0);
                (!value.is_nan()).then_some((value.to_bits(), decimals))
            }
            _ => None,
        }
    }

    /// The cell's value when it is stored as a finite number (the value its text parses
    /// to); `None` for anything else.
    pub fn stored_number(&self, row: usize) -> Option<f64> {
        match &self.0 {
            Repr::Text(_) => None,
            Repr::Numbers(n) => Some(n.value(row)).filter(|v| !v.is_nan()),
        }
    }

    /// Every cell's text in row order.
    pub fn texts(&self) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        (0..self.len()).map(move |row| self.text_at(row))
    }

    /// The cells of `rows`, in that order, as a new column.
    pub fn gather(&self, rows: &[usize]) -> Column {
        match &self.0 {
            Repr::Text(s) => {
                let mut out = StrColumn::default();
                for &row in rows {
                    out.push(s.get(row));
                }
                Column(Repr::Text(out))
            }
            Repr::Numbers(n) => {
                let mut out = Numbers::default();
                for &row in rows {
                    match n.exception(row) {
                        Some(text) => {
                            assert!(out.push_exception(n.value(row), text), "within limits");
                        }
                        None => {
                            out.push_number(n.value(row), n.decimals.get(row).copied().unwrap_or(0))
                        }
                    }
                }
                Column(Repr::Numbers(out))
            }
        }
    }

    /// Append the cells of `other`, a column read after this one: the same cells, and
    /// the same texts and values, as one column given every cell in turn. `false` (this
    /// column then in an unspecified state) when the text would pass `MAX_COLUMN_BYTES`.
    pub fn try_append(&mut self, other: Column) -> bool {
        match (&mut self.0, other.0) {
            (Repr::Numbers(n), Repr::Numbers(m)) => {
                let total_text = n.exception_text.text_len() + m.exception_text.text_len();
                if total_text > super::str_column::MAX_COLUMN_BYTES {
                    return false;
                }
                n.append(m);
                if !n.has_many_exceptions() {
                    return true;
                }
                match n.to_text() {
                    Some(text) => {
                        self.0 = Repr::Text(text);
                        true
                    }
                    None => false,
                }
            }
            (Repr::Text(s), Repr::Text(t)) => s.try_append(&t),
            (Repr::Text(s), Repr::Numbers(m)) => m.to_text().is_some_and(|t| s.try_append(&t)),
            (Repr::Numbers(n), Repr::Text(t)) => match n.to_text() {
                Some(mut s) => {
                    let appended = s.try_append(&t);
                    self.0 = Repr::Text(s);
                    appended
                }
                None => false,
            },
        }
    }

    /// Give back spare capacity once the column is complete.
    pub fn shrink_to_fit(&mut self) {
        if let Repr::Numbers(n) = &mut self.0 {
            n.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::value::{parse_cell, Cell, NaValues};

    fn column_of(cells: &[&str]) -> Column {
        let mut column = Column::default();
        for cell in cells {
            column.push(cell);
        }
        column
    }

    #[test]
    fn every_cell_comes_back_as_written() {
        let cells = [
            "0",
            "255",
            "-0",
            "-0.0",
            "1.50",
            "0.1",
            "007",
            "+3",
            "1e5",
            ".5",
            "3.",
            "",
            "NA",
            "inf",
            "1e400",
            "-12.125",
            "123456789012345",
            "1234567890123456",
            "abc",
            "0.000",
        ];
        let column = column_of(&cells);
        assert!(column.stores_numbers());
        let back: Vec<_> = column.texts().collect();
        assert_eq!(back, cells);
        let gathered = column.gather(&[3, 0, 19, 12]);
        let back: Vec<_> = gathered.texts().collect();
        assert_eq!(back, ["-0.0", "0", "0.000", "NA"]);
    }

    #[test]
    fn cells_are_what_parse_cell_says() {
        let cells = [
            "1", "2.5", "", "NA", "nan", "inf", "1e400", "abc", "-999", "-999.0", "+7", "1e3",
        ];
        let column = column_of(&cells);
        let na = NaValues(vec!["NA".into(), "nan".into(), "-999".into()]);
        let reader = column.cells(&na);
        for (row, cell) in cells.iter().enumerate() {
            assert_eq!(reader.get(row), parse_cell(cell, &na), "{cell}");
        }
    }

    #[test]
    fn a_column_of_words_is_stored_as_text() {
        let words: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let mut column = column_of(&["1", "2"]);
        for w in &words {
            column.push(w);
        }
        assert!(!column.stores_numbers());
        assert_eq!(column.text_at(0), "1");
        assert_eq!(column.text_at(101), "w99");
    }

    #[test]
    fn integers_stay_f32_and_decimals_widen_exactly() {
        let column = column_of(&["1", "16777217", "0.1"]);
        let na = NaValues::default();
        let cells = column.cells(&na);
        assert_eq!(cells.get(1), Cell::Number(16777217.0));
        assert_eq!(cells.get(2), Cell::Number(0.1));
    }

    #[test]
    fn rebuilt_text_matches_random_decimals() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut column = Column::default();
        let mut cells = Vec::new();
        for _ in 0..20_000 {
            let int_digits = rng.gen_range(1..=8);
            let frac_digits = rng.gen_range(0..=7);
            let mut s: String = (0..int_digits)
                .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                .collect();
            if frac_digits > 0 {
                s.push('.');
                s.extend((0..frac_digits).map(|_| char::from(b'0' + rng.gen_range(0..10u8))));
            }
            if rng.gen_bool(0.3) {
                s.insert(0, '-');
            }
            column.push(&s);
            cells.push(s);
        }
        assert!(column.stores_numbers());
        let na = NaValues::default();
        let reader = column.cells(&na);
        for (row, cell) in cells.iter().enumerate() {
            assert_eq!(column.text_at(row), cell.as_str());
            assert_eq!(reader.get(row), parse_cell(cell, &na), "{cell}");
        }
    }

    #[test]
    fn appended_columns_hold_what_one_column_given_every_cell_holds() {
        let many_words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
        let words: Vec<&str> = many_words.iter().map(String::as_str).collect();
        let parts: [&[&str]; 6] = [
            &["1", "2", "3"],
            &["0.5", "", "NA", "007"],
            &["16777217", "-4"],
            &words,
            &["1.25", "x"],
            &[],
        ];
        let na = NaValues::default();
        // Every pair of parts in either order, and all of them in turn.
        let mut sequences: Vec<Vec<&[&str]>> = Vec::new();
        for a in &parts {
            for b in &parts {
                sequences.push(vec![a, b]);
            }
        }
        sequences.push(parts.to_vec());
        for sequence in sequences {
            let all: Vec<&str> = sequence.iter().flat_map(|p| p.iter().copied()).collect();
            let whole = column_of(&all);
            let mut joined = column_of(sequence[0]);
            for part in &sequence[1..] {
                assert!(joined.try_append(column_of(part)));
            }
            assert_eq!(joined.len(), all.len());
            let (a, b) = (whole.cells(&na), joined.cells(&na));
            for row in 0..all.len() {
                assert_eq!(joined.text_at(row), all[row]);
                assert_eq!(a.get(row), b.get(row), "{all:?} row {row}");
            }
        }
    }

    #[test]
    fn raw_numbers_are_stored_as_their_text_would_be() {
        let mut cells: Vec<String> = [
            "0", "-0", "7", "255", "1234567", "12345678", "-9999999", "16777217", "007", "00", "-",
            "1.0", "+1", "2.50", "-0.0", "99999999", "1e3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        cells.extend((0..2_000).map(|i| format!("{}", i * 7919 % 10_000_019)));
        cells.extend((0..2_000).map(|i| format!("-{}", i * 31)));
        let (mut raw, mut text) = (Column::default(), Column::default());
        for cell in &cells {
            if !raw.try_push_number(cell.as_bytes()) {
                raw.push(cell);
            }
            text.push(cell);
        }
        let na = NaValues::default();
        let (a, b) = (raw.cells(&na), text.cells(&na));
        for (row, cell) in cells.iter().enumerate() {
            assert_eq!(raw.text_at(row), cell.as_str());
            match (a.get(row), b.get(row)) {
                (Cell::Number(x), Cell::Number(y)) => {
                    assert_eq!(x.to_bits(), y.to_bits(), "{cell}")
                }
                (x, y) => assert_eq!(x, y, "{cell}"),
            }
        }
    }
}

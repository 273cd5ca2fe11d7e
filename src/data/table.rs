//! `RawTable`: the cells of a CSV file by column (trimmed; numbers stored as numbers, see
//! `Column`), with the line each row came from (for error messages).

use std::collections::HashMap;

use super::column::Column;
use crate::error::Location;

/// A CSV file read by its header.
#[derive(Debug, Clone, Default)]
pub struct RawTable {
    /// The file as the user named it, for messages (`<stdin>` for `-`).
    pub source: String,
    /// The header's column names, in file order.
    pub headers: Vec<String>,
    /// The cells of each column, in header order; each holds n_rows cells.
    pub columns: Vec<Column>,
    /// The 1-based line on which each row starts.
    pub lines: Vec<u64>,
    /// Rows left out because their number of fields was wrong (`--skip-bad-rows`).
    pub skipped: Vec<SkippedRow>,
}

/// A row that `--skip-bad-rows` left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedRow {
    /// The 1-based line on which the row starts.
    pub line: u64,
    /// How many fields it had.
    pub fields: usize,
}

impl RawTable {
    /// Rows read (not counting the header or skipped rows).
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// The index of the column named `name` (the first one, when names repeat).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The column named `name` (the first one, when names repeat).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.column_index(name).map(|i| &self.columns[i])
    }

    /// The location of a cell, for an error message.
    pub fn location(&self, row: usize, column: usize) -> Location {
        Location::file(&self.source)
            .line(self.lines[row])
            .column(&self.headers[column])
    }

    /// The header names joined for a message listing what exists (the hint for a header
    /// that is one name holding a delimiter character is `data::delimiter_hint`).
    pub fn header_list(&self) -> String {
        self.headers.join(", ")
    }

    /// Column name -> index, for looking up many columns in linear time.
    pub fn index_by_name(&self) -> HashMap<&str, usize> {
        self.headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect()
    }
}

//! `CsvSource`: a CSV input and how to read it (path, delimiter, missing-value markers,
//! bad rows), as the training settings record it.

use serde::{Deserialize, Serialize};

use super::reader::{read_table, CsvOptions};
use super::table::RawTable;
use super::value::NaValues;
use crate::error::{Error, Location, Result};

/// A CSV file (gzip recognised by its content, `-` for stdin) and how to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvSource {
    /// The file's path, or `-` for stdin.
    #[serde(rename = "data")]
    pub path: String,
    /// Field delimiter; `None` detects `,` `;` or tab from the header line.
    pub delimiter: Option<u8>,
    /// Cell values that mean "missing", replacing the default list (`NA`, `N/A`, `NaN`,
    /// `nan`, `null`); an empty cell is always missing.
    pub na_values: Option<Vec<String>>,
    /// Skip rows whose number of fields differs from the header's (recorded in
    /// `RawTable::skipped`) instead of failing.
    pub skip_bad_rows: bool,
}

impl CsvSource {
    /// `path` read with the defaults: delimiter detected, default missing values, bad
    /// rows refused.
    pub fn new(path: impl Into<String>) -> Self {
        CsvSource {
            path: path.into(),
            delimiter: None,
            na_values: None,
            skip_bad_rows: false,
        }
    }

    /// The reader's options.
    pub fn csv_options(&self) -> CsvOptions {
        CsvOptions {
            delimiter: self.delimiter,
            skip_bad_rows: self.skip_bad_rows,
            columns: None,
        }
    }

    /// The missing-value markers (trimmed), or the default list.
    pub fn na_values(&self) -> NaValues {
        self.na_values
            .as_ref()
            .map(|v| NaValues(v.iter().map(|s| s.trim().to_string()).collect()))
            .unwrap_or_default()
    }

    /// Read the file, refusing one without data rows.
    pub fn read(&self) -> Result<RawTable> {
        read_nonempty(&self.path, &self.csv_options())
    }
}

/// Read `path`, refusing a file with a header but no data rows (or, with column names
/// given, an empty file).
pub fn read_nonempty(path: &str, options: &CsvOptions) -> Result<RawTable> {
    let table = read_table(path, options)?;
    if table.n_rows() == 0 {
        return Err(Error::data(
            Location::file(&table.source),
            if options.columns.is_some() {
                "the file has no data rows; expected at least one row"
            } else {
                "the file has a header but no data rows; expected at least one row"
            },
        ));
    }
    Ok(table)
}

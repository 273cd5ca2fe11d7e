//! Parquet input: a file that starts with the `PAR1` magic is read by its schema instead
//! of as CSV, whatever its name. Columns keep their names; each value becomes the text a
//! CSV export holds for it (`parquet_cells.rs`), so a Parquet table and the same table as
//! CSV read the same. Rows are read a row group at a time and a chunk at a time within
//! it, for the chunked reader of `stream.rs`.
//!
//! A row's "line" (`RawTable::lines`, in messages) is the line it would have in the same
//! table as CSV: row N of the file is line N + 1, the header being line 1.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;

use parquet::column::reader::ColumnReader;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::parquet_cells::{empty_column, read_rows, ReadProblem, Scratch};
use super::parquet_kind::{kind_of, Kind};
use super::table::RawTable;
use crate::error::{Error, Location, Result};

/// The first (and last) four bytes of every Parquet file.
pub(crate) const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Whether `path` names a file that starts with the Parquet magic (not stdin, which
/// cannot be read as Parquet: see `CsvRows`). A file that cannot be read is not Parquet
/// here: the CSV reader reports why it cannot be read.
pub(crate) fn is_parquet(path: &str) -> bool {
    if path == "-" || std::path::Path::new(path).is_dir() {
        return false;
    }
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == PARQUET_MAGIC)
}

/// An open Parquet file: its columns and where reading stands.
pub(crate) struct ParquetRows {
    /// The file as shown in messages.
    pub(crate) name: String,
    pub(crate) headers: Vec<String>,
    kinds: Vec<Kind>,
    max_defs: Vec<i16>,
    file: SerializedFileReader<File>,
    /// The next row group to open.
    next_group: usize,
    /// The column readers of the open row group (empty before the first).
    readers: Vec<ColumnReader>,
    /// Rows of the open row group not read yet.
    left_in_group: usize,
    /// Rows read so far, over all row groups.
    rows_read: u64,
    scratch: Scratch,
}

impl ParquetRows {
    /// Open `path` and read its schema, refusing nested or unsupported columns.
    pub(crate) fn open(path: &str) -> Result<ParquetRows> {
        let name = path.to_string();
        let file = File::open(path).map_err(|e| Error::io(&name, e))?;
        let file = SerializedFileReader::new(file).map_err(|e| {
            Error::data(
                Location::file(&name),
                format!(
                    "unreadable Parquet ({e}); expected a complete Parquet file (is it truncated?)"
                ),
            )
        })?;
        let schema = file.metadata().file_metadata().schema_descr_ptr();
        let mut headers = Vec::new();
        let mut kinds = Vec::new();
        let mut seen = HashSet::new();
        for field in schema.root_schema().get_fields() {
            let column = field.name();
            let kind = kind_of(field).map_err(|why| {
                Error::data(
                    Location::file(&name).column(column),
                    format!("the column {why}; expected flat columns (flatten or drop it before reading the file)"),
                )
            })?;
            if column.trim().is_empty() {
                return Err(Error::data(
                    Location::file(&name),
                    format!(
                        "column {} has an empty name; expected a name for every column",
                        headers.len() + 1
                    ),
                ));
            }
            if !seen.insert(column.to_string()) {
                return Err(Error::data(
                    Location::file(&name),
                    format!("the column name '{column}' appears twice; expected unique names"),
                ));
            }
            headers.push(column.to_string());
            kinds.push(kind);
        }
        // Every field is a flat primitive here, so leaf column i is field i.
        let max_defs = schema.columns().iter().map(|c| c.max_def_level()).collect();
        Ok(ParquetRows {
            name,
            headers,
            kinds,
            max_defs,
            file,
            next_group: 0,
            readers: Vec::new(),
            left_in_group: 0,
            rows_read: 0,
            scratch: Scratch::default(),
        })
    }

    /// A table with the headers and no rows.
    pub(crate) fn empty_table(&self) -> RawTable {
        RawTable {
            source: self.name.clone(),
            headers: self.headers.clone(),
            columns: self.kinds.iter().map(|&k| empty_column(k)).collect(),
            lines: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// The next `max_rows` rows (fewer at the end of the file), across row groups.
    pub(crate) fn read_chunk(&mut self, max_rows: usize) -> Result<RawTable> {
        let mut table = self.empty_table();
        let mut wanted = max_rows;
        while wanted > 0 {
            if self.left_in_group == 0 && !self.open_next_group()? {
                break;
            }
            let rows = wanted.min(self.left_in_group);
            self.read_group_rows(rows, &mut table)?;
            self.left_in_group -= rows;
            wanted -= rows;
        }
        for column in &mut table.columns {
            column.shrink_to_fit();
        }
        Ok(table)
    }

    /// Open the next row group with rows; `false` at the end of the file.
    fn open_next_group(&mut self) -> Result<bool> {
        let groups = self.file.num_row_groups();
        while self.next_group < groups {
            let group = self.next_group;
            self.next_group += 1;
            let rows = self.file.metadata().row_group(group).num_rows();
            let rows = usize::try_from(rows).map_err(|_| {
                self.group_error(group, format!("has {rows} rows; expected a count of rows"))
            })?;
            if rows == 0 {
                continue;
            }
            let reader = self
                .file
                .get_row_group(group)
                .map_err(|e| self.group_error(group, unreadable(e)))?;
            self.readers = (0..self.headers.len())
                .map(|c| reader.get_column_reader(c))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.group_error(group, unreadable(e)))?;
            self.left_in_group = rows;
            return Ok(true);
        }
        self.readers.clear();
        Ok(false)
    }

    /// Read `rows` rows of the open row group into `table`.
    fn read_group_rows(&mut self, rows: usize, table: &mut RawTable) -> Result<()> {
        let group = self.next_group - 1;
        for (c, reader) in self.readers.iter_mut().enumerate() {
            let result = read_rows(
                reader,
                self.kinds[c],
                self.max_defs[c],
                rows,
                &mut table.columns[c],
                &mut self.scratch,
            );
            if let Err(problem) = result {
                let location = Location::file(&self.name).column(&self.headers[c]);
                let at = |row: usize| {
                    format!(
                        "row group {}, row {}",
                        group + 1,
                        self.rows_read + row as u64 + 1
                    )
                };
                return Err(match problem {
                    ReadProblem::Parquet(e) => {
                        Error::data(location, format!("{}: {}", at(0), unreadable(e)))
                    }
                    ReadProblem::Short { read } => Error::data(
                        location,
                        format!(
                            "{}: the column's data ends there, {} rows early; expected a complete Parquet file",
                            at(read),
                            rows - read
                        ),
                    ),
                    ReadProblem::Cell { row, message } => {
                        Error::data(location, format!("{}: {message}", at(row)))
                    }
                    ReadProblem::TooLarge => Error::data(
                        location,
                        "the column holds more than 4 GiB of text; expected at most 4 GiB per column",
                    ),
                });
            }
        }
        table
            .lines
            .extend((0..rows as u64).map(|r| self.rows_read + r + 2));
        self.rows_read += rows as u64;
        Ok(())
    }

    fn group_error(&self, group: usize, message: String) -> Error {
        Error::data(
            Location::file(&self.name),
            format!("row group {}: {message}", group + 1),
        )
    }
}

fn unreadable(e: parquet::errors::ParquetError) -> String {
    let text = e.to_string();
    if text.contains("Disabled feature at compile time") {
        // Brotli, left out of the build (see Cargo.toml).
        return format!("unreadable Parquet ({text}); expected pages compressed with snappy, zstd, gzip or lz4, or not at all: rewrite the file with one of them");
    }
    format!("unreadable Parquet ({text}); expected a complete, uncorrupted Parquet file")
}

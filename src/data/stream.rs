//! Reading an input in chunks of rows, for scoring inputs too large to hold (a pipe
//! into `csvnn predict --data -`, or a shard of one without its header line). Each
//! chunk is a `RawTable` with the input's headers (or the names given); header, typing
//! and trimming rules are those of `read_table`, line numbers count from the top of the
//! input. A Parquet file is read the same way, a chunk at a time within
//! each row group.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};

use super::input::display_name;
use super::parallel_read::shifted;
use super::parquet::{is_parquet, ParquetRows};
use super::reader::{refuse_columns_for_parquet, CsvRows, FILE_BUFFER};
use super::{CsvOptions, RawTable};
use crate::error::{Error, Result};

/// An input read a chunk of rows at a time; memory is bounded by the chunk size.
pub struct TableChunks {
    rows: Rows,
    chunk_rows: usize,
    done: bool,
    /// Lines before the input's first row that it did not read (`open_at`).
    line_shift: u64,
}

enum Rows {
    Csv(CsvRows<'static>),
    Parquet(ParquetRows),
}

impl TableChunks {
    /// Open `path` (or `-` for stdin) and read its header (or Parquet schema);
    /// `chunk_rows` (at least 1) rows per chunk.
    pub fn open(path: &str, options: &CsvOptions, chunk_rows: usize) -> Result<TableChunks> {
        let rows = if is_parquet(path) {
            refuse_columns_for_parquet(path, options)?;
            Rows::Parquet(ParquetRows::open(path)?)
        } else {
            Rows::Csv(CsvRows::open(path, options)?)
        };
        Ok(TableChunks {
            rows,
            chunk_rows: chunk_rows.max(1),
            done: false,
            line_shift: 0,
        })
    }

    /// Open the CSV file `path` from `offset`, a line start after its header (outside
    /// any quoted field): `head`, the bytes before its rows, is read first, then the
    /// file from `offset`; chunks and errors name the file's lines, `line_shift` being
    /// the line ends between the head and `offset`.
    pub(crate) fn open_at(
        path: &str,
        options: &CsvOptions,
        chunk_rows: usize,
        (head, offset, line_shift): (Vec<u8>, u64, u64),
    ) -> Result<TableChunks> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(path, e))?;
        let input = BufReader::with_capacity(FILE_BUFFER, Cursor::new(head).chain(file));
        let rows = CsvRows::from_input(Box::new(input), &display_name(path), options, FILE_BUFFER)?;
        Ok(TableChunks {
            rows: Rows::Csv(rows),
            chunk_rows: chunk_rows.max(1),
            done: false,
            line_shift,
        })
    }

    /// The input as shown in messages (`<stdin>` for `-`).
    pub fn source(&self) -> &str {
        match &self.rows {
            Rows::Csv(rows) => &rows.name,
            Rows::Parquet(rows) => &rows.name,
        }
    }

    /// The trimmed header names.
    pub fn headers(&self) -> &[String] {
        match &self.rows {
            Rows::Csv(rows) => &rows.headers,
            Rows::Parquet(rows) => &rows.headers,
        }
    }

    /// A table with the headers and no rows.
    pub fn empty_table(&self) -> RawTable {
        match &self.rows {
            Rows::Csv(rows) => RawTable {
                source: rows.name.clone(),
                headers: rows.headers.clone(),
                columns: vec![Default::default(); rows.headers.len()],
                lines: Vec::new(),
                skipped: Vec::new(),
            },
            Rows::Parquet(rows) => rows.empty_table(),
        }
    }

    /// The next chunk of 1 to `chunk_rows` rows; `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Result<Option<RawTable>> {
        if self.done {
            return Ok(None);
        }
        let shift = self.line_shift;
        let mut chunk = match &mut self.rows {
            Rows::Csv(rows) => rows.read_chunk(self.chunk_rows),
            Rows::Parquet(rows) => rows.read_chunk(self.chunk_rows),
        }
        .map_err(|e| shifted(e, shift))?;
        if shift > 0 {
            chunk.lines.iter_mut().for_each(|l| *l += shift);
            chunk.skipped.iter_mut().for_each(|s| s.line += shift);
        }
        if chunk.n_rows() < self.chunk_rows {
            self.done = true;
        }
        Ok((chunk.n_rows() > 0).then_some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read_table;

    #[test]
    fn chunks_hold_the_rows_of_the_whole_table_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from(" a ; b \n");
        for i in 0..10 {
            text += &format!("{i} ; x{i}\n");
            if i == 4 {
                text += "\n";
            }
        }
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let whole = read_table(path, &CsvOptions::default()).unwrap();
        let mut chunks = TableChunks::open(path, &CsvOptions::default(), 3).unwrap();
        assert_eq!(chunks.headers(), ["a", "b"]);
        let mut sizes = Vec::new();
        let mut row = 0;
        while let Some(chunk) = chunks.next_chunk().unwrap() {
            sizes.push(chunk.n_rows());
            for r in 0..chunk.n_rows() {
                assert_eq!(chunk.lines[r], whole.lines[row]);
                for c in 0..2 {
                    assert_eq!(chunk.columns[c].text_at(r), whole.columns[c].text_at(row));
                }
                row += 1;
            }
        }
        assert_eq!(sizes, [3, 3, 3, 1]);
        assert_eq!(row, whole.n_rows());
        assert_eq!(whole.lines[9], 12);
        assert!(chunks.next_chunk().unwrap().is_none());
    }

    #[test]
    fn headerless_chunks_hold_the_rows_of_the_whole_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::new();
        for i in 0..10 {
            text += &format!("{i},\"x\n{i}\"\n");
        }
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let options = CsvOptions {
            columns: Some(vec!["a".into(), "b".into()]),
            ..CsvOptions::default()
        };
        let whole = read_table(path, &options).unwrap();
        assert_eq!(whole.n_rows(), 10);
        assert_eq!(whole.lines[9], 19);
        let mut chunks = TableChunks::open(path, &options, 4).unwrap();
        assert_eq!(chunks.headers(), ["a", "b"]);
        let mut lines = Vec::new();
        while let Some(chunk) = chunks.next_chunk().unwrap() {
            lines.extend(chunk.lines.iter().copied());
            assert_eq!(
                chunk.columns[1].text_at(0),
                format!("x\n{}", chunk.columns[0].text_at(0))
            );
        }
        assert_eq!(lines, whole.lines);
    }

    #[test]
    fn a_bad_row_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b\n1,2\n3,4\n5\n").unwrap();
        let mut chunks =
            TableChunks::open(path.to_str().unwrap(), &CsvOptions::default(), 2).unwrap();
        assert_eq!(chunks.next_chunk().unwrap().unwrap().n_rows(), 2);
        let error = chunks.next_chunk().unwrap_err().to_string();
        assert!(
            error.ends_with("line 4: 2 fields expected (as in the header), 1 found (set the `skip_bad_rows` setting to skip such rows)"),
            "{error}"
        );
    }
}

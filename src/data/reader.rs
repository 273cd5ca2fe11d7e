//! Opening input (a path or `-` for stdin, gzip recognised by its magic bytes) and
//! reading a CSV file by its header into a `RawTable`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

use super::table::{RawTable, StrColumn};
use crate::error::{Error, Location, Result};

/// How to read a CSV file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// The field delimiter; `None` detects it from the header line among `,` `;` and tab.
    pub delimiter: Option<u8>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The name of an input for messages.
pub fn display_name(path: &str) -> String {
    if path == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string()
    }
}

/// Open a path, or stdin for `-`, decompressing gzip when the data starts with its magic.
pub fn open_input(path: &str) -> Result<Box<dyn BufRead>> {
    let name = display_name(path);
    let raw: Box<dyn Read> = if path == "-" {
        Box::new(io::stdin())
    } else {
        if std::path::Path::new(path).is_dir() {
            return Err(Error::data(
                Location::file(path),
                "is a directory; expected a CSV file",
            ));
        }
        Box::new(File::open(path).map_err(|e| Error::io(&name, e))?)
    };
    let mut buffered = BufReader::with_capacity(1 << 16, raw);
    let head = buffered.fill_buf().map_err(|e| Error::io(&name, e))?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Pick the delimiter that occurs most often (outside quotes) in the header line.
fn detect_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for &b in header {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => break,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    }
}

fn utf8(bytes: &[u8], location: impl FnOnce() -> Location) -> Result<&str> {
    std::str::from_utf8(bytes)
        .map_err(|_| Error::data(location(), "invalid UTF-8; expected UTF-8 text"))
}

/// Read a whole CSV file by its header. Cells and header names are trimmed; blank lines
/// are skipped; every row must have as many fields as the header.
pub fn read_table(path: &str, options: &CsvOptions) -> Result<RawTable> {
    let mut rows = CsvRows::open(path, options)?;
    rows.read_chunk(usize::MAX)
}

type CsvSource = csv::Reader<std::io::Chain<Cursor<Vec<u8>>, Box<dyn BufRead>>>;

/// An open CSV input positioned after its header: what `read_table` and the chunked
/// reader (`stream.rs`) share, so both type, trim and check rows the same way.
pub(crate) struct CsvRows {
    /// The input as shown in messages (`<stdin>` for `-`).
    pub(crate) name: String,
    pub(crate) headers: Vec<String>,
    reader: CsvSource,
    record: csv::ByteRecord,
    delimiter_given: bool,
}

fn csv_error(name: &str, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    if let csv::ErrorKind::Io(_) = e.kind() {
        if let csv::ErrorKind::Io(io) = e.into_kind() {
            return Error::io(name, io);
        }
        unreachable!()
    }
    let mut location = Location::file(name);
    location.line = line;
    Error::data(location, e.to_string())
}

impl CsvRows {
    /// Open the input and read its header line.
    pub(crate) fn open(path: &str, options: &CsvOptions) -> Result<CsvRows> {
        let name = display_name(path);
        let mut input = open_input(path)?;
        let mut header_line = Vec::new();
        input
            .read_until(b'\n', &mut header_line)
            .map_err(|e| Error::io(&name, e))?;
        if header_line.starts_with(UTF8_BOM) {
            header_line.drain(..UTF8_BOM.len());
        }
        if header_line.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::data(
                Location::file(&name),
                "the file is empty; expected a header line with the column names",
            ));
        }
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| detect_delimiter(&header_line));
        let source = Cursor::new(header_line).chain(input);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(source);

        let header_record = reader
            .byte_headers()
            .map_err(|e| csv_error(&name, e))?
            .clone();
        let mut headers = Vec::with_capacity(header_record.len());
        for (i, field) in header_record.iter().enumerate() {
            let text = utf8(field, || Location::file(&name).line(1))?.trim();
            if text.is_empty() {
                return Err(Error::data(
                    Location::file(&name).line(1),
                    format!(
                        "column {} has an empty name; expected a name for every column",
                        i + 1
                    ),
                ));
            }
            if headers.iter().any(|h| h == text) {
                return Err(Error::data(
                    Location::file(&name).line(1),
                    format!("the column name '{text}' appears twice; expected unique names"),
                ));
            }
            headers.push(text.to_string());
        }
        Ok(CsvRows {
            name,
            headers,
            reader,
            record: csv::ByteRecord::new(),
            delimiter_given: options.delimiter.is_some(),
        })
    }

    /// The next rows, at most `max_rows` of them (none at the end of the input), as a
    /// table with the input's headers; line numbers count from the top of the input.
    pub(crate) fn read_chunk(&mut self, max_rows: usize) -> Result<RawTable> {
        let name = &self.name;
        let headers = &self.headers;
        let record = &mut self.record;
        let mut columns = vec![StrColumn::default(); headers.len()];
        let mut lines = Vec::new();
        while lines.len() < max_rows
            && self
                .reader
                .read_byte_record(record)
                .map_err(|e| csv_error(name, e))?
        {
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() != headers.len() {
                // One header column but more fields: the delimiter was probably not detected.
                let hint = if !self.delimiter_given && headers.len() == 1 {
                    " (is the file delimited by another character? try --delimiter)"
                } else {
                    ""
                };
                return Err(Error::data(
                    Location::file(name).line(line),
                    format!(
                        "{} fields expected (as in the header), {} found{hint}",
                        headers.len(),
                        record.len()
                    ),
                ));
            }
            for (i, field) in record.iter().enumerate() {
                let text = utf8(field, || {
                    Location::file(name).line(line).column(&headers[i])
                })?;
                columns[i].push(text.trim());
            }
            lines.push(line);
        }
        Ok(RawTable {
            source: name.clone(),
            headers: headers.clone(),
            columns,
            lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_detected_from_the_header() {
        assert_eq!(detect_delimiter(b"a,b,c\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n1,5;2;3"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"x;y\",b\n"), b',');
        assert_eq!(detect_delimiter(b"single\n"), b',');
    }
}

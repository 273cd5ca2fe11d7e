//! Reading a CSV file by its header into a `RawTable`: BOM stripped, CRLF and CR line
//! endings read as LF (`line_endings.rs`), blank lines skipped (line numbers still count
//! them), binary data, invalid UTF-8 and bad header names refused with file, line and
//! column. The rows themselves are read by `records.rs`, rows of the wrong width refused
//! (or skipped with `skip_bad_rows`). An input without a header line (a shard of a
//! bigger file) is read under names given in `CsvOptions::columns`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Cursor, Read};

use super::csv_parsers::{self, Slot};
use super::delimiter::detect_delimiter;
use super::input::{display_name, open_input};
use super::line_endings::{is_blank, LineEndings};
use super::parquet::{is_parquet, ParquetRows, PARQUET_MAGIC};
use super::table::RawTable;
use crate::error::{one_line, Error, Location, Result, Setting};

/// How to read a CSV file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// The field delimiter; `None` detects it from the header line among `,` `;` and tab.
    pub delimiter: Option<u8>,
    /// Skip rows whose number of fields differs from the header's (they are listed in
    /// `RawTable::skipped` for a warning) instead of refusing the file.
    pub skip_bad_rows: bool,
    /// The column names of an input without a header line (a shard of a bigger file):
    /// its first line is a data row, line 1 in messages; the delimiter is `,` unless
    /// `delimiter` says otherwise; an empty input is a table without rows. `None`: the
    /// first line is the header. Names are trimmed and must be unique and non-empty;
    /// Parquet, which names its own columns, is refused.
    pub columns: Option<Vec<String>>,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes read at a time from a file, and from input already in memory (a served request
/// body: a file's buffer, zeroed on first use, would cost more than reading one row).
pub(super) const FILE_BUFFER: usize = 1 << 16;
const MEMORY_BUFFER: usize = 1 << 12;

/// A field as text: valid UTF-8 without NUL bytes (which only binary files contain).
pub(crate) fn text_of(bytes: &[u8], location: impl FnOnce() -> Location) -> Result<&str> {
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::data(
            location(),
            format!(
                "binary data (a NUL byte at position {} of the value); expected CSV text",
                at + 1
            ),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Error::data(
            location(),
            format!(
                "the value '{}' is not valid UTF-8 (byte 0x{:02X} at position {}); expected UTF-8 text (convert the file, e.g. with iconv)",
                String::from_utf8_lossy(bytes),
                bytes[at],
                at + 1
            ),
        )
    })
}

/// Read a whole CSV file by its header. Cells and header names are trimmed; blank lines
/// (also before the header) are skipped; every row must have as many fields as the header
/// unless `options.skip_bad_rows`. A file that starts with the Parquet magic is read as
/// Parquet (`options` do not apply to it).
pub fn read_table(path: &str, options: &CsvOptions) -> Result<RawTable> {
    if is_parquet(path) {
        refuse_columns_for_parquet(path, options)?;
        return ParquetRows::open(path)?.read_chunk(usize::MAX);
    }
    if let Some(table) = super::parallel_read::read_plain_file(path, options)? {
        return Ok(table);
    }
    let input = open_input(path)?;
    read_table_from(input, &display_name(path), options)
}

/// Read CSV from `input` (already decompressed); `name` names it in messages.
pub fn read_table_from<'a>(
    input: impl BufRead + 'a,
    name: &str,
    options: &CsvOptions,
) -> Result<RawTable> {
    let mut rows = CsvRows::from_input(Box::new(input), name, options, MEMORY_BUFFER)?;
    rows.read_chunk(usize::MAX)
}

/// `read_table_from` for an input it may own, keeping the csv reader for the next call
/// on this thread (`csv_parsers.rs`): many small inputs (a server's request bodies) do
/// not each build one.
pub fn read_owned_table_from(
    input: impl BufRead + 'static,
    name: &str,
    options: &CsvOptions,
) -> Result<RawTable> {
    let mut rows = CsvRows::from_input(Box::new(input), name, options, MEMORY_BUFFER)?;
    let table = rows.read_chunk(usize::MAX)?;
    csv_parsers::keep(rows.reader, rows.delimiter);
    Ok(table)
}

/// An input from its first line that is not blank on (held in the cursor).
type Input<'a> = std::io::Chain<Cursor<Vec<u8>>, BufReader<LineEndings<Box<dyn BufRead + 'a>>>>;

pub(super) type CsvSource<'a> = csv::Reader<Slot<'a>>;

/// An open CSV input positioned after its header: what `read_table` and the chunked
/// reader (`stream.rs`) share, so both type, trim and check rows the same way.
pub(crate) struct CsvRows<'a> {
    /// The input as shown in messages (`<stdin>` for `-`).
    pub(crate) name: String,
    pub(crate) headers: Vec<String>,
    pub(super) reader: CsvSource<'a>,
    /// The reader's delimiter.
    pub(super) delimiter: u8,
    /// Blank lines before the header, added to the csv crate's line numbers.
    pub(super) blank_lines: u64,
    /// Whether the delimiter was given rather than detected.
    pub(super) delimiter_given: bool,
    /// Skip rows of the wrong width instead of refusing the file.
    pub(super) skip_bad_rows: bool,
    /// Whether the names were given (`CsvOptions::columns`) rather than read.
    pub(super) headerless: bool,
}

impl<'a> CsvRows<'a> {
    /// Open the input and read its header line.
    pub(crate) fn open(path: &str, options: &CsvOptions) -> Result<CsvRows<'static>> {
        let input = open_input(path)?;
        CsvRows::from_input(input, &display_name(path), options, FILE_BUFFER)
    }

    /// Open `input`, read `buffer` bytes at a time.
    pub(super) fn from_input(
        mut input: Box<dyn BufRead + 'a>,
        name: &str,
        options: &CsvOptions,
        buffer: usize,
    ) -> Result<CsvRows<'a>> {
        let name = name.to_string();
        // What the input starts with, as far as a file's buffer goes whatever `buffer` is.
        let head = input.fill_buf().map_err(|e| Error::io(&name, e))?;
        let head = &head[..head.len().min(FILE_BUFFER)];
        if head.starts_with(PARQUET_MAGIC) {
            return Err(Error::data(
                Location::file(&name),
                parquet_not_seekable(&name),
            ));
        }
        if head.contains(&0) {
            return Err(Error::data(
                Location::file(&name),
                "the file holds binary data (NUL bytes); expected a CSV text file (plain or gzip)",
            ));
        }
        let mut input = BufReader::with_capacity(buffer, LineEndings::new(input));
        let given = options.columns.as_deref().map(given_columns).transpose()?;
        // The header (or, with given names, the first row) is the first line that is not
        // blank.
        let mut header_line = Vec::new();
        let mut blank_lines = 0u64;
        let mut read_any = false;
        loop {
            header_line.clear();
            let n = input
                .read_until(b'\n', &mut header_line)
                .map_err(|e| Error::io(&name, e))?;
            if !read_any && header_line.starts_with(UTF8_BOM) {
                header_line.drain(..UTF8_BOM.len());
            }
            if n == 0 {
                if let Some(headers) = given {
                    let source = Cursor::new(header_line).chain(input);
                    return Ok(CsvRows::headerless(source, name, headers, 0, options));
                }
                return Err(Error::data(
                    Location::file(&name),
                    if read_any {
                        "the file has only blank lines; expected a header line with the column names"
                    } else {
                        "the file is empty; expected a header line with the column names"
                    },
                ));
            }
            read_any = true;
            if !is_blank(&header_line) {
                break;
            }
            blank_lines += 1;
        }
        let source = Cursor::new(header_line).chain(input);
        if let Some(headers) = given {
            return Ok(CsvRows::headerless(
                source,
                name,
                headers,
                blank_lines,
                options,
            ));
        }
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| detect_delimiter(source.get_ref().0.get_ref()));
        let mut reader = csv_parsers::reader(Box::new(source), delimiter);
        let mut header_record = csv::ByteRecord::new();
        reader
            .read_byte_record(&mut header_record)
            .map_err(|e| csv_error(&name, blank_lines, e))?;
        let header_line_no = 1 + blank_lines;
        let mut headers = Vec::with_capacity(header_record.len());
        let mut seen = HashSet::with_capacity(header_record.len());
        for (i, field) in header_record.iter().enumerate() {
            let text = text_of(field, || Location::file(&name).line(header_line_no))?.trim();
            if text.is_empty() {
                return Err(Error::data(
                    Location::file(&name).line(header_line_no),
                    format!(
                        "column {} has an empty name; expected a name for every column",
                        i + 1
                    ),
                ));
            }
            if text.contains(['\n', '\r']) {
                return Err(Error::data(
                    Location::file(&name).line(header_line_no),
                    format!(
                        "the header name '{text}' holds a line break (is a quote left open?); expected the column names on one line"
                    ),
                ));
            }
            if !seen.insert(text) {
                return Err(Error::data(
                    Location::file(&name).line(header_line_no),
                    format!("the column name '{text}' appears twice; expected unique names"),
                ));
            }
            headers.push(text.to_string());
        }
        Ok(CsvRows {
            name,
            headers,
            reader,
            delimiter,
            blank_lines,
            delimiter_given: options.delimiter.is_some(),
            skip_bad_rows: options.skip_bad_rows,
            headerless: false,
        })
    }

    /// The rows of `source` (from its first line on) under the given `headers`.
    fn headerless(
        source: Input<'a>,
        name: String,
        headers: Vec<String>,
        blank_lines: u64,
        options: &CsvOptions,
    ) -> CsvRows<'a> {
        let delimiter = options.delimiter.unwrap_or(b',');
        CsvRows {
            name,
            headers,
            reader: csv_parsers::reader(Box::new(source), delimiter),
            delimiter,
            blank_lines,
            delimiter_given: options.delimiter.is_some(),
            skip_bad_rows: options.skip_bad_rows,
            headerless: true,
        }
    }
}

/// The names of `CsvOptions::columns`, trimmed and checked: at least one, none empty,
/// none twice.
fn given_columns(names: &[String]) -> Result<Vec<String>> {
    let bad = |problem: String| Error::BadSetting {
        setting: Setting::Columns,
        problem,
    };
    if names.is_empty() {
        return Err(bad("names no columns; expected at least one name".into()));
    }
    let mut seen = HashSet::with_capacity(names.len());
    let mut trimmed = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let name = name.trim();
        if name.is_empty() {
            return Err(bad(format!(
                "has an empty name at position {}; expected a name for every column",
                i + 1
            )));
        }
        if !seen.insert(name) {
            return Err(Error::ColumnInTwoSettings {
                column: one_line(name),
                setting: Setting::Columns,
                other: Setting::Columns,
            });
        }
        trimmed.push(name.to_string());
    }
    Ok(trimmed)
}

/// Column names given for a Parquet file, which names its own columns: refused.
pub(super) fn refuse_columns_for_parquet(path: &str, options: &CsvOptions) -> Result<()> {
    match options.columns {
        Some(_) => Err(Error::BadSetting {
            setting: Setting::Columns,
            problem: format!(
                "is for CSV input without a header line; {path} is a Parquet file, which names its own columns"
            ),
        }),
        None => Ok(()),
    }
}

/// Parquet that reached the CSV reader: from stdin or inside gzip, where it cannot be
/// read (a Parquet reader seeks to the footer at the end of a file).
fn parquet_not_seekable(name: &str) -> String {
    if name == "<stdin>" {
        "the input is Parquet, which cannot be read from standard input (the reader needs to seek in a file); write it to a file and read that file".to_string()
    } else {
        "the file is gzip-compressed Parquet, which cannot be read as it is (the reader needs to seek in a plain file); decompress it first (Parquet compresses its own pages)".to_string()
    }
}

pub(crate) fn csv_error(name: &str, blank_lines: u64, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line() + blank_lines);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(name, io),
        other => {
            let mut location = Location::file(name);
            location.line = line;
            Error::data(location, format!("unreadable CSV ({other:?})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8]) -> Result<RawTable> {
        read_table_from(Cursor::new(text.to_vec()), "t.csv", &CsvOptions::default())
    }

    #[test]
    fn line_endings_are_uniform_and_lines_counted() {
        for text in [
            &b"a,b\r1,2\r\r3,4\r5\r"[..],
            b"a,b\r\n1,2\r\n\r\n3,4\r\n5\r\n",
            b"a,b\n1,2\n\n3,4\n5",
        ] {
            let err = read(text).unwrap_err().to_string();
            assert_eq!(
                err,
                "t.csv: line 5: 2 fields expected (as in the header), 1 found (set the `skip_bad_rows` setting to skip such rows)"
            );
        }
        let err = read(b"a,b\n\n\n1\n").unwrap_err().to_string();
        assert!(err.starts_with("t.csv: line 4: "), "{err}");
        let t = read(b"a,b\n\"x\n\ny\",2\n\n").unwrap();
        assert_eq!(t.columns[0].text_at(0), "x\n\ny");
        let t = read(b"a,b\r1,2\r3,4").unwrap();
        assert_eq!(t.lines, [2, 3]);
        assert_eq!(t.columns[1].text_at(1), "4");
    }

    fn headerless(text: &[u8], names: &[&str], delimiter: Option<u8>) -> Result<RawTable> {
        let options = CsvOptions {
            delimiter,
            columns: Some(names.iter().map(|n| n.to_string()).collect()),
            ..CsvOptions::default()
        };
        read_table_from(Cursor::new(text.to_vec()), "t.csv", &options)
    }

    #[test]
    fn given_names_make_the_first_line_a_row_and_line_1() {
        let t = headerless(b"\xEF\xBB\xBF1,\"x\ny\"\r\n\n3 , z\n", &[" a ", "b"], None).unwrap();
        assert_eq!(t.headers, ["a", "b"]);
        assert_eq!(t.lines, [1, 4]);
        assert_eq!(t.columns[1].text_at(0), "x\ny");
        assert_eq!(t.columns[0].text_at(1), "3");
        // A comma unless told otherwise: a header line's delimiter is not detected.
        let t = headerless(b"1;2\n", &["a"], None).unwrap();
        assert_eq!(t.columns[0].text_at(0), "1;2");
        let t = headerless(b"1;2\n", &["a", "b"], Some(b';')).unwrap();
        assert_eq!(t.columns[1].text_at(0), "2");
        for empty in [&b""[..], b"\n\n"] {
            let t = headerless(empty, &["a", "b"], None).unwrap();
            assert_eq!((t.n_rows(), t.headers.len()), (0, 2));
        }
        let err = headerless(b"\n1,2\n3\n", &["a", "b"], None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "t.csv: line 3: 2 fields expected (one per column name given), 1 found (is the file delimited by another character? set the `delimiter` setting)"
        );
        let err = headerless(b"1,2,3\n", &["a", "b"], None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "t.csv: line 1: 2 fields expected (one per column name given), 3 found (set the `skip_bad_rows` setting to skip such rows)"
        );
        let err = headerless(b"x\",1\n", &["a", "b", "c"], None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "t.csv: line 1: 3 fields expected (one per column name given), 2 found (was the input cut inside a quoted field? a shard must start and end at a record's end, which is not always a line's end)"
        );
        let err = headerless(b"1,\xff\n", &["a", "b"], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.csv: line 1: column 'b': the value"),
            "{err}"
        );
    }

    #[test]
    fn given_names_must_be_unique_and_not_empty() {
        for (names, expected) in [
            (&[][..], "the `columns` setting names no columns; expected at least one name"),
            (
                &["a", " "][..],
                "the `columns` setting has an empty name at position 2; expected a name for every column",
            ),
            (&["a", "b", " a"][..], "the `columns` setting names the column 'a', twice"),
        ] {
            let err = headerless(b"1\n", names, None).unwrap_err();
            assert!(err.is_usage());
            assert_eq!(err.to_string(), expected);
        }
    }
}

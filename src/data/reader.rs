//! Opening input (a path or `-` for stdin, gzip recognised by its magic bytes) and
//! reading a CSV file by its header into a `RawTable`: BOM stripped, CRLF and CR line
//! endings read as LF, blank lines skipped (line numbers still count them), binary data,
//! invalid UTF-8, bad header names and rows of the wrong width refused with file, line and
//! column (or skipped with `skip_bad_rows`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::sync::mpsc;

use flate2::bufread::MultiGzDecoder;

use super::column::Column;
use super::table::{RawTable, SkippedRow};
use crate::error::{Error, Location, Result};

/// How to read a CSV file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// The field delimiter; `None` detects it from the header line among `,` `;` and tab.
    pub delimiter: Option<u8>,
    /// Skip rows whose number of fields differs from the header's (they are listed in
    /// `RawTable::skipped` for a warning) instead of refusing the file.
    pub skip_bad_rows: bool,
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

/// A gzip stream whose read errors say that the gzip data is bad.
struct GzipInput<R>(MultiGzDecoder<R>);

impl<R: BufRead> Read for GzipInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("invalid gzip data ({e}); expected a complete gzip file"),
            )
        })
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
            GzipInput(MultiGzDecoder::new(buffered)),
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

/// A field as text: valid UTF-8 without NUL bytes (which only binary files contain).
fn text_of(bytes: &[u8], location: impl FnOnce() -> Location) -> Result<&str> {
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

/// Line endings made uniform: CRLF and a lone CR become LF, so that line numbers count
/// the lines of Windows and old Mac files alike. An empty line outside quotes becomes a
/// line holding one space, which the reader skips as blank: the csv crate would skip it
/// itself but then report the next record at the empty line's number.
struct LineEndings<R> {
    inner: R,
    after_cr: bool,
    at_line_start: bool,
    in_quotes: bool,
}

impl<R> LineEndings<R> {
    fn new(inner: R) -> Self {
        LineEndings {
            inner,
            after_cr: false,
            at_line_start: true,
            in_quotes: false,
        }
    }
}

impl<R: BufRead> Read for LineEndings<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() || buf.len() < 2 {
                return Ok(0);
            }
            let (mut used, mut written) = (0, 0);
            while used < available.len() && written + 2 <= buf.len() {
                // Copy the run of ordinary bytes up to the next line end or quote at once.
                let rest = &available[used..];
                let run = memchr::memchr3(b'\r', b'\n', b'"', rest)
                    .unwrap_or(rest.len())
                    .min(buf.len() - written - 1);
                if run > 0 {
                    buf[written..written + run].copy_from_slice(&rest[..run]);
                    used += run;
                    written += run;
                    self.after_cr = false;
                    self.at_line_start = false;
                    continue;
                }
                let b = available[used];
                used += 1;
                let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
                match b {
                    b'\n' if after_cr => {}
                    b'\n' | b'\r' => {
                        if self.at_line_start && !self.in_quotes {
                            buf[written] = b' ';
                            written += 1;
                        }
                        buf[written] = b'\n';
                        written += 1;
                        self.at_line_start = true;
                    }
                    _ => {
                        if b == b'"' {
                            self.in_quotes = !self.in_quotes;
                        }
                        self.at_line_start = false;
                        buf[written] = b;
                        written += 1;
                    }
                }
            }
            self.inner.consume(used);
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}

/// A hint for a file whose header is one name holding another delimiter character.
pub fn delimiter_hint(headers: &[String]) -> String {
    match headers {
        [only] => match [',', ';', '\t', '|'].into_iter().find(|&c| only.contains(c)) {
            Some(c) => format!(
                " (the header is one column '{only}'; is the file delimited by {}? try --delimiter {})",
                if c == '\t' { "tabs".to_string() } else { format!("'{c}'") },
                if c == '\t' { "tab".to_string() } else { format!("'{c}'") },
            ),
            None => String::new(),
        },
        _ => String::new(),
    }
}

/// Read a whole CSV file by its header. Cells and header names are trimmed; blank lines
/// (also before the header) are skipped; every row must have as many fields as the header
/// unless `options.skip_bad_rows`.
pub fn read_table(path: &str, options: &CsvOptions) -> Result<RawTable> {
    let input = open_input(path)?;
    read_table_from(input, &display_name(path), options)
}

/// Read CSV from `input` (already decompressed); `name` names it in messages.
pub fn read_table_from<'a>(
    input: impl BufRead + 'a,
    name: &str,
    options: &CsvOptions,
) -> Result<RawTable> {
    let mut rows = CsvRows::from_input(Box::new(input), name, options)?;
    rows.read_chunk(usize::MAX)
}

type CsvSource<'a> =
    csv::Reader<std::io::Chain<Cursor<Vec<u8>>, BufReader<LineEndings<Box<dyn BufRead + 'a>>>>>;

/// An open CSV input positioned after its header: what `read_table` and the chunked
/// reader (`stream.rs`) share, so both type, trim and check rows the same way.
pub(crate) struct CsvRows<'a> {
    /// The input as shown in messages (`<stdin>` for `-`).
    pub(crate) name: String,
    pub(crate) headers: Vec<String>,
    reader: CsvSource<'a>,
    /// Blank lines before the header, added to the csv crate's line numbers.
    blank_lines: u64,
    delimiter_given: bool,
    skip_bad_rows: bool,
}

impl<'a> CsvRows<'a> {
    /// Open the input and read its header line.
    pub(crate) fn open(path: &str, options: &CsvOptions) -> Result<CsvRows<'static>> {
        let input = open_input(path)?;
        CsvRows::from_input(input, &display_name(path), options)
    }

    fn from_input(
        input: Box<dyn BufRead + 'a>,
        name: &str,
        options: &CsvOptions,
    ) -> Result<CsvRows<'a>> {
        let name = name.to_string();
        let mut input = BufReader::with_capacity(1 << 16, LineEndings::new(input));
        let head = input.fill_buf().map_err(|e| Error::io(&name, e))?;
        if head.contains(&0) {
            return Err(Error::data(
                Location::file(&name),
                "the file holds binary data (NUL bytes); expected a CSV text file (plain or gzip)",
            ));
        }
        // The header is the first line that is not blank.
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
            .map_err(|e| csv_error(&name, blank_lines, e))?
            .clone();
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
            blank_lines,
            delimiter_given: options.delimiter.is_some(),
            skip_bad_rows: options.skip_bad_rows,
        })
    }

    /// The next rows, at most `max_rows` of them (none at the end of the input), as a
    /// table with the input's headers; line numbers count from the top of the input.
    ///
    /// Two threads share the work: this one splits the input into records (and checks
    /// their width), a second one types and stores their cells, a batch of records
    /// behind. The first error in file order wins: the second thread only ever sees
    /// records before any this one refused.
    pub(crate) fn read_chunk(&mut self, max_rows: usize) -> Result<RawTable> {
        let CsvRows {
            name,
            headers,
            reader,
            blank_lines,
            delimiter_given,
            skip_bad_rows,
        } = self;
        let (name, headers, blank_lines) = (&*name, &*headers, *blank_lines);
        let (to_worker, batches) = mpsc::sync_channel::<Vec<csv::ByteRecord>>(BATCHES_IN_FLIGHT);
        let (to_reader, recycled) = mpsc::channel::<Vec<csv::ByteRecord>>();
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || -> Result<Vec<Column>> {
                let mut columns = vec![Column::default(); headers.len()];
                for batch in batches {
                    for record in &batch {
                        push_record(&mut columns, record, name, headers, blank_lines)?;
                    }
                    // The reader may have stopped already; the batch is then dropped.
                    let _ = to_reader.send(batch);
                }
                columns.iter_mut().for_each(Column::shrink_to_fit);
                Ok(columns)
            });
            let mut lines = Vec::new();
            let mut skipped = Vec::new();
            let read = (|| -> Result<()> {
                let mut batch: Vec<csv::ByteRecord> = Vec::with_capacity(BATCH_ROWS);
                let mut spare = csv::ByteRecord::new();
                let mut pool: Vec<csv::ByteRecord> = Vec::new();
                while lines.len() < max_rows
                    && reader
                        .read_byte_record(&mut spare)
                        .map_err(|e| csv_error(name, blank_lines, e))?
                {
                    let line = spare.position().map(|p| p.line()).unwrap_or(0) + blank_lines;
                    if spare.len() == 1 && is_blank(&spare[0]) {
                        continue; // a line of spaces is a blank line
                    }
                    if spare.len() != headers.len() {
                        if *skip_bad_rows {
                            skipped.push(SkippedRow {
                                line,
                                fields: spare.len(),
                            });
                            continue;
                        }
                        return Err(width_error(
                            name,
                            headers,
                            *delimiter_given,
                            line,
                            spare.len(),
                        ));
                    }
                    lines.push(line);
                    // Keep the record; records (and their buffers) come back in batches
                    // the worker is done with.
                    if pool.is_empty() {
                        pool = recycled.try_recv().unwrap_or_default();
                    }
                    batch.push(std::mem::replace(
                        &mut spare,
                        pool.pop().unwrap_or_default(),
                    ));
                    if batch.len() == BATCH_ROWS {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                        if to_worker.send(full).is_err() {
                            return Ok(()); // the worker stopped on an error
                        }
                    }
                }
                if !batch.is_empty() {
                    let _ = to_worker.send(batch);
                }
                Ok(())
            })();
            drop(to_worker);
            let columns = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            read?;
            Ok(RawTable {
                source: name.clone(),
                headers: headers.clone(),
                columns,
                lines,
                skipped,
            })
        })
    }
}

/// Records per batch handed to the thread that stores cells, and batches in flight.
const BATCH_ROWS: usize = 256;
const BATCHES_IN_FLIGHT: usize = 4;

/// Store one record's cells (as many as the header has names) in `columns`.
fn push_record(
    columns: &mut [Column],
    record: &csv::ByteRecord,
    name: &str,
    headers: &[String],
    blank_lines: u64,
) -> Result<()> {
    let line = || record.position().map(|p| p.line()).unwrap_or(0) + blank_lines;
    for ((field, column), header) in record.iter().zip(columns.iter_mut()).zip(headers) {
        // Plain numbers, the bulk of most files, are ASCII: no text checks needed.
        if column.try_push_number(field) {
            continue;
        }
        let text = text_of(field, || Location::file(name).line(line()).column(header))?;
        if !column.try_push(text.trim()) {
            return Err(Error::data(
                Location::file(name).line(line()).column(header),
                "the column holds more than 4 GiB of text; expected a smaller file (split it, or predict from a stream)",
            ));
        }
    }
    Ok(())
}

/// The error for a row whose number of fields differs from the header's.
fn width_error(
    name: &str,
    headers: &[String],
    delimiter_given: bool,
    line: u64,
    fields: usize,
) -> Error {
    let hint = if !delimiter_given && headers.len() == 1 {
        " (is the file delimited by another character? try --delimiter)".to_string()
    } else {
        let d = delimiter_hint(headers);
        if d.is_empty() {
            " (use --skip-bad-rows to skip such rows)".to_string()
        } else {
            d
        }
    };
    Error::data(
        Location::file(name).line(line),
        format!(
            "{} fields expected (as in the header), {fields} found{hint}",
            headers.len()
        ),
    )
}

fn csv_error(name: &str, blank_lines: u64, e: csv::Error) -> Error {
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
                "t.csv: line 5: 2 fields expected (as in the header), 1 found (use --skip-bad-rows to skip such rows)"
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

    #[test]
    fn the_first_error_in_the_file_wins_across_batches() {
        // Rows past several batches; a bad UTF-8 cell (found by the thread that stores
        // cells) and a short row (found by the thread that splits records).
        let table = |bad_utf8: usize, short: usize| {
            let mut text = b"a,b\n".to_vec();
            for i in 0..2_000 {
                if i == bad_utf8 {
                    text.extend_from_slice(b"\xff,1\n");
                } else if i == short {
                    text.extend_from_slice(b"1\n");
                } else {
                    text.extend_from_slice(format!("{i},{}\n", i % 3).as_bytes());
                }
            }
            read(&text).unwrap_err().to_string()
        };
        let utf8_first = table(700, 1_500);
        assert!(
            utf8_first.starts_with("t.csv: line 702: column 'a': the value"),
            "{utf8_first}"
        );
        let short_first = table(1_500, 700);
        assert!(
            short_first.starts_with("t.csv: line 702: 2 fields expected"),
            "{short_first}"
        );
        let t = read(b"a,b\n1,x\n").unwrap();
        assert_eq!((t.n_rows(), t.columns[1].text_at(0).as_ref()), (1, "x"));
    }

    #[test]
    fn delimiter_is_detected_from_the_header() {
        assert_eq!(detect_delimiter(b"a,b,c\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n1,5;2;3"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"x;y\",b\n"), b',');
        assert_eq!(detect_delimiter(b"single\n"), b',');
    }
}

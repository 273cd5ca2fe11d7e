//! `PlainFile`: a plain CSV file (no quote or carriage return in its head) as a streamed
//! fit's epochs read it: its header as the csv reader reads it, the bytes before its
//! rows, and line starts found at any offset, for blocks read with `pread`.

use std::fs::File;
use std::io::BufReader;

use super::parallel_read::line_start;
use super::read_at::{read_some, ReadAt, Reader};
use super::reader::{CsvOptions, CsvRows, FILE_BUFFER};
use crate::error::{Error, Result};

/// A plain CSV file read in byte ranges by a streamed fit (`plain_file`): its header,
/// and where its rows start.
pub(crate) struct PlainFile {
    file: File,
    /// The file as shown in messages.
    pub(crate) name: String,
    /// Its size in bytes.
    pub(crate) len: u64,
    /// The trimmed header names.
    pub(crate) headers: Vec<String>,
    /// The field delimiter.
    pub(crate) delimiter: u8,
    /// The bytes before the rows: blank lines and the header line.
    pub(crate) head: Vec<u8>,
}

/// `path` as a `PlainFile` when its head is plain (no quote, no carriage return; not
/// gzip, Parquet, stdin or headerless) and the csv reader reads its header without
/// error; `None` otherwise (the csv reader then reads it, and reports any error).
pub(crate) fn plain_file(path: &str, options: &CsvOptions) -> Result<Option<PlainFile>> {
    if path == "-" || options.columns.is_some() || !cfg!(any(unix, windows)) {
        return Ok(None);
    }
    let Ok(file) = File::open(path) else {
        return Ok(None);
    };
    let len = match file.metadata() {
        Ok(m) if m.is_file() => m.len(),
        _ => return Ok(None),
    };
    let mut magic = [0u8; 4];
    if file.read_at(&mut magic, 0).ok() != Some(4)
        || magic[..2] == [0x1f, 0x8b]
        || &magic == b"PAR1"
    {
        return Ok(None);
    }
    let name = super::input::display_name(path);
    let reader = BufReader::with_capacity(
        FILE_BUFFER,
        Reader {
            source: &file,
            at: 0,
        },
    );
    let Ok(rows) = CsvRows::from_input(Box::new(reader), &name, options, FILE_BUFFER) else {
        return Ok(None);
    };
    let (headers, delimiter, blank_lines) =
        (rows.headers.clone(), rows.delimiter, rows.blank_lines);
    drop(rows);
    if matches!(delimiter, b'"' | b'\n' | b'\r') {
        return Ok(None);
    }
    let Some(start) = line_start(&file, len, blank_lines + 1, &name)? else {
        return Ok(None);
    };
    let mut head = vec![0u8; start as usize];
    let plain = PlainFile {
        file,
        name,
        len,
        headers,
        delimiter,
        head: Vec::new(),
    };
    plain.read_exact_at(&mut head, 0)?;
    if memchr::memchr2(b'"', b'\r', &head).is_some() {
        return Ok(None);
    }
    Ok(Some(PlainFile { head, ..plain }))
}

impl PlainFile {
    /// Fill `buf` from `offset` (the file must still hold those bytes).
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = read_some(
                &self.file,
                &mut buf[done..],
                offset + done as u64,
                &self.name,
            )?;
            if n == 0 {
                return Err(Error::data(
                    crate::error::Location::file(&self.name),
                    "the file changed since the first pass (it is shorter); a streamed run reads it once per epoch, so it must stay as it was",
                ));
            }
            done += n;
        }
        Ok(())
    }

    /// The first line start at or after `at` (after the head): the offset after the
    /// first `\n` at or after `at - 1`; `len` when there is none. `scratch` is reused.
    pub(crate) fn line_start_at(&self, at: u64, scratch: &mut Vec<u8>) -> Result<u64> {
        let head = self.head.len() as u64;
        if at <= head {
            return Ok(head.min(self.len));
        }
        scratch.resize(4096, 0);
        let mut from = at - 1;
        while from < self.len {
            let n = read_some(&self.file, scratch, from, &self.name)?;
            if n == 0 {
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &scratch[..n]) {
                return Ok(from + i as u64 + 1);
            }
            from += n as u64;
        }
        Ok(self.len)
    }
}

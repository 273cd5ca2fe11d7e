//! Opening input: a path or `-` for stdin, gzip recognised by its magic bytes and
//! decompressed on the fly.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

use crate::error::{Error, Location, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The name of an input for messages.
pub(crate) fn display_name(path: &str) -> String {
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

//! Reading bytes at an offset, from a file or from memory (tests): what each thread of
//! `parallel_read` reads its range with.

use std::fs::File;
use std::io;

use crate::error::{Error, Result};

/// Bytes at an offset: a file, or bytes in memory (tests).
pub(super) trait ReadAt: Sync {
    /// Read into `buf` from `offset`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for File {
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }
    #[cfg(not(any(unix, windows)))]
    fn read_at(&self, _: &mut [u8], _: u64) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let rest = self.get(offset as usize..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

/// `ReadAt` as `Read`, from an offset on.
pub(super) struct Reader<'a, S: ?Sized> {
    pub(super) source: &'a S,
    pub(super) at: u64,
}

impl<S: ReadAt + ?Sized> io::Read for Reader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// One read at `at`; an I/O error becomes an error of the file `name`.
pub(super) fn read_some(
    source: &(impl ReadAt + ?Sized),
    buf: &mut [u8],
    at: u64,
    name: &str,
) -> Result<usize> {
    loop {
        match source.read_at(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(|e| Error::io(name, e)),
        }
    }
}

//! `LineEndings`: a reader that makes CRLF and lone CR line endings LF, so that line
//! numbers count the lines of Windows and old Mac files alike.

use std::io::{self, BufRead, Read};

/// Line endings made uniform: CRLF and a lone CR become LF, so that line numbers count
/// the lines of Windows and old Mac files alike. An empty line outside quotes becomes a
/// line holding one space, which the reader skips as blank: the csv crate would skip it
/// itself but then report the next record at the empty line's number.
pub(crate) struct LineEndings<R> {
    inner: R,
    after_cr: bool,
    at_line_start: bool,
    in_quotes: bool,
}

impl<R> LineEndings<R> {
    pub(crate) fn new(inner: R) -> Self {
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

/// True for a line of nothing but whitespace, which the reader skips.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}

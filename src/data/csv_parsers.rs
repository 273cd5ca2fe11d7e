//! The csv crate's readers, reused on a thread: building one builds its parser's
//! transition tables, which takes longer than reading a one-row request body, so a
//! reader that has read one input whole goes back to a small per-thread store and reads
//! the next input with the same delimiter. A reused reader reads exactly as a new one.

use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom};

/// Readers kept per thread (one per delimiter in use, in practice).
const KEPT: usize = 4;

thread_local! {
    static KEPT_READERS: RefCell<Vec<(u8, csv::Reader<Slot<'static>>)>> =
        const { RefCell::new(Vec::new()) };
}

/// The input a csv reader reads, put in and taken out; none reads as empty.
pub(crate) struct Slot<'a>(Option<Box<dyn Read + 'a>>);

impl Read for Slot<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Some(input) => input.read(buf),
            None => Ok(0),
        }
    }
}

impl Seek for Slot<'_> {
    /// Only the reset in `reader` seeks: the reader starts over on whatever is put in.
    fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
        Ok(0)
    }
}

/// A reader of `input` with `delimiter`, rows of any width, the header line read as a
/// record; a kept one if this thread has one for `delimiter`.
pub(crate) fn reader<'a>(input: Box<dyn Read + 'a>, delimiter: u8) -> csv::Reader<Slot<'a>> {
    let kept = KEPT_READERS.with(|kept| {
        let mut kept = kept.borrow_mut();
        let at = kept.iter().position(|(d, _)| *d == delimiter)?;
        Some(kept.swap_remove(at).1)
    });
    let mut reader = kept.unwrap_or_else(|| {
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(Slot(None))
    });
    // Back to line 1 with nothing buffered, new or kept alike (with no input in, the
    // first-record bookkeeping a seek does reads nothing).
    reader
        .seek_raw(SeekFrom::Start(0), csv::Position::new())
        .expect("an empty slot seeks");
    reader.get_mut().0 = Some(input);
    reader
}

/// Keep `reader` (which read its input to the end) for the next input on this thread.
pub(crate) fn keep(mut reader: csv::Reader<Slot<'static>>, delimiter: u8) {
    reader.get_mut().0 = None;
    KEPT_READERS.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() < KEPT {
            kept.push((delimiter, reader));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(reader: &mut csv::Reader<Slot<'_>>) -> Vec<(Vec<String>, u64)> {
        let mut out = Vec::new();
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let fields = record
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            out.push((fields, record.position().unwrap().line()));
        }
        out
    }

    #[test]
    fn a_kept_reader_reads_as_a_new_one() {
        let inputs: [&[u8]; 3] = [b"a;b\n1;\"x\ny\"\n2;3\n", b"c;d\n\"open", b"e\n5;6;7\n"];
        let fresh: Vec<_> = inputs
            .iter()
            .map(|input| {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(b';')
                    .flexible(true)
                    .has_headers(false)
                    .from_reader(Slot(Some(Box::new(*input))));
                records(&mut reader)
            })
            .collect();
        for (input, expected) in inputs.iter().zip(&fresh) {
            let mut reader = reader(Box::new(std::io::Cursor::new(input.to_vec())), b';');
            assert_eq!(&records(&mut reader), expected);
            keep(reader, b';');
        }
        assert_eq!(KEPT_READERS.with(|k| k.borrow().len()), 1);
    }
}

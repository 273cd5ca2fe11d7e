//! `with_chunks`: a pass over a streamed file with its parsing on threads of its own.
//! A reading thread splits the records and a typing thread types their cells (the two of
//! `TableChunks` on two threads), a few chunks ahead of the caller, which encodes them;
//! the chunks are the same as on one thread, so the results are too.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::data::{CsvOptions, RawTable, TableChunks};
use crate::error::Result;

/// Chunks parsed ahead of the one being used.
const CHUNKS_AHEAD: usize = 2;

/// Threads that parse: one splits the records, one types the cells.
const PARSE_THREADS: usize = 2;

/// Call `work` with a function that returns the next chunk of `chunk_rows` rows of
/// `path` (`None` at the end), parsed on threads of its own; returns what `work` does.
pub(crate) fn with_chunks<T>(
    path: &str,
    options: &CsvOptions,
    chunk_rows: usize,
    work: impl FnOnce(&mut dyn FnMut() -> Result<Option<RawTable>>) -> Result<T>,
) -> Result<T> {
    with_chunks_from(|| TableChunks::open(path, options, chunk_rows), work)
}

/// `with_chunks` on the chunks `open` gives (called on the parsing thread).
pub(crate) fn with_chunks_from<T>(
    open: impl FnOnce() -> Result<TableChunks> + Send,
    work: impl FnOnce(&mut dyn FnMut() -> Result<Option<RawTable>>) -> Result<T>,
) -> Result<T> {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Result<RawTable>>(CHUNKS_AHEAD);
        scope.spawn(move || parse_chunks(open, &tx));
        let mut next = move || next_chunk(&rx);
        // When `work` returns early, `rx` is dropped and the parsing thread stops.
        work(&mut next)
    })
}

/// The next chunk from the parsing thread; `None` when it is done.
fn next_chunk(rx: &Receiver<Result<RawTable>>) -> Result<Option<RawTable>> {
    rx.recv().ok().transpose()
}

/// Read the chunks `open` gives into `out`, until its end, an error (sent on) or the
/// receiver's end.
fn parse_chunks(open: impl FnOnce() -> Result<TableChunks>, out: &SyncSender<Result<RawTable>>) {
    let _pool = crate::parallel::install(PARSE_THREADS);
    let mut chunks = match open() {
        Ok(chunks) => chunks,
        Err(e) => {
            let _ = out.send(Err(e));
            return;
        }
    };
    loop {
        let (chunk, last) = match chunks.next_chunk() {
            Ok(Some(chunk)) => (Ok(chunk), false),
            Ok(None) => return,
            Err(e) => (Err(e), true),
        };
        if out.send(chunk).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chunks_are_those_of_one_thread_and_an_error_ends_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("a,b\n");
        for i in 0..1000 {
            text += &format!("{i},x{}\n", i % 7);
        }
        text += "1,2,3\n";
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let options = CsvOptions::default();
        let mut alone = TableChunks::open(path, &options, 64).unwrap();
        let (rows, error) = with_chunks(path, &options, 64, |next| {
            let mut rows = 0;
            loop {
                match next() {
                    Ok(Some(chunk)) => {
                        let expected = alone.next_chunk().unwrap().unwrap();
                        assert_eq!(chunk.lines, expected.lines);
                        for c in 0..2 {
                            for r in 0..chunk.n_rows() {
                                assert_eq!(
                                    chunk.columns[c].text_at(r),
                                    expected.columns[c].text_at(r)
                                );
                            }
                        }
                        rows += chunk.n_rows();
                    }
                    Ok(None) => return Ok((rows, None)),
                    Err(e) => return Ok((rows, Some(e.to_string()))),
                }
            }
        })
        .unwrap();
        let expected = alone.next_chunk().unwrap_err().to_string();
        assert_eq!(rows, 960);
        assert_eq!(error, Some(expected));
        // Stopping early ends the parsing thread too.
        let first = with_chunks(path, &options, 10, |next| Ok(next()?.unwrap().n_rows()));
        assert_eq!(first.unwrap(), 10);
    }
}

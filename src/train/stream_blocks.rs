//! `with_blocks`: a pass over a plain CSV file in byte ranges of `block_bytes` cut at
//! line starts, each encoded by `RowEncoder` on one of `threads` threads; the caller
//! takes the blocks in file order. Block `i` is cut where the `i`-th nominal offset's
//! line starts and goes to thread `i % threads`, so the blocks (and all that is made
//! from them) do not depend on the number of threads. Each thread keeps at most two
//! blocks ahead and blocks come back for reuse, so memory stays bounded.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use super::stream_encode::{Block, RowEncoder};
use crate::data::PlainFile;
use crate::error::Result;

/// Blocks a thread encodes ahead of the caller.
const BLOCKS_AHEAD: usize = 2;

/// The blocks of a pass, in file order (see the module docs).
pub(crate) struct Blocks<'s> {
    from: Vec<Receiver<Result<Block>>>,
    next: usize,
    spare: &'s Mutex<Vec<Block>>,
}

impl Blocks<'_> {
    /// The next block; `None` after the last.
    pub(crate) fn next_block(&mut self) -> Result<Option<Block>> {
        let threads = self.from.len();
        let block = self.from[self.next % threads].recv().ok().transpose()?;
        self.next += 1;
        Ok(block)
    }

    /// Hand a used block back for reuse.
    pub(crate) fn give_back(&mut self, block: Block) {
        if let Ok(mut spare) = self.spare.lock() {
            spare.push(block);
        }
    }
}

/// Call `work` with the blocks of `file` (see the module docs); returns what it does.
/// When `work` returns early the threads stop.
pub(crate) fn with_blocks<T>(
    file: &PlainFile,
    encoder: &RowEncoder,
    (threads, block_bytes): (usize, u64),
    work: impl FnOnce(&mut Blocks) -> Result<T>,
) -> Result<T> {
    let threads = threads.max(1);
    let spare = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let mut from = Vec::with_capacity(threads);
        for first in 0..threads {
            let (tx, rx) = sync_channel(BLOCKS_AHEAD);
            from.push(rx);
            let spare = &spare;
            scope.spawn(move || {
                let blocks = (first..).step_by(threads);
                encode_blocks(file, encoder, blocks, block_bytes.max(1), spare, &tx)
            });
        }
        let mut blocks = Blocks {
            from,
            next: 0,
            spare: &spare,
        };
        work(&mut blocks)
        // Leaving drops the receivers: a thread's next send fails and it stops.
    })
}

/// Encode the blocks numbered by `numbers` into `out` until the file ends, a block is
/// not regular (sent on, then the csv reader takes over), an error, or the receiver's
/// end.
fn encode_blocks(
    file: &PlainFile,
    encoder: &RowEncoder,
    numbers: impl Iterator<Item = usize>,
    block_bytes: u64,
    spare: &Mutex<Vec<Block>>,
    out: &SyncSender<Result<Block>>,
) {
    let (mut scratch, mut ends) = (Vec::new(), Vec::new());
    let rows_start = file.head.len() as u64;
    for i in numbers {
        let nominal = rows_start + i as u64 * block_bytes;
        if i > 0 && nominal >= file.len {
            return;
        }
        let mut block = spare
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_default();
        let read = (|| {
            let start = file.line_start_at(nominal, &mut scratch)?;
            let end = file.line_start_at(nominal + block_bytes, &mut scratch)?;
            block.start = start;
            block.bytes.resize(end.saturating_sub(start) as usize, 0);
            file.read_exact_at(&mut block.bytes, start)
        })();
        let sent = match read {
            Ok(()) => {
                encoder.encode_block(&mut block, &mut ends);
                let regular = block.regular;
                out.send(Ok(block)).is_ok() && regular
            }
            Err(e) => {
                let _ = out.send(Err(e));
                false
            }
        };
        if !sent {
            return;
        }
    }
}

//! `read_epoch`: one pass of a streamed fit, meant for its own thread. It takes the file
//! in chunks parsed ahead on two more threads (`with_chunks`), encodes them with the
//! fitted pipeline, sends the training rows through a
//! seeded shuffle buffer and on in pieces of whole batches, and (when asked) the
//! evaluated validation rows. Pieces travel through a bounded channel and come back
//! empty for reuse, so memory stays bounded whatever the file's size.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender};

use super::stream_blocks::{with_blocks, Blocks};
use super::stream_encode::{Block, RowEncoder};
use super::stream_read::{with_chunks, with_chunks_from};
use super::stream_source::{mix, unit, visit_rows, LabelTexts, RowSplit, StreamPlan};
use crate::data::{plain_file, RawTable, Rows, ShuffleBuffer, TableChunks};
use crate::error::{Error, Location, Result};
use crate::preprocess::{EncodedTargets, Pipeline, TargetEncoder};

/// What the reader sends.
pub(crate) enum Piece {
    /// Training rows in shuffled order: whole batches, but for the last piece.
    Train(Rows),
    /// Validation rows to evaluate, in file order.
    Validation(Rows),
}

/// The seed of the shuffle buffer of `epoch`.
pub(crate) fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    mix(seed ^ mix(epoch as u64))
}

/// How an epoch reads a file: on `threads` threads in blocks of `block_bytes` when it
/// is plain (`plain`), else (and from the first block that is not) with the csv reader.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    /// Threads that encode blocks.
    pub(crate) threads: usize,
    /// Bytes per block.
    pub(crate) block_bytes: u64,
    /// Whether to read a plain file in blocks at all (`false`: the csv reader throughout).
    pub(crate) plain: bool,
}

/// Bytes per block of a plain file: some 9,000 rows of the benchmark's 110 bytes.
pub(crate) const BLOCK_BYTES: u64 = 1 << 20;

/// Most threads that encode blocks.
const MAX_BLOCK_THREADS: usize = 8;

impl Reading {
    /// Blocks of `BLOCK_BYTES` on up to `threads` threads.
    pub(crate) fn on(threads: usize) -> Self {
        Reading {
            threads: threads.clamp(1, MAX_BLOCK_THREADS),
            block_bytes: BLOCK_BYTES,
            plain: true,
        }
    }
}

/// Where the blocks of a plain file left the pass.
enum Left {
    /// At the end of the file.
    Done,
    /// The receiver is gone.
    Stopped,
    /// At a block the csv reader must read: its offset and the line ends before it.
    At(u64, u64),
}

/// Stream one epoch of `plan`'s file to `out` (see the module docs); `piece_rows` is a
/// whole number of batches. Stops quietly when the receiver is gone.
pub(crate) fn read_epoch(
    plan: &StreamPlan,
    (seed, epoch): (u64, usize),
    piece_rows: usize,
    with_validation: bool,
    reading: Reading,
    (out, back): (&SyncSender<Result<Piece>>, &Receiver<Rows>),
) {
    let mut sink = Sink::new(
        plan,
        (seed, epoch),
        piece_rows,
        with_validation,
        (out, back),
    );
    if let Err(e) = read(plan, &mut sink, reading) {
        let _ = out.send(Err(e));
    }
}

fn read(plan: &StreamPlan, sink: &mut Sink, reading: Reading) -> Result<()> {
    plan.stamp.check(&plan.path)?;
    let chunk_rows = plan.stream.chunk_rows;
    let plain = match reading.plain {
        true => plain_file(&plan.path, &plan.options)?,
        false => None,
    };
    let encoder = plain
        .as_ref()
        .and_then(|f| RowEncoder::new(plan, &f.headers, f.delimiter));
    let left = match (&plain, &encoder) {
        (Some(file), Some(encoder)) => {
            let how = (reading.threads, reading.block_bytes);
            with_blocks(file, encoder, how, |blocks| sink.take_blocks(blocks))?
        }
        _ => Left::At(0, 0),
    };
    let finished = match (left, plain) {
        (Left::Stopped, _) => false,
        (Left::Done, _) => true,
        (Left::At(..), None) => with_chunks(&plan.path, &plan.options, chunk_rows, |next| {
            sink.take_chunks(next)
        })?,
        (Left::At(offset, lines), Some(file)) => {
            let open = || {
                TableChunks::open_at(
                    &plan.path,
                    &plan.options,
                    chunk_rows,
                    (file.head, offset, lines),
                )
            };
            with_chunks_from(open, |next| sink.take_chunks(next))?
        }
    };
    if !finished {
        return Ok(());
    }
    plan.stamp.check(&plan.path)?;
    if sink.seen_train != plan.rows_train {
        return Err(changed(plan, Some(sink.seen_train)));
    }
    sink.finish();
    Ok(())
}

/// The error for a file that changed between passes (`seen`: the training rows now).
fn changed(plan: &StreamPlan, seen: Option<usize>) -> Error {
    let what = match seen {
        Some(seen) => format!("{} training rows then, {seen} now", plan.rows_train),
        None => "a training row's class is new".to_string(),
    };
    Error::data(
        Location::file(&plan.path),
        format!("the file changed since the first pass ({what}); a streamed run reads it once per epoch, so it must stay as it was"),
    )
}

/// Salt of the hash that samples the validation rows kept.
const VALIDATION_SAMPLE: u64 = 0x5641_4C49_4441_5445;

/// Where an epoch's rows go: the split, the shuffle buffer, the pieces sent on.
struct Sink<'a> {
    plan: &'a StreamPlan,
    seed: u64,
    with_validation: bool,
    piece_rows: usize,
    width: usize,
    split: RowSplit,
    /// Rows with a target so far, and training rows.
    next: u64,
    seen_train: usize,
    labels: LabelTexts,
    classes: ClassCodes<'a>,
    buffer: ShuffleBuffer,
    piece: Rows,
    out: &'a SyncSender<Result<Piece>>,
    back: &'a Receiver<Rows>,
    /// Reused from chunk to chunk (block to block): the training rows' inputs and
    /// targets, row lists and class indices (a label training never saw is `None`).
    train: Rows,
    train_rows: Vec<usize>,
    val_rows: Vec<usize>,
    train_y: Vec<Option<u32>>,
    val_y: Vec<Option<u32>>,
}

impl<'a> Sink<'a> {
    fn new(
        plan: &'a StreamPlan,
        (seed, epoch): (u64, usize),
        piece_rows: usize,
        with_validation: bool,
        (out, back): (&'a SyncSender<Result<Piece>>, &'a Receiver<Rows>),
    ) -> Self {
        let pipeline = &plan.pipeline;
        let width = pipeline.n_inputs();
        let mut split = plan.split.clone();
        split.restart();
        let chunk_rows = plan.stream.chunk_rows;
        let mut sink = Sink {
            plan,
            seed,
            with_validation,
            piece_rows,
            width,
            split,
            next: 0,
            seen_train: 0,
            labels: LabelTexts::default(),
            classes: ClassCodes::new(&pipeline.target_encoder),
            buffer: ShuffleBuffer::new(plan.stream.shuffle_buffer, width, epoch_seed(seed, epoch)),
            piece: Rows::new(width),
            out,
            back,
            train: Rows::new(width),
            train_rows: Vec::with_capacity(chunk_rows),
            val_rows: Vec::with_capacity(chunk_rows),
            train_y: Vec::with_capacity(chunk_rows),
            val_y: Vec::with_capacity(chunk_rows),
        };
        sink.piece = sink.fresh();
        sink
    }

    /// An empty piece: one handed back, or a new one.
    fn fresh(&self) -> Rows {
        let mut rows = self
            .back
            .try_recv()
            .unwrap_or_else(|_| Rows::new(self.width));
        rows.clear();
        rows
    }

    /// Training rows through the shuffle buffer into pieces, sent as they fill; `false`
    /// when the receiver is gone.
    fn offer(&mut self, x: &[f32], y: &[f32]) -> bool {
        let mut at = 0;
        while at < y.len() {
            let width = self.width;
            at += self.buffer.offer_rows(
                &x[at * width..],
                &y[at..],
                &mut self.piece,
                self.piece_rows,
            );
            if self.piece.len() == self.piece_rows {
                let fresh = self.fresh();
                let full = std::mem::replace(&mut self.piece, fresh);
                if self.out.send(Ok(Piece::Train(full))).is_err() {
                    return false;
                }
            }
        }
        true
    }

    /// Validation rows sent on; `false` when the receiver is gone.
    fn validation(&mut self, rows: Rows) -> bool {
        rows.is_empty() || self.out.send(Ok(Piece::Validation(rows))).is_ok()
    }

    /// Whether validation row `number` is one of those evaluated (as `take_chunk`'s).
    fn keeps_validation(&self, number: u64) -> bool {
        self.with_validation
            && unit(self.seed ^ VALIDATION_SAMPLE, number) < self.plan.validation_share
    }

    /// The blocks of a plain file, up to the first one the csv reader must read.
    fn take_blocks(&mut self, blocks: &mut Blocks) -> Result<Left> {
        let mut lines = 0u64;
        while let Some(block) = blocks.next_block()? {
            if !block.regular {
                return Ok(Left::At(block.start, lines));
            }
            lines += block.newlines;
            if !self.take_block(&block)? {
                return Ok(Left::Stopped);
            }
            blocks.give_back(block);
        }
        Ok(Left::Done)
    }

    /// One block's rows: as `take_chunk` takes a chunk's, the same rows in the same order.
    fn take_block(&mut self, block: &Block) -> Result<bool> {
        let width = self.width;
        let regression = self.classes.is_regression();
        let codes: Vec<Option<u32>> = block.labels.iter().map(|l| self.classes.code(l)).collect();
        let mut train = std::mem::take(&mut self.train);
        train.clear();
        let mut val = Rows::new(width);
        for r in 0..block.n_rows() {
            let number = self.next;
            self.next += 1;
            let (label, y) = match regression {
                true => ("", Some(block.y[r])),
                false => (block.label(r), codes[block.y[r] as usize].map(|c| c as f32)),
            };
            let x = &block.x[r * width..(r + 1) * width];
            if !self.split.is_validation(number, label) {
                train.push(x, y.ok_or_else(|| changed(self.plan, None))?);
            } else if let (true, Some(y)) = (self.keeps_validation(number), y) {
                val.push(x, y);
            }
        }
        self.seen_train += train.len();
        let going = self.offer(&train.x, &train.y) && self.validation(val);
        self.train = train;
        Ok(going)
    }

    /// Chunks from the csv reader to the end; `false` when the receiver is gone.
    fn take_chunks(
        &mut self,
        next_chunk: &mut dyn FnMut() -> Result<Option<RawTable>>,
    ) -> Result<bool> {
        while let Some(chunk) = next_chunk()? {
            if !self.take_chunk(&chunk)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One chunk's rows: split, encoded, training rows offered, validation rows sent.
    fn take_chunk(&mut self, chunk: &RawTable) -> Result<bool> {
        let pipeline = &self.plan.pipeline;
        self.train_rows.clear();
        self.val_rows.clear();
        self.train_y.clear();
        self.val_y.clear();
        let (with_validation, share) = (self.with_validation, self.plan.validation_share);
        let salt = self.seed ^ VALIDATION_SAMPLE;
        let keep = |number| with_validation && unit(salt, number) < share;
        let (train_rows, val_rows, train_y, val_y) = (
            &mut self.train_rows,
            &mut self.val_rows,
            &mut self.train_y,
            &mut self.val_y,
        );
        let classes = &self.classes;
        visit_rows(
            chunk,
            &pipeline.target,
            &pipeline.na_values,
            &mut self.split,
            (&mut self.next, &mut self.labels),
            |row, number, is_validation, label| {
                if !is_validation {
                    train_rows.push(row);
                    train_y.push(classes.code(label));
                } else if keep(number) {
                    // Validation rows whose label training never saw cannot be scored:
                    // left out.
                    let code = classes.code(label);
                    if code.is_some() || classes.is_regression() {
                        val_rows.push(row);
                        val_y.push(code);
                    }
                }
                Ok(())
            },
        )?;
        self.seen_train += self.train_rows.len();
        if !self.train_rows.is_empty() {
            let x = pipeline.transform(chunk, Some(&self.train_rows))?.x;
            let y = encoded_targets(
                pipeline,
                chunk,
                &self.train_rows,
                &self.train_y,
                &self.classes,
            )?;
            let x = x.as_slice().expect("a fresh array is contiguous");
            if !self.offer(x, &y) {
                return Ok(false);
            }
        }
        if !self.val_rows.is_empty() {
            let x = pipeline.transform(chunk, Some(&self.val_rows))?.x;
            let y = encoded_targets(pipeline, chunk, &self.val_rows, &self.val_y, &self.classes)?;
            let mut rows = Rows::new(self.width);
            rows.x = x.into_raw_vec_and_offset().0;
            rows.y = y;
            if !self.validation(rows) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The rows still held, in the last piece.
    fn finish(&mut self) {
        let mut piece = std::mem::take(&mut self.piece);
        self.buffer.drain_into(&mut piece);
        if !piece.is_empty() {
            let _ = self.out.send(Ok(Piece::Train(piece)));
        }
    }
}

/// The class index of a label, found once per row from the text the split already
/// made (a numeric target's text is formatted per cell).
enum ClassCodes<'a> {
    Regression,
    /// A scan of a few labels beats hashing.
    Few(&'a [String]),
    Many(HashMap<&'a str, u32>),
}

impl<'a> ClassCodes<'a> {
    fn new(encoder: &'a TargetEncoder) -> Self {
        match encoder {
            TargetEncoder::Regression { .. } => ClassCodes::Regression,
            TargetEncoder::Classification { labels } if labels.len() <= 16 => {
                ClassCodes::Few(labels)
            }
            TargetEncoder::Classification { labels } => ClassCodes::Many(
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (l.as_str(), i as u32))
                    .collect(),
            ),
        }
    }

    fn is_regression(&self) -> bool {
        matches!(self, ClassCodes::Regression)
    }

    /// The class of `label`; `None` when training never saw it (and for regression).
    fn code(&self, label: &str) -> Option<u32> {
        match self {
            ClassCodes::Regression => None,
            ClassCodes::Few(labels) => labels.iter().position(|l| l == label).map(|i| i as u32),
            ClassCodes::Many(map) => map.get(label).copied(),
        }
    }
}

/// The targets of `rows` as `f32`: the classes found by `visit_rows` (the pipeline's
/// error when one is unknown), or the standardised values.
fn encoded_targets(
    pipeline: &Pipeline,
    chunk: &RawTable,
    rows: &[usize],
    codes: &[Option<u32>],
    classes: &ClassCodes,
) -> Result<Vec<f32>> {
    if classes.is_regression() || codes.iter().any(Option::is_none) {
        return Ok(targets(pipeline.encode_targets(chunk, rows)?));
    }
    Ok(codes.iter().map(|c| c.unwrap_or(0) as f32).collect())
}

/// Targets as `f32`: class indices, or standardised values.
fn targets(encoded: EncodedTargets) -> Vec<f32> {
    match encoded {
        EncodedTargets::Classes(c) => c.into_iter().map(|c| c as f32).collect(),
        EncodedTargets::Values { standardised, .. } => standardised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{plan_stream, StreamSettings, TrainSettings};
    use std::sync::mpsc::sync_channel;

    /// What an epoch sends, read as `reading` says: (validation?, rows), or the error.
    fn epoch(
        plan: &StreamPlan,
        reading: Reading,
    ) -> std::result::Result<Vec<(bool, Rows)>, String> {
        std::thread::scope(|scope| {
            let (tx, rx) = sync_channel(2);
            let (_back_tx, back_rx) = sync_channel(4);
            scope.spawn(move || read_epoch(plan, (7, 2), 32, true, reading, (&tx, &back_rx)));
            let mut got = Vec::new();
            for piece in rx.iter() {
                match piece {
                    Ok(Piece::Train(rows)) => got.push((false, rows)),
                    Ok(Piece::Validation(rows)) => got.push((true, rows)),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(got)
        })
    }

    /// Training and validation rows, each in the order sent (their interleaving aside).
    fn rows_of(pieces: &[(bool, Rows)]) -> (Vec<f32>, Vec<f32>, Vec<usize>) {
        let (mut train, mut validation, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
        for (is_validation, rows) in pieces {
            let into = if *is_validation {
                &mut validation
            } else {
                &mut train
            };
            for r in 0..rows.len() {
                into.extend_from_slice(rows.row(r));
                into.push(rows.y[r]);
            }
            if !is_validation {
                sizes.push(rows.len());
            }
        }
        (train, validation, sizes)
    }

    /// A file of awkward but plain cells: padded numbers, empty and NA cells, numbers
    /// the value does not rebuild ("007", "1e3"), a category written as a number, blank
    /// lines, rows without a target, a class seen only a few times, no final newline.
    fn awkward(rows: usize, regression: bool) -> String {
        let mut text = String::from("\n x , c ,n, y ,skip\n");
        for i in 0..rows {
            let x = match i % 11 {
                0 => String::new(),
                1 => "NA".into(),
                2 => "007".into(),
                3 => "1e3".into(),
                _ => format!("{:>8.2}", (i as f64 * 0.37).sin() * 50.0),
            };
            let c = ["a", "b", " 3.50 ", "dd", ""][i % 5];
            let y = match (regression, i % 37) {
                (_, 5) => String::new(),
                (false, 11) if i < 200 => "maybe".into(),
                (false, _) => if (i * 7) % 3 == 0 { "yes" } else { "no" }.into(),
                (true, _) => format!("{:.3}", i as f64 * 0.01 - 3.0),
            };
            text += &format!("{x},{c},{},{y},w{i}\n", i % 4);
            if i % 97 == 3 {
                text += "  \n";
            }
        }
        text.pop();
        text
    }

    fn plan_of(path: &str, target: &str) -> StreamPlan {
        let mut settings = TrainSettings::new(path, target);
        settings.categorical = vec!["n".into()];
        settings.validation_split = 0.25;
        let stream = StreamSettings {
            shuffle_buffer: 100,
            chunk_rows: 50,
            ..StreamSettings::default()
        };
        plan_stream(&settings, &stream, &mut ()).unwrap()
    }

    #[test]
    fn blocks_send_the_rows_the_csv_reader_sends_on_any_threads() {
        let dir = tempfile::tempdir().unwrap();
        let csv_only = Reading {
            plain: false,
            ..Reading::on(1)
        };
        for (name, regression, quote) in [
            ("c.csv", false, false),
            ("r.csv", true, false),
            ("q.csv", false, true),
        ] {
            let path = dir.path().join(name);
            let mut text = awkward(1500, regression);
            if quote {
                // A quoted field with a line break late in the file: the blocks before it
                // are encoded, the csv reader reads from its block on.
                let at = text.len() * 3 / 5;
                let at = at + text[at..].find('\n').unwrap() + 1;
                text.insert_str(at, "1.5,\"a\nb\",2,yes,q\n");
            }
            std::fs::write(&path, &text).unwrap();
            let plan = plan_of(path.to_str().unwrap(), "y");
            let expected = epoch(&plan, csv_only).unwrap();
            let expected_rows = rows_of(&expected);
            assert!(expected_rows.1.len() > 100, "validation rows are sent");
            for threads in [1, 2, 3] {
                for block_bytes in [7, 300, 1 << 20] {
                    let reading = Reading {
                        threads,
                        block_bytes,
                        plain: true,
                    };
                    let got = epoch(&plan, reading).unwrap();
                    assert!(
                        rows_of(&got) == expected_rows,
                        "{name}: {threads} threads, blocks of {block_bytes}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_error_late_in_a_plain_file_is_the_csv_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let text = awkward(600, false);
        std::fs::write(&path, &text).unwrap();
        let plan = plan_of(path.to_str().unwrap(), "y");
        // The same size and time, a row of the wrong width near the end.
        let stamp = std::fs::metadata(&path).unwrap().modified().unwrap();
        let broken = text.replacen(",w590\n", ",w5,x\n", 1);
        assert_eq!(broken.len(), text.len());
        std::fs::write(&path, &broken).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(stamp)
            .unwrap();
        let csv_only = Reading {
            plain: false,
            ..Reading::on(1)
        };
        let expected = epoch(&plan, csv_only).unwrap_err();
        assert!(expected.contains("fields expected"), "{expected}");
        for threads in [1, 2] {
            let got = epoch(
                &plan,
                Reading {
                    block_bytes: 500,
                    ..Reading::on(threads)
                },
            );
            assert_eq!(got.unwrap_err(), expected);
        }
    }
}

//! `read_epoch`: one pass of a streamed fit, meant for its own thread. It reads the file
//! in chunks, encodes them with the fitted pipeline, sends the training rows through a
//! seeded shuffle buffer and on in pieces of whole batches, and (when asked) the
//! evaluated validation rows. Pieces travel through a bounded channel and come back
//! empty for reuse, so memory stays bounded whatever the file's size.

use std::sync::mpsc::{Receiver, SyncSender};

use super::stream_source::{mix, unit, visit_rows, StreamPlan};
use crate::data::{Rows, ShuffleBuffer, TableChunks};
use crate::error::{Error, Location, Result};
use crate::preprocess::EncodedTargets;

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

/// Stream one epoch of `plan`'s file to `out` (see the module docs); `piece_rows` is a
/// whole number of batches. Stops quietly when the receiver is gone.
pub(crate) fn read_epoch(
    plan: &StreamPlan,
    seed: u64,
    epoch: usize,
    piece_rows: usize,
    with_validation: bool,
    out: &SyncSender<Result<Piece>>,
    back: &Receiver<Rows>,
) {
    if let Err(e) = read(plan, seed, epoch, piece_rows, with_validation, out, back) {
        let _ = out.send(Err(e));
    }
}

fn read(
    plan: &StreamPlan,
    seed: u64,
    epoch: usize,
    piece_rows: usize,
    with_validation: bool,
    out: &SyncSender<Result<Piece>>,
    back: &Receiver<Rows>,
) -> Result<()> {
    plan.stamp.check(&plan.path)?;
    let pipeline = &plan.pipeline;
    let width = pipeline.n_inputs();
    let mut split = plan.split.clone();
    split.restart();
    let mut buffer = ShuffleBuffer::new(plan.stream.shuffle_buffer, width, epoch_seed(seed, epoch));
    let fresh = |back: &Receiver<Rows>| {
        let mut rows = back.try_recv().unwrap_or_else(|_| Rows::new(width));
        rows.clear();
        rows
    };
    let mut piece = fresh(back);
    let (mut train_rows, mut val_rows) = (Vec::new(), Vec::new());
    let (mut next, mut seen_train) = (0u64, 0usize);
    let mut chunks = TableChunks::open(&plan.path, &plan.options, plan.stream.chunk_rows)?;
    while let Some(chunk) = chunks.next_chunk()? {
        train_rows.clear();
        val_rows.clear();
        visit_rows(
            &chunk,
            &pipeline.target,
            &pipeline.na_values,
            &mut split,
            &mut next,
            |row, number, is_validation| {
                if !is_validation {
                    train_rows.push(row);
                } else if with_validation
                    && unit(seed ^ 0x5641_4C49_4441_5445, number) < plan.validation_share
                {
                    val_rows.push(row);
                }
                Ok(())
            },
        )?;
        seen_train += train_rows.len();
        if !train_rows.is_empty() {
            let x = pipeline.transform(&chunk, Some(&train_rows))?.x;
            let y = targets(pipeline.encode_targets(&chunk, &train_rows)?);
            let x = x.as_slice().expect("a fresh array is contiguous");
            for (i, &target) in y.iter().enumerate() {
                buffer.offer(&x[i * width..(i + 1) * width], target, &mut piece);
                if piece.len() == piece_rows {
                    let full = std::mem::replace(&mut piece, fresh(back));
                    if out.send(Ok(Piece::Train(full))).is_err() {
                        return Ok(());
                    }
                }
            }
        }
        // Validation rows whose label training never saw cannot be scored: left out.
        val_rows.retain(|&row| {
            let label =
                chunk.columns[chunk.column_index(&pipeline.target).unwrap_or(0)].text_at(row);
            pipeline.task() == crate::preprocess::Task::Regression
                || pipeline.target_encoder.class_index(&label).is_some()
        });
        if !val_rows.is_empty() {
            let x = pipeline.transform(&chunk, Some(&val_rows))?.x;
            let y = targets(pipeline.encode_targets(&chunk, &val_rows)?);
            let mut rows = Rows::new(width);
            rows.x = x.into_raw_vec_and_offset().0;
            rows.y = y;
            if out.send(Ok(Piece::Validation(rows))).is_err() {
                return Ok(());
            }
        }
    }
    plan.stamp.check(&plan.path)?;
    if seen_train != plan.rows_train {
        return Err(Error::data(
            Location::file(&plan.path),
            format!(
                "the file changed since the first pass ({} training rows then, {seen_train} now); a streamed run reads it once per epoch, so it must stay as it was",
                plan.rows_train
            ),
        ));
    }
    buffer.drain_into(&mut piece);
    if !piece.is_empty() {
        let _ = out.send(Ok(Piece::Train(piece)));
    }
    Ok(())
}

/// Targets as `f32`: class indices, or standardised values.
fn targets(encoded: EncodedTargets) -> Vec<f32> {
    match encoded {
        EncodedTargets::Classes(c) => c.into_iter().map(|c| c as f32).collect(),
        EncodedTargets::Values { standardised, .. } => standardised,
    }
}

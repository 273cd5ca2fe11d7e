//! `read_epoch`: one pass of a streamed fit, meant for its own thread. It takes the file
//! in chunks parsed ahead on two more threads (`with_chunks`), encodes them with the
//! fitted pipeline, sends the training rows through a
//! seeded shuffle buffer and on in pieces of whole batches, and (when asked) the
//! evaluated validation rows. Pieces travel through a bounded channel and come back
//! empty for reuse, so memory stays bounded whatever the file's size.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender};

use super::stream_read::with_chunks;
use super::stream_source::{mix, unit, visit_rows, LabelTexts, StreamPlan};
use crate::data::{RawTable, Rows, ShuffleBuffer};
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
    let classes = ClassCodes::new(&pipeline.target_encoder);
    // Reused from chunk to chunk: the rows of each part and their class indices (a
    // label training never saw is `None`).
    let chunk_rows = plan.stream.chunk_rows;
    let (mut train_rows, mut val_rows) = (
        Vec::with_capacity(chunk_rows),
        Vec::with_capacity(chunk_rows),
    );
    let (mut train_y, mut val_y) = (
        Vec::with_capacity(chunk_rows),
        Vec::with_capacity(chunk_rows),
    );
    let (mut next, mut seen_train) = (0u64, 0usize);
    let mut labels = LabelTexts::default();
    let finished = with_chunks(&plan.path, &plan.options, chunk_rows, |next_chunk| {
        while let Some(chunk) = next_chunk()? {
            train_rows.clear();
            val_rows.clear();
            train_y.clear();
            val_y.clear();
            visit_rows(
                &chunk,
                &pipeline.target,
                &pipeline.na_values,
                &mut split,
                (&mut next, &mut labels),
                |row, number, is_validation, label| {
                    if !is_validation {
                        train_rows.push(row);
                        train_y.push(classes.code(label));
                    } else if with_validation
                        && unit(seed ^ 0x5641_4C49_4441_5445, number) < plan.validation_share
                    {
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
            seen_train += train_rows.len();
            if !train_rows.is_empty() {
                let x = pipeline.transform(&chunk, Some(&train_rows))?.x;
                let y = encoded_targets(pipeline, &chunk, &train_rows, &train_y, &classes)?;
                let x = x.as_slice().expect("a fresh array is contiguous");
                let mut at = 0;
                while at < y.len() {
                    at += buffer.offer_rows(&x[at * width..], &y[at..], &mut piece, piece_rows);
                    if piece.len() == piece_rows {
                        let full = std::mem::replace(&mut piece, fresh(back));
                        if out.send(Ok(Piece::Train(full))).is_err() {
                            return Ok(false);
                        }
                    }
                }
            }
            if !val_rows.is_empty() {
                let x = pipeline.transform(&chunk, Some(&val_rows))?.x;
                let y = encoded_targets(pipeline, &chunk, &val_rows, &val_y, &classes)?;
                let mut rows = Rows::new(width);
                rows.x = x.into_raw_vec_and_offset().0;
                rows.y = y;
                if out.send(Ok(Piece::Validation(rows))).is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    })?;
    if !finished {
        return Ok(());
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

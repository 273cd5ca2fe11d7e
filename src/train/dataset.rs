//! `Dataset`: the encoded inputs and targets of a set of rows; `Batcher` gathers the
//! shuffled rows of a mini-batch into buffers reused from batch to batch (the inputs split
//! over the training threads).

use ndarray::{s, Array2, Axis};

use crate::nn::{Buffer, Targets};
use crate::parallel::{for_each_part, SharedMut};

/// The targets of a dataset, owned; batches borrow them as `Targets`.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedTargets {
    /// One class index per row.
    Classes(Vec<u32>),
    /// (n_rows, n_outputs)
    Values(Array2<f32>),
}

/// Inputs and targets of a set of rows.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// (n_rows, n_inputs)
    pub x: Array2<f32>,
    /// One target per row of `x`.
    pub y: OwnedTargets,
}

impl Dataset {
    /// Number of rows of `x`.
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }

    pub(crate) fn targets(&self, rows: std::ops::Range<usize>) -> Targets<'_> {
        match &self.y {
            OwnedTargets::Classes(c) => Targets::Classes(&c[rows]),
            OwnedTargets::Values(v) => Targets::Values(v.slice(s![rows, ..])),
        }
    }
}

/// The fewest rows per thread when a batch is gathered on several threads.
const GATHER_CHUNK: usize = 32;

/// Gathers shuffled rows into reusable batch buffers.
#[derive(Default)]
pub(crate) struct Batcher {
    /// (rows, n_inputs): the batch's copy of the inputs, which augmentation transforms.
    pub x: Buffer,
    classes: Vec<u32>,
    values: Buffer,
}

impl Batcher {
    /// Gather the inputs and targets of `rows`.
    pub fn fill(&mut self, data: &Dataset, rows: &[usize]) {
        let n_inputs = data.x.ncols();
        self.x.resize(rows.len(), n_inputs);
        let mut x = self.x.view_mut();
        match (x.as_slice_mut(), data.x.as_slice()) {
            (Some(dst), Some(src)) => {
                // Row gathers wait on memory: split over the training threads, if any.
                let dst = SharedMut::new(dst);
                for_each_part(rows.len(), GATHER_CHUNK, &|chunk| {
                    // SAFETY: the tasks' row ranges, and so their element ranges, are disjoint.
                    let dst = unsafe { dst.range(chunk.start * n_inputs..chunk.end * n_inputs) };
                    for (dst, &row) in dst.chunks_exact_mut(n_inputs).zip(&rows[chunk]) {
                        dst.copy_from_slice(&src[row * n_inputs..(row + 1) * n_inputs]);
                    }
                });
            }
            _ => {
                for (mut dst, &row) in x.axis_iter_mut(Axis(0)).zip(rows) {
                    dst.assign(&data.x.row(row));
                }
            }
        }
        self.fill_targets(data, rows);
    }

    /// Gather the targets of `rows` alone.
    pub fn fill_targets(&mut self, data: &Dataset, rows: &[usize]) {
        match &data.y {
            OwnedTargets::Classes(c) => {
                self.classes.clear();
                self.classes.extend(rows.iter().map(|&r| c[r]));
            }
            OwnedTargets::Values(v) => {
                self.values.resize(rows.len(), v.ncols());
                for (mut dst, &row) in self.values.view_mut().axis_iter_mut(Axis(0)).zip(rows) {
                    dst.assign(&v.row(row));
                }
            }
        }
    }

    /// The gathered targets.
    pub fn targets(&self, data: &Dataset) -> Targets<'_> {
        match data.y {
            OwnedTargets::Classes(_) => Targets::Classes(&self.classes),
            OwnedTargets::Values(_) => Targets::Values(self.values.view()),
        }
    }
}

//! A 2-D f32 buffer that keeps its allocation when the number of rows changes, so a
//! layer's activations and gradients are allocated once and reused batch after batch.

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2};

#[derive(Debug, Clone, Default)]
/// A reusable (rows, cols) f32 buffer: resizing to a size it has held allocates nothing.
pub struct Buffer {
    data: Array2<f32>,
    rows: usize,
}

impl Buffer {
    /// Make the buffer (rows, cols); reallocates only when it must grow or the width changes.
    pub fn resize(&mut self, rows: usize, cols: usize) {
        if self.data.nrows() < rows || self.data.ncols() != cols {
            self.data = Array2::zeros((rows, cols));
        }
        self.rows = rows;
    }

    /// (rows, cols): the rows in use.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        self.data.slice(s![..self.rows, ..])
    }

    /// The buffer as a mutable (rows, cols) view.
    pub fn view_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        self.data.slice_mut(s![..self.rows, ..])
    }
}

/// The first `len` values of `v`, growing it (zero-filled) when it is shorter but never
/// shrinking it: a scratch vector that alternates between a full batch and a short last
/// one is then not refilled with zeros each time it grows back.
pub(crate) fn prefix_mut(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

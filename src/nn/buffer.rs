//! A 2-D f32 buffer that keeps its allocation when the number of rows changes, so a
//! layer's activations and gradients are allocated once and reused batch after batch.

use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2};

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
            self.data = aligned_zeros(rows, cols);
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

/// A (rows, cols) array of zeros whose first value starts a 64-byte cache line, so that the
/// full-vector stores of the AVX-512 kernels each fill one whole line (a store split over
/// two lines costs two, and a line written whole need not be read first).
fn aligned_zeros(rows: usize, cols: usize) -> Array2<f32> {
    const LANES: usize = 64 / std::mem::size_of::<f32>();
    let len = rows * cols;
    let flat = Array1::<f32>::zeros(len + LANES - 1);
    let skip = flat.as_ptr().align_offset(64).min(LANES - 1);
    flat.slice_move(s![skip..skip + len])
        .into_shape_with_order((rows, cols))
        .expect("a contiguous slice reshapes")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_start_on_a_cache_line_and_keep_their_shape() {
        let mut buffer = Buffer::default();
        for (rows, cols) in [(3, 5), (32, 25_088), (1, 1), (7, 13)] {
            buffer.resize(rows, cols);
            let view = buffer.view_mut();
            assert_eq!(view.dim(), (rows, cols));
            assert!(view.is_standard_layout());
            assert_eq!(view.as_ptr().align_offset(64), 0, "{rows} x {cols}");
            assert!(view.iter().all(|&v| v == 0.0));
        }
    }
}

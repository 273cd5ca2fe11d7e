//! What `Gru` and `Lstm` share: their parameters and how a model file holds them, the
//! packing of a batch of sequences of different lengths, and fast gate nonlinearities.
//!
//! Packing (as PyTorch's `pack_padded_sequence`): the rows of a batch are ordered longest
//! first, so the rows still running at step t are the first `active[t]` of that order.
//! The valid steps of all rows are gathered time-major into one contiguous matrix, step t
//! at packed rows `offsets[t]..offsets[t + 1]`. The input projection of every step is then
//! one matrix product, each step's recurrent product covers only the rows still running,
//! and no padding step is ever computed: a row's state stops at its length by construction.

use std::ops::Range;

use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2};
use rand::Rng;
use rand_distr::{Distribution, Uniform};

use super::int8::Int8Matrix;
use super::int8_spec::quantize_weights;
use super::{matmul, Buffer, NetworkError, SeqShape};

/// The row order and step extents of a packed batch (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct Packing {
    /// The batch rows, longest first (ties in row order).
    order: Vec<usize>,
    /// Valid steps of each batch row.
    lengths: Vec<usize>,
    /// Per step: rows still running (non-increasing).
    active: Vec<usize>,
    /// Per step and one past the last: its first packed row.
    offsets: Vec<usize>,
}

impl Packing {
    /// Read the lengths of batch `x` (sequences of `steps` steps) and order its rows.
    pub fn plan(&mut self, x: ArrayView2<f32>, steps: usize) {
        super::batch_lengths(x, steps, &mut self.lengths);
        self.order.clear();
        self.order.extend(0..self.lengths.len());
        let lengths = &self.lengths;
        // Keys are unique (the row breaks ties): an unstable sort is deterministic and,
        // unlike the stable one, never allocates.
        self.order
            .sort_unstable_by_key(|&b| (std::cmp::Reverse(lengths[b]), b));
        let longest = self.order.first().map_or(0, |&b| self.lengths[b]);
        self.active.clear();
        self.offsets.clear();
        self.offsets.push(0);
        let mut running = self.order.len();
        for t in 0..longest {
            while running > 0 && self.lengths[self.order[running - 1]] <= t {
                running -= 1;
            }
            self.active.push(running);
            self.offsets.push(self.offsets[t] + running);
        }
    }

    /// Steps of the longest row.
    pub fn steps(&self) -> usize {
        self.active.len()
    }

    /// Packed rows in all: the sum of the lengths.
    pub fn rows(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The packed rows of step `t`.
    pub fn step_rows(&self, t: usize) -> Range<usize> {
        self.offsets[t]..self.offsets[t + 1]
    }

    /// Gather the valid steps of `src` (a sequence batch of `width` values per step) into
    /// `dst`, (rows(), width) row-major.
    pub fn gather(&self, src: ArrayView2<f32>, width: usize, dst: &mut [f32]) {
        for (i, &b) in self.order.iter().enumerate() {
            let row = src.row(b);
            for t in 0..self.lengths[b] {
                let to = &mut dst[(self.offsets[t] + i) * width..][..width];
                let from = 1 + t * width;
                match row.as_slice() {
                    Some(row) => to.copy_from_slice(&row[from..from + width]),
                    None => to
                        .iter_mut()
                        .zip(row.slice(s![from..from + width]))
                        .for_each(|(d, &v)| *d = v),
                }
            }
        }
    }

    /// Write packed `src` ((rows(), width)) to the steps of the sequence batch `out`, zeros
    /// at padding steps; column 0 is left to the caller.
    pub fn scatter(&self, src: &[f32], width: usize, mut out: ArrayViewMut2<f32>) {
        out.slice_mut(s![.., 1..]).fill(0.0);
        for (i, &b) in self.order.iter().enumerate() {
            let mut row = out.row_mut(b);
            let row = row.as_slice_mut().expect("layer buffers are row-major");
            for t in 0..self.lengths[b] {
                let from = &src[(self.offsets[t] + i) * width..][..width];
                row[1 + t * width..][..width].copy_from_slice(from);
            }
        }
    }
}

/// Grow `v` to at least `len` values (never shrinks, so a batch after the largest one
/// allocates nothing) and give its first `len`.
pub(crate) fn scratch(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// A row-major (rows, cols) view of the front of `v`.
pub(crate) fn mat(v: &[f32], rows: usize, cols: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, cols), &v[..rows * cols]).expect("scratch holds the rows")
}

/// A mutable row-major (rows, cols) view of the front of `v`.
pub(crate) fn mat_mut(v: &mut [f32], rows: usize, cols: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, cols), &mut v[..rows * cols]).expect("scratch holds the rows")
}

/// `sums[j] += Σ_i m[i, j]` for row-major `m` of `sums.len()` columns.
pub(crate) fn add_column_sums(m: &[f32], sums: &mut [f32]) {
    for row in m.chunks_exact(sums.len()) {
        sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
}

/// The parameters of one recurrent layer with `gates` gates of `hidden` units, stored for
/// our row-major products: `w_ih` (C, G·H) and `w_hh` (H, G·H), the transposes of
/// PyTorch's `weight_ih_l0` and `weight_hh_l0`, gate blocks in PyTorch's order; the two
/// biases (G·H) kept apart as PyTorch keeps them.
#[derive(Debug, Clone)]
pub(crate) struct RecurrentParams {
    pub shape: SeqShape,
    pub hidden: usize,
    pub w_ih: Array2<f32>,
    pub w_hh: Array2<f32>,
    pub b_ih: Array1<f32>,
    pub b_hh: Array1<f32>,
    pub grad_w_ih: Array2<f32>,
    pub grad_w_hh: Array2<f32>,
    pub grad_b_ih: Array1<f32>,
    pub grad_b_hh: Array1<f32>,
    /// w_hhᵀ (G·H, H), refreshed at each backward: the per-step product reads it in place.
    pub w_hh_t: Array2<f32>,
    /// The int8 matrices `w_ih` and `w_hh` were dequantized from (`quantize_int8`), written
    /// to the model file in their place; `None` for a trainable layer.
    pub int8: Option<RecurrentInt8>,
}

/// A quantized recurrent layer's weights in int8, one scale per output column (G·H) as a
/// one-byte code: `ih` (C, G·H) and `hh` (H, G·H), our layout.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecurrentInt8 {
    pub ih: Int8Matrix,
    pub hh: Int8Matrix,
}

impl RecurrentParams {
    /// Parameters from their parts; panics when the shapes disagree (model files are
    /// checked by `from_spec` first).
    pub fn new(
        shape: SeqShape,
        w_ih: Array2<f32>,
        w_hh: Array2<f32>,
        b_ih: Array1<f32>,
        b_hh: Array1<f32>,
    ) -> Self {
        let (hidden, gh) = w_hh.dim();
        assert!(
            w_ih.dim() == (shape.channels, gh) && b_ih.len() == gh && b_hh.len() == gh,
            "recurrent weights do not fit: w_ih {:?}, w_hh {:?}, biases {} and {}",
            w_ih.dim(),
            w_hh.dim(),
            b_ih.len(),
            b_hh.len()
        );
        RecurrentParams {
            shape,
            hidden,
            grad_w_ih: Array2::zeros(w_ih.raw_dim()),
            grad_w_hh: Array2::zeros(w_hh.raw_dim()),
            grad_b_ih: Array1::zeros(gh),
            grad_b_hh: Array1::zeros(gh),
            w_hh_t: Array2::zeros((gh, hidden)),
            int8: None,
            w_ih,
            w_hh,
            b_ih,
            b_hh,
        }
    }

    /// PyTorch's default: every weight and bias from U(-1/√H, 1/√H).
    pub fn init(shape: SeqShape, hidden: usize, gates: usize, rng: &mut impl Rng) -> Self {
        let k = 1.0 / (hidden.max(1) as f32).sqrt();
        let uniform = Uniform::new_inclusive(-k, k);
        let gh = gates * hidden;
        let mut draw =
            |rows, cols| Array2::from_shape_simple_fn((rows, cols), || uniform.sample(rng));
        let w_ih = draw(shape.channels, gh);
        let w_hh = draw(hidden, gh);
        let b_ih = draw(1, gh).into_shape_with_order(gh).expect("one row");
        let b_hh = draw(1, gh).into_shape_with_order(gh).expect("one row");
        RecurrentParams::new(shape, w_ih, w_hh, b_ih, b_hh)
    }

    /// The shape of the output: T steps of H values.
    pub fn output_shape(&self) -> SeqShape {
        SeqShape::new(self.shape.steps, self.hidden)
    }

    /// A copy for inference (of a layer `kind`) whose weights are quantized to int8 per
    /// output column (`Int8Matrix::quantize`, one-byte scale codes) and dequantized back
    /// into `w_ih` and `w_hh`, which the forward pass reads as any layer's (weight-only:
    /// inputs and states stay f32). It has no trainable parameters.
    pub fn quantize_int8(&self, kind: &'static str) -> Result<Self, NetworkError> {
        let int8 = RecurrentInt8 {
            ih: quantize_weights(kind, self.w_ih.view())?,
            hh: quantize_weights(kind, self.w_hh.view())?,
        };
        let mut out = self.clone();
        out.set_int8(int8);
        Ok(out)
    }

    /// Hold `int8` as the int8 weights and their dequantized values as the f32 ones.
    pub fn set_int8(&mut self, int8: RecurrentInt8) {
        let fits = "the int8 matrices have the weights' shapes";
        self.w_ih = Array2::from_shape_vec(self.w_ih.raw_dim(), int8.ih.dequantized()).expect(fits);
        self.w_hh = Array2::from_shape_vec(self.w_hh.raw_dim(), int8.hh.dequantized()).expect(fits);
        self.int8 = Some(int8);
    }

    /// A trainable copy with the weights as they are (a quantized layer's dequantized).
    pub fn without_int8(&self) -> Self {
        RecurrentParams {
            int8: None,
            ..self.clone()
        }
    }

    /// The int8 weights (`ih`, `hh`) when quantized by `quantize_int8`.
    pub fn int8_weights(&self) -> Option<(&Int8Matrix, &Int8Matrix)> {
        self.int8.as_ref().map(|q| (&q.ih, &q.hh))
    }

    /// Visit w_ih, w_hh, b_ih, b_hh with their gradients, in that order; nothing for an
    /// int8 layer.
    pub fn visit(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        if self.int8.is_some() {
            // Inference only: its f32 weights must stay the dequantized int8 ones.
            return;
        }
        let contiguous = "parameters are contiguous";
        visit(
            self.w_ih.as_slice_mut().expect(contiguous),
            self.grad_w_ih.as_slice().expect(contiguous),
        );
        visit(
            self.w_hh.as_slice_mut().expect(contiguous),
            self.grad_w_hh.as_slice().expect(contiguous),
        );
        visit(
            self.b_ih.as_slice_mut().expect(contiguous),
            self.grad_b_ih.as_slice().expect(contiguous),
        );
        visit(
            self.b_hh.as_slice_mut().expect(contiguous),
            self.grad_b_hh.as_slice().expect(contiguous),
        );
    }

    /// Trainable values.
    pub fn len(&self) -> usize {
        self.w_ih.len() + self.w_hh.len() + self.b_ih.len() + self.b_hh.len()
    }

    /// Zero the gradients and refresh `w_hh_t`: the start of every backward.
    pub fn start_backward(&mut self) {
        self.grad_w_ih.fill(0.0);
        self.grad_w_hh.fill(0.0);
        self.grad_b_ih.fill(0.0);
        self.grad_b_hh.fill(0.0);
        self.w_hh_t.assign(&self.w_hh.t());
    }

    /// The weight and bias gradients once every step's gate gradients are known, each
    /// weight's as one product over all `total` packed rows: `xs` (total, C) the inputs,
    /// `hprev` (total, H) the states before each step, `d_in` and `d_hidden` (total, G·H)
    /// d loss / d the input and the recurrent projections (the same matrix for the LSTM,
    /// whose two projections are summed before the gates).
    pub fn weight_gradients(
        &mut self,
        xs: &[f32],
        hprev: &[f32],
        d_in: &[f32],
        d_hidden: &[f32],
        total: usize,
    ) {
        if total == 0 {
            return; // `start_backward` left every gradient zero.
        }
        let (c, h, gh) = (self.shape.channels, self.hidden, self.w_hh.ncols());
        let d_in = mat(d_in, total, gh);
        let d_hidden = mat(d_hidden, total, gh);
        matmul(mat(xs, total, c).t(), d_in, 0.0, self.grad_w_ih.view_mut());
        matmul(
            mat(hprev, total, h).t(),
            d_hidden,
            0.0,
            self.grad_w_hh.view_mut(),
        );
        let grad_b_ih = self.grad_b_ih.as_slice_mut().expect("contiguous");
        add_column_sums(d_in.as_slice().expect("contiguous"), grad_b_ih);
        let grad_b_hh = self.grad_b_hh.as_slice_mut().expect("contiguous");
        add_column_sums(d_hidden.as_slice().expect("contiguous"), grad_b_hh);
    }

    /// d loss / d x: `d_in` (total, G·H)·W_ihᵀ per packed row into the scratch `dxs`, then
    /// scattered back to the rows of `grad_input` (batch, 1 + T·C), its length column zero.
    pub fn input_gradient(
        &self,
        d_in: &[f32],
        packing: &Packing,
        dxs: &mut Vec<f32>,
        grad_input: &mut Buffer,
        batch: usize,
    ) {
        let (total, c, gh) = (packing.rows(), self.shape.channels, self.w_hh.ncols());
        let dxs = scratch(dxs, total * c);
        if total > 0 {
            matmul(
                mat(d_in, total, gh),
                self.w_ih.t(),
                0.0,
                mat_mut(dxs, total, c),
            );
        }
        grad_input.resize(batch, self.shape.width());
        let mut grad_input = grad_input.view_mut();
        packing.scatter(dxs, c, grad_input.view_mut());
        grad_input.column_mut(0).fill(0.0);
    }

    /// The parameters in PyTorch's layout with the gate blocks taken in `order` (indices
    /// of our blocks): PyTorch's own order is 0, 1, 2, ...; ONNX orders GRU gates z, r, h
    /// ([1, 0, 2]) and LSTM gates i, o, f, c ([0, 3, 1, 2]).
    pub fn gate_major(&self, order: &[usize]) -> GateMajor {
        let h = self.hidden;
        GateMajor {
            weight_ih: gate_rows(self.w_ih.view(), order, h),
            weight_hh: gate_rows(self.w_hh.view(), order, h),
            bias_ih: gate_values(self.b_ih.as_slice().expect("contiguous"), order, h),
            bias_hh: gate_values(self.b_hh.as_slice().expect("contiguous"), order, h),
        }
    }

    /// A quantized layer's int8 weights in the layout and gate order of `gate_major`,
    /// with the scale of each row; `None` for an f32 layer.
    pub fn gate_major_int8(&self, order: &[usize]) -> Option<GateMajorInt8> {
        let (ih, hh) = self.int8_weights()?;
        let h = self.hidden;
        let int8 = |m: &Int8Matrix| {
            let ours = ArrayView2::from_shape((m.n_in(), m.n_out()), m.values())
                .expect("an int8 matrix holds n_in x n_out values");
            (gate_rows(ours, order, h), gate_values(m.scales(), order, h))
        };
        let ((weight_ih, scales_ih), (weight_hh, scales_hh)) = (int8(ih), int8(hh));
        Some(GateMajorInt8 {
            weight_ih,
            scales_ih,
            weight_hh,
            scales_hh,
        })
    }
}

/// `ours` (rows, G·H) transposed to (G·H, rows), its gate blocks of `h` columns taken in
/// `order`.
fn gate_rows<T: Copy + Default>(ours: ArrayView2<T>, order: &[usize], h: usize) -> Array2<T> {
    let mut out = Array2::from_elem((order.len() * h, ours.nrows()), T::default());
    for (to, &from) in order.iter().enumerate() {
        out.slice_mut(s![to * h..(to + 1) * h, ..])
            .assign(&ours.slice(s![.., from * h..(from + 1) * h]).t());
    }
    out
}

/// The G·H values of `ours` with their gate blocks of `h` taken in `order`.
fn gate_values<T: Copy>(ours: &[T], order: &[usize], h: usize) -> Array1<T> {
    order
        .iter()
        .flat_map(|&g| ours[g * h..(g + 1) * h].iter().copied())
        .collect()
}

/// A quantized recurrent layer's int8 weights as PyTorch and ONNX lay them out (see
/// `GateMajor`); row r of a weight dequantizes as its values times its scale r.
#[derive(Debug, Clone, PartialEq)]
pub struct GateMajorInt8 {
    /// (G·H, C): the int8 values of ONNX's W.
    pub weight_ih: Array2<i8>,
    /// (G·H): the scale of each row of `weight_ih`.
    pub scales_ih: Array1<f32>,
    /// (G·H, H): the int8 values of ONNX's R.
    pub weight_hh: Array2<i8>,
    /// (G·H): the scale of each row of `weight_hh`.
    pub scales_hh: Array1<f32>,
}

/// A recurrent layer's parameters as PyTorch and ONNX lay them out: one row per gate unit,
/// gate blocks one after the other (see `Gru::torch_parameters`, `Gru::onnx_parameters`).
#[derive(Debug, Clone, PartialEq)]
pub struct GateMajor {
    /// (G·H, C): PyTorch's `weight_ih_l0`, ONNX's W.
    pub weight_ih: Array2<f32>,
    /// (G·H, H): PyTorch's `weight_hh_l0`, ONNX's R.
    pub weight_hh: Array2<f32>,
    /// (G·H): PyTorch's `bias_ih_l0`, the first half of ONNX's B.
    pub bias_ih: Array1<f32>,
    /// (G·H): PyTorch's `bias_hh_l0`, the second half of ONNX's B.
    pub bias_hh: Array1<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn packing_orders_rows_longest_first_and_skips_padding() {
        // Rows of lengths 1, 3, 0, 3 over 3 steps of 1 channel.
        let x = array![
            [1.0f32, 10.0, 11.0, 12.0],
            [3.0, 20.0, 21.0, 22.0],
            [0.0, 30.0, 31.0, 32.0],
            [3.0, 40.0, 41.0, 42.0]
        ];
        let mut packing = Packing::default();
        packing.plan(x.view(), 3);
        assert_eq!(packing.order, vec![1, 3, 0, 2]);
        assert_eq!(packing.active, vec![3, 2, 2]);
        assert_eq!(packing.rows(), 7);
        let mut packed = vec![0.0; 7];
        packing.gather(x.view(), 1, &mut packed);
        assert_eq!(packed, vec![20.0, 40.0, 10.0, 21.0, 41.0, 22.0, 42.0]);
        let mut out = Array2::from_elem((4, 4), 9.0f32);
        packing.scatter(&packed, 1, out.view_mut());
        let expected = array![
            [10.0f32, 0.0, 0.0],
            [20.0, 21.0, 22.0],
            [0.0, 0.0, 0.0],
            [40.0, 41.0, 42.0]
        ];
        assert_eq!(out.slice(s![.., 1..]), expected);
    }
}

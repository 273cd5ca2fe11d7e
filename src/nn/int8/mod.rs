//! Int8 matrix products for the quantized layers (`compress --int8`).
//!
//! Weights are quantized once, symmetric per output column: `s_j = max_k |w[k, j]| / 127`,
//! `q = round_half_even(w / s_j)`. Inputs are quantized per row as they arrive, the same
//! way with the row's own `max |x|`, so a row's result never depends on the other rows of
//! its batch, the chunking or the thread count. The products accumulate in i32, exactly,
//! on the best kernel of the CPU (`Int8Kernel`); then `y = (acc · s_x) · s_j + b_j` in f32.

mod base64;
mod choice;
mod kernels;

use ndarray::{ArrayView2, ArrayViewMut2};

pub use base64::{decode as base64_decode, encode as base64_encode};
pub use choice::{int8_kernel, Int8Kernel, INT8_ENV};
use kernels::K_ALIGN;

/// Most inputs of an int8 product: beyond, an i32 sum of 127 · 127 products could wrap.
pub const MAX_INT8_INPUTS: usize = 1 << 17;

/// Largest magnitude of a quantized value (symmetric: -128 is never used).
const Q_MAX: f32 = 127.0;

/// The scale of a vector whose largest magnitude is `max`: `max / 127`, or 1 for a vector
/// of zeros (or one that is not finite), whose values then quantize to 0 (or clamp).
fn scale_of(max: f32) -> f32 {
    let s = max / Q_MAX;
    if s > 0.0 && s.is_finite() {
        s
    } else {
        1.0
    }
}

/// 1.5 · 2^23: added to and taken off a value of magnitude below 2^22, it leaves the
/// value rounded to an integer, half to even (the FPU's rounding), in a form the compiler
/// vectorises (`round_ties_even` is a library call on baseline x86-64).
const ROUNDER: f32 = 12_582_912.0;

/// `v / scale` clamped to ±127 and rounded half to even (NaN gives 0).
#[inline(always)]
fn quantize(v: f32, scale: f32) -> i8 {
    let c = (v / scale).clamp(-Q_MAX, Q_MAX);
    ((c + ROUNDER) - ROUNDER) as i32 as i8
}

/// The largest |v| of `row` (NaN ignored), in a form the compiler vectorises.
fn max_abs(row: &[f32]) -> f32 {
    row.iter()
        .fold(0.0f32, |m, &v| if v.abs() > m { v.abs() } else { m })
}

/// Quantize `w` (n_in, n_out) per output column: the values row-major (n_in, n_out) and
/// one scale per column.
pub fn quantize_columns(w: ArrayView2<f32>) -> (Vec<i8>, Vec<f32>) {
    let scales: Vec<f32> = w
        .columns()
        .into_iter()
        .map(|c| scale_of(c.iter().fold(0.0f32, |m, v| m.max(v.abs()))))
        .collect();
    let q = w
        .rows()
        .into_iter()
        .flat_map(|row| {
            row.iter()
                .zip(&scales)
                .map(|(&v, &s)| quantize(v, s))
                .collect::<Vec<_>>()
        })
        .collect();
    (q, scales)
}

/// Int8 weights (n_in, n_out) with one scale per output column, and the forms the kernels
/// read, built once when the layer is made or loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Matrix {
    n_in: usize,
    n_out: usize,
    /// Row-major (n_in, n_out), as in the model file.
    values: Vec<i8>,
    /// One per output column, finite and positive.
    scales: Vec<f32>,
    /// Transposed (n_out, k_pad), each row zero padded to `k_pad`.
    packed: Vec<i8>,
    /// Row length of `packed`: n_in rounded up to `K_ALIGN`.
    k_pad: usize,
    /// 128 · Σ_k q[k, j] per column (the VNNI kernel's correction).
    col_sums: Vec<i32>,
}

/// Why int8 weights cannot be used (the caller words it for its layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int8Problem {
    /// Not n_in x n_out values.
    WeightCount,
    /// Not one scale per output column.
    ScaleCount,
    /// A scale that is zero, negative or not finite.
    BadScale,
    /// More inputs than `MAX_INT8_INPUTS`.
    TooManyInputs,
}

impl Int8Problem {
    /// The problem in words, for int8 weights of `n_in` x `n_out` given `values` values
    /// and `scales` scales.
    pub fn describe(self, n_in: usize, n_out: usize, values: usize, scales: &[f32]) -> String {
        match self {
            Int8Problem::WeightCount => format!(
                "the int8 weights have {values} values; expected n_in x n_out = {n_in} x {n_out}"
            ),
            Int8Problem::ScaleCount => format!(
                "there are {} scales; expected one per output, {n_out}",
                scales.len()
            ),
            Int8Problem::BadScale => {
                let (i, s) = scales
                    .iter()
                    .enumerate()
                    .find(|(_, s)| !(s.is_finite() && **s > 0.0))
                    .map_or((0, f32::NAN), |(i, s)| (i, *s));
                format!("scale {} is {s}; expected a finite number above 0", i + 1)
            }
            Int8Problem::TooManyInputs => {
                format!("{n_in} inputs; an int8 layer takes at most {MAX_INT8_INPUTS}")
            }
        }
    }
}

impl Int8Matrix {
    /// The matrix of `values` (n_in, n_out) row-major and `scales` (n_out); checks the
    /// counts, the scales and `MAX_INT8_INPUTS`.
    pub fn new(
        n_in: usize,
        n_out: usize,
        values: Vec<i8>,
        scales: Vec<f32>,
    ) -> Result<Int8Matrix, Int8Problem> {
        if n_in > MAX_INT8_INPUTS {
            return Err(Int8Problem::TooManyInputs);
        }
        if n_in.checked_mul(n_out) != Some(values.len()) {
            return Err(Int8Problem::WeightCount);
        }
        if scales.len() != n_out {
            return Err(Int8Problem::ScaleCount);
        }
        if scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Int8Problem::BadScale);
        }
        let k_pad = n_in.div_ceil(K_ALIGN).max(1) * K_ALIGN;
        let mut packed = vec![0i8; n_out * k_pad];
        for (i, row) in values.chunks_exact(n_out.max(1)).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                packed[j * k_pad + i] = v;
            }
        }
        let col_sums = packed
            .chunks_exact(k_pad)
            .map(|r| 128 * r.iter().map(|&v| v as i32).sum::<i32>())
            .collect();
        Ok(Int8Matrix {
            n_in,
            n_out,
            values,
            scales,
            packed,
            k_pad,
            col_sums,
        })
    }

    /// `w` (n_in, n_out) quantized per output column.
    pub fn quantize(w: ArrayView2<f32>) -> Result<Int8Matrix, Int8Problem> {
        let (values, scales) = quantize_columns(w);
        Int8Matrix::new(w.nrows(), w.ncols(), values, scales)
    }

    /// Inputs per row.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Outputs per row.
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// The int8 values, row-major (n_in, n_out).
    pub fn values(&self) -> &[i8] {
        &self.values
    }

    /// The scale of each output column.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// The weights back in f32 (n_in, n_out): value times its column's scale.
    pub fn dequantized(&self) -> Vec<f32> {
        self.values
            .chunks_exact(self.n_out.max(1))
            .flat_map(|row| row.iter().zip(&self.scales).map(|(&q, &s)| q as f32 * s))
            .collect()
    }

    /// Bytes the weights take as int8 with their scales.
    pub fn bytes(&self) -> usize {
        self.values.len() + 4 * self.scales.len()
    }
}

/// The buffers of one int8 product, kept by the layer from batch to batch.
#[derive(Debug, Clone, Default)]
pub struct Int8Scratch {
    /// Quantized rows (rows, k_pad).
    x: Vec<i8>,
    /// One scale per row.
    x_scales: Vec<f32>,
    /// The i32 products (rows, n_out).
    acc: Vec<i32>,
    /// One row of a strided input, copied so that it is contiguous.
    row: Vec<f32>,
}

/// `out` (rows, n_out) = x · W + bias through int8: `x` (rows, n_in) quantized per row,
/// the product in i32 on `kernel`, then `(acc · s_x) · s_j + b_j`.
pub fn int8_affine(
    kernel: Int8Kernel,
    x: ArrayView2<f32>,
    m: &Int8Matrix,
    bias: &[f32],
    scratch: &mut Int8Scratch,
    mut out: ArrayViewMut2<f32>,
) {
    let rows = x.nrows();
    let k = m.k_pad;
    scratch.x.resize(rows * k, 0);
    scratch.x_scales.resize(rows, 1.0);
    scratch.acc.resize(rows * m.n_out, 0);
    for (r, (q, s)) in scratch
        .x
        .chunks_exact_mut(k)
        .zip(&mut scratch.x_scales)
        .enumerate()
    {
        let row = x.row(r);
        let row = match row.as_slice() {
            Some(row) => row,
            None => {
                scratch.row.clear();
                scratch.row.extend(row.iter());
                &scratch.row
            }
        };
        *s = scale_of(max_abs(row));
        let scale = *s;
        for (q, &v) in q.iter_mut().zip(row) {
            *q = quantize(v, scale);
        }
        q[row.len()..].fill(0);
    }
    kernels::product(
        kernel,
        &scratch.x,
        &m.packed,
        k,
        &m.col_sums,
        &mut scratch.acc,
    );
    let n_out = m.n_out.max(1);
    for ((mut out_row, acc_row), &sx) in out
        .rows_mut()
        .into_iter()
        .zip(scratch.acc.chunks_exact(n_out))
        .zip(&scratch.x_scales)
    {
        let terms = acc_row.iter().zip(&m.scales).zip(bias);
        match out_row.as_slice_mut() {
            Some(o) => o
                .iter_mut()
                .zip(terms)
                .for_each(|(o, ((&a, &sw), &b))| *o = (a as f32 * sx) * sw + b),
            None => out_row
                .iter_mut()
                .zip(terms)
                .for_each(|(o, ((&a, &sw), &b))| *o = (a as f32 * sx) * sw + b),
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn rounding_is_half_to_even_and_symmetric() {
        assert_eq!(quantize(2.5, 1.0), 2);
        assert_eq!(quantize(3.5, 1.0), 4);
        assert_eq!(quantize(-2.5, 1.0), -2);
        assert_eq!(quantize(1000.0, 1.0), 127);
        assert_eq!(quantize(-1000.0, 1.0), -127);
        assert_eq!(quantize(f32::NAN, 1.0), 0);
        assert_eq!(scale_of(0.0), 1.0);
        assert_eq!(scale_of(f32::INFINITY), 1.0);
    }

    #[test]
    fn matrices_with_bad_counts_or_scales_are_refused() {
        assert_eq!(
            Int8Matrix::new(2, 2, vec![0; 3], vec![1.0; 2]),
            Err(Int8Problem::WeightCount)
        );
        assert_eq!(
            Int8Matrix::new(2, 2, vec![0; 4], vec![1.0; 3]),
            Err(Int8Problem::ScaleCount)
        );
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert_eq!(
                Int8Matrix::new(2, 2, vec![0; 4], vec![1.0, bad]),
                Err(Int8Problem::BadScale)
            );
        }
        assert_eq!(
            Int8Matrix::new(MAX_INT8_INPUTS + 1, 0, vec![], vec![]),
            Err(Int8Problem::TooManyInputs)
        );
    }

    /// The int8 result against the f32 product: each term's error is bounded by half a
    /// step of x times |w| plus half a step of w times |x|.
    #[test]
    fn the_affine_map_stays_within_the_quantization_error_on_every_kernel() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (rows, n_in, n_out) = (37, 75, 21);
        let x = Array2::from_shape_fn((rows, n_in), |_| rng.gen_range(-3.0f32..3.0));
        let w = Array2::from_shape_fn((n_in, n_out), |_| rng.gen_range(-0.5f32..0.5));
        let bias: Vec<f32> = (0..n_out).map(|j| j as f32 * 0.1).collect();
        let m = Int8Matrix::quantize(w.view()).unwrap();
        let exact = x.dot(&w);
        let mut reference: Option<Array2<f32>> = None;
        for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
            let mut out = Array2::zeros((rows, n_out));
            let mut scratch = Int8Scratch::default();
            int8_affine(kernel, x.view(), &m, &bias, &mut scratch, out.view_mut());
            for r in 0..rows {
                let sx = scale_of(x.row(r).iter().fold(0.0f32, |a, v| a.max(v.abs())));
                for j in 0..n_out {
                    let bound: f32 = (0..n_in)
                        .map(|i| 0.5 * sx * w[[i, j]].abs() + 0.5 * m.scales[j] * x[[r, i]].abs())
                        .sum::<f32>()
                        + 1e-4;
                    let diff = (out[[r, j]] - bias[j] - exact[[r, j]]).abs();
                    assert!(diff <= bound, "{kernel:?} ({r}, {j}): {diff} > {bound}");
                }
            }
            match &reference {
                None => reference = Some(out),
                Some(first) => assert!(
                    first
                        .iter()
                        .zip(&out)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{kernel:?} differs from the first kernel"
                ),
            }
        }
    }

    #[test]
    fn a_row_gives_the_same_bits_alone_or_in_a_batch() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let x = Array2::from_shape_fn((10, 30), |_| rng.gen_range(-1.0f32..1.0));
        let w = Array2::from_shape_fn((30, 5), |_| rng.gen_range(-1.0f32..1.0));
        let m = Int8Matrix::quantize(w.view()).unwrap();
        let bias = vec![0.0; 5];
        let mut scratch = Int8Scratch::default();
        let mut all = Array2::zeros((10, 5));
        int8_affine(
            int8_kernel(),
            x.view(),
            &m,
            &bias,
            &mut scratch,
            all.view_mut(),
        );
        for r in 0..10 {
            let mut one = Array2::zeros((1, 5));
            let row = x.slice(ndarray::s![r..r + 1, ..]);
            int8_affine(int8_kernel(), row, &m, &bias, &mut scratch, one.view_mut());
            assert_eq!(one.row(0), all.row(r));
        }
    }
}

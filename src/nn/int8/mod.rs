//! Int8 matrix products for the quantized layers (`compress --int8`).
//!
//! Weights are quantized once, symmetric per output column: `s_j` is the smallest scale of
//! the form `base · 2^(-k/16)` (`ScaleCodes`, one byte per column) at least
//! `max_k |w[k, j]| / 127`, `q = round_half_even(w / s_j)`. Inputs are quantized per row as they arrive, the same
//! way with the row's own `max |x|`, so a row's result never depends on the other rows of
//! its batch, the chunking or the thread count. The products accumulate in i32, exactly,
//! on the best kernel of the CPU (`Int8Kernel`); then `y = (acc · s_x) · s_j + b_j` in f32.

mod base64;
mod choice;
mod kernels;
mod quantize;
mod scale_codes;

use ndarray::{ArrayView2, ArrayViewMut2};

pub use base64::{decode as base64_decode, encode as base64_encode};
pub use choice::{int8_kernel, Int8Kernel, INT8_ENV};
use kernels::GROUP;
use quantize::{quantize, quantize_rows};
pub use scale_codes::{code_factor, decode_scale, ScaleCodes};

/// Most inputs of an int8 product: beyond, an i32 sum of 127 · 127 products could wrap.
pub const MAX_INT8_INPUTS: usize = 1 << 17;

/// Quantize `w` (n_in, n_out) per output column: the values row-major (n_in, n_out) and
/// the columns' scales as one-byte codes (`ScaleCodes::for_maxima`), which no value clips.
pub fn quantize_columns(w: ArrayView2<f32>) -> (Vec<i8>, ScaleCodes) {
    let maxima: Vec<f32> = w
        .columns()
        .into_iter()
        .map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .collect();
    let codes = ScaleCodes::for_maxima(&maxima);
    let scales = codes.scales();
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
    (q, codes)
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
    /// The scales as stored, when they are one-byte codes (`scales` decoded from them);
    /// `None` for f32 scales (model format 4).
    codes: Option<ScaleCodes>,
    /// The kernels' layout (`kernels::pack`): outputs along the vector lanes.
    packed: Vec<i8>,
    /// Groups of `GROUP` inputs: n_in rounded up, over `GROUP`.
    groups: usize,
    /// 128 · Σ_k q[k, j] per output, padded to a multiple of 16 (the VNNI correction).
    col_sums: Vec<i32>,
}

/// Why int8 weights cannot be used (the caller words it for its layer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Int8Problem {
    /// Not n_in x n_out values.
    WeightCount,
    /// Not one scale per output column.
    ScaleCount,
    /// A scale that is zero, negative or not finite.
    BadScale,
    /// More inputs than `MAX_INT8_INPUTS`.
    TooManyInputs,
    /// Not one scale code per output column (the count found).
    CodeCount(usize),
    /// A scale base that is zero, negative or not finite.
    BadBase(f32),
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
            Int8Problem::CodeCount(found) => {
                format!("there are {found} scale codes; expected one per output, {n_out}")
            }
            Int8Problem::BadBase(base) => {
                format!("the scale base is {base}; expected a finite number above 0")
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
        let (packed, col_sums) = kernels::pack(&values, n_in, n_out);
        Ok(Int8Matrix {
            n_in,
            n_out,
            values,
            scales,
            codes: None,
            packed,
            groups: n_in.div_ceil(GROUP),
            col_sums,
        })
    }

    /// The matrix of `values` (n_in, n_out) row-major and one scale code per output,
    /// decoded once here; checks the base and the count, then as `new` (a decoded scale
    /// that underflows to 0 is a bad scale).
    pub fn from_codes(
        n_in: usize,
        n_out: usize,
        values: Vec<i8>,
        codes: ScaleCodes,
    ) -> Result<Int8Matrix, Int8Problem> {
        if !codes.base_is_valid() {
            return Err(Int8Problem::BadBase(codes.base()));
        }
        if codes.codes().len() != n_out {
            return Err(Int8Problem::CodeCount(codes.codes().len()));
        }
        let mut matrix = Int8Matrix::new(n_in, n_out, values, codes.scales())?;
        matrix.codes = Some(codes);
        Ok(matrix)
    }

    /// `w` (n_in, n_out) quantized per output column, the scales as one-byte codes.
    pub fn quantize(w: ArrayView2<f32>) -> Result<Int8Matrix, Int8Problem> {
        let (values, codes) = quantize_columns(w);
        Int8Matrix::from_codes(w.nrows(), w.ncols(), values, codes)
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

    /// The scale of each output column (decoded when stored as codes).
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// The scales as one-byte codes, when they are stored so (`None`: f32 scales, as in
    /// model format 4).
    pub fn scale_codes(&self) -> Option<&ScaleCodes> {
        self.codes.as_ref()
    }

    /// The weights back in f32 (n_in, n_out): value times its column's scale.
    pub fn dequantized(&self) -> Vec<f32> {
        self.values
            .chunks_exact(self.n_out.max(1))
            .flat_map(|row| row.iter().zip(&self.scales).map(|(&q, &s)| q as f32 * s))
            .collect()
    }

    /// Bytes the weights take as int8 with their scales: 1 per weight, then 1 per output
    /// and 4 for the base with scale codes, or 4 per output with f32 scales.
    pub fn bytes(&self) -> usize {
        let scales = match &self.codes {
            Some(codes) => codes.codes().len() + 4,
            None => 4 * self.scales.len(),
        };
        self.values.len() + scales
    }
}

/// The buffers of one int8 product, kept by the layer from batch to batch (they grow to
/// the largest batch and are reused).
#[derive(Debug, Clone, Default)]
pub struct Int8Scratch {
    /// Quantized rows (rows, groups · `GROUP`), XORed with the kernel's input flip.
    x: Vec<i8>,
    /// One scale per row.
    x_scales: Vec<f32>,
    /// The i32 products (rows, n_out padded to 16).
    acc: Vec<i32>,
    /// One row of a strided input, copied so that it is contiguous.
    row: Vec<f32>,
}

/// Rows quantized and multiplied at a time: few enough that the quantized rows, their
/// sums and the outputs stay in L1 between the passes in a small layer, enough that the
/// tiles of 6 rows run full and each panel of a large layer's weights serves many rows
/// (see `chunk_rows`).
const CHUNK_BYTES: usize = 24 << 10;

/// Rows per chunk for rows of `k4` quantized inputs and `n_pad` sums: what fits in
/// `CHUNK_BYTES` (quantized row, i32 sums and f32 outputs), a multiple of 6 from 48 to 240.
fn chunk_rows(k4: usize, n_pad: usize) -> usize {
    let per_row = k4 + 8 * n_pad;
    (CHUNK_BYTES / per_row.max(1) / 6 * 6).clamp(48, 240)
}

/// `out` (rows, n_out) = x · W + bias through int8: `x` (rows, n_in) quantized per row,
/// the product in i32 on `kernel`, then `(acc · s_x) · s_j + b_j` (without `+ b_j` when
/// `bias` is None: the caller adds it, as `(acc · s_x) · s_j` then `+ b_j` in f32).
/// The batch goes in chunks of rows (each row's result depends on that row alone).
pub fn int8_affine(
    kernel: Int8Kernel,
    x: ArrayView2<f32>,
    m: &Int8Matrix,
    bias: Option<&[f32]>,
    scratch: &mut Int8Scratch,
    mut out: ArrayViewMut2<f32>,
) {
    let rows = x.nrows();
    let n_pad = m.col_sums.len();
    if rows == 0 || m.n_out == 0 {
        return;
    }
    let k4 = m.groups * GROUP;
    let chunk = chunk_rows(k4, n_pad).min(rows);
    scratch.x.resize(chunk * k4, 0);
    scratch.x_scales.resize(chunk, 1.0);
    let fused = kernels::has_f32_out(kernel) && out.is_standard_layout();
    if !fused {
        scratch.acc.resize(chunk * n_pad, 0);
    }
    let bias = bias.unwrap_or(&[]);
    for start in (0..rows).step_by(chunk) {
        let end = (start + chunk).min(rows);
        let n = end - start;
        let (xq, sx) = (&mut scratch.x[..n * k4], &mut scratch.x_scales[..n]);
        quantize_rows(
            kernel,
            x.slice(ndarray::s![start..end, ..]),
            kernels::input_flip(kernel),
            xq,
            sx,
            &mut scratch.row,
        );
        let mut out = out.slice_mut(ndarray::s![start..end, ..]);
        if fused {
            let dst = kernels::F32Out {
                out: out.as_slice_mut().expect("standard layout"),
                x_scales: sx,
                scales: &m.scales,
                bias,
            };
            kernels::product_f32(kernel, xq, m.groups, &m.packed, &m.col_sums, dst);
            continue;
        }
        let acc = &mut scratch.acc[..n * n_pad];
        kernels::product(kernel, xq, m.groups, &m.packed, &m.col_sums, acc);
        if let Some(o) = out.as_slice_mut() {
            dequantize(o, acc, sx, &m.scales, bias, n_pad);
            continue;
        }
        for ((mut out_row, acc_row), &sx) in out
            .rows_mut()
            .into_iter()
            .zip(acc.chunks_exact(n_pad))
            .zip(sx.iter())
        {
            for (j, o) in out_row.iter_mut().enumerate() {
                let y = (acc_row[j] as f32 * sx) * m.scales[j];
                *o = bias.get(j).map_or(y, |b| y + b);
            }
        }
    }
}

crate::nn::fast_math::vectorised_fn! {
    /// `out` (rows, n_out) contiguous = `(acc · s_x) · s_j (+ b_j)` for `acc` (rows, n_pad);
    /// no bias when `bias` is empty. In AVX-512 where the CPU has it (the same bits: no
    /// operation is fused).
    fn dequantize(
        out: &mut [f32],
        acc: &[i32],
        x_scales: &[f32],
        scales: &[f32],
        bias: &[f32],
        n_pad: usize,
    ) {
        let n_out = scales.len();
        for ((o, a), &sx) in out
            .chunks_exact_mut(n_out)
            .zip(acc.chunks_exact(n_pad))
            .zip(x_scales)
        {
            if bias.is_empty() {
                for ((o, &a), &sw) in o.iter_mut().zip(a).zip(scales) {
                    *o = (a as f32 * sx) * sw;
                }
            } else {
                for (((o, &a), &sw), &b) in o.iter_mut().zip(a).zip(scales).zip(bias) {
                    *o = (a as f32 * sx) * sw + b;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ShapeBuilder};
    use rand::{Rng, SeedableRng};

    use super::quantize::scale_of;
    use super::*;

    /// Every weight of columns of very different magnitudes (zeros, tiny, huge, one
    /// large value among small ones) divided by its decoded scale stays within ±127, so
    /// the clamp never changes a value and each is within half a step of w.
    #[test]
    fn quantized_columns_never_clip() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for (n_in, n_out) in [(6usize, 40usize), (37, 9), (1, 300)] {
            let magnitude: Vec<f32> = (0..n_out)
                .map(|j| match j % 5 {
                    0 => 0.0,
                    1 => 1e-30,
                    2 => 3e20,
                    _ => rng.gen_range(1e-4f32..10.0),
                })
                .collect();
            let w = Array2::from_shape_fn((n_in, n_out), |(i, j)| {
                let m = magnitude[j] * if i == 0 && j % 7 == 3 { 50.0 } else { 1.0 };
                m * rng.gen_range(-1.0f32..1.0)
            });
            let m = Int8Matrix::quantize(w.view()).unwrap();
            let codes = m.scale_codes().expect("quantize stores codes");
            assert_eq!(codes.codes().len(), n_out);
            assert_eq!(m.scales(), codes.scales().as_slice());
            for ((&v, &q), j) in w.iter().zip(m.values()).zip((0..n_out).cycle()) {
                let s = m.scales()[j];
                assert!((v / s).abs() <= 127.0, "{v} / {s}");
                assert!(f64::from(v).abs() / f64::from(s) <= 127.0, "{v} / {s}");
                assert!(
                    (q as f32 * s - v).abs() <= 0.5 * s * 1.000_001,
                    "{v}: {q} x {s}"
                );
            }
        }
        assert_eq!(
            Int8Matrix::quantize(Array2::<f32>::zeros((6, 3)).view())
                .unwrap()
                .bytes(),
            18 + 3 + 4
        );
    }

    #[test]
    fn scale_codes_with_a_bad_base_or_count_are_refused() {
        let m = |base: f32, codes: Vec<u8>| {
            Int8Matrix::from_codes(2, 2, vec![0; 4], ScaleCodes::new(base, codes))
        };
        assert_eq!(m(0.5, vec![0, 16]).unwrap().scales(), &[0.5, 0.25]);
        assert_eq!(m(0.5, vec![0, 16]).unwrap().bytes(), 4 + 2 + 4);
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert_eq!(
                m(bad, vec![0, 0])
                    .unwrap_err()
                    .describe(2, 2, 4, &[])
                    .as_str(),
                format!("the scale base is {bad}; expected a finite number above 0")
            );
        }
        assert_eq!(m(1.0, vec![0]), Err(Int8Problem::CodeCount(1)));
        assert_eq!(
            Int8Problem::CodeCount(1).describe(2, 2, 4, &[]),
            "there are 1 scale codes; expected one per output, 2"
        );
        // A base so small that code 255 decodes to 0.
        assert_eq!(
            m(f32::from_bits(1), vec![0, 255]),
            Err(Int8Problem::BadScale)
        );
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
        for (rows, n_in, n_out) in [(37usize, 75usize, 21usize), (13, 36, 70), (8, 130, 16)] {
            let x = Array2::from_shape_fn((rows, n_in), |_| rng.gen_range(-3.0f32..3.0));
            let w = Array2::from_shape_fn((n_in, n_out), |_| rng.gen_range(-0.5f32..0.5));
            let bias: Vec<f32> = (0..n_out).map(|j| j as f32 * 0.1).collect();
            let m = Int8Matrix::quantize(w.view()).unwrap();
            let exact = x.dot(&w);
            let mut reference: Option<Array2<f32>> = None;
            let mut reference_bare: Option<Vec<u32>> = None;
            for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
                let mut out = Array2::zeros((rows, n_out));
                let mut scratch = Int8Scratch::default();
                int8_affine(
                    kernel,
                    x.view(),
                    &m,
                    Some(&bias),
                    &mut scratch,
                    out.view_mut(),
                );
                for r in 0..rows {
                    let sx = scale_of(x.row(r).iter().fold(0.0f32, |a, v| a.max(v.abs())));
                    for j in 0..n_out {
                        let bound: f32 = (0..n_in)
                            .map(|i| {
                                0.5 * sx * w[[i, j]].abs() + 0.5 * m.scales[j] * x[[r, i]].abs()
                            })
                            .sum::<f32>()
                            + 1e-4;
                        let diff = (out[[r, j]] - bias[j] - exact[[r, j]]).abs();
                        assert!(diff <= bound, "{kernel:?} ({r}, {j}): {diff} > {bound}");
                    }
                }
                // Without the bias (the fused activation adds it): the same bits on
                // every kernel too.
                let mut bare = Array2::zeros((rows, n_out));
                int8_affine(kernel, x.view(), &m, None, &mut scratch, bare.view_mut());
                let bare_bits: Vec<u32> = bare.iter().map(|v| v.to_bits()).collect();
                match &reference_bare {
                    None => reference_bare = Some(bare_bits),
                    Some(first) => assert!(first == &bare_bits, "{kernel:?} without bias"),
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
    }

    /// Each kernel gives every row the same bits alone, in the whole batch, in batches of
    /// 7 and through a strided (column-major) view; sizes off the tiles and vector widths.
    #[test]
    fn a_row_gives_the_same_bits_alone_or_in_a_batch() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        // The last case spans three chunks (`chunk_rows`: 48 rows of 130 x 200).
        for (rows, n_in, n_out) in [
            (10usize, 30usize, 5usize),
            (23, 37, 70),
            (13, 130, 16),
            (100, 130, 200),
        ] {
            let x = Array2::from_shape_fn((rows, n_in), |_| rng.gen_range(-1.0f32..1.0));
            let w = Array2::from_shape_fn((n_in, n_out), |_| rng.gen_range(-1.0f32..1.0));
            let m = Int8Matrix::quantize(w.view()).unwrap();
            let bias: Vec<f32> = (0..n_out).map(|j| j as f32).collect();
            let mut fortran = Array2::zeros((rows, n_in).f());
            fortran.assign(&x);
            for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
                let mut scratch = Int8Scratch::default();
                let run = |x: ArrayView2<f32>, scratch: &mut Int8Scratch| {
                    let mut out = Array2::zeros((x.nrows(), n_out));
                    int8_affine(kernel, x, &m, Some(&bias), scratch, out.view_mut());
                    out
                };
                let all = run(x.view(), &mut scratch);
                assert_eq!(run(fortran.view(), &mut scratch), all, "{kernel:?} strided");
                for start in (0..rows).step_by(7) {
                    let part = x.slice(ndarray::s![start..(start + 7).min(rows), ..]);
                    let got = run(part, &mut scratch);
                    assert_eq!(got, all.slice(ndarray::s![start..start + got.nrows(), ..]));
                }
                for r in 0..rows {
                    let one = run(x.slice(ndarray::s![r..r + 1, ..]), &mut scratch);
                    assert_eq!(one.row(0), all.row(r), "{kernel:?} row {r}");
                }
            }
        }
    }
}

//! Per-row activation quantization: each row's `max |x|` gives its scale, then every value
//! is divided, clamped and rounded to int8. The AVX-512 and AVX2 versions do the same
//! operations (IEEE division, a max that skips NaN, half-to-even rounding) lane by lane,
//! so every kernel gets the same bytes and scales.

use ndarray::ArrayView2;

use super::Int8Kernel;

/// Largest magnitude of a quantized value (symmetric: -128 is never used).
pub const Q_MAX: f32 = 127.0;

/// The scale of a vector whose largest magnitude is `max`: `max / 127`, or 1 for a vector
/// of zeros (or one that is not finite), whose values then quantize to 0 (or clamp).
pub fn scale_of(max: f32) -> f32 {
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
pub fn quantize(v: f32, scale: f32) -> i8 {
    let c = (v / scale).clamp(-Q_MAX, Q_MAX);
    ((c + ROUNDER) - ROUNDER) as i32 as i8
}

/// `m` or `v`, whichever is larger; NaN in `v` is skipped (the order of `maxps`).
#[inline(always)]
fn max_skip_nan(v: f32, m: f32) -> f32 {
    if v > m {
        v
    } else {
        m
    }
}

/// The largest |v| of `row` (NaN skipped; 0 for an empty row), 16 running maxima wide so
/// that the compiler vectorises it. A max is exact, so the order does not matter.
pub fn max_abs(row: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let chunks = row.chunks_exact(16);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = max_skip_nan(v.abs(), *m);
        }
    }
    let m = tail.iter().fold(0.0, |m, &v| max_skip_nan(v.abs(), m));
    lanes.iter().fold(m, |m, &v| max_skip_nan(v, m))
}

/// Quantize every row of `x` (rows, n_in) into `q` (rows, k4 ≥ n_in; the padding set to
/// quantized zero), XORed with `flip`, its scale into `scales`; `copy` holds the batch
/// when `x` is not in standard layout. The batch goes in two passes, all the maxima then
/// all the rows, so that the rows' short chains of dependent steps overlap.
pub fn quantize_rows(
    kernel: Int8Kernel,
    x: ArrayView2<f32>,
    flip: u8,
    q: &mut [i8],
    scales: &mut [f32],
    copy: &mut Vec<f32>,
) {
    let data = match x.to_slice() {
        Some(d) => d,
        None => {
            copy.clear();
            copy.extend(x.iter());
            copy.as_slice()
        }
    };
    let batch = Batch {
        data,
        n_in: x.ncols(),
        flip,
    };
    assert_eq!(scales.len(), x.nrows());
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the VNNI kernel is only chosen on CPUs with AVX-512F.
        Int8Kernel::Vnni => unsafe { x86::batch_avx512(&batch, q, scales) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the AVX2 kernel is only chosen on CPUs with AVX2.
        Int8Kernel::Avx2 => unsafe { x86::batch_avx2(&batch, q, scales) },
        _ => batch.run(q, scales, max_abs, quantize_scalar),
    }
}

/// The rows of one batch: (rows, n_in) row-major.
struct Batch<'a> {
    data: &'a [f32],
    n_in: usize,
    flip: u8,
}

impl Batch<'_> {
    /// Both passes with a kernel's `max` and `quant` (inlined into the callers, which
    /// enable the vector units).
    #[inline(always)]
    fn run(
        &self,
        q: &mut [i8],
        scales: &mut [f32],
        max: impl Fn(&[f32]) -> f32,
        quant: impl Fn(&[f32], f32, u8, &mut [i8]),
    ) {
        let n_in = self.n_in;
        let k4 = q.len().checked_div(scales.len()).unwrap_or(0);
        for (r, s) in scales.iter_mut().enumerate() {
            *s = scale_of(max(&self.data[r * n_in..(r + 1) * n_in]));
        }
        for (r, &s) in scales.iter().enumerate() {
            let (used, pad) = q[r * k4..(r + 1) * k4].split_at_mut(n_in);
            quant(&self.data[r * n_in..(r + 1) * n_in], s, self.flip, used);
            pad.fill(self.flip as i8);
        }
    }
}

/// `quantize` value by value.
fn quantize_scalar(row: &[f32], scale: f32, flip: u8, out: &mut [i8]) {
    for (q, &v) in out.iter_mut().zip(row) {
        *q = (quantize(v, scale) as u8 ^ flip) as i8;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{max_skip_nan, quantize_scalar, Batch, Q_MAX, ROUNDER};

    /// `Batch::run` 16 rows at a time: their maxima, then their scales and reciprocals
    /// in one vector (the same IEEE divisions as `scale_of` and `1 / scale`, without two
    /// scalar divisions and their branches per row), then their bytes.
    ///
    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn batch_avx512(batch: &Batch, q: &mut [i8], scales: &mut [f32]) {
        let n_in = batch.n_in;
        let k4 = q.len().checked_div(scales.len()).unwrap_or(0);
        let rows = scales.len();
        let (one, q_max) = (_mm512_set1_ps(1.0), _mm512_set1_ps(Q_MAX));
        let (zero, inf) = (_mm512_setzero_ps(), _mm512_set1_ps(f32::INFINITY));
        let smallest = _mm512_set1_ps(f32::MIN_POSITIVE);
        let row = |r: usize| &batch.data[r * n_in..(r + 1) * n_in];
        for r0 in (0..rows).step_by(16) {
            let n = (rows - r0).min(16);
            let mask = (((1u32 << n) - 1) & 0xFFFF) as __mmask16;
            let mut maxima = [0.0f32; 16];
            for (i, m) in maxima.iter_mut().take(n).enumerate() {
                // SAFETY: this function's features.
                *m = unsafe { max_abs_avx512(row(r0 + i)) };
            }
            // SAFETY: 16 floats on the stack; `scales` holds n from r0 (masked).
            let (s, inverse) = unsafe {
                let s = _mm512_div_ps(_mm512_loadu_ps(maxima.as_ptr()), q_max);
                // `scale_of`: s where 0 < s < inf (so not NaN either), else 1.
                let fine = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(s, zero)
                    & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(s, inf);
                let s = _mm512_mask_blend_ps(fine, one, s);
                _mm512_mask_storeu_ps(scales.as_mut_ptr().add(r0), mask, s);
                (s, _mm512_div_ps(one, s))
            };
            // Rows whose scale or reciprocal is not normal are divided exactly (both are
            // positive here, so `is_normal` is MIN_POSITIVE <= x < inf).
            let normal = |v| {
                _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, smallest)
                    & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(v, inf)
            };
            let divide = !(normal(s) & normal(inverse));
            let (mut sv, mut iv) = ([0.0f32; 16], [0.0f32; 16]);
            // SAFETY: 16 floats each, on the stack.
            unsafe {
                _mm512_storeu_ps(sv.as_mut_ptr(), s);
                _mm512_storeu_ps(iv.as_mut_ptr(), inverse);
            }
            for i in 0..n {
                let r = r0 + i;
                let out = &mut q[r * k4..(r + 1) * k4];
                let divide_all = divide & (1 << i) != 0;
                // SAFETY: this function's features; `out` is at least as long as the row.
                unsafe { quantize_avx512(row(r), sv[i], iv[i], divide_all, batch.flip, out) };
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn batch_avx2(batch: &Batch, q: &mut [i8], scales: &mut [f32]) {
        batch.run(
            q,
            scales,
            // SAFETY: this function's features.
            |row| unsafe { max_abs_avx2(row) },
            // SAFETY: as above; `run` passes an `out` as long as the row.
            |row, s, flip, out| unsafe { quantize_avx2(row, s, flip, out) },
        )
    }

    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn max_abs_avx512(row: &[f32]) -> f32 {
        let mut m = _mm512_setzero_ps();
        let whole = row.len() / 16 * 16;
        for start in (0..whole).step_by(16) {
            // SAFETY: 16 values of the row from start.
            let v = unsafe { _mm512_loadu_ps(row.as_ptr().add(start)) };
            // max(v, m) keeps m where v is NaN, as `max_skip_nan`.
            m = _mm512_max_ps(_mm512_abs_ps(v), m);
        }
        if whole < row.len() {
            let mask = ((1u32 << (row.len() - whole)) - 1) as __mmask16;
            // SAFETY: the mask reads only the row's last values (masked lanes neither
            // read nor fault).
            let v = unsafe { _mm512_maskz_loadu_ps(mask, row.as_ptr().add(whole)) };
            m = _mm512_max_ps(_mm512_abs_ps(v), m);
        }
        // The lanes are finite or +inf and never NaN, so any order of folding is exact.
        _mm512_reduce_max_ps(m)
    }

    /// Like `quantize`, but `v / scale` is first taken as `c = v · inverse` (`inverse` =
    /// 1 / scale; a division costs as much as a small layer's products). That is within
    /// 2^-23 · |c| of the true quotient, the division within 2^-24 · |c|, so for |c| up
    /// to 128 the two lie within 2^-15 of each other and round to the same integer
    /// unless c lies within that of a half; a vector with a lane within 2^-13 of a half
    /// (a constant margin, so no |c| to take; 1 lane in 4,000 of random values), and
    /// every vector when `divide_all` (a scale without a normal reciprocal), is divided
    /// exactly. Above 128 (only a row whose maximum is not finite, of scale 1, where the
    /// product is exact) both clamp to 127. `out` may be longer than `row` (the padding
    /// of the kernels' groups): the lanes past the row load as 0 and are stored as a
    /// quantized 0, so the padding costs no separate pass.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `out` is at least as long as `row`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn quantize_avx512(
        row: &[f32],
        scale: f32,
        inverse: f32,
        divide_all: bool,
        flip: u8,
        out: &mut [i8],
    ) {
        let y = _mm512_set1_ps(inverse);
        // |c - round(c)| is at most 0.5; from 0.5 - 2^-13 on, c is close to a half.
        let near_half = _mm512_set1_ps(0.5 - 1.0 / (1 << 13) as f32);
        let s = _mm512_set1_ps(scale);
        let (lo, hi) = (_mm512_set1_ps(-Q_MAX), _mm512_set1_ps(Q_MAX));
        let pad_byte = flip as i8;
        let flip = _mm512_set1_epi32(flip as i32);
        const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        let lanes = |n: usize| {
            if n >= 16 {
                0xFFFF
            } else {
                ((1u32 << n) - 1) as __mmask16
            }
        };
        let (load_tail, store_tail) = (lanes(row.len() % 16), lanes(out.len() % 16));
        // What the vector stores cover: the row's vectors, as far as `out` goes.
        let covered = (row.len().div_ceil(16) * 16).min(out.len());
        for start in (0..row.len()).step_by(16) {
            let mask = if start + 16 <= row.len() {
                0xFFFF
            } else {
                load_tail
            };
            let store = if start + 16 <= out.len() {
                0xFFFF
            } else {
                store_tail
            };
            // SAFETY: the loads masked to the row, the stores to `out`, from start.
            unsafe {
                let v = _mm512_maskz_loadu_ps(mask, row.as_ptr().add(start));
                let c = _mm512_mul_ps(v, y);
                let mut nearest = _mm512_roundscale_ps::<NEAREST>(c);
                // c - round(c) is exact (|c| < 2^23, or c is a whole number).
                let from_nearest = _mm512_abs_ps(_mm512_sub_ps(c, nearest));
                let close = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(from_nearest, near_half);
                if divide_all || close != 0 {
                    nearest = _mm512_roundscale_ps::<NEAREST>(_mm512_div_ps(v, s));
                }
                // Rounding then clamping to the integers ±127 is clamping then rounding
                // (half to even, as `ROUNDER`). A NaN stays NaN here (max and min return
                // their second operand when one is NaN), becomes i32::MIN, whose low
                // byte, the one stored, is 0: NaN gives 0, as `quantize`.
                let n = _mm512_min_ps(hi, _mm512_max_ps(lo, nearest));
                let q = _mm512_xor_si512(_mm512_cvttps_epi32(n), flip);
                _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().add(start).cast(), store, q);
            }
        }
        out[covered..].fill(pad_byte);
    }

    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn max_abs_avx2(row: &[f32]) -> f32 {
        let sign = _mm256_set1_ps(-0.0);
        let mut m = _mm256_setzero_ps();
        let chunks = row.chunks_exact(8);
        let tail = chunks.remainder();
        for chunk in chunks {
            // SAFETY: 8 floats.
            let v = unsafe { _mm256_loadu_ps(chunk.as_ptr()) };
            m = _mm256_max_ps(_mm256_andnot_ps(sign, v), m);
        }
        let t = tail.iter().fold(0.0, |m, &v| max_skip_nan(v.abs(), m));
        // A tree over the lanes (never NaN, so the order does not matter), then the tail.
        let h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
        let h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        let h = _mm_max_ss(h, _mm_shuffle_ps::<0b01>(h, h));
        max_skip_nan(_mm_cvtss_f32(h), t)
    }

    /// # Safety
    /// The CPU has AVX2; `out` is as long as `row`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn quantize_avx2(row: &[f32], scale: f32, flip: u8, out: &mut [i8]) {
        let s = _mm256_set1_ps(scale);
        let (lo, hi) = (_mm256_set1_ps(-Q_MAX), _mm256_set1_ps(Q_MAX));
        let rounder = _mm256_set1_ps(ROUNDER);
        let flip_bytes = _mm_set1_epi8(flip as i8);
        let whole = row.len() / 8 * 8;
        for start in (0..whole).step_by(8) {
            // SAFETY: 8 values of row and out from start.
            unsafe {
                let c = _mm256_div_ps(_mm256_loadu_ps(row.as_ptr().add(start)), s);
                let c = _mm256_and_ps(c, _mm256_cmp_ps::<_CMP_ORD_Q>(c, c));
                let c = _mm256_min_ps(_mm256_max_ps(c, lo), hi);
                let r = _mm256_sub_ps(_mm256_add_ps(c, rounder), rounder);
                let i = _mm256_cvttps_epi32(r);
                // Within ±127, so the saturating packs are exact.
                let w =
                    _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256::<1>(i));
                let b = _mm_xor_si128(_mm_packs_epi16(w, w), flip_bytes);
                _mm_storel_epi64(out.as_mut_ptr().add(start).cast(), b);
            }
        }
        quantize_scalar(&row[whole..], scale, flip, &mut out[whole..]);
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ShapeBuilder};
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
        assert_eq!(max_abs(&[1.0, f32::NAN, -3.0]), 3.0);
        assert_eq!(max_abs(&[]), 0.0);
    }

    /// Every kernel's row maxima, scales and bytes against the scalar definitions, on rows
    /// of every length 0-40 (the vector tails) with NaN, ±inf, -0, halves and extremes,
    /// and a strided view.
    #[test]
    fn every_kernel_quantizes_rows_as_the_scalar_code() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let specials = [
            f32::NAN,
            f32::INFINITY,
            -f32::INFINITY,
            -0.0,
            0.5,
            -1e30,
            1e-40,
        ];
        for n_in in 0..=40 {
            let rows = 7;
            let mut x = Array2::from_shape_fn((rows, n_in), |_| match rng.gen_range(0..12) {
                0 => specials[rng.gen_range(0..specials.len())],
                1 => rng.gen_range(-20i32..20) as f32 * 0.5,
                _ => rng.gen_range(-3.0f32..3.0),
            });
            if n_in > 0 {
                x.row_mut(1).fill(0.0);
                x[[2, n_in - 1]] = f32::NAN;
            }
            // Scales that put values exactly on halves: max |x| = 127 · 0.5; integers
            // over a max of 2 (quotients near 63.5) and of 254 (exact halves).
            if n_in > 2 {
                x.row_mut(3).fill(0.25);
                x[[3, 0]] = 63.5;
                x.row_mut(4)
                    .iter_mut()
                    .for_each(|v| *v = rng.gen_range(-2i32..=2) as f32);
                x[[4, 0]] = 2.0;
                x.row_mut(5)
                    .iter_mut()
                    .for_each(|v| *v = rng.gen_range(-254i32..=254) as f32);
                x[[5, 1]] = -254.0;
            }
            let k4 = n_in.div_ceil(4) * 4;
            let view = x.view();
            for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
                for flip in [0u8, 0x80] {
                    let (mut q, mut s) = (vec![9i8; rows * k4], vec![0.0; rows]);
                    quantize_rows(kernel, view, flip, &mut q, &mut s, &mut Vec::new());
                    for r in 0..rows {
                        let row: Vec<f32> = view.row(r).to_vec();
                        let max = row
                            .iter()
                            .fold(0.0f32, |m, &v| if v.abs() > m { v.abs() } else { m });
                        assert_eq!(s[r].to_bits(), scale_of(max).to_bits(), "{kernel:?}");
                        for i in 0..k4 {
                            let want = row.get(i).map_or(0, |&v| quantize(v, s[r]));
                            assert_eq!(
                                q[r * k4 + i],
                                (want as u8 ^ flip) as i8,
                                "{kernel:?} n_in {n_in} row {r} col {i}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Many rows of values of every magnitude, and of integers over random maxima (near
    /// halves), give the bytes of the scalar division on every kernel (the AVX-512 path
    /// multiplies by the reciprocal and must divide where that could round otherwise).
    #[test]
    fn the_reciprocal_shortcut_never_changes_a_byte() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let (rows, n_in) = (3000, 37);
        let x = Array2::from_shape_fn((rows, n_in), |(r, _)| match r % 3 {
            0 => rng.gen_range(-1.0f32..1.0) * 10f32.powi(rng.gen_range(-38..38)),
            1 => rng.gen_range(-300i32..300) as f32,
            _ => rng.gen_range(-4.0f32..4.0),
        });
        for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
            let (mut q, mut s) = (vec![0i8; rows * 40], vec![0.0; rows]);
            quantize_rows(kernel, x.view(), 0, &mut q, &mut s, &mut Vec::new());
            for r in 0..rows {
                for i in 0..n_in {
                    assert_eq!(
                        q[r * 40 + i],
                        quantize(x[[r, i]], s[r]),
                        "{kernel:?} ({r}, {i})"
                    );
                }
            }
        }
    }

    /// A row read through a column-major view (strided) gives the bytes of the same row
    /// read contiguously.
    #[test]
    fn strided_rows_quantize_as_contiguous_ones() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let x = Array2::from_shape_fn((5, 19), |_| rng.gen_range(-2.0f32..2.0));
        let fortran = {
            let mut f = Array2::zeros((5, 19).f());
            f.assign(&x);
            f
        };
        assert!(fortran.row(0).as_slice().is_none());
        for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
            let run = |v: ndarray::ArrayView2<f32>| {
                let (mut q, mut s) = (vec![0i8; 5 * 20], vec![0.0; 5]);
                quantize_rows(kernel, v, 0, &mut q, &mut s, &mut Vec::new());
                (q, s)
            };
            assert_eq!(run(x.view()), run(fortran.view()), "{kernel:?}");
        }
    }
}

//! The forward kernel of a first conv layer: one input channel, 3 x 3 windows, stride 1,
//! at most 32 filters (`Direct::forward` picks it for those shapes; x86_64 only). Its
//! 9 x 32 weights stay in registers for a whole output row, and the row is computed 4
//! pixels at a time, each pixel's channels written as soon as they are summed. With 9
//! multiply-adds per output value the layer is bound by writing its output (128 bytes per
//! pixel, 3.2 MB for a batch of 32 28 x 28 images: more than the L2 cache), so the lines a
//! few pixels ahead are fetched for writing (`prefetchw`) while the current ones are summed.
//!
//! Each value is the chain of the general kernel: the sum over the taps t = 0..9 in order
//! (row-major over the window) from zero by fused multiply-adds, then + the bias; so the
//! bits are the im2col product's.

use std::arch::x86_64::*;

use super::kernels::mask;

/// Pixels per step (4 x 2 accumulators, 18 weight vectors: 26 of the 32 registers).
const P: usize = 4;
/// Output pixels ahead whose lines are fetched for writing.
const AHEAD: usize = 16;

/// One output row of a 3 x 3, one-channel convolution.
#[derive(Clone, Copy)]
pub(super) struct Row {
    /// The row's first window's first value, in a (padded) image.
    pub(super) input: *const f32,
    /// Values per image row (the padded width).
    pub(super) width: usize,
    /// Output pixels in the row.
    pub(super) pixels: usize,
    /// Where the row's first output value goes; pixel p's channels start at p * c_out.
    pub(super) out: *mut f32,
}

/// The output row `row` = the windows of `row.input` times `weights` (9, c_out) row-major,
/// + `bias` (c_out), with c_out <= 32.
///
/// # Safety
/// AVX-512F is available; the 3 x (pixels + 2) values of the windows lie inside the
/// image, the pixels * c_out output values inside the output; weights and bias as stated.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn forward_row(row: Row, weights: &[f32], bias: &[f32]) {
    let c_out = bias.len();
    debug_assert!(c_out <= 32 && weights.len() == 9 * c_out);
    let masks = [mask(c_out), mask(c_out.saturating_sub(16))];
    // SAFETY: forwarded from the caller.
    unsafe {
        if c_out > 16 {
            row_v::<2>(row, weights, bias, masks)
        } else {
            row_v::<1>(row, weights, bias, masks)
        }
    }
}

/// `forward_row` with V vectors of channels.
///
/// # Safety
/// As `forward_row`.
#[target_feature(enable = "avx512f")]
unsafe fn row_v<const V: usize>(row: Row, weights: &[f32], bias: &[f32], masks: [__mmask16; 2]) {
    let c_out = bias.len();
    let mut w = [[_mm512_setzero_ps(); V]; 9];
    for (t, w) in w.iter_mut().enumerate() {
        for (v, w) in w.iter_mut().enumerate() {
            // SAFETY: the selected lanes of weight row t (caller).
            *w = unsafe {
                _mm512_maskz_loadu_ps(masks[v], weights.as_ptr().add(t * c_out + 16 * v))
            };
        }
    }
    let mut b = [_mm512_setzero_ps(); V];
    for (v, b) in b.iter_mut().enumerate() {
        // SAFETY: the selected lanes of the bias (caller).
        *b = unsafe { _mm512_maskz_loadu_ps(masks[v], bias.as_ptr().add(16 * v)) };
    }
    let lines = [
        row.input,
        row.input.wrapping_add(row.width),
        row.input.wrapping_add(2 * row.width),
    ];
    let mut p = 0;
    while p + P <= row.pixels {
        // SAFETY: pixels p..p + P of the row (caller).
        unsafe { pixels::<P, V>(&lines, p, &w, &b, row.out, c_out, masks) };
        p += P;
    }
    while p < row.pixels {
        // SAFETY: pixel p of the row (caller).
        unsafe { pixels::<1, V>(&lines, p, &w, &b, row.out, c_out, masks) };
        p += 1;
    }
}

/// Output pixels p0..p0 + N of a row: sums, bias, stores, and the prefetch of the lines
/// `AHEAD` pixels on.
///
/// # Safety
/// As `forward_row`, for these pixels.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn pixels<const N: usize, const V: usize>(
    lines: &[*const f32; 3],
    p0: usize,
    w: &[[__m512; V]; 9],
    b: &[__m512; V],
    out: *mut f32,
    c_out: usize,
    masks: [__mmask16; 2],
) {
    let mut acc = [[_mm512_setzero_ps(); V]; N];
    for (ky, line) in lines.iter().enumerate() {
        for kx in 0..3 {
            let w = &w[ky * 3 + kx];
            for (p, acc) in acc.iter_mut().enumerate() {
                // SAFETY: inside the window of pixel p0 + p (caller).
                let a = _mm512_set1_ps(unsafe { *line.add(p0 + p + kx) });
                for (acc, &w) in acc.iter_mut().zip(w) {
                    *acc = _mm512_fmadd_ps(a, w, *acc);
                }
            }
        }
    }
    for (p, acc) in acc.iter().enumerate() {
        let dst = out.wrapping_add((p0 + p) * c_out);
        for v in 0..V {
            // A hint only: it never faults, even past the end of the output.
            _mm_prefetch::<_MM_HINT_ET0>(dst.wrapping_add(AHEAD * c_out + 16 * v).cast());
            // SAFETY: the selected lanes of pixel p0 + p's channels (caller).
            unsafe {
                _mm512_mask_storeu_ps(dst.add(16 * v), masks[v], _mm512_add_ps(acc[v], b[v]))
            };
        }
    }
}

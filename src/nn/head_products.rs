//! One attention head over one sequence: the row softmax of its scores and its gradient,
//! and the products whose inner dimension is d_head, small (4 to 16 in practice): the
//! (L, L) scores S = Q·Kᵀ and their gradient dP = dO·Vᵀ.
//! A general GEMM packs both operands and stores its tile after only d_head steps; here
//! each run of `LANES` outputs is summed in registers along the transposed operand's rows,
//! which lie in L1. (The products whose inner dimension is L go through the GEMM.)
//!
//! Every function is `#[inline(always)]`: the attention layer calls them from one function
//! compiled twice (portable and AVX-512), and each copy gets its own vector width. The
//! operations and their order do not depend on the width (each output is summed over c in
//! order, no fused multiply-add), so both copies give the same bits.

/// Outputs summed together in registers (one AVX-512 vector); also the fixed split of
/// the softmax's partial maxima and sums, whatever the vector width.
const LANES: usize = 16;

/// A head's (L, d_head) part of row-major rows: row i starts at `start + i * stride`.
#[derive(Clone, Copy)]
pub(super) struct HeadPart<'a> {
    pub data: &'a [f32],
    pub start: usize,
    pub stride: usize,
}

impl HeadPart<'_> {
    #[inline(always)]
    fn row(&self, i: usize, dh: usize) -> &[f32] {
        let at = self.start + i * self.stride;
        &self.data[at..at + dh]
    }
}

/// `out` (dh, L) = the transpose of `part`'s (L, dh) values.
#[inline(always)]
pub(super) fn transpose(part: HeadPart<'_>, l: usize, dh: usize, out: &mut [f32]) {
    for i in 0..l {
        for (c, &v) in part.row(i, dh).iter().enumerate() {
            out[c * l + i] = v;
        }
    }
}

/// `out` (L, L): out[i, j] = Σ_c a[i, c] · bt[c, j], with `bt` (dh, L) contiguous
/// (S = Q·Kᵀ with bt = Kᵀ; dP = dO·Vᵀ with bt = Vᵀ). Each `LANES` outputs of a row are
/// summed over c in registers and stored once.
#[inline(always)]
pub(super) fn rows_times_columns(
    a: HeadPart<'_>,
    bt: &[f32],
    l: usize,
    dh: usize,
    out: &mut [f32],
) {
    let bt = &bt[..dh * l];
    for (i, row) in out[..l * l].chunks_exact_mut(l).enumerate() {
        let a_i = a.row(i, dh);
        let mut chunks = row.chunks_exact_mut(LANES);
        for (k, chunk) in chunks.by_ref().enumerate() {
            let mut acc = [0.0f32; LANES];
            for (c, &a_ic) in a_i.iter().enumerate() {
                let b = &bt[c * l + k * LANES..c * l + (k + 1) * LANES];
                for (s, &b) in acc.iter_mut().zip(b) {
                    *s += a_ic * b;
                }
            }
            chunk.copy_from_slice(&acc);
        }
        let done = l - chunks.into_remainder().len();
        for j in done..l {
            row[j] = a_i
                .iter()
                .enumerate()
                .fold(0.0, |s, (c, &a_ic)| s + a_ic * bt[c * l + j]);
        }
    }
}

/// Each `l`-long row of `s` into softmax(row · scale), in place (`scale` > 0).
#[inline(always)]
pub(super) fn softmax_rows(s: &mut [f32], l: usize, scale: f32) {
    for row in s.chunks_exact_mut(l) {
        let max = lane_fold(row, f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
        for v in row.iter_mut() {
            *v = exp((*v - max) * scale);
        }
        let inv = 1.0 / lane_fold(row, 0.0, |a, v| a + v);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// `f` folded over `values` in `LANES` interleaved partial results, then over those.
#[inline(always)]
fn lane_fold(values: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = f(*lane, v);
        }
    }
    let partial = rest.iter().fold(init, |a, &v| f(a, v));
    lanes.iter().fold(partial, |a, &v| f(a, v))
}

/// e^x for x <= 0 to within a few units in the last place, in plain arithmetic that the
/// compiler vectorises (libm's `expf` is a call per value): x = n·ln 2 + r with n whole
/// and |r| <= ln 2 / 2, e^r by Cephes' polynomial, 2^n written into the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // Adding 1.5·2^23 rounds to a whole number, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let poly = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e_r = poly * r * r + r + 1.0;
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    e_r * f32::from_bits(((n_bits + 127) << 23) as u32)
}

/// dS = P ∘ (dP - rowsum(P ∘ dP)) · scale for each of the `l`-long rows, into `p`.
#[inline(always)]
pub(super) fn softmax_backward(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
    for (p, dp) in p.chunks_exact_mut(l).zip(dp.chunks_exact(l)) {
        let mut lanes = [0.0f32; LANES];
        let (chunks, rest) = (p.chunks_exact(LANES), dp.chunks_exact(LANES));
        let tail: f32 = chunks
            .remainder()
            .iter()
            .zip(rest.remainder())
            .map(|(&p, &g)| p * g)
            .sum();
        for (pc, gc) in chunks.zip(rest) {
            for ((lane, &p), &g) in lanes.iter_mut().zip(pc).zip(gc) {
                *lane += p * g;
            }
        }
        let dot = lanes.iter().fold(tail, |a, &v| a + v);
        p.iter_mut()
            .zip(dp)
            .for_each(|(p, &g)| *p *= (g - dot) * scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// (L, 3·d) rows with head 1 of d_head 5 in the key columns: every product against a
    /// plain f64 triple loop, for lengths below, at and above the lane count.
    #[test]
    fn products_match_a_plain_f64_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (dh, d) = (5, 10);
        for l in [1, 7, 16, 33] {
            let rows = random(l * 3 * d, &mut rng);
            let part = HeadPart {
                data: &rows,
                start: d + dh,
                stride: 3 * d,
            };
            let a = |i: usize, c: usize| rows[d + dh + i * 3 * d + c] as f64;
            let bt = random(dh * l, &mut rng);
            let close = |got: f32, want: f64| {
                assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want} at L {l}")
            };

            let mut t = vec![0.0; dh * l];
            transpose(part, l, dh, &mut t);
            for i in 0..l {
                for c in 0..dh {
                    assert_eq!(t[c * l + i] as f64, a(i, c));
                }
            }

            let mut s = vec![0.0; l * l];
            rows_times_columns(part, &bt, l, dh, &mut s);
            for i in 0..l {
                for j in 0..l {
                    let want = (0..dh).map(|c| a(i, c) * bt[c * l + j] as f64).sum();
                    close(s[i * l + j], want);
                }
            }
        }
    }
}

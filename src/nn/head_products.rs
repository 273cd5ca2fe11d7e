//! The products of one attention head over one sequence: (L, L) scores or probabilities
//! against (L, d_head) queries, keys and values, with d_head small (4 to 16 in practice).
//! A general GEMM packs both operands for each of these small products and its micro-tile
//! is wider than d_head; these loops read the operands where they lie and run along the
//! L axis, which is long, so the compiler vectorises them.
//!
//! Every function is `#[inline(always)]`: the attention layer calls them from one function
//! compiled twice (portable and AVX-512), and each copy gets its own vector width. The
//! operations and their order do not depend on the width (sums in `LANES` fixed partial
//! lanes, no fused multiply-add), so both copies give the same bits.

/// Partial sums of each dot product: a fixed split, whatever the vector width.
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

/// `out` (L, dh) rows at `start + i * stride` of `data` = the transpose of `t` (dh, L).
#[inline(always)]
pub(super) fn untranspose(
    t: &[f32],
    l: usize,
    dh: usize,
    data: &mut [f32],
    start: usize,
    stride: usize,
) {
    for i in 0..l {
        let row = &mut data[start + i * stride..start + i * stride + dh];
        for (c, v) in row.iter_mut().enumerate() {
            *v = t[c * l + i];
        }
    }
}

/// `out` (L, L): out[i, j] = Σ_c a[i, c] · bt[c, j], with `bt` (dh, L) contiguous
/// (S = Q·Kᵀ with bt = Kᵀ; dP = dO·Vᵀ with bt = Vᵀ).
#[inline(always)]
pub(super) fn rows_times_columns(
    a: HeadPart<'_>,
    bt: &[f32],
    l: usize,
    dh: usize,
    out: &mut [f32],
) {
    for (i, row) in out[..l * l].chunks_exact_mut(l).enumerate() {
        let a_i = a.row(i, dh);
        let first = &bt[..l];
        row.iter_mut()
            .zip(first)
            .for_each(|(o, &b)| *o = a_i[0] * b);
        for (c, &a_ic) in a_i.iter().enumerate().skip(1) {
            let bt_c = &bt[c * l..(c + 1) * l];
            row.iter_mut().zip(bt_c).for_each(|(o, &b)| *o += a_ic * b);
        }
    }
}

/// out[i, c] = Σ_j p[i, j] · bt[c, j] for the (L, L) `p` and the (dh, L) `bt`, written to
/// the rows of `out` at `start + i * stride` (O = P·V with bt = Vᵀ; dQ = dS·K with
/// bt = Kᵀ).
#[inline(always)]
pub(super) fn rows_dot_columns(
    p: &[f32],
    bt: &[f32],
    l: usize,
    dh: usize,
    out: &mut [f32],
    start: usize,
    stride: usize,
) {
    for (i, p_i) in p[..l * l].chunks_exact(l).enumerate() {
        let row = &mut out[start + i * stride..start + i * stride + dh];
        for (c, o) in row.iter_mut().enumerate() {
            *o = dot(p_i, &bt[c * l..(c + 1) * l]);
        }
    }
}

/// `out_t` (dh, L): out_t[c, j] = Σ_i a[i, c] · p[i, j], the transpose of aᵀ·p for the
/// (L, dh) `a` and the (L, L) `p` (dVᵀ = dOᵀ·P; dKᵀ = Qᵀ·dS).
#[inline(always)]
pub(super) fn columns_times_rows(
    a: HeadPart<'_>,
    p: &[f32],
    l: usize,
    dh: usize,
    out_t: &mut [f32],
) {
    let out_t = &mut out_t[..dh * l];
    out_t.fill(0.0);
    for (i, p_i) in p[..l * l].chunks_exact(l).enumerate() {
        for (c, &a_ic) in a.row(i, dh).iter().enumerate() {
            let o = &mut out_t[c * l..(c + 1) * l];
            o.iter_mut().zip(p_i).for_each(|(o, &p)| *o += a_ic * p);
        }
    }
}

/// Σ x·y in `LANES` partial sums, then the tail, then the lanes in order.
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail: f32 = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .map(|(&a, &b)| a * b)
        .sum();
    for (xc, yc) in xs.zip(ys) {
        for ((lane, &a), &b) in lanes.iter_mut().zip(xc).zip(yc) {
            *lane += a * b;
        }
    }
    lanes.iter().fold(tail, |s, &v| s + v)
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
            let p = random(l * l, &mut rng);
            let bt = random(dh * l, &mut rng);
            let close = |got: f32, want: f64| {
                assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want} at L {l}")
            };

            let mut t = vec![0.0; dh * l];
            transpose(part, l, dh, &mut t);
            let mut back = vec![0.0; l * 3 * d];
            untranspose(&t, l, dh, &mut back, d + dh, 3 * d);
            for i in 0..l {
                for c in 0..dh {
                    assert_eq!(t[c * l + i] as f64, a(i, c));
                    assert_eq!(back[d + dh + i * 3 * d + c] as f64, a(i, c));
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

            let mut out = vec![0.0; l * 2 * dh];
            rows_dot_columns(&p, &bt, l, dh, &mut out, dh, 2 * dh);
            for i in 0..l {
                for c in 0..dh {
                    let want = (0..l)
                        .map(|j| p[i * l + j] as f64 * bt[c * l + j] as f64)
                        .sum();
                    close(out[dh + i * 2 * dh + c], want);
                }
            }

            let mut out_t = vec![f32::NAN; dh * l];
            columns_times_rows(part, &p, l, dh, &mut out_t);
            for c in 0..dh {
                for j in 0..l {
                    let want = (0..l).map(|i| a(i, c) * p[i * l + j] as f64).sum();
                    close(out_t[c * l + j], want);
                }
            }
        }
    }
}

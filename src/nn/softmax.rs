//! Row-wise softmax and its backward pass for attention's (L, L) blocks, in plain
//! arithmetic the compiler vectorises, compiled again for the vector extensions the CPU
//! has; every build gives the same values.

/// Each `l`-long row of `s` into softmax(row · scale), in place (`scale` > 0). Compiled
/// again for AVX-512 and for AVX2 with FMA where the CPU has them: the same operations in
/// the same order (the fused multiply-adds of `exp` are `mul_add`, exact in every build),
/// so every build gives the same values.
pub(super) fn softmax_rows(s: &mut [f32], l: usize, scale: f32) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is available.
        unsafe { softmax_rows_avx512(s, l, scale) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: AVX2 and FMA are available.
        unsafe { softmax_rows_avx2(s, l, scale) };
        return;
    }
    softmax_rows_portable(s, l, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_rows_avx512(s: &mut [f32], l: usize, scale: f32) {
    softmax_rows_portable(s, l, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_rows_avx2(s: &mut [f32], l: usize, scale: f32) {
    softmax_rows_portable(s, l, scale);
}

/// Lanes of the partial maxima and sums: a fixed split of each row, whatever the vector
/// width the compiler chooses.
const LANES: usize = 16;

#[inline(always)]
fn softmax_rows_portable(s: &mut [f32], l: usize, scale: f32) {
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
/// The multiply-adds are fused (one instruction each where the build has FMA; a libm
/// call on an x86-64 CPU without it, which runs the portable build).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // Adding 1.5·2^23 rounds to a whole number, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    let shifted = x.mul_add(LOG2E, ROUND);
    let n = shifted - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, x));
    let poly = [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ]
    .iter()
    .fold(1.987_569_1e-4f32, |acc, &c| acc.mul_add(r, c));
    let e_r = (poly * r).mul_add(r, r) + 1.0;
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    e_r * f32::from_bits(((n_bits + 127) << 23) as u32)
}

/// dS = P ∘ (dP - rowsum(P ∘ dP)) · scale for each of the `l`-long rows, into `p`.
pub(super) fn softmax_backward_rows(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is available.
        unsafe { softmax_backward_avx512(p, dp, l, scale) };
        return;
    }
    softmax_backward_portable(p, dp, l, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_backward_avx512(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
    softmax_backward_portable(p, dp, l, scale);
}

#[inline(always)]
fn softmax_backward_portable(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
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

    #[test]
    fn exp_is_within_a_few_ulp_of_the_standard_one() {
        for i in 0..87_000 {
            let x = -(i as f32) * 1e-3;
            let (fast, std) = (exp(x), x.exp());
            assert!(
                (fast - std).abs() <= 4.0 * f32::EPSILON * std,
                "exp({x}) = {fast} vs {std}"
            );
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn rows_sum_to_one_and_the_backward_pass_matches_finite_differences() {
        let l = 19;
        let scores: Vec<f32> = (0..l * l)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3)
            .collect();
        let mut p = scores.clone();
        softmax_rows(&mut p, l, 0.5);
        for row in p.chunks(l) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // loss = Σ g·P for fixed weights g: dloss/dS = softmax_backward(P, g).
        let g: Vec<f32> = (0..l * l)
            .map(|i| ((i * 11 % 7) as f32 - 3.0) * 0.1)
            .collect();
        let mut ds = p.clone();
        softmax_backward_rows(&mut ds, &g, l, 0.5);
        let loss = |s: &[f32]| {
            let mut p = s.to_vec();
            softmax_rows(&mut p, l, 0.5);
            p.iter().zip(&g).map(|(p, g)| (p * g) as f64).sum::<f64>()
        };
        for i in [0, 5, l + 3, l * l - 1] {
            let (mut up, mut down) = (scores.clone(), scores.clone());
            up[i] += 1e-2;
            down[i] -= 1e-2;
            let numeric = (loss(&up) - loss(&down)) / 2e-2;
            assert!(
                (numeric - ds[i] as f64).abs() < 1e-3,
                "{i}: {numeric} vs {}",
                ds[i]
            );
        }
    }
}

//! Row-wise softmax and its backward pass for attention's (L, L) blocks. The element-wise
//! work is plain arithmetic the compiler vectorises; the sums over a row go through
//! `Reduce`, written out with AVX-512 intrinsics where the CPU has them (the compiler's
//! own vectorisation of them was a chain of dependent steps per row). Every build adds in
//! the same order, so every build gives the same values.

/// Each `l`-long row of `s` into softmax(row · scale), in place (`scale` > 0).
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
    softmax_rows_with::<Lanes>(s, l, scale);
}

/// dS = P ∘ (dP - rowsum(P ∘ dP)) · scale for each of the `l`-long rows, into `p`.
pub(super) fn softmax_backward_rows(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is available.
        unsafe { softmax_backward_avx512(p, dp, l, scale) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: AVX2 and FMA are available.
        unsafe { softmax_backward_avx2(p, dp, l, scale) };
        return;
    }
    softmax_backward_with::<Lanes>(p, dp, l, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_rows_avx512(s: &mut [f32], l: usize, scale: f32) {
    softmax_rows_with::<avx512::Avx512>(s, l, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_rows_avx2(s: &mut [f32], l: usize, scale: f32) {
    softmax_rows_with::<Lanes>(s, l, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_backward_avx512(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
    softmax_backward_with::<avx512::Avx512>(p, dp, l, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_backward_avx2(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
    softmax_backward_with::<Lanes>(p, dp, l, scale);
}

#[inline(always)]
fn softmax_rows_with<R: Reduce>(s: &mut [f32], l: usize, scale: f32) {
    for row in s.chunks_exact_mut(l) {
        let max = R::max(row);
        for v in row.iter_mut() {
            *v = exp((*v - max) * scale);
        }
        let inv = 1.0 / R::sum(row);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

#[inline(always)]
fn softmax_backward_with<R: Reduce>(p: &mut [f32], dp: &[f32], l: usize, scale: f32) {
    for (p, dp) in p.chunks_exact_mut(l).zip(dp.chunks_exact(l)) {
        let dot = R::dot(p, dp);
        p.iter_mut()
            .zip(dp)
            .for_each(|(p, &g)| *p *= (g - dot) * scale);
    }
}

/// Lanes of the partial maxima and sums: a fixed split of each row, whatever the vector
/// width.
const LANES: usize = 16;

/// Reductions over one row. The sums keep `LANES` partial sums, lane i taking elements i,
/// i + 16, i + 32, ... in order (a last short chunk adds into the first lanes), then
/// fold them pairwise: lane i with i + 8, then i + 4, i + 2, i + 1.
trait Reduce {
    /// The largest value (exact in any order).
    fn max(row: &[f32]) -> f32;
    /// The sum.
    fn sum(row: &[f32]) -> f32;
    /// Σ a·b, each product fused into its lane's sum.
    fn dot(a: &[f32], b: &[f32]) -> f32;
}

/// The reductions in plain arithmetic, for any CPU.
struct Lanes;

impl Lanes {
    #[inline(always)]
    fn fold(mut lanes: [f32; LANES]) -> f32 {
        let mut width = LANES / 2;
        while width > 0 {
            for i in 0..width {
                lanes[i] += lanes[i + width];
            }
            width /= 2;
        }
        lanes[0]
    }
}

impl Reduce for Lanes {
    #[inline(always)]
    fn max(row: &[f32]) -> f32 {
        row.iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
    }

    #[inline(always)]
    fn sum(row: &[f32]) -> f32 {
        let mut lanes = [0.0f32; LANES];
        for chunk in row.chunks(LANES) {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += v;
            }
        }
        Lanes::fold(lanes)
    }

    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut lanes = [0.0f32; LANES];
        for (a, b) in a.chunks(LANES).zip(b.chunks(LANES)) {
            for ((lane, &a), &b) in lanes.iter_mut().zip(a).zip(b) {
                *lane = a.mul_add(b, *lane);
            }
        }
        Lanes::fold(lanes)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Reduce, LANES};

    /// The reductions in AVX-512 registers: one 16-lane vector of partial results, the
    /// last short chunk loaded under a mask.
    pub(super) struct Avx512;

    /// The first `n` (at most 16) lanes.
    #[inline(always)]
    fn mask(n: usize) -> __mmask16 {
        if n >= LANES {
            0xffff
        } else {
            (1u16 << n) - 1
        }
    }

    /// `row`'s chunk at `i` (a short last one padded with `fill`).
    ///
    /// # Safety
    /// AVX-512F is available; `i < row.len()`.
    #[inline(always)]
    unsafe fn load(row: &[f32], i: usize, fill: __m512) -> __m512 {
        let m = mask(row.len() - i);
        // SAFETY: the masked lanes lie inside `row` (caller).
        unsafe { _mm512_mask_loadu_ps(fill, m, row.as_ptr().add(i)) }
    }

    /// Lane i plus lane i + 8, then i + 4, i + 2, i + 1, as `Lanes::fold`.
    #[inline(always)]
    unsafe fn fold(v: __m512) -> f32 {
        // SAFETY: AVX-512F is available (caller).
        unsafe {
            let halves = _mm256_add_ps(
                _mm512_castps512_ps256(v),
                _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v))),
            );
            let fours = _mm_add_ps(
                _mm256_castps256_ps128(halves),
                _mm256_extractf128_ps::<1>(halves),
            );
            let twos = _mm_add_ps(fours, _mm_movehl_ps(fours, fours));
            let one = _mm_add_ss(twos, _mm_movehdup_ps(twos));
            _mm_cvtss_f32(one)
        }
    }

    impl Reduce for Avx512 {
        #[inline(always)]
        fn max(row: &[f32]) -> f32 {
            // SAFETY: only compiled into the AVX-512 build, run on such CPUs.
            unsafe {
                let fill = _mm512_set1_ps(f32::NEG_INFINITY);
                let mut acc = fill;
                for i in (0..row.len()).step_by(LANES) {
                    acc = _mm512_max_ps(acc, load(row, i, fill));
                }
                _mm512_reduce_max_ps(acc)
            }
        }

        #[inline(always)]
        fn sum(row: &[f32]) -> f32 {
            // SAFETY: as `max`.
            unsafe {
                let zero = _mm512_setzero_ps();
                let mut acc = zero;
                for i in (0..row.len()).step_by(LANES) {
                    acc = _mm512_add_ps(acc, load(row, i, zero));
                }
                fold(acc)
            }
        }

        #[inline(always)]
        fn dot(a: &[f32], b: &[f32]) -> f32 {
            debug_assert_eq!(a.len(), b.len());
            // SAFETY: as `max`; `b` is as long as `a`.
            unsafe {
                let zero = _mm512_setzero_ps();
                let mut acc = zero;
                for i in (0..a.len()).step_by(LANES) {
                    acc = _mm512_fmadd_ps(load(a, i, zero), load(b, i, zero), acc);
                }
                fold(acc)
            }
        }
    }
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

    /// The AVX-512 reductions give the bits of the portable ones, for every tail length.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_build_reduces_to_the_same_bits() {
        if !is_x86_feature_detected!("avx512f") {
            return;
        }
        for n in 1..50 {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 7919 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| ((i * 104_729 % 89) as f32 - 44.0) / 3.0)
                .collect();
            type Fast = avx512::Avx512;
            assert_eq!(
                Fast::max(&a).to_bits(),
                Lanes::max(&a).to_bits(),
                "max, {n}"
            );
            assert_eq!(
                Fast::sum(&a).to_bits(),
                Lanes::sum(&a).to_bits(),
                "sum, {n}"
            );
            assert_eq!(
                Fast::dot(&a, &b).to_bits(),
                Lanes::dot(&a, &b).to_bits(),
                "dot, {n}"
            );
        }
    }
}

//! The AVX2 kernel, for x86-64 CPUs with AVX2 and FMA but no AVX-512: blocks of 6 rows by
//! 16 columns of c (two 8-lane vectors), 12 accumulators in registers (of 16), the two
//! vectors of b and a broadcast of a in the rest; column tails by masked loads and stores.
//!
//! Every element of c is the chain of fused multiply-adds the AVX-512 kernel computes, in
//! the same order and from the same zero, and beta is applied the same way: both kernels
//! give the same bits (a test checks it where both run).

use std::arch::x86_64::*;

use super::plan::MicroKernel;

/// How many steps of the sum over k ahead the kernel prefetches its operands.
const PREFETCH: usize = 24;

/// Lane masks for `_mm256_maskload_ps` and `_mm256_maskstore_ps`: the 8 values from index
/// 8 - l switch on the first l lanes.
static LANE_MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The AVX2 + FMA kernel (`GemmKernel::Avx2`).
pub(super) struct Avx2;

impl MicroKernel for Avx2 {
    const MR: usize = 6;
    const NR: usize = 16;
    const LANES: usize = 8;

    fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    unsafe fn block(
        rows: usize,
        cols: usize,
        k: usize,
        a: *const f32,
        a_rs: usize,
        a_step: usize,
        b: *const f32,
        b_step: usize,
        c: *mut f32,
        ldc: usize,
        beta: f32,
    ) {
        macro_rules! by_rows {
            ($v:literal, $masked:literal; $($r:literal)*) => {
                match rows {
                    // SAFETY: forwarded from the caller.
                    $($r => unsafe {
                        kernel_rv::<$r, $v, $masked>(k, a, a_rs, a_step, b, b_step, c, ldc, cols, beta)
                    },)*
                    _ => unreachable!("rows <= 6"),
                }
            };
        }
        // Whole vectors take plain loads and stores: masked ones cost more on most CPUs.
        match (cols > 8, !cols.is_multiple_of(8)) {
            (true, false) => by_rows!(2, false; 1 2 3 4 5 6),
            (true, true) => by_rows!(2, true; 1 2 3 4 5 6),
            (false, false) => by_rows!(1, false; 1 2 3 4 5 6),
            (false, true) => by_rows!(1, true; 1 2 3 4 5 6),
        }
    }
}

/// c[r, s] = Σ_p a[r·a_rs + p·a_step]·b[p·b_step + s] + beta·c[r·ldc + s] for r < R, s < cols;
/// cols lies in 8·(V-1) + 1 ..= 8·V, and is 8·V unless MASKED. The sum runs p = 0, 1, ...,
/// k-1.
///
/// # Safety
/// AVX2 and FMA are available; the elements named above lie inside their buffers (the
/// masked-off lanes are neither read nor written).
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_rv<const R: usize, const V: usize, const MASKED: bool>(
    k: usize,
    a: *const f32,
    a_rs: usize,
    a_step: usize,
    b: *const f32,
    b_step: usize,
    c: *mut f32,
    ldc: usize,
    cols: usize,
    beta: f32,
) {
    // The last vector's lanes; the others are whole.
    let last = V - 1;
    let tail = if MASKED { cols - 8 * last } else { 8 };
    // SAFETY: 1 <= tail <= 8, so the 8 values from 8 - tail lie inside LANE_MASKS.
    let mask = unsafe { _mm256_loadu_si256(LANE_MASKS.as_ptr().add(8 - tail).cast()) };
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    let (mut a, mut b) = (a, b);
    for _ in 0..k {
        // As in the AVX-512 kernel: rows read in place lie a stride apart, a pattern the
        // hardware prefetchers follow poorly.
        let (pa, pb) = (
            a.wrapping_add(PREFETCH * a_step),
            b.wrapping_add(PREFETCH * b_step),
        );
        _mm_prefetch::<_MM_HINT_T0>(pa as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(pb as *const i8);
        let mut bv = [_mm256_setzero_ps(); V];
        for (v, bv) in bv.iter_mut().enumerate() {
            // SAFETY: the selected lanes of row p of b are inside b (caller).
            *bv = unsafe {
                if MASKED && v == last {
                    _mm256_maskload_ps(b.add(8 * v), mask)
                } else {
                    _mm256_loadu_ps(b.add(8 * v))
                }
            };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: a[r·a_rs + p·a_step] is inside a for r < R (caller).
            let av = _mm256_set1_ps(unsafe { *a.add(r * a_rs) });
            for (acc, &bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm256_fmadd_ps(av, bv, *acc);
            }
        }
        (a, b) = (a.wrapping_add(a_step), b.wrapping_add(b_step));
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, &acc) in acc.iter().enumerate() {
            let masked = MASKED && v == last;
            // SAFETY: the selected lanes of row r of the block are inside c (caller).
            unsafe {
                let dst = c.add(r * ldc + 8 * v);
                let value = if beta == 0.0 {
                    acc
                } else {
                    let old = if masked {
                        _mm256_maskload_ps(dst, mask)
                    } else {
                        _mm256_loadu_ps(dst)
                    };
                    if beta == 1.0 {
                        _mm256_add_ps(acc, old)
                    } else {
                        _mm256_fmadd_ps(_mm256_set1_ps(beta), old, acc)
                    }
                };
                if masked {
                    _mm256_maskstore_ps(dst, mask, value);
                } else {
                    _mm256_storeu_ps(dst, value);
                }
            }
        }
    }
}

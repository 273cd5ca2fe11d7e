//! The AVX-512 kernel: blocks of 12 rows by 32 columns of c (two 16-lane vectors), 24
//! accumulators in registers; column tails by masked loads and stores.
//!
//! For p = 0, 1, ..., k-1 it loads row p of b's 32 columns and adds a[i, p]·b[p, ..] to
//! each row i of the block, so every element of c is the same chain of fused multiply-adds
//! in the same order whatever block it falls in.

use std::arch::x86_64::*;

use super::plan::MicroKernel;

/// How many steps of the sum over k ahead the kernel prefetches its operands.
const PREFETCH: usize = 24;

/// The AVX-512F kernel (`GemmKernel::Avx512`).
pub(super) struct Avx512;

impl MicroKernel for Avx512 {
    const MR: usize = 12;
    const NR: usize = 32;
    const LANES: usize = 16;

    fn available() -> bool {
        is_x86_feature_detected!("avx512f")
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
        // SAFETY: forwarded from the caller.
        unsafe { kernel(rows, cols, k, a, a_rs, a_step, b, b_step, c, ldc, beta) }
    }
}

/// The first `lanes` (0 to 16) lanes.
fn mask(lanes: usize) -> __mmask16 {
    if lanes >= 16 {
        0xffff
    } else {
        (1u16 << lanes) - 1
    }
}

/// Dispatch to the kernel compiled for this many rows and vectors.
///
/// # Safety
/// AVX-512F is available; `rows` <= 12, 1 <= `cols` <= 32; the reads and writes of
/// `kernel_rv` lie inside their buffers.
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
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
    let masks = [mask(cols), mask(cols.saturating_sub(16))];
    macro_rules! by_rows {
        ($v:literal; $($r:literal)*) => {
            match rows {
                // SAFETY: forwarded from the caller.
                $($r => unsafe { kernel_rv::<$r, $v>(k, a, a_rs, a_step, b, b_step, c, ldc, masks, beta) },)*
                _ => unreachable!("rows <= 12"),
            }
        };
    }
    if cols > 16 {
        by_rows!(2; 1 2 3 4 5 6 7 8 9 10 11 12)
    } else {
        by_rows!(1; 1 2 3 4 5 6 7 8 9 10 11 12)
    }
}

/// c[r, s] = Σ_p a[r·a_rs + p·a_step]·b[p·b_step + s] + beta·c[r·ldc + s] for r < R and the
/// lanes s of the V vectors that `masks` selects; the sum runs p = 0, 1, ..., k-1.
///
/// # Safety
/// AVX-512F is available; the elements named above lie inside their buffers (the
/// masked-off lanes are neither read nor written).
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_rv<const R: usize, const V: usize>(
    k: usize,
    a: *const f32,
    a_rs: usize,
    a_step: usize,
    b: *const f32,
    b_step: usize,
    c: *mut f32,
    ldc: usize,
    masks: [__mmask16; 2],
    beta: f32,
) {
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let (mut a, mut b) = (a, b);
    for _ in 0..k {
        // Rows of a and b read in place lie a stride apart, a pattern the hardware
        // prefetchers follow poorly when the rows are not in this core's cache yet.
        let (pa, pb) = (
            a.wrapping_add(PREFETCH * a_step),
            b.wrapping_add(PREFETCH * b_step),
        );
        _mm_prefetch::<_MM_HINT_T0>(pa as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(pb as *const i8);
        if V == 2 {
            _mm_prefetch::<_MM_HINT_T0>(pb.wrapping_add(16) as *const i8);
        }
        let mut bv = [_mm512_setzero_ps(); V];
        for (v, bv) in bv.iter_mut().enumerate() {
            // SAFETY: the selected lanes of row p of b are inside b (caller).
            *bv = unsafe { _mm512_maskz_loadu_ps(masks[v], b.add(16 * v)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: a[r·a_rs + p·a_step] is inside a for r < R (caller).
            let av = _mm512_set1_ps(unsafe { *a.add(r * a_rs) });
            for (acc, &bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(av, bv, *acc);
            }
        }
        (a, b) = (a.wrapping_add(a_step), b.wrapping_add(b_step));
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, &acc) in acc.iter().enumerate() {
            // SAFETY: the selected lanes of row r of the block are inside c (caller).
            unsafe {
                let dst = c.add(r * ldc + 16 * v);
                let value = if beta == 0.0 {
                    acc
                } else if beta == 1.0 {
                    _mm512_add_ps(acc, _mm512_maskz_loadu_ps(masks[v], dst))
                } else {
                    let old = _mm512_maskz_loadu_ps(masks[v], dst);
                    _mm512_fmadd_ps(_mm512_set1_ps(beta), old, acc)
                };
                _mm512_mask_storeu_ps(dst, masks[v], value);
            }
        }
    }
}

//! The register-blocked kernels of `Direct`: 12 rows (output pixels, or patch rows) x 32
//! channels, reading the images through an offset table (see `conv_direct`).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Pixels ahead whose gradient rows the weight gradient fetches: the first layer's
/// gradient (3.2 MB a batch of 32) outgrows the L2 cache, and reading it was the kernel's
/// bottleneck.
#[cfg(target_arch = "x86_64")]
const PREFETCH_PIXELS: usize = 16;

/// Which product a block computes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Rows are output pixels; the sum runs over the patch.
    Forward,
    /// Rows are patch rows; the sum runs over the output pixels.
    WeightGrad,
}

/// The output pixels of a batch, for the weight gradient: `images` padded images of
/// `image_len` values, `rows` x `cols` windows starting `row_step` and `col_step` apart.
#[derive(Clone, Copy, Default)]
pub(super) struct Pixels {
    pub(super) images: usize,
    pub(super) image_len: usize,
    pub(super) rows: usize,
    pub(super) row_step: usize,
    pub(super) cols: usize,
    pub(super) col_step: usize,
}

/// The first `lanes` (0 to 16) lanes.
#[cfg(target_arch = "x86_64")]
pub(super) fn mask(lanes: usize) -> __mmask16 {
    if lanes >= 16 {
        0xffff
    } else {
        (1u16 << lanes) - 1
    }
}

/// Elsewhere `available()` is false, so no block is ever run.
///
/// # Safety
/// Never called.
#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn block(
    _: Kind,
    _: usize,
    _: usize,
    _: *const f32,
    _: usize,
    _: &[usize],
    _: *const f32,
    _: usize,
    _: *mut f32,
    _: *mut f32,
    _: usize,
    _: Pixels,
) {
    unreachable!("the direct conv kernels run only where available() is true")
}

/// Dispatch to the kernel compiled for this many rows and vectors.
///
/// # Safety
/// AVX-512F is available; 1 <= rows <= 12, 1 <= cols <= 32; the reads and writes of the
/// kernels lie inside their buffers.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn block(
    kind: Kind,
    rows: usize,
    cols: usize,
    a: *const f32,
    a_rs: usize,
    offsets: &[usize],
    b: *const f32,
    ldb: usize,
    bias: *mut f32,
    c: *mut f32,
    ldc: usize,
    pixels: Pixels,
) {
    let masks = [mask(cols), mask(cols.saturating_sub(16))];
    macro_rules! by_rows {
        ($v:literal; $($r:literal)*) => {
            match (kind, rows) {
                // SAFETY: forwarded from the caller.
                $((Kind::Forward, $r) => unsafe {
                    forward_rv::<$r, $v>(a, a_rs, offsets, b, ldb, bias, c, ldc, masks)
                },)*
                // SAFETY: forwarded from the caller.
                $((Kind::WeightGrad, $r) => unsafe {
                    match bias.is_null() {
                        true => weight_grad_rv::<$r, $v, false>(
                            a, offsets, b, ldb, c, ldc, masks, pixels, bias,
                        ),
                        false => weight_grad_rv::<$r, $v, true>(
                            a, offsets, b, ldb, c, ldc, masks, pixels, bias,
                        ),
                    }
                },)*
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

/// c[r, s] = Σ_t a[r·a_rs + offsets[t]]·b[t·ldb + s] + bias[s] for r < R and the lanes s of
/// the V vectors that `masks` selects; the sum runs t = 0, 1, ... from zero, then the bias
/// is added (the im2col product's order).
///
/// # Safety
/// AVX-512F is available; the elements named above lie inside their buffers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_rv<const R: usize, const V: usize>(
    a: *const f32,
    a_rs: usize,
    offsets: &[usize],
    b: *const f32,
    ldb: usize,
    bias: *const f32,
    c: *mut f32,
    ldc: usize,
    masks: [__mmask16; 2],
) {
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let mut b = b;
    for &off in offsets {
        let mut bv = [_mm512_setzero_ps(); V];
        for (v, bv) in bv.iter_mut().enumerate() {
            // SAFETY: the selected lanes of weight row t are inside b (caller).
            *bv = unsafe { _mm512_maskz_loadu_ps(masks[v], b.add(16 * v)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: inside a (caller).
            let av = _mm512_set1_ps(unsafe { *a.add(r * a_rs + off) });
            for (acc, &bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(av, bv, *acc);
            }
        }
        b = b.wrapping_add(ldb);
    }
    for v in 0..V {
        // SAFETY: the selected lanes of the bias are inside it (caller).
        let bias = unsafe { _mm512_maskz_loadu_ps(masks[v], bias.add(16 * v)) };
        for (r, acc) in acc.iter().enumerate() {
            // SAFETY: the selected lanes of row r of the block are inside c (caller).
            unsafe {
                _mm512_mask_storeu_ps(
                    c.add(r * ldc + 16 * v),
                    masks[v],
                    _mm512_add_ps(acc[v], bias),
                )
            };
        }
    }
}

/// c[r, s] += Σ_p a[window(p) + offsets[r]]·b[p·ldb + s] for r < R and the selected lanes
/// s, p running over `pixels` in batch order (image, row, column) from zero; the sum is
/// then added to c. With `BIAS`, also grad_bias[s] += Σ_p b[p·ldb + s], summed the same way
/// (the order of the column sums of g over its rows).
///
/// # Safety
/// AVX-512F is available; every window of `pixels` plus each offset lies inside a, b holds
/// one row of ldb values per pixel (the selected lanes read), the block of c is inside it,
/// and with `BIAS` the selected lanes of grad_bias.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn weight_grad_rv<const R: usize, const V: usize, const BIAS: bool>(
    a: *const f32,
    offsets: &[usize],
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    masks: [__mmask16; 2],
    pixels: Pixels,
    grad_bias: *mut f32,
) {
    let mut off = [0usize; R];
    off.copy_from_slice(&offsets[..R]);
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let mut bias_acc = [_mm512_setzero_ps(); V];
    let ahead = PREFETCH_PIXELS * ldb;
    let mut b = b;
    for image in 0..pixels.images {
        for row in 0..pixels.rows {
            let mut a = a.wrapping_add(image * pixels.image_len + row * pixels.row_step);
            for _ in 0..pixels.cols {
                for v in 0..V {
                    // A hint only: it never faults, even past the end of b.
                    _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(ahead + 16 * v).cast());
                }
                let mut bv = [_mm512_setzero_ps(); V];
                for (v, bv) in bv.iter_mut().enumerate() {
                    // SAFETY: the selected lanes of this pixel's gradient row (caller).
                    *bv = unsafe { _mm512_maskz_loadu_ps(masks[v], b.add(16 * v)) };
                }
                if BIAS {
                    for (acc, &bv) in bias_acc.iter_mut().zip(&bv) {
                        *acc = _mm512_add_ps(*acc, bv);
                    }
                }
                for (acc, &o) in acc.iter_mut().zip(&off) {
                    // SAFETY: inside the window (caller).
                    let av = _mm512_set1_ps(unsafe { *a.add(o) });
                    for (acc, &bv) in acc.iter_mut().zip(&bv) {
                        *acc = _mm512_fmadd_ps(av, bv, *acc);
                    }
                }
                a = a.wrapping_add(pixels.col_step);
                b = b.wrapping_add(ldb);
            }
        }
    }
    let rows = acc.iter().map(|acc| acc.as_slice()).enumerate();
    let bias_row = BIAS.then_some((usize::MAX, bias_acc.as_slice()));
    for (r, acc) in rows.chain(bias_row) {
        for (v, &acc) in acc.iter().enumerate() {
            // SAFETY: the selected lanes of row r of the block are inside c, and with BIAS
            // those of grad_bias (caller).
            unsafe {
                let dst = match r {
                    usize::MAX => grad_bias.add(16 * v),
                    r => c.add(r * ldc + 16 * v),
                };
                let old = _mm512_maskz_loadu_ps(masks[v], dst);
                _mm512_mask_storeu_ps(dst, masks[v], _mm512_add_ps(acc, old));
            }
        }
    }
}

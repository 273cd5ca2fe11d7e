//! The int8 products: `acc[r, j] = Σ_k x[r, k] · w[j, k]` in i32, for `x` (rows, k) and the
//! transposed weights `w` (n_out, k), both row-major with `k` a multiple of `K_ALIGN`
//! (zero padded). Sums wrap like the vector instructions; with at most `MAX_INT8_INPUTS`
//! inputs no sum can wrap, so every kernel gives the exact product.

use super::Int8Kernel;

/// Rows of `x` and `w` are padded to a multiple of this many bytes (one AVX-512 register).
pub const K_ALIGN: usize = 64;

/// `acc` (rows, n_out) = x · wᵀ with `kernel`; `col_sums[j]` = 128 · Σ_k w[j, k] (the
/// correction the VNNI kernel needs for its unsigned operand). Panics when `kernel` is
/// not available on this CPU (a programming error: callers take `int8_kernel()`).
pub fn product(
    kernel: Int8Kernel,
    x: &[i8],
    w: &[i8],
    k: usize,
    col_sums: &[i32],
    acc: &mut [i32],
) {
    assert!(k > 0 && k.is_multiple_of(K_ALIGN));
    assert!(x.len().is_multiple_of(k) && w.len().is_multiple_of(k));
    let (rows, n_out) = (x.len() / k, w.len() / k);
    assert_eq!(acc.len(), rows * n_out);
    assert_eq!(col_sums.len(), n_out);
    assert!(
        kernel.is_available(),
        "the {} kernel needs a CPU that has it",
        kernel.name()
    );
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has the features (checked above); the slices hold rows x k and
        // n_out x k bytes, which is all the kernels read.
        Int8Kernel::Vnni => unsafe { x86::vnni(x, w, k, col_sums, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Int8Kernel::Avx2 => unsafe { x86::avx2(x, w, k, acc) },
        _ => portable(x, w, k, acc),
    }
}

/// Plain loops: each output one dot product of i8 values in i32.
fn portable(x: &[i8], w: &[i8], k: usize, acc: &mut [i32]) {
    let n_out = w.len() / k;
    for (x_row, acc_row) in x.chunks_exact(k).zip(acc.chunks_exact_mut(n_out.max(1))) {
        for (w_row, a) in w.chunks_exact(k).zip(acc_row.iter_mut()) {
            *a = x_row
                .iter()
                .zip(w_row)
                .fold(0i32, |s, (&p, &q)| s.wrapping_add(p as i32 * q as i32));
        }
    }
}

/// Outputs per block of columns: their weights (64 x k bytes) stay in L2 while every row
/// passes over them, instead of all the weights streaming once per tile of rows.
const COL_BLOCK: usize = 64;

/// Run `block(r, j, full)` over tiles of `R` x `C` outputs (`full`), block of columns by
/// block of columns, the edges output by output.
fn tiles<const R: usize, const C: usize>(
    rows: usize,
    n_out: usize,
    mut block: impl FnMut(usize, usize, bool),
) {
    for jb in (0..n_out).step_by(COL_BLOCK) {
        let j_end = (jb + COL_BLOCK).min(n_out);
        for r0 in (0..rows).step_by(R) {
            for j0 in (jb..j_end).step_by(C) {
                if r0 + R <= rows && j0 + C <= j_end {
                    block(r0, j0, true);
                } else {
                    for r in r0..(r0 + R).min(rows) {
                        for j in j0..(j0 + C).min(j_end) {
                            block(r, j, false);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::tiles;

    /// Rows x columns of one VNNI tile: 16 accumulators, 4 + 4 operands of 32 registers.
    const VR: usize = 4;
    const VC: usize = 4;
    /// Rows x columns of one AVX2 tile: 8 accumulators, 4 + 1 operands of 16 registers.
    const AR: usize = 2;
    const AC: usize = 4;

    /// # Safety
    /// The CPU has AVX-512F, BW and VNNI; `x`, `w` hold whole rows of `k` bytes, `k` a
    /// multiple of 64.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn vnni(x: &[i8], w: &[i8], k: usize, col_sums: &[i32], acc: &mut [i32]) {
        let (rows, n_out) = (x.len() / k, w.len() / k);
        tiles::<VR, VC>(rows, n_out, |r0, j0, full| {
            // SAFETY: the caller's guarantees; tiles stay inside rows x n_out.
            unsafe {
                if full {
                    vnni_tile::<VR, VC>(x, w, k, col_sums, acc, n_out, r0, j0)
                } else {
                    vnni_tile::<1, 1>(x, w, k, col_sums, acc, n_out, r0, j0)
                }
            }
        });
    }

    /// One `R` x `C` tile of VNNI products: x is shifted to unsigned (x + 128, a flip of
    /// the top bit) for `vpdpbusd`, and 128 · Σ w is taken back off at the end.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn vnni_tile<const R: usize, const C: usize>(
        x: &[i8],
        w: &[i8],
        k: usize,
        col_sums: &[i32],
        acc: &mut [i32],
        n_out: usize,
        r0: usize,
        j0: usize,
    ) {
        let flip = _mm512_set1_epi8(-128);
        let mut sums = [[_mm512_setzero_si512(); C]; R];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for kk in (0..k).step_by(64) {
            let mut wv = [_mm512_setzero_si512(); C];
            for (c, v) in wv.iter_mut().enumerate() {
                // SAFETY: row j0 + c of w has k bytes from kk.
                *v = unsafe { _mm512_loadu_si512(wp.add((j0 + c) * k + kk).cast()) };
            }
            for (r, row) in sums.iter_mut().enumerate() {
                // SAFETY: row r0 + r of x has k bytes from kk.
                let xv = unsafe { _mm512_loadu_si512(xp.add((r0 + r) * k + kk).cast()) };
                let xu = _mm512_xor_si512(xv, flip);
                for (s, &wc) in row.iter_mut().zip(&wv) {
                    *s = _mm512_dpbusd_epi32(*s, xu, wc);
                }
            }
        }
        for (r, row) in sums.iter().enumerate() {
            for (c, s) in row.iter().enumerate() {
                acc[(r0 + r) * n_out + j0 + c] =
                    _mm512_reduce_add_epi32(*s).wrapping_sub(col_sums[j0 + c]);
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2; `x`, `w` hold whole rows of `k` bytes, `k` a multiple of 16.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2(x: &[i8], w: &[i8], k: usize, acc: &mut [i32]) {
        let (rows, n_out) = (x.len() / k, w.len() / k);
        tiles::<AR, AC>(rows, n_out, |r0, j0, full| {
            // SAFETY: the caller's guarantees; tiles stay inside rows x n_out.
            unsafe {
                if full {
                    avx2_tile::<AR, AC>(x, w, k, acc, n_out, r0, j0)
                } else {
                    avx2_tile::<1, 1>(x, w, k, acc, n_out, r0, j0)
                }
            }
        });
    }

    /// One `R` x `C` tile: 16 bytes at a time widened to i16, multiplied and summed in
    /// pairs into i32 by `vpmaddwd` (exact: |x · w| ≤ 127², two of them fit).
    #[target_feature(enable = "avx2")]
    unsafe fn avx2_tile<const R: usize, const C: usize>(
        x: &[i8],
        w: &[i8],
        k: usize,
        acc: &mut [i32],
        n_out: usize,
        r0: usize,
        j0: usize,
    ) {
        let mut sums = [[_mm256_setzero_si256(); C]; R];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for kk in (0..k).step_by(16) {
            let mut wv = [_mm256_setzero_si256(); C];
            for (c, v) in wv.iter_mut().enumerate() {
                // SAFETY: row j0 + c of w has k bytes from kk.
                *v = _mm256_cvtepi8_epi16(unsafe {
                    _mm_loadu_si128(wp.add((j0 + c) * k + kk).cast())
                });
            }
            for (r, row) in sums.iter_mut().enumerate() {
                // SAFETY: row r0 + r of x has k bytes from kk.
                let xv = _mm256_cvtepi8_epi16(unsafe {
                    _mm_loadu_si128(xp.add((r0 + r) * k + kk).cast())
                });
                for (s, &wc) in row.iter_mut().zip(&wv) {
                    *s = _mm256_add_epi32(*s, _mm256_madd_epi16(xv, wc));
                }
            }
        }
        for (r, row) in sums.iter().enumerate() {
            for (c, s) in row.iter().enumerate() {
                acc[(r0 + r) * n_out + j0 + c] = hsum256(*s);
            }
        }
    }

    /// The sum of the eight i32 lanes (wrapping).
    #[target_feature(enable = "avx2")]
    fn hsum256(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Random rows with the extremes (-128 cannot come from quantization but must not
    /// break the kernels either) and zero padding past `used` of every `k`.
    fn random(rows: usize, k: usize, used: usize, rng: &mut impl Rng) -> Vec<i8> {
        let mut v = vec![0i8; rows * k];
        for row in v.chunks_exact_mut(k) {
            for b in &mut row[..used] {
                *b = match rng.gen_range(0..10) {
                    0 => 127,
                    1 => -127,
                    _ => rng.gen_range(-127..=127),
                };
            }
        }
        v
    }

    #[test]
    fn every_kernel_gives_the_exact_product() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (rows, n_out, used) in [
            (1usize, 1usize, 1usize),
            (5, 7, 50),
            (9, 13, 130),
            (4, 8, 64),
            (3, 33, 200),
        ] {
            let k = used.div_ceil(K_ALIGN) * K_ALIGN;
            let x = random(rows, k, used, &mut rng);
            let w = random(n_out, k, used, &mut rng);
            let col_sums: Vec<i32> = w
                .chunks_exact(k)
                .map(|r| 128 * r.iter().map(|&v| v as i32).sum::<i32>())
                .collect();
            let mut expected = vec![0i32; rows * n_out];
            for r in 0..rows {
                for j in 0..n_out {
                    expected[r * n_out + j] = (0..used)
                        .map(|i| x[r * k + i] as i64 * w[j * k + i] as i64)
                        .sum::<i64>() as i32;
                }
            }
            for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
                let mut acc = vec![0i32; rows * n_out];
                product(kernel, &x, &w, k, &col_sums, &mut acc);
                assert_eq!(acc, expected, "{kernel:?} on {rows}x{used}x{n_out}");
            }
        }
    }
}

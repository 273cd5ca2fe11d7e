//! The int8 products: `acc[r, j] = Σ_k x[r, k] · w[k, j]` in i32, on weights packed with
//! the outputs along the vector lanes, so a kernel never sums across a register:
//! blocks of `LANES` outputs, each a run of groups of `GROUP` inputs, each group 64 bytes
//! (`LANES` outputs x `GROUP` inputs). One row's `GROUP` input bytes, broadcast, meet a
//! whole group in one instruction (`vpdpbusd`: 16 outputs x 4 inputs). Inputs are padded
//! to a multiple of `GROUP` and outputs to a multiple of `LANES`, with zero weights.
//! Sums wrap like the vector instructions; with at most `MAX_INT8_INPUTS` inputs no sum
//! can wrap, so every kernel gives the exact product.

use super::Int8Kernel;

/// Outputs per block: the i32 lanes of one AVX-512 register.
pub const LANES: usize = 16;
/// Inputs per group: the bytes `vpdpbusd` sums into one i32 lane.
pub const GROUP: usize = 4;
/// Bytes of one group of one block.
const GROUP_BYTES: usize = LANES * GROUP;

/// The byte the quantized inputs are XORed with for `kernel`: the VNNI kernel multiplies
/// unsigned inputs (`q + 128`, the top bit flipped) by signed weights.
pub fn input_flip(kernel: Int8Kernel) -> u8 {
    match kernel {
        Int8Kernel::Vnni => 0x80,
        _ => 0,
    }
}

/// `values` (n_in, n_out) row-major packed for the kernels (blocks x groups x outputs x
/// inputs, zero padded), and 128 · Σ_k w[k, j] per padded output (the VNNI correction).
pub fn pack(values: &[i8], n_in: usize, n_out: usize) -> (Vec<i8>, Vec<i32>) {
    let groups = n_in.div_ceil(GROUP);
    let blocks = n_out.div_ceil(LANES);
    let mut packed = vec![0i8; blocks * groups * GROUP_BYTES];
    let mut sums = vec![0i32; blocks * LANES];
    for (k, row) in values.chunks_exact(n_out.max(1)).take(n_in).enumerate() {
        let (g, t) = (k / GROUP, k % GROUP);
        for (j, &v) in row.iter().enumerate() {
            let (b, lane) = (j / LANES, j % LANES);
            packed[((b * groups + g) * LANES + lane) * GROUP + t] = v;
            sums[j] += 128 * v as i32;
        }
    }
    (packed, sums)
}

/// `acc` (rows, n_pad) = x · W with `kernel`: `x` (rows, groups · `GROUP`) quantized and
/// XORed with `input_flip(kernel)`, `w` from `pack`, `col_sums` its sums (n_pad). Panics
/// when `kernel` is not available on this CPU (a programming error: callers take
/// `int8_kernel()`) or the sizes disagree.
pub fn product(
    kernel: Int8Kernel,
    x: &[i8],
    groups: usize,
    w: &[i8],
    col_sums: &[i32],
    acc: &mut [i32],
) {
    let n_pad = col_sums.len();
    assert!(n_pad.is_multiple_of(LANES));
    assert_eq!(w.len(), n_pad / LANES * groups * GROUP_BYTES);
    let k4 = groups * GROUP;
    let rows = x
        .len()
        .checked_div(k4)
        .unwrap_or_else(|| acc.len() / n_pad.max(1));
    assert_eq!(x.len(), rows * k4);
    assert_eq!(acc.len(), rows * n_pad);
    assert!(
        kernel.is_available(),
        "the {} kernel needs a CPU that has it",
        kernel.name()
    );
    if rows == 0 || n_pad == 0 {
        return;
    }
    let shape = Shape {
        rows,
        groups,
        n_pad,
    };
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has the features (checked above); the slices have the sizes
        // checked above, which is all the kernels read and write.
        Int8Kernel::Vnni => unsafe { x86::vnni(x, w, col_sums, acc, shape) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Int8Kernel::Avx2 => unsafe { x86::avx2(x, w, acc, shape) },
        _ => portable(x, w, acc, shape),
    }
}

/// Where `product_f32` writes: `out` (rows, n_out) row-major gets `(acc · s_x) · s_j`,
/// plus `b_j` when `bias` is not empty, the operations (and so the bits) of
/// `int8::dequantize`.
pub struct F32Out<'a> {
    /// (rows, n_out), row-major.
    pub out: &'a mut [f32],
    /// One scale per row of x.
    pub x_scales: &'a [f32],
    /// One scale per output (n_out).
    pub scales: &'a [f32],
    /// One bias per output (n_out), or empty for none.
    pub bias: &'a [f32],
}

/// True when `product_f32` runs on `kernel` (else the caller takes `product` and
/// dequantizes the i32 sums itself).
pub fn has_f32_out(kernel: Int8Kernel) -> bool {
    kernel == Int8Kernel::Vnni
}

/// `product` with the dequantization done as each tile is stored, so that the i32 sums
/// never go to memory (one pass over the batch fewer, the one that cost most in small
/// layers). Only for kernels that `has_f32_out`; panics otherwise or when the sizes
/// disagree.
pub fn product_f32(
    kernel: Int8Kernel,
    x: &[i8],
    groups: usize,
    w: &[i8],
    col_sums: &[i32],
    dst: F32Out,
) {
    let n_pad = col_sums.len();
    let n_out = dst.scales.len();
    assert!(n_pad.is_multiple_of(LANES) && n_out <= n_pad && n_pad - n_out < LANES);
    assert_eq!(w.len(), n_pad / LANES * groups * GROUP_BYTES);
    let rows = dst.x_scales.len();
    assert_eq!(x.len(), rows * groups * GROUP);
    assert_eq!(dst.out.len(), rows * n_out);
    assert!(dst.bias.is_empty() || dst.bias.len() == n_out);
    assert!(
        has_f32_out(kernel) && kernel.is_available(),
        "the {} kernel has no f32 output here",
        kernel.name()
    );
    if rows == 0 || n_out == 0 {
        return;
    }
    let shape = Shape {
        rows,
        groups,
        n_pad,
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has the features and the slices the sizes (checked above).
    unsafe {
        x86::vnni_f32(x, w, col_sums, dst, shape)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("no f32 output off x86-64: {shape:?} {:p}", dst.out.as_ptr());
}

/// The sizes of one product.
#[derive(Debug, Clone, Copy)]
struct Shape {
    // Read by the x86-64 kernels only.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    rows: usize,
    groups: usize,
    n_pad: usize,
}

/// Plain loops over the packed layout: 16 running sums per block.
fn portable(x: &[i8], w: &[i8], acc: &mut [i32], shape: Shape) {
    let Shape { groups, n_pad, .. } = shape;
    if groups == 0 {
        acc.fill(0);
        return;
    }
    for (x_row, acc_row) in x
        .chunks_exact(groups * GROUP)
        .zip(acc.chunks_exact_mut(n_pad))
    {
        for (block, out) in w
            .chunks_exact(groups * GROUP_BYTES)
            .zip(acc_row.chunks_exact_mut(LANES))
        {
            let mut sums = [0i32; LANES];
            for (xg, wg) in x_row
                .chunks_exact(GROUP)
                .zip(block.chunks_exact(GROUP_BYTES))
            {
                for (s, wl) in sums.iter_mut().zip(wg.chunks_exact(GROUP)) {
                    let dot = xg
                        .iter()
                        .zip(wl)
                        .fold(0i32, |d, (&p, &q)| d + p as i32 * q as i32);
                    *s = s.wrapping_add(dot);
                }
            }
            out.copy_from_slice(&sums);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{F32Out, Shape, GROUP, GROUP_BYTES, LANES};

    /// Rows x blocks of one VNNI tile: 24 accumulators, 4 weight registers, 1 broadcast.
    const VR: usize = 6;
    const VC: usize = 4;
    /// Rows of one AVX2 tile (of one block): 8 accumulators, 4 weight registers.
    const AR: usize = 2;

    /// Where one tile reads and writes: its first row of x, its first block of w, its
    /// first output's correction and accumulator.
    struct Tile {
        x: *const i8,
        w: *const i8,
        sums: *const i32,
        acc: *mut i32,
        /// Bytes per row of x, i32 per row of acc, groups per block of w.
        k4: usize,
        n_pad: usize,
        groups: usize,
        /// Where the tile's results go as f32 instead of `acc` (`product_f32`).
        f32_out: Option<F32Tile>,
    }

    /// A tile's part of `F32Out`: its first row and output of `out`, its first row's
    /// scale, its first output's scale and bias (null for none).
    #[derive(Clone, Copy)]
    struct F32Tile {
        out: *mut f32,
        x_scales: *const f32,
        scales: *const f32,
        bias: *const f32,
        /// Floats per row of `out`.
        n_out: usize,
        /// Outputs from the tile's first to the last (`n_out`): the last block's mask.
        left: usize,
    }

    /// Tiles over `VC` blocks (a panel of weights that stays in L2 while every row passes),
    /// `VR` rows at a time; the edges in smaller tiles.
    ///
    /// # Safety
    /// The CPU has AVX-512F, BW and VNNI; the slices hold the sizes of `shape`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn vnni(x: &[i8], w: &[i8], sums: &[i32], acc: &mut [i32], shape: Shape) {
        // SAFETY: the caller's.
        unsafe { vnni_tiles(x, w, sums, acc.as_mut_ptr(), None, shape) }
    }

    /// `vnni` with the results dequantized into `dst` (`product_f32`).
    ///
    /// # Safety
    /// As `vnni`; `dst` holds rows x n_out values, rows scales and n_out scales (and
    /// biases, or none).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn vnni_f32(x: &[i8], w: &[i8], sums: &[i32], dst: F32Out, shape: Shape) {
        let n_out = dst.scales.len();
        let f32_out = F32Tile {
            out: dst.out.as_mut_ptr(),
            x_scales: dst.x_scales.as_ptr(),
            scales: dst.scales.as_ptr(),
            bias: if dst.bias.is_empty() {
                std::ptr::null()
            } else {
                dst.bias.as_ptr()
            },
            n_out,
            left: n_out,
        };
        // SAFETY: the caller's; no tile writes `acc` when it has an f32 output.
        unsafe { vnni_tiles(x, w, sums, std::ptr::null_mut(), Some(f32_out), shape) }
    }

    /// The tiles of `vnni` and `vnni_f32`: results into `acc` (rows, n_pad) or `f32_out`.
    ///
    /// # Safety
    /// As `vnni_f32`; `acc` holds rows x n_pad values when `f32_out` is None.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni_tiles(
        x: &[i8],
        w: &[i8],
        sums: &[i32],
        acc: *mut i32,
        f32_out: Option<F32Tile>,
        shape: Shape,
    ) {
        let Shape {
            rows,
            groups,
            n_pad,
        } = shape;
        let (k4, blocks) = (groups * GROUP, n_pad / LANES);
        for jb in (0..blocks).step_by(VC) {
            let cb = (blocks - jb).min(VC);
            for r0 in (0..rows).step_by(VR) {
                let rr = (rows - r0).min(VR);
                // SAFETY: rows r0.. and blocks jb.. are inside the slices.
                unsafe {
                    let t = Tile {
                        x: x.as_ptr().add(r0 * k4),
                        w: w.as_ptr().add(jb * groups * GROUP_BYTES),
                        sums: sums.as_ptr().add(jb * LANES),
                        acc: acc.wrapping_add(r0 * n_pad + jb * LANES),
                        k4,
                        n_pad,
                        groups,
                        f32_out: f32_out.map(|o| F32Tile {
                            out: o.out.add(r0 * o.n_out + jb * LANES),
                            x_scales: o.x_scales.add(r0),
                            scales: o.scales.add(jb * LANES),
                            bias: if o.bias.is_null() {
                                o.bias
                            } else {
                                o.bias.add(jb * LANES)
                            },
                            n_out: o.n_out,
                            left: o.n_out - jb * LANES,
                        }),
                    };
                    match cb {
                        1 => vnni_rows::<1>(&t, rr),
                        2 => vnni_rows::<2>(&t, rr),
                        3 => vnni_rows::<3>(&t, rr),
                        _ => vnni_rows::<VC>(&t, rr),
                    }
                }
            }
        }
    }

    /// # Safety
    /// As `vnni`; the tile has `rr` rows and `C` blocks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni_rows<const C: usize>(t: &Tile, rr: usize) {
        // SAFETY: the caller's.
        unsafe {
            match rr {
                1 => vnni_tile::<1, C>(t),
                2 => vnni_tile::<2, C>(t),
                3 => vnni_tile::<3, C>(t),
                4 => vnni_tile::<4, C>(t),
                5 => vnni_tile::<5, C>(t),
                _ => vnni_tile::<VR, C>(t),
            }
        }
    }

    /// One tile of `R` rows x `C` blocks: per group, each row's 4 input bytes broadcast
    /// against each block's 16 x 4 weights; 128 · Σ w taken off at the end.
    ///
    /// # Safety
    /// As `vnni_rows`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni_tile<const R: usize, const C: usize>(t: &Tile) {
        let mut acc = [[_mm512_setzero_si512(); C]; R];
        let block = t.groups * GROUP_BYTES;
        // SAFETY: every read is inside the tile's rows of x and blocks of w (the caller's).
        unsafe {
            for g in 0..t.groups {
                let mut wv = [_mm512_setzero_si512(); C];
                for (c, v) in wv.iter_mut().enumerate() {
                    *v = _mm512_loadu_si512(t.w.add(c * block + g * GROUP_BYTES).cast());
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let bytes = t.x.add(r * t.k4 + g * GROUP).cast::<i32>().read_unaligned();
                    let xb = _mm512_set1_epi32(bytes);
                    for (a, &wc) in row.iter_mut().zip(&wv) {
                        *a = _mm512_dpbusd_epi32(*a, xb, wc);
                    }
                }
            }
            let Some(o) = t.f32_out else {
                for (r, row) in acc.iter().enumerate() {
                    for (c, a) in row.iter().enumerate() {
                        let s = _mm512_loadu_si512(t.sums.add(c * LANES).cast());
                        let out = t.acc.add(r * t.n_pad + c * LANES);
                        _mm512_storeu_si512(out.cast(), _mm512_sub_epi32(*a, s));
                    }
                }
                return;
            };
            // (acc · s_x) · s_j (+ b_j), as `dequantize`: no operation fused, so the same
            // bits. The last block is masked to the outputs that exist.
            let mut sw = [_mm512_setzero_ps(); C];
            let mut bias = [_mm512_setzero_ps(); C];
            let mut masks = [0 as __mmask16; C];
            for (c, ((m, w), b)) in masks.iter_mut().zip(&mut sw).zip(&mut bias).enumerate() {
                let n = (o.left - c * LANES).min(LANES);
                *m = (((1u32 << n) - 1) & 0xFFFF) as __mmask16;
                *w = _mm512_maskz_loadu_ps(*m, o.scales.add(c * LANES));
                if !o.bias.is_null() {
                    *b = _mm512_maskz_loadu_ps(*m, o.bias.add(c * LANES));
                }
            }
            for (r, row) in acc.iter().enumerate() {
                let sx = _mm512_set1_ps(o.x_scales.add(r).read());
                for (c, a) in row.iter().enumerate() {
                    let s = _mm512_loadu_si512(t.sums.add(c * LANES).cast());
                    let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(*a, s));
                    let mut y = _mm512_mul_ps(_mm512_mul_ps(v, sx), sw[c]);
                    if !o.bias.is_null() {
                        y = _mm512_add_ps(y, bias[c]);
                    }
                    _mm512_mask_storeu_ps(o.out.add(r * o.n_out + c * LANES), masks[c], y);
                }
            }
        }
    }

    /// Tiles of `AR` rows x one block.
    ///
    /// # Safety
    /// The CPU has AVX2; the slices hold the sizes of `shape`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2(x: &[i8], w: &[i8], acc: &mut [i32], shape: Shape) {
        let Shape {
            rows,
            groups,
            n_pad,
        } = shape;
        let k4 = groups * GROUP;
        for jb in 0..n_pad / LANES {
            for r0 in (0..rows).step_by(AR) {
                // SAFETY: row r0.. and block jb are inside the slices.
                unsafe {
                    let t = Tile {
                        x: x.as_ptr().add(r0 * k4),
                        w: w.as_ptr().add(jb * groups * GROUP_BYTES),
                        sums: std::ptr::null(),
                        acc: acc.as_mut_ptr().add(r0 * n_pad + jb * LANES),
                        k4,
                        n_pad,
                        groups,
                        f32_out: None,
                    };
                    if rows - r0 >= AR {
                        avx2_tile::<AR>(&t)
                    } else {
                        avx2_tile::<1>(&t)
                    }
                }
            }
        }
    }

    /// One tile of `R` rows x one block: a group's 64 bytes widened to i16 (4 registers of
    /// 4 outputs x 4 inputs), each row's 4 inputs widened and broadcast, `vpmaddwd` summing
    /// pairs (exact: |x · w| ≤ 127², two fit); the pairs of each output added at the end.
    ///
    /// # Safety
    /// As `avx2`; the tile has `R` rows.
    #[target_feature(enable = "avx2")]
    unsafe fn avx2_tile<const R: usize>(t: &Tile) {
        let mut acc = [[_mm256_setzero_si256(); 4]; R];
        // SAFETY: every read is inside the tile's rows of x and block of w (the caller's).
        unsafe {
            for g in 0..t.groups {
                let wp = t.w.add(g * GROUP_BYTES);
                let mut wv = [_mm256_setzero_si256(); 4];
                for (q, v) in wv.iter_mut().enumerate() {
                    *v = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(16 * q).cast()));
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let bytes = t.x.add(r * t.k4 + g * GROUP).cast::<i32>().read_unaligned();
                    let xv = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(bytes)));
                    for (a, &wq) in row.iter_mut().zip(&wv) {
                        *a = _mm256_add_epi32(*a, _mm256_madd_epi16(xv, wq));
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                let out = t.acc.add(r * t.n_pad);
                // hadd gives outputs (0 1 4 5 | 2 3 6 7); the permute puts them in order.
                let lo = _mm256_permute4x64_epi64::<0xD8>(_mm256_hadd_epi32(row[0], row[1]));
                let hi = _mm256_permute4x64_epi64::<0xD8>(_mm256_hadd_epi32(row[2], row[3]));
                _mm256_storeu_si256(out.cast(), lo);
                _mm256_storeu_si256(out.add(8).cast(), hi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Random values with the extremes (-128 cannot come from quantization but must not
    /// break the kernels either).
    fn random(n: usize, rng: &mut impl Rng) -> Vec<i8> {
        (0..n)
            .map(|_| match rng.gen_range(0..10) {
                0 => 127,
                1 => -127,
                2 => -128,
                _ => rng.gen_range(-127..=127),
            })
            .collect()
    }

    /// Every kernel against i64 sums, on sizes around the tiles and the vector widths:
    /// rows not a multiple of 6 or 2, inputs not a multiple of 4, outputs not a multiple
    /// of 16 or of 64 (partial panels).
    #[test]
    fn every_kernel_gives_the_exact_product() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (rows, n_in, n_out) in [
            (1usize, 1usize, 1usize),
            (5, 7, 50),
            (9, 13, 130),
            (4, 8, 64),
            (3, 33, 200),
            (13, 36, 6),
            (7, 0, 5),
            (12, 64, 16),
            (1, 130, 17),
            (25, 5, 113),
            (6, 4, 0),
        ] {
            let x = random(rows * n_in, &mut rng);
            let values = random(n_in * n_out, &mut rng);
            let (w, sums) = pack(&values, n_in, n_out);
            let groups = n_in.div_ceil(GROUP);
            let n_pad = sums.len();
            let mut expected = vec![0i32; rows * n_out];
            for r in 0..rows {
                for j in 0..n_out {
                    expected[r * n_out + j] = (0..n_in)
                        .map(|i| x[r * n_in + i] as i64 * values[i * n_out + j] as i64)
                        .sum::<i64>() as i32;
                }
            }
            for kernel in Int8Kernel::ALL.into_iter().filter(|k| k.is_available()) {
                let flip = input_flip(kernel);
                // Padding of 7 (any value): the padded weights are zero.
                let mut xq = vec![7i8; rows * groups * GROUP];
                for r in 0..rows {
                    for i in 0..n_in {
                        xq[r * groups * GROUP + i] = (x[r * n_in + i] as u8 ^ flip) as i8;
                    }
                }
                let mut acc = vec![-1i32; rows * n_pad];
                product(kernel, &xq, groups, &w, &sums, &mut acc);
                let got: Vec<i32> = (0..rows)
                    .flat_map(|r| acc[r * n_pad..r * n_pad + n_out].to_vec())
                    .collect();
                assert_eq!(got, expected, "{kernel:?} on {rows}x{n_in}x{n_out}");
            }
        }
    }
}

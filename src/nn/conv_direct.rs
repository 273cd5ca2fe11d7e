//! The conv layer's forward product and weight gradient read straight from the images, on
//! AVX-512 (`Conv2D` uses them when the AVX-512 matrix kernel is the one chosen): no patch
//! matrix is built and no panel is packed.
//!
//! A window's k x k x c_in values lie at fixed offsets from its first value in a
//! zero-padded copy of the image, and the windows of adjacent output pixels in one output
//! row lie `stride * c_in` values apart. So the kernels are the 12 x 32 register-blocked
//! kernel of `gemm/avx512.rs` with its "row p of a" replaced by that offset table:
//! forward, blocks of 12 output pixels x 32 channels; the weight gradient, blocks of 12
//! patch rows x 32 channels, summed over every output pixel of the batch. Each output value
//! is the same chain of fused multiply-adds as the im2col product computes (the sum over
//! the patch, then + bias; the sum over the pixels in batch order, then + the old value),
//! so the results equal the im2col path's bit for bit, for any thread count.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::ImageShape;
use crate::parallel;

/// Rows (pixels or patch rows) per register block.
const MR: usize = 12;
/// Channels per register block (two 16-lane vectors).
const NR: usize = 32;
/// Below this many multiply-adds a batch runs on one thread.
const PARALLEL_MIN: usize = 1_000_000;

/// The geometry of one conv layer over padded images, and the padded copy of the batch.
#[derive(Debug, Clone)]
pub(super) struct Direct {
    input: ImageShape,
    out: ImageShape,
    stride: usize,
    padding: usize,
    /// Pixels per row of a padded image.
    padded_w: usize,
    /// Values per padded image.
    padded_len: usize,
    /// Offset of patch row (ky * k + kx) * c_in + ci from the window's first value.
    offsets: Vec<usize>,
    /// The batch's images with `padding` zeros on every side (empty when padding is 0).
    padded: Vec<f32>,
}

/// A pointer that the tasks of one pool job share; each writes its own part.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: the tasks of one job write disjoint parts (see each use).
unsafe impl Sync for Shared {}
// SAFETY: as above.
unsafe impl Send for Shared {}

impl Shared {
    /// The pointer (a method, so that a closure captures the whole `Shared`, which is
    /// `Sync`, rather than its field).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// True when this CPU runs the kernels.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

impl Direct {
    /// The plan for `input` images, `kernel` x `kernel` windows every `stride` pixels with
    /// `padding` zeros on each side, giving `out` images.
    pub(super) fn new(
        input: ImageShape,
        out: ImageShape,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Direct {
        let padded_w = input.width + 2 * padding;
        let padded_len = (input.height + 2 * padding) * padded_w * input.channels;
        let c = input.channels;
        let offsets = (0..kernel)
            .flat_map(|ky| (0..kernel * c).map(move |q| ky * padded_w * c + q))
            .collect();
        Direct {
            input,
            out,
            stride,
            padding,
            padded_w,
            padded_len,
            offsets,
            padded: Vec::new(),
        }
    }

    /// The images `x` (n, h * w * c_in), padded when the layer pads (into `padded`), and
    /// the offset table: n padded images.
    fn pad<'a>(&'a mut self, x: &'a [f32]) -> (&'a [f32], &'a [usize]) {
        if self.padding == 0 {
            return (x, &self.offsets);
        }
        let (w, c, p) = (self.input.width, self.input.channels, self.padding);
        let n = x.len() / self.input.len();
        self.padded.clear();
        self.padded.resize(n * self.padded_len, 0.0);
        for (image, dst) in x
            .chunks_exact(self.input.len())
            .zip(self.padded.chunks_exact_mut(self.padded_len))
        {
            for (y, row) in image.chunks_exact(w * c).enumerate() {
                let start = ((y + p) * self.padded_w + p) * c;
                dst[start..start + w * c].copy_from_slice(row);
            }
        }
        (&self.padded, &self.offsets)
    }

    /// Threads for `madds` multiply-adds split into `parts` independent parts.
    fn threads(madds: usize, parts: usize) -> usize {
        if madds < PARALLEL_MIN {
            return 1;
        }
        parallel::current().map_or(1, |pool| pool.n_threads().min(parts))
    }

    /// out (n, oh * ow * c_out) = the convolution of `x` (n, h * w * c_in) with `weights`
    /// (patch, c_out) row-major, + `bias`.
    pub(super) fn forward(&mut self, x: &[f32], weights: &[f32], bias: &[f32], out: &mut [f32]) {
        let n = x.len() / self.input.len();
        let (oh, ow, c_out) = (self.out.height, self.out.width, self.out.channels);
        let patch = self.offsets.len();
        assert!(
            weights.len() == patch * c_out
                && bias.len() == c_out
                && out.len() == n * self.out.len(),
            "conv shapes fit"
        );
        let n_threads = Self::threads(n * oh * ow * patch * c_out, n);
        let (c, stride, row_step) = (
            self.input.channels,
            self.stride,
            self.stride * self.padded_w,
        );
        let (images, offsets) = self.pad(x);
        let img_len = images.len() / n.max(1);
        let out_ptr = Shared(out.as_mut_ptr());
        let run = |t: usize| {
            for i in n * t / n_threads..n * (t + 1) / n_threads {
                for oy in 0..oh {
                    let a = &images[i * img_len + oy * row_step * c..];
                    for ox in (0..ow).step_by(MR) {
                        let rows = MR.min(ow - ox);
                        for j in (0..c_out).step_by(NR) {
                            let cols = NR.min(c_out - j);
                            let at = ((i * oh + oy) * ow + ox) * c_out + j;
                            // SAFETY: the pixels ox..ox + rows of row oy read the values
                            // a[(ox + r)·stride·c + offsets[t]], inside the padded image
                            // (the window fits); weights rows t < patch, columns j..j +
                            // cols; the block at `at` is inside out and written only by the
                            // task that owns image i. `Direct` is used only when the CPU
                            // has AVX-512F.
                            unsafe {
                                block(
                                    Kind::Forward,
                                    rows,
                                    cols,
                                    a[ox * stride * c..].as_ptr(),
                                    stride * c,
                                    offsets,
                                    weights[j..].as_ptr(),
                                    c_out,
                                    bias[j..].as_ptr(),
                                    out_ptr.get().add(at),
                                    c_out,
                                    Pixels::default(),
                                )
                            }
                        }
                    }
                }
            }
        };
        match parallel::current().filter(|_| n_threads > 1) {
            Some(pool) => pool.run(n_threads, &run),
            None => run(0),
        }
    }

    /// grad_weights (patch, c_out) += Σ over the output pixels of patchᵀ · grad_out, with
    /// `x` (n, h * w * c_in) and `grad_out` (n, oh * ow * c_out): one chain over the pixels
    /// in batch order for each weight, then added to its old value.
    pub(super) fn weight_grad(&mut self, x: &[f32], grad_out: &[f32], grad_weights: &mut [f32]) {
        let n = x.len() / self.input.len();
        let (oh, ow, c_out) = (self.out.height, self.out.width, self.out.channels);
        let patch = self.offsets.len();
        assert!(
            grad_weights.len() == patch * c_out && grad_out.len() == n * self.out.len(),
            "conv shapes fit"
        );
        // Patch rows per task: whole register blocks, or fewer rows when that is what
        // gives every thread a share.
        let n_threads = Self::threads(n * oh * ow * patch * c_out, patch.div_ceil(4));
        let per_task = patch.div_ceil(n_threads).min(MR);
        let tasks = patch.div_ceil(per_task);
        let n_threads = n_threads.min(tasks);
        let (row_step, col_step) = (
            self.stride * self.padded_w * self.input.channels,
            self.stride * self.input.channels,
        );
        let (images, offsets) = self.pad(x);
        let pixels = Pixels {
            images: n,
            image_len: images.len() / n.max(1),
            rows: oh,
            row_step,
            cols: ow,
            col_step,
        };
        let gw = Shared(grad_weights.as_mut_ptr());
        let run = |t: usize| {
            for task in (t..tasks).step_by(n_threads) {
                let r0 = task * per_task;
                let rows = per_task.min(patch - r0);
                for j in (0..c_out).step_by(NR) {
                    // SAFETY: the pixels' windows lie inside the padded images; grad_out
                    // holds n * oh * ow rows of c_out values, columns j..j + cols; patch
                    // rows r0..r0 + rows of grad_weights belong to this task alone.
                    unsafe {
                        block(
                            Kind::WeightGrad,
                            rows,
                            NR.min(c_out - j),
                            images.as_ptr(),
                            0,
                            &offsets[r0..r0 + rows],
                            grad_out[j..].as_ptr(),
                            c_out,
                            std::ptr::null(),
                            gw.get().add(r0 * c_out + j),
                            c_out,
                            pixels,
                        )
                    }
                }
            }
        };
        match parallel::current().filter(|_| n_threads > 1) {
            Some(pool) => pool.run(n_threads, &run),
            None => run(0),
        }
    }
}

/// Which product a block computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Rows are output pixels; the sum runs over the patch.
    Forward,
    /// Rows are patch rows; the sum runs over the output pixels.
    WeightGrad,
}

/// The output pixels of a batch, for the weight gradient: `images` padded images of
/// `image_len` values, `rows` x `cols` windows starting `row_step` and `col_step` apart.
#[derive(Clone, Copy, Default)]
struct Pixels {
    images: usize,
    image_len: usize,
    rows: usize,
    row_step: usize,
    cols: usize,
    col_step: usize,
}

/// The first `lanes` (0 to 16) lanes.
#[cfg(target_arch = "x86_64")]
fn mask(lanes: usize) -> __mmask16 {
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
unsafe fn block(
    _: Kind,
    _: usize,
    _: usize,
    _: *const f32,
    _: usize,
    _: &[usize],
    _: *const f32,
    _: usize,
    _: *const f32,
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
unsafe fn block(
    kind: Kind,
    rows: usize,
    cols: usize,
    a: *const f32,
    a_rs: usize,
    offsets: &[usize],
    b: *const f32,
    ldb: usize,
    bias: *const f32,
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
                    weight_grad_rv::<$r, $v>(a, offsets, b, ldb, c, ldc, masks, pixels)
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
/// then added to c.
///
/// # Safety
/// AVX-512F is available; every window of `pixels` plus each offset lies inside a, b holds
/// one row of ldb values per pixel (the selected lanes read), the block of c is inside it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn weight_grad_rv<const R: usize, const V: usize>(
    a: *const f32,
    offsets: &[usize],
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    masks: [__mmask16; 2],
    pixels: Pixels,
) {
    let mut off = [0usize; R];
    off.copy_from_slice(&offsets[..R]);
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let mut b = b;
    for image in 0..pixels.images {
        for row in 0..pixels.rows {
            let mut a = a.wrapping_add(image * pixels.image_len + row * pixels.row_step);
            for _ in 0..pixels.cols {
                let mut bv = [_mm512_setzero_ps(); V];
                for (v, bv) in bv.iter_mut().enumerate() {
                    // SAFETY: the selected lanes of this pixel's gradient row (caller).
                    *bv = unsafe { _mm512_maskz_loadu_ps(masks[v], b.add(16 * v)) };
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
    for (r, acc) in acc.iter().enumerate() {
        for (v, &acc) in acc.iter().enumerate() {
            // SAFETY: the selected lanes of row r of the block are inside c (caller).
            unsafe {
                let dst = c.add(r * ldc + 16 * v);
                let old = _mm512_maskz_loadu_ps(masks[v], dst);
                _mm512_mask_storeu_ps(dst, masks[v], _mm512_add_ps(acc, old));
            }
        }
    }
}

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
//! so the results equal the im2col path's bit for bit, for any thread count. The kernels
//! are in `kernels.rs`; a first layer's forward (one channel, 3 x 3) has its own, holding
//! the weights in registers (`single.rs`); the weight gradient also sums the bias gradient
//! from the same reads of the output gradient.

use super::ImageShape;
use crate::parallel;
use kernels::{block, Kind, Pixels};

mod kernels;
#[cfg(target_arch = "x86_64")]
mod single;

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
    /// One input channel, 3 x 3 windows, stride 1, at most 32 filters: the forward runs
    /// on the first layer's kernel (`single.rs`).
    single: bool,
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
            single: input.channels == 1 && kernel == 3 && stride == 1 && out.channels <= 32,
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
        #[cfg(target_arch = "x86_64")]
        let (single, padded_w) = (self.single, self.padded_w);
        let (images, offsets) = self.pad(x);
        let img_len = images.len() / n.max(1);
        let out_ptr = Shared(out.as_mut_ptr());
        let run = |t: usize| {
            for i in n * t / n_threads..n * (t + 1) / n_threads {
                #[cfg(target_arch = "x86_64")]
                if single {
                    for oy in 0..oh {
                        let row = single::Row {
                            input: images[i * img_len + oy * padded_w..].as_ptr(),
                            width: padded_w,
                            pixels: ow,
                            out: out_ptr.get().wrapping_add((i * oh + oy) * ow * c_out),
                        };
                        // SAFETY: the row's windows lie inside image i (3 x 3, stride 1);
                        // its ow * c_out outputs inside out, written only by the task that
                        // owns image i. `Direct` is used only when the CPU has AVX-512F.
                        unsafe { single::forward_row(row, weights, bias) };
                    }
                    continue;
                }
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
                                    bias[j..].as_ptr().cast_mut(),
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
    pub(super) fn weight_grad(
        &mut self,
        x: &[f32],
        grad_out: &[f32],
        grad_weights: &mut [f32],
        grad_bias: &mut [f32],
    ) {
        let n = x.len() / self.input.len();
        let (oh, ow, c_out) = (self.out.height, self.out.width, self.out.channels);
        let patch = self.offsets.len();
        assert!(
            grad_weights.len() == patch * c_out
                && grad_bias.len() == c_out
                && grad_out.len() == n * self.out.len(),
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
        let gb = Shared(grad_bias.as_mut_ptr());
        let run = |t: usize| {
            for task in (t..tasks).step_by(n_threads) {
                let r0 = task * per_task;
                let rows = per_task.min(patch - r0);
                for j in (0..c_out).step_by(NR) {
                    // The task of the first patch rows also sums the bias gradient.
                    let bias = match r0 {
                        0 => gb.get().wrapping_add(j),
                        _ => std::ptr::null_mut(),
                    };
                    // SAFETY: the pixels' windows lie inside the padded images; grad_out
                    // holds n * oh * ow rows of c_out values, columns j..j + cols; patch
                    // rows r0..r0 + rows of grad_weights, and the bias columns j..j + cols
                    // when r0 is 0, belong to this task alone.
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
                            bias,
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

//! 2-D convolution over images stored one per row, row-major H x W x C ("NHWC"):
//! x: (batch, h * w * c_in) -> y: (batch, out_h * out_w * c_out), again H x W x C, so a
//! dense layer can read the result directly (flattening is implicit).
//!
//! Computed as im2col + GEMM: the k x k x c_in patch under each output pixel becomes one row
//! of a patch matrix (batch * out_h * out_w, k * k * c_in), multiplied by the weights
//! (k * k * c_in, c_out). The patch matrix is rebuilt chunk by chunk (a few MB at most) in a
//! reusable buffer, in `forward` and again in `backward`, so memory does not grow with the
//! batch size and the steady-state training step allocates nothing.

use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

#[cfg(target_arch = "x86_64")]
use super::conv_direct::{self, Direct};
use super::gemm::matmul;
#[cfg(target_arch = "x86_64")]
use super::gemm::{gemm_kernel, GemmKernel};
use super::int8::Int8Matrix;
use super::int8_spec::quantize_weights;
use super::layer::visit_weights_and_bias;
use super::{Buffer, ImageShape, Layer, NetworkError};

/// Rows of the weight matrix: kernel * kernel * c_in, or `None` when it overflows.
pub(super) fn patch_len(kernel: usize, channels: usize) -> Option<usize> {
    kernel.checked_mul(kernel)?.checked_mul(channels)
}

/// Most f32 values of the patch matrix built at once (4 MB).
const COLS_BUDGET: usize = 1 << 20;

#[derive(Debug, Clone)]
/// A 2-D convolution layer over images stored one per row (see the top of this file).
/// Written to and read from a model file through `conv_spec::Conv2DSpec`.
pub struct Conv2D {
    input: ImageShape,
    output_shape: ImageShape,
    kernel: usize,
    stride: usize,
    padding: usize,
    /// (kernel * kernel * c_in, c_out); row (ky * kernel + kx) * c_in + ci.
    weights: Array2<f32>,
    /// (c_out)
    bias: Array1<f32>,
    grad_weights: Array2<f32>,
    grad_bias: Array1<f32>,
    /// Patch matrix of the current chunk, (chunk * out_h * out_w, k * k * c_in), flat.
    cols: Vec<f32>,
    /// d loss / d patch matrix of the current chunk, same shape.
    grad_cols: Vec<f32>,
    output: Buffer,
    grad_input: Buffer,
    /// The int8 weights `weights` were dequantized from (`quantize_int8`), written to the
    /// model file in their place; `None` for a trainable layer.
    int8: Option<Int8Matrix>,
    /// The kernels that read the images in place (AVX-512 only).
    #[cfg(target_arch = "x86_64")]
    direct: Direct,
}

/// The environment variable that, set to `im2col`, keeps conv layers on im2col + GEMM
/// (for measuring the direct kernels against it; read once).
#[cfg(target_arch = "x86_64")]
const CONV_ENV: &str = "CSVNN_CONV";

/// True when the products run on the AVX-512 kernels, so the direct ones (which give the
/// same bits) may replace im2col + GEMM, unless `CONV_ENV` asks for im2col.
fn use_direct() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static IM2COL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let im2col = *IM2COL.get_or_init(|| std::env::var(CONV_ENV).is_ok_and(|v| v == "im2col"));
        !im2col && gemm_kernel() == GemmKernel::Avx512 && conv_direct::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

impl Conv2D {
    /// A convolution of `input` images with `weights` (kernel * kernel * c_in, c_out), zero
    /// `padding` on every side and the given `stride`. Errors when the shapes do not fit.
    pub fn new(
        input: ImageShape,
        kernel: usize,
        stride: usize,
        padding: usize,
        weights: Array2<f32>,
        bias: Array1<f32>,
    ) -> Result<Self, NetworkError> {
        let too_large = || NetworkError::ConvTooLarge {
            input,
            kernel,
            padding,
        };
        if input.is_empty() || kernel == 0 || stride == 0 {
            return Err(NetworkError::ConvNotPositive {
                input,
                kernel,
                stride,
            });
        }
        let padded = |side: usize| padding.checked_mul(2).and_then(|p| p.checked_add(side));
        let (padded_h, padded_w) = match (padded(input.height), padded(input.width)) {
            (Some(h), Some(w)) => (h, w),
            _ => return Err(too_large()),
        };
        if padded_h < kernel || padded_w < kernel {
            return Err(NetworkError::KernelDoesNotFit {
                input,
                kernel,
                padding,
            });
        }
        let patch = patch_len(kernel, input.channels).ok_or_else(too_large)?;
        if weights.nrows() != patch || weights.ncols() == 0 || bias.len() != weights.ncols() {
            return Err(NetworkError::ConvWeightShape {
                rows: weights.nrows(),
                cols: weights.ncols(),
                bias: bias.len(),
                patch,
            });
        }
        let output_shape = ImageShape::new(
            (padded_h - kernel) / stride + 1,
            (padded_w - kernel) / stride + 1,
            weights.ncols(),
        );
        if input.checked_len().is_none() || output_shape.checked_len().is_none() {
            return Err(too_large());
        }
        Ok(Conv2D {
            input,
            output_shape,
            kernel,
            stride,
            padding,
            grad_weights: Array2::zeros(weights.raw_dim()),
            grad_bias: Array1::zeros(bias.len()),
            weights,
            bias,
            cols: Vec::new(),
            grad_cols: Vec::new(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
            int8: None,
            #[cfg(target_arch = "x86_64")]
            direct: Direct::new(input, output_shape, kernel, stride, padding),
        })
    }

    /// A copy for inference whose weights are quantized to int8 per filter (one scale per
    /// output channel as a one-byte code, `Int8Matrix::quantize`) and dequantized back
    /// (`q · s_filter`) into its f32 weights, which its forward pass reads as any conv
    /// layer's (weight-only: the inputs stay f32). It has no trainable parameters.
    pub fn quantize_int8(&self) -> Result<Conv2D, NetworkError> {
        let matrix = quantize_weights("conv2d", self.weights.view())?;
        let mut out = self.clone();
        out.set_int8(matrix);
        Ok(out)
    }

    /// Hold `matrix` as the int8 weights and its dequantized values as the f32 ones.
    pub(super) fn set_int8(&mut self, matrix: Int8Matrix) {
        self.weights = Array2::from_shape_vec(self.weights.raw_dim(), matrix.dequantized())
            .expect("the int8 matrix has the weights' shape");
        self.int8 = Some(matrix);
    }

    /// The int8 weights (with their scales) when the layer was quantized by
    /// `quantize_int8`; `weights` holds them dequantized.
    pub fn int8_weights(&self) -> Option<&Int8Matrix> {
        self.int8.as_ref()
    }

    /// The shape of the images it reads.
    pub fn input_shape(&self) -> ImageShape {
        self.input
    }

    /// The shape of the images it writes (c_out channels).
    pub fn output_shape(&self) -> ImageShape {
        self.output_shape
    }

    /// The side of the square kernel.
    pub fn kernel(&self) -> usize {
        self.kernel
    }

    /// The step between windows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The zeros added on every side.
    pub fn padding(&self) -> usize {
        self.padding
    }

    /// (kernel * kernel * c_in, c_out); row (ky * kernel + kx) * c_in + ci.
    pub fn weights(&self) -> &Array2<f32> {
        &self.weights
    }

    /// The bias, one per output channel: (c_out).
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }

    /// Output pixels per image.
    fn n_pixels(&self) -> usize {
        self.output_shape.height * self.output_shape.width
    }

    /// Images per chunk of the patch matrix.
    fn chunk_images(&self) -> usize {
        (COLS_BUDGET / (self.n_pixels() * self.weights.nrows())).max(1)
    }

    /// For output coordinate `o` and kernel offset `k`, the input coordinate, if inside.
    fn source(&self, o: usize, k: usize, size: usize) -> Option<usize> {
        (o * self.stride + k)
            .checked_sub(self.padding)
            .filter(|&i| i < size)
    }

    /// Fill `self.cols` with the patches of the images `x` (n, h * w * c_in).
    fn im2col(&mut self, x: ArrayView2<f32>) {
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout is contiguous");
        let (k, c) = (self.kernel, self.input.channels);
        let (h, w) = (self.input.height, self.input.width);
        let (oh, ow) = (self.output_shape.height, self.output_shape.width);
        let patch = k * k * c;
        let n = x.len() / self.input.len();
        let mut cols = std::mem::take(&mut self.cols);
        cols.resize(n * oh * ow * patch, 0.0);
        for (image, rows) in x
            .chunks_exact(self.input.len())
            .zip(cols.chunks_exact_mut(oh * ow * patch))
        {
            for (p, row) in rows.chunks_exact_mut(patch).enumerate() {
                let (oy, ox) = (p / ow, p % ow);
                // The first input column of the window, when the whole window row is inside.
                let x0 = (ox * self.stride)
                    .checked_sub(self.padding)
                    .filter(|&x0| x0 + k <= w);
                for ky in 0..k {
                    let iy = self.source(oy, ky, h);
                    let dst_row = &mut row[ky * k * c..(ky + 1) * k * c];
                    match (iy, x0) {
                        (None, _) => dst_row.fill(0.0),
                        // One copy of k * c contiguous values.
                        (Some(iy), Some(x0)) => dst_row
                            .copy_from_slice(&image[(iy * w + x0) * c..(iy * w + x0 + k) * c]),
                        (Some(iy), None) => {
                            for (kx, dst) in dst_row.chunks_exact_mut(c).enumerate() {
                                match self.source(ox, kx, w) {
                                    Some(ix) => dst.copy_from_slice(
                                        &image[(iy * w + ix) * c..(iy * w + ix + 1) * c],
                                    ),
                                    None => dst.fill(0.0),
                                }
                            }
                        }
                    }
                }
            }
        }
        self.cols = cols;
    }

    /// Add `self.grad_cols` back onto the images they came from: `grad_x` (n, h * w * c_in).
    fn col2im(&self, mut grad_x: ArrayViewMut2<f32>) {
        let (k, c) = (self.kernel, self.input.channels);
        let (h, w) = (self.input.height, self.input.width);
        let (oh, ow) = (self.output_shape.height, self.output_shape.width);
        let patch = k * k * c;
        for (mut image, rows) in grad_x
            .axis_iter_mut(Axis(0))
            .zip(self.grad_cols.chunks_exact(oh * ow * patch))
        {
            let image = image
                .as_slice_mut()
                .expect("gradient buffer rows are contiguous");
            for (p, row) in rows.chunks_exact(patch).enumerate() {
                let (oy, ox) = (p / ow, p % ow);
                for ky in 0..k {
                    let Some(iy) = self.source(oy, ky, h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = self.source(ox, kx, w) else {
                            continue;
                        };
                        let src = &row[(ky * k + kx) * c..(ky * k + kx + 1) * c];
                        let dst = &mut image[(iy * w + ix) * c..(iy * w + ix + 1) * c];
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    }
                }
            }
        }
    }
}

/// A (n, pixels * c) block of images viewed as (n * pixels, c): one row per pixel.
fn per_pixel(view: ArrayViewMut2<f32>, c: usize) -> ArrayViewMut2<f32> {
    let rows = view.len() / c;
    view.into_shape_with_order((rows, c))
        .expect("buffer rows are contiguous")
}

impl Conv2D {
    /// `forward`, by the direct kernels or by im2col + GEMM (`direct` only where
    /// `use_direct()` allows it).
    fn forward_with(&mut self, x: ArrayView2<f32>, direct: bool) {
        let (n, c_out) = (x.nrows(), self.output_shape.channels);
        let patch = self.weights.nrows();
        self.output.resize(n, self.output_shape.len());
        #[cfg(not(target_arch = "x86_64"))]
        let _ = direct; // the direct kernels are x86-64's; `use_direct()` is false elsewhere
        #[cfg(target_arch = "x86_64")]
        if direct {
            let x = x.as_standard_layout();
            let mut out = self.output.view_mut();
            self.direct.forward(
                x.as_slice().expect("standard layout is contiguous"),
                self.weights.as_slice().expect("weights are contiguous"),
                self.bias.as_slice().expect("the bias is contiguous"),
                out.as_slice_mut().expect("buffer rows are contiguous"),
            );
            return;
        }
        let chunk = self.chunk_images();
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            self.im2col(x.slice(s![start..end, ..]));
            let rows = (end - start) * self.n_pixels();
            let cols = ArrayView2::from_shape((rows, patch), &self.cols).expect("cols fit");
            let mut out = per_pixel(self.output.view_mut().slice_move(s![start..end, ..]), c_out);
            // Bias first, then out += patches · W: (rows, patch)·(patch, c_out).
            out.assign(&self.bias.broadcast(out.raw_dim()).expect("c_out values"));
            matmul(cols, self.weights.view(), 1.0, out);
        }
    }

    /// `backward`, the weight gradient by the direct kernel or by im2col + GEMM.
    fn backward_with(
        &mut self,
        x: ArrayView2<f32>,
        grad_out: ArrayView2<f32>,
        need_grad_in: bool,
        direct: bool,
    ) {
        let (n, c_out) = (x.nrows(), self.output_shape.channels);
        let patch = self.weights.nrows();
        self.grad_weights.fill(0.0);
        self.grad_bias.fill(0.0);
        if need_grad_in {
            self.grad_input.resize(n, self.input.len());
            self.grad_input.view_mut().fill(0.0);
        }
        let grad_out = grad_out.as_standard_layout();
        #[cfg(target_arch = "x86_64")]
        if direct {
            let x = x.as_standard_layout();
            self.direct.weight_grad(
                x.as_slice().expect("standard layout is contiguous"),
                grad_out.as_slice().expect("standard layout is contiguous"),
                self.grad_weights
                    .as_slice_mut()
                    .expect("gradients are contiguous"),
                self.grad_bias.as_slice_mut().expect("bias is contiguous"),
            );
            if !need_grad_in {
                return;
            }
        }
        let chunk = self.chunk_images();
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let rows = (end - start) * self.n_pixels();
            // g: (rows, c_out), one row per output pixel.
            let g = grad_out
                .slice(s![start..end, ..])
                .into_shape_with_order((rows, c_out))
                .expect("standard layout reshapes");
            if !direct {
                self.im2col(x.slice(s![start..end, ..]));
                let cols = ArrayView2::from_shape((rows, patch), &self.cols).expect("cols fit");
                // dW += patchesᵀ · g: (patch, rows)·(rows, c_out)
                matmul(cols.t(), g, 1.0, self.grad_weights.view_mut());
            }
            if !direct {
                // db += column sums of g (the direct kernel sums them with dW)
                // (over slices: an ndarray Zip per row cost more than the sums themselves)
                let grad_bias = self.grad_bias.as_slice_mut().expect("bias is contiguous");
                for row in g
                    .as_slice()
                    .expect("standard layout is contiguous")
                    .chunks_exact(c_out)
                {
                    grad_bias.iter_mut().zip(row).for_each(|(b, &v)| *b += v);
                }
            }
            if need_grad_in {
                // d patches = g · Wᵀ: (rows, c_out)·(c_out, patch), then scattered back.
                let mut grad_cols = std::mem::take(&mut self.grad_cols);
                grad_cols.resize(rows * patch, 0.0);
                let gc = ArrayViewMut2::from_shape((rows, patch), &mut grad_cols[..])
                    .expect("grad_cols fit");
                matmul(g, self.weights.t(), 0.0, gc);
                self.grad_cols = grad_cols;
                let mut grad_input = std::mem::take(&mut self.grad_input);
                self.col2im(grad_input.view_mut().slice_move(s![start..end, ..]));
                self.grad_input = grad_input;
            }
        }
    }
}

impl Layer for Conv2D {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        self.forward_with(x, use_direct());
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        self.backward_with(x, grad_out, need_grad_in, use_direct());
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        if self.int8.is_some() {
            // Inference only: its f32 weights must stay the dequantized int8 ones.
            return;
        }
        visit_weights_and_bias(
            &mut self.weights,
            &self.grad_weights,
            &mut self.bias,
            &self.grad_bias,
            visit,
        );
    }

    fn n_params(&self) -> usize {
        self.weights.len() + self.bias.len()
    }

    fn prunable_weights(&mut self) -> Option<(&mut [f32], &mut [f32])> {
        if self.int8.is_some() {
            return None;
        }
        Some((
            self.weights.as_slice_mut().expect("weights are contiguous"),
            self.grad_weights
                .as_slice_mut()
                .expect("gradients are contiguous"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, random_matrix};
    use crate::nn::AnyLayer;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn conv(
        input: ImageShape,
        filters: usize,
        k: usize,
        stride: usize,
        pad: usize,
        seed: u64,
    ) -> Conv2D {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let patch = k * k * input.channels;
        Conv2D::new(
            input,
            k,
            stride,
            pad,
            random_matrix(patch, filters, &mut rng),
            random_matrix(1, filters, &mut rng).row(0).to_owned(),
        )
        .unwrap()
    }

    /// The textbook definition, one output value at a time.
    fn naive(layer: &Conv2D, x: ArrayView2<f32>) -> Array2<f32> {
        let (i, o) = (layer.input_shape(), layer.output_shape());
        let (k, s, p) = (layer.kernel(), layer.stride(), layer.padding() as isize);
        let mut y = Array2::zeros((x.nrows(), o.len()));
        for n in 0..x.nrows() {
            for oy in 0..o.height {
                for ox in 0..o.width {
                    for co in 0..o.channels {
                        let mut sum = layer.bias()[co];
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (oy * s + ky) as isize - p;
                                let ix = (ox * s + kx) as isize - p;
                                if iy < 0
                                    || ix < 0
                                    || iy >= i.height as isize
                                    || ix >= i.width as isize
                                {
                                    continue;
                                }
                                for ci in 0..i.channels {
                                    let v = x[[
                                        n,
                                        (iy as usize * i.width + ix as usize) * i.channels + ci,
                                    ]];
                                    sum +=
                                        v * layer.weights()[[(ky * k + kx) * i.channels + ci, co]];
                                }
                            }
                        }
                        y[[n, (oy * o.width + ox) * o.channels + co]] = sum;
                    }
                }
            }
        }
        y
    }

    const SHAPES: [(usize, usize, usize, usize, usize, usize, usize); 6] = [
        // (h, w, c_in, filters, kernel, stride, padding)
        (5, 5, 1, 2, 3, 1, 0),
        (5, 4, 2, 3, 3, 1, 1),
        (6, 6, 2, 2, 3, 2, 1),
        (7, 5, 3, 2, 2, 2, 0),
        (4, 4, 1, 1, 1, 1, 0),
        (3, 3, 2, 2, 5, 1, 2),
    ];

    #[test]
    fn forward_matches_the_definition() {
        for (seed, &(h, w, c, f, k, s, p)) in SHAPES.iter().enumerate() {
            let mut layer = conv(ImageShape::new(h, w, c), f, k, s, p, seed as u64);
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64 + 10);
            let x = random_matrix(3, h * w * c, &mut rng);
            layer.forward(x.view(), false);
            let expected = naive(&layer, x.view());
            for (a, b) in layer.output().iter().zip(&expected) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "shape {:?}: {a} vs {b}",
                    (h, w, c, f, k, s, p)
                );
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (seed, &(h, w, c, f, k, s, p)) in SHAPES.iter().enumerate() {
            for rows in [1, 3] {
                let layer = conv(ImageShape::new(h, w, c), f, k, s, p, seed as u64 + 20);
                check_layer(
                    AnyLayer::Conv2D(layer),
                    rows,
                    h * w * c,
                    seed as u64,
                    "conv",
                );
            }
        }
    }

    #[test]
    fn chunked_batches_give_the_same_result() {
        // 28x28x4 with 3x3 kernels: 28224 patch values per image, 37 images per chunk.
        let mut layer = conv(ImageShape::new(28, 28, 4), 3, 3, 1, 1, 5);
        assert!(layer.chunk_images() < 80);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let x = random_matrix(80, 28 * 28 * 4, &mut rng);
        let g = random_matrix(80, layer.output_shape().len(), &mut rng);
        layer.forward(x.view(), true);
        layer.backward(x.view(), g.view(), true);
        let (y_all, gi_all, gw_all) = (
            layer.output().to_owned(),
            layer.grad_in().to_owned(),
            layer.grad_weights.clone(),
        );
        let mut gw_sum = Array2::zeros(gw_all.raw_dim());
        for part in [0..30, 30..80] {
            layer.forward(x.slice(s![part.clone(), ..]), true);
            assert_eq!(layer.output(), y_all.slice(s![part.clone(), ..]));
            layer.backward(
                x.slice(s![part.clone(), ..]),
                g.slice(s![part.clone(), ..]),
                true,
            );
            for (a, b) in layer.grad_in().iter().zip(gi_all.slice(s![part, ..])) {
                assert!((a - b).abs() < 1e-4);
            }
            gw_sum += &layer.grad_weights;
        }
        for (a, b) in gw_sum.iter().zip(&gw_all) {
            assert!((a - b).abs() < 1e-2 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn direct_kernels_give_the_im2col_bits_on_any_thread_count() {
        if !use_direct() {
            return; // no AVX-512 here: im2col + GEMM is the only path
        }
        // SHAPES, then the first layer of the bench (28x28x1, 32 filters; the one-channel
        // kernel, as are the next two: 16 filters in one masked vector, 24 with a 5-pixel
        // row that ends in a single pixel), 40 filters (a masked half vector) and a 288-row
        // patch (several blocks of patch rows).
        let more = [
            (28, 28, 1, 32, 3, 1, 1),
            (12, 12, 1, 13, 3, 1, 1),
            (10, 7, 1, 24, 3, 1, 0),
            (9, 9, 3, 40, 3, 1, 1),
            (14, 14, 32, 20, 3, 1, 1),
        ];
        for (seed, &(h, w, c, f, k, s, p)) in SHAPES.iter().chain(&more).enumerate() {
            let mut layer = conv(ImageShape::new(h, w, c), f, k, s, p, seed as u64 + 40);
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64 + 50);
            let x = random_matrix(8, h * w * c, &mut rng);
            let g = random_matrix(8, layer.output_shape().len(), &mut rng);
            layer.forward_with(x.view(), false);
            layer.backward_with(x.view(), g.view(), true, false);
            let expected = (
                layer.output().to_owned(),
                layer.grad_weights.clone(),
                layer.grad_bias.clone(),
                layer.grad_in().to_owned(),
            );
            for threads in [1, 2] {
                let _pool = crate::parallel::install(threads);
                layer.forward_with(x.view(), true);
                layer.backward_with(x.view(), g.view(), true, true);
                let shape = (h, w, c, f, k, s, p, threads);
                assert_eq!(layer.output(), expected.0, "output {shape:?}");
                assert_eq!(layer.grad_weights, expected.1, "dW {shape:?}");
                assert_eq!(layer.grad_bias, expected.2, "db {shape:?}");
                assert_eq!(layer.grad_in(), expected.3, "dx {shape:?}");
                // A first layer (no input gradient) takes a shorter way: the same bits.
                layer.backward_with(x.view(), g.view(), false, true);
                assert_eq!(layer.grad_weights, expected.1, "dW, no dx {shape:?}");
                assert_eq!(layer.grad_bias, expected.2, "db, no dx {shape:?}");
            }
        }
    }

    #[test]
    fn round_trips_through_json_and_refuses_bad_shapes() {
        let layer = conv(ImageShape::new(5, 4, 2), 3, 3, 2, 1, 1);
        let text = serde_json::to_string(&layer).unwrap();
        let back: Conv2D = serde_json::from_str(&text).unwrap();
        assert_eq!(back.weights(), layer.weights());
        assert_eq!(back.output_shape(), ImageShape::new(3, 2, 3));
        let bad = text.replace("\"kernel\":3", "\"kernel\":2");
        assert!(serde_json::from_str::<Conv2D>(&bad).is_err());
        let too_big = Conv2D::new(
            ImageShape::new(2, 2, 1),
            5,
            1,
            0,
            Array2::zeros((25, 1)),
            Array1::zeros(1),
        );
        assert!(too_big.unwrap_err().to_string().contains("does not fit"));
    }

    #[test]
    fn whole_cnn_gradients_match_finite_differences() {
        use crate::nn::gradcheck::numeric_grad_with_step;
        use crate::nn::{
            Activation, CnnConfig, ConvSpec, Loss, Network, SoftmaxCrossEntropy, Targets,
        };
        use rand::Rng;
        let configs = [
            (
                ImageShape::new(6, 6, 2),
                vec![ConvSpec::same(3, 3), ConvSpec::same(4, 3)],
                vec![5],
            ),
            (
                ImageShape::new(8, 7, 1),
                vec![ConvSpec {
                    filters: 2,
                    kernel: 2,
                    stride: 1,
                    padding: 0,
                }],
                vec![],
            ),
            (
                ImageShape::new(9, 9, 3),
                vec![ConvSpec {
                    filters: 3,
                    kernel: 3,
                    stride: 2,
                    padding: 1,
                }],
                vec![4],
            ),
        ];
        for (seed, (image, conv, hidden)) in configs.into_iter().enumerate() {
            let seed = seed as u64;
            let config = CnnConfig {
                image,
                conv,
                hidden,
                n_outputs: 3,
                activation: Activation::Tanh,
                dropout: 0.0,
            };
            let mut net = Network::cnn(&config, seed).unwrap();
            net.validate().unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed + 70);
            // Non-zero biases, so that no ReLU input sits exactly at its kink.
            net.visit_params(&mut |p, _| p.iter_mut().for_each(|v| *v += rng.gen_range(-0.3..0.3)));
            let x = random_matrix(4, image.len(), &mut rng);
            let y: Vec<u32> = (0..4).map(|_| rng.gen_range(0..3)).collect();
            let ce = SoftmaxCrossEntropy::default();
            let logits = net.forward(x.view(), true).to_owned();
            let mut grad = Array2::zeros(logits.raw_dim());
            ce.loss_and_grad(logits.view(), Targets::Classes(&y), grad.view_mut());
            net.backward(x.view(), grad.view());
            let mut analytic = Vec::new();
            net.visit_params(&mut |_, g| analytic.extend_from_slice(g));
            let mut params = Vec::new();
            net.copy_params_into(&mut params);
            let mut probe = net.clone();
            let numeric = numeric_grad_with_step(&mut params, 1e-3, |ps| {
                probe.load_params_from(ps);
                let out = probe.forward(x.view(), false).to_owned();
                ce.loss(out.view(), Targets::Classes(&y))
            });
            for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
                crate::nn::gradcheck::assert_close(a as f64, n, &format!("cnn {seed}: param {i}"));
            }
        }
    }

    #[test]
    fn a_cnn_round_trips_through_json_and_a_mismatched_one_is_refused() {
        use crate::nn::{Activation, CnnConfig, ConvSpec, Network};
        let config = CnnConfig {
            image: ImageShape::new(8, 8, 2),
            conv: vec![ConvSpec::same(4, 3), ConvSpec::same(3, 3)],
            hidden: vec![6],
            n_outputs: 3,
            activation: Activation::Relu,
            dropout: 0.1,
        };
        let mut net = Network::cnn(&config, 9).unwrap();
        // conv, pool, relu, conv, pool, relu, dense, relu, dropout, dense
        assert_eq!(net.layers.len(), 10);
        let x = random_matrix(5, 128, &mut ChaCha8Rng::seed_from_u64(1));
        let before = net.predict(x.view(), 2);
        let text = serde_json::to_string(&net).unwrap();
        assert!(text.contains("\"type\":\"conv2d\"") && text.contains("\"type\":\"max_pool2d\""));
        let mut back: Network = serde_json::from_str(&text).unwrap();
        back.validate().unwrap();
        assert_eq!(back.predict(x.view(), 3), before);
        // 8x8 -> pool 4x4 -> pool 2x2 x 3 channels = 12 inputs for the head.
        let mut wrong = back.clone();
        wrong.n_inputs = 100;
        assert!(wrong.validate().unwrap_err().to_string().contains("8x8x2"));
        let tiny = CnnConfig {
            image: ImageShape::new(3, 3, 1),
            ..config
        };
        assert!(Network::cnn(&tiny, 0)
            .unwrap_err()
            .to_string()
            .contains("conv layer 2"));
    }
}

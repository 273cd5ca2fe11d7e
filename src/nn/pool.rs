//! Max pooling over images stored one per row, row-major H x W x C (as `conv.rs`):
//! x: (batch, h * w * c) -> y: (batch, (h / size) * (w / size) * c), windows of
//! size x size with stride `size` (2 x 2 in `Network::cnn`); a trailing row or column that
//! does not fill a window is dropped, as PyTorch and ONNX do by default.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::fast_math::vectorised_fn;
use super::{Buffer, ImageShape, Layer, NetworkError};
use crate::parallel::{for_each_part, SharedMut};

/// Fewest images a thread pools at once (an image's windows take microseconds, a join
/// about as long).
const MIN_IMAGES_PER_PART: usize = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "MaxPool2DSpec", try_from = "MaxPool2DSpec")]
/// A 2-D max-pooling layer over images stored one per row (see the top of this file).
pub struct MaxPool2D {
    input: ImageShape,
    output_shape: ImageShape,
    size: usize,
    /// For each output value of the last forward, the index of the input value it took
    /// (within its image). (batch * output len)
    argmax: Vec<u32>,
    output: Buffer,
    grad_input: Buffer,
}

impl MaxPool2D {
    /// Pooling of `input` images in size x size windows. Errors when the image is smaller
    /// than one window.
    pub fn new(input: ImageShape, size: usize) -> Result<Self, NetworkError> {
        if size == 0 || input.channels == 0 || input.height < size || input.width < size {
            return Err(NetworkError::PoolDoesNotFit { input, size });
        }
        if input
            .checked_len()
            .is_none_or(|len| len > u32::MAX as usize)
        {
            return Err(NetworkError::ImageTooLarge { input });
        }
        Ok(MaxPool2D {
            input,
            output_shape: ImageShape::new(input.height / size, input.width / size, input.channels),
            size,
            argmax: Vec::new(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        })
    }

    /// The shape of the images it reads.
    pub fn input_shape(&self) -> ImageShape {
        self.input
    }

    /// The shape of the images it writes.
    pub fn output_shape(&self) -> ImageShape {
        self.output_shape
    }

    /// The side of the square window (and the stride).
    pub fn size(&self) -> usize {
        self.size
    }

    fn window(&self) -> Window {
        Window {
            width: self.input.width,
            channels: self.input.channels,
            out_height: self.output_shape.height,
            out_width: self.output_shape.width,
            size: self.size,
        }
    }
}

impl Layer for MaxPool2D {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        let (n, out_len) = (x.nrows(), self.output_shape.len());
        let window = self.window();
        self.output.resize(n, out_len);
        self.argmax.resize(n * out_len, 0);
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout is contiguous");
        let in_len = self.input.len();
        let mut out = self.output.view_mut();
        let out = SharedMut::new(out.as_slice_mut().expect("buffer rows are contiguous"));
        let argmax = SharedMut::new(&mut self.argmax[..]);
        // Images split over the pool's threads; each is pooled by one thread alone.
        for_each_part(n, MIN_IMAGES_PER_PART, &|images| {
            // SAFETY: the parts' images do not overlap.
            let (out, argmax) = unsafe {
                (
                    out.rows(images.clone(), out_len),
                    argmax.rows(images.clone(), out_len),
                )
            };
            let x = &x[images.start * in_len..images.end * in_len];
            for ((image, y), argmax) in x
                .chunks_exact(in_len)
                .zip(out.chunks_exact_mut(out_len))
                .zip(argmax.chunks_exact_mut(out_len))
            {
                pool_image(image, y, argmax, window);
            }
        });
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        if !need_grad_in {
            return;
        }
        let (out_len, window) = (self.output_shape.len(), self.window());
        self.grad_input.resize(x.nrows(), self.input.len());
        let grad_out = grad_out.as_standard_layout();
        let grad_out = grad_out.as_slice().expect("standard layout is contiguous");
        let mut grad_in = self.grad_input.view_mut();
        let grad_in = grad_in.as_slice_mut().expect("buffer rows are contiguous");
        // Values outside every window (a trailing row or column) get no gradient.
        if !self.input.height.is_multiple_of(self.size)
            || !self.input.width.is_multiple_of(self.size)
        {
            grad_in.fill(0.0);
        }
        let (in_len, argmax) = (self.input.len(), &self.argmax[..]);
        let grad_in = SharedMut::new(grad_in);
        for_each_part(x.nrows(), MIN_IMAGES_PER_PART, &|images| {
            // SAFETY: the parts' images do not overlap.
            let grad_in = unsafe { grad_in.rows(images.clone(), in_len) };
            let rows = images.start * out_len..images.end * out_len;
            for ((gi, g), argmax) in grad_in
                .chunks_exact_mut(in_len)
                .zip(grad_out[rows.clone()].chunks_exact(out_len))
                .zip(argmax[rows].chunks_exact(out_len))
            {
                unpool_image(g, argmax, gi, window);
            }
        });
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }
}

/// The geometry of one pooling: input width and channels, output height and width, and
/// the window's side.
#[derive(Clone, Copy)]
struct Window {
    width: usize,
    channels: usize,
    out_height: usize,
    out_width: usize,
    size: usize,
}

vectorised_fn! {
    /// The maxima of one image's windows into `y` and the index (within the image) of the
    /// value each took into `argmax`: the window's pixels in row-major order, the first
    /// maximum winning ties. Written as selects over the channels, so that the loop
    /// vectorises.
    fn pool_image(image: &[f32], y: &mut [f32], argmax: &mut [u32], window: Window) {
        let Window { width: w, channels: c, out_height: oh, out_width: ow, size } = window;
        for oy in 0..oh {
            for ox in 0..ow {
                let o = (oy * ow + ox) * c;
                let (y, argmax) = (&mut y[o..o + c], &mut argmax[o..o + c]);
                for ky in 0..size {
                    for kx in 0..size {
                        let base = ((oy * size + ky) * w + ox * size + kx) * c;
                        let pixel = &image[base..base + c];
                        let first = ky == 0 && kx == 0;
                        for (ch, ((&v, best), a)) in
                            pixel.iter().zip(y.iter_mut()).zip(argmax.iter_mut()).enumerate()
                        {
                            let take = first || v > *best;
                            *best = if take { v } else { *best };
                            *a = if take { (base + ch) as u32 } else { *a };
                        }
                    }
                }
            }
        }
    }
}

vectorised_fn! {
    /// Each output's gradient `g` to the input value that `argmax` names, zero to the other
    /// values of its window, in one pass over the windows (they do not overlap). `+ 0.0`
    /// turns a -0 into the +0 that adding it to a zeroed buffer gave.
    fn unpool_image(g: &[f32], argmax: &[u32], grad_in: &mut [f32], window: Window) {
        let Window { width: w, channels: c, out_height: oh, out_width: ow, size } = window;
        for oy in 0..oh {
            for ox in 0..ow {
                let o = (oy * ow + ox) * c;
                let (g, argmax) = (&g[o..o + c], &argmax[o..o + c]);
                for ky in 0..size {
                    for kx in 0..size {
                        let base = ((oy * size + ky) * w + ox * size + kx) * c;
                        let pixel = &mut grad_in[base..base + c];
                        for (ch, ((d, &gv), &a)) in
                            pixel.iter_mut().zip(g).zip(argmax).enumerate()
                        {
                            *d = if a as usize == base + ch { gv + 0.0 } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
}

/// How a max-pool layer is written in the model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MaxPool2DSpec {
    input: ImageShape,
    size: usize,
}

impl From<MaxPool2D> for MaxPool2DSpec {
    fn from(pool: MaxPool2D) -> Self {
        MaxPool2DSpec {
            input: pool.input,
            size: pool.size,
        }
    }
}

impl TryFrom<MaxPool2DSpec> for MaxPool2D {
    type Error = NetworkError;

    fn try_from(spec: MaxPool2DSpec) -> Result<Self, NetworkError> {
        MaxPool2D::new(spec.input, spec.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{assert_close, numeric_grad};
    use ndarray::{array, Array2};
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn takes_the_maximum_of_each_window_per_channel() {
        // A 2x3x2 image: channel 0 is 1..6, channel 1 is 60..10; the last column is dropped.
        let x = array![[1.0f32, 60.0, 2.0, 50.0, 3.0, 40.0, 4.0, 30.0, 5.0, 20.0, 6.0, 10.0]];
        let mut pool = MaxPool2D::new(ImageShape::new(2, 3, 2), 2).unwrap();
        pool.forward(x.view(), false);
        assert_eq!(pool.output_shape(), ImageShape::new(1, 1, 2));
        assert_eq!(pool.output(), array![[5.0f32, 60.0]].view());
        pool.backward(x.view(), array![[1.5f32, -2.0]].view(), true);
        let mut expected = Array2::zeros((1, 12));
        expected[[0, 8]] = 1.5;
        expected[[0, 1]] = -2.0;
        assert_eq!(pool.grad_in(), expected.view());
    }

    #[test]
    fn images_split_over_threads_give_the_one_thread_values() {
        // 13 images of 7x6x3 (a trailing row dropped): parts of 4, 4 and 5 images on
        // three threads, and a remainder that does not divide evenly.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = separated(13, 7 * 6 * 3, &mut rng);
        let g = separated(13, 3 * 3 * 3, &mut rng);
        let run = |threads: usize| {
            let _pool = crate::parallel::install(threads);
            let mut pool = MaxPool2D::new(ImageShape::new(7, 6, 3), 2).unwrap();
            pool.forward(x.view(), true);
            pool.backward(x.view(), g.view(), true);
            (pool.output().to_owned(), pool.grad_in().to_owned())
        };
        let (y1, g1) = run(1);
        for threads in [2, 3] {
            assert_eq!((y1.clone(), g1.clone()), run(threads), "{threads} threads");
        }
        // The values themselves: each output is its window's maximum.
        assert_eq!(
            y1[[12, 0]],
            [0, 3, 18, 21]
                .map(|i| x[[12, i]])
                .into_iter()
                .fold(f32::MIN, f32::max)
        );
    }

    /// Distinct values 0.05 apart, shuffled: no finite difference step of 1e-2 changes which
    /// value of a window is the largest.
    fn separated(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
        let mut values: Vec<f32> = (0..rows * cols).map(|i| i as f32 * 0.05 - 1.0).collect();
        values.shuffle(rng);
        Array2::from_shape_vec((rows, cols), values).unwrap()
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (seed, (h, w, c, size)) in [
            (4, 4, 1, 2),
            (5, 6, 2, 2),
            (6, 3, 3, 3),
            (2, 2, 1, 2),
            (7, 7, 2, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
            let rows = 1 + seed % 3;
            let shape = ImageShape::new(h, w, c);
            let mut x = separated(rows, shape.len(), &mut rng);
            let mut pool = MaxPool2D::new(shape, size).unwrap();
            pool.forward(x.view(), true);
            let r = separated(rows, pool.output_shape().len(), &mut rng);
            pool.backward(x.view(), r.view(), true);
            let analytic = pool.grad_in().to_owned();
            let mut probe = pool.clone();
            let numeric = numeric_grad(x.as_slice_mut().unwrap(), |xs| {
                let xv = ArrayView2::from_shape((rows, shape.len()), xs).unwrap();
                probe.forward(xv, false);
                probe
                    .output()
                    .iter()
                    .zip(&r)
                    .map(|(&o, &r)| o as f64 * r as f64)
                    .sum()
            });
            for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
                assert_close(
                    a as f64,
                    n,
                    &format!("max-pool {shape} seed {seed}: d/dx[{i}]"),
                );
            }
        }
    }

    #[test]
    fn relu_after_pooling_equals_relu_before_it_bit_for_bit() {
        // Why `Network::cnn` pools before its ReLU: the same values and gradients, with ties
        // (zeros, repeated values) and all-negative windows included.
        use crate::nn::{Activation, ActivationLayer};
        use rand::Rng;
        let shape = ImageShape::new(6, 7, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = Array2::from_shape_fn((4, shape.len()), |_| {
            [0.0f32, -1.0, 0.5, rng.gen_range(-1.0f32..1.0)][rng.gen_range(0..4)]
        });
        let mut pool = MaxPool2D::new(shape, 2).unwrap();
        let g = Array2::from_shape_fn((4, pool.output_shape().len()), |_| {
            rng.gen_range(-1.0f32..1.0)
        });
        let mut relu = ActivationLayer::new(Activation::Relu);
        // ReLU, then pooling.
        relu.forward(x.view(), true);
        let relu_x = relu.output().to_owned();
        pool.forward(relu_x.view(), true);
        let before = pool.output().to_owned();
        pool.backward(relu_x.view(), g.view(), true);
        let pool_g = pool.grad_in().to_owned();
        relu.backward(x.view(), pool_g.view(), true);
        let grad_before = relu.grad_in().to_owned();
        // Pooling, then ReLU.
        pool.forward(x.view(), true);
        let pooled = pool.output().to_owned();
        relu.forward(pooled.view(), true);
        assert_eq!(relu.output(), before.view());
        relu.backward(pooled.view(), g.view(), true);
        let relu_g = relu.grad_in().to_owned();
        pool.backward(x.view(), relu_g.view(), true);
        assert_eq!(pool.grad_in(), grad_before.view());
    }

    #[test]
    fn refuses_windows_larger_than_the_image() {
        assert!(MaxPool2D::new(ImageShape::new(1, 4, 1), 2).is_err());
        let json = r#"{"input":{"height":3,"width":3,"channels":1},"size":4}"#;
        assert!(serde_json::from_str::<MaxPool2D>(json).is_err());
    }
}

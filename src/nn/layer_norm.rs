//! Layer normalisation over the values of each row, with a learned scale and shift:
//! y = (x - mean) / sqrt(var + eps) · weight + bias, mean and (biased) variance taken over
//! the row's `width` values, as PyTorch's `nn.LayerNorm(width)` (eps 1e-5).
//!
//! Not a `Layer` of its own: the transformer encoder block runs it over its contiguous
//! (rows, width) scratch matrices, and the backward pass works in place on the gradient.

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::{prefix_mut, NetworkError};

/// PyTorch's default epsilon.
pub const LAYER_NORM_EPS: f32 = 1e-5;

/// Partial sums per row: a row's sums run in this many interleaved lanes, folded as a
/// tree at the end (one chain of `width` dependent additions would cost more than the
/// rest of the row's work).
const LANES: usize = 8;

/// Feed `chunks` (each at most `LANES` long) to `add`, which adds each chunk into the
/// lanes, then fold the lanes pairwise: lane i with i + 4, then i + 2, then i + 1.
#[inline(always)]
fn lane_sum<T>(chunks: impl Iterator<Item = T>, add: impl Fn(&mut [f32; LANES], T)) -> f32 {
    let mut lanes = [0.0f32; LANES];
    chunks.for_each(|chunk| add(&mut lanes, chunk));
    let fours: [f32; 4] = std::array::from_fn(|i| lanes[i] + lanes[i + 4]);
    (fours[0] + fours[2]) + (fours[1] + fours[3])
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "LayerNormSpec", try_from = "LayerNormSpec")]
/// A layer normalisation's parameters, their gradients, and what backward needs of the
/// last forward pass.
pub struct LayerNorm {
    /// The scale, one per value of a row (PyTorch's `weight`).
    weight: Array1<f32>,
    /// The shift (PyTorch's `bias`).
    bias: Array1<f32>,
    grad_weight: Array1<f32>,
    grad_bias: Array1<f32>,
    /// The normalised rows of the last forward pass, (rows · width), in the first `len`
    /// values (the vector keeps the largest batch's length).
    normalized: Vec<f32>,
    len: usize,
    /// 1 / sqrt(var + eps) of each row of the last forward pass.
    inv_std: Vec<f32>,
}

impl LayerNorm {
    /// Weight 1 and bias 0 over rows of `width` values (PyTorch's initialisation).
    pub fn new(width: usize) -> Self {
        Self::from_params(Array1::ones(width), Array1::zeros(width))
    }

    /// A layer norm with the given `weight` and `bias`; panics when their lengths differ.
    pub fn from_params(weight: Array1<f32>, bias: Array1<f32>) -> Self {
        assert_eq!(weight.len(), bias.len(), "weight and bias of one width");
        let width = weight.len();
        LayerNorm {
            weight,
            bias,
            grad_weight: Array1::zeros(width),
            grad_bias: Array1::zeros(width),
            normalized: Vec::new(),
            len: 0,
            inv_std: Vec::new(),
        }
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.weight.len()
    }

    /// The scale (PyTorch's `weight`).
    pub fn weight(&self) -> &Array1<f32> {
        &self.weight
    }

    /// The shift (PyTorch's `bias`).
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }

    /// Normalise each row of `x` (rows · width, row-major) into `out` (same size).
    pub fn forward(&mut self, x: &[f32], out: &mut [f32]) {
        let width = self.width();
        assert_eq!(x.len(), out.len(), "input and output of one size");
        let rows = x.len() / width.max(1);
        // Grows to the largest batch once, then reused.
        self.len = x.len();
        let normalized = prefix_mut(&mut self.normalized, x.len());
        let inv_stds = prefix_mut(&mut self.inv_std, rows);
        let (weight, bias) = (
            self.weight.as_slice().unwrap(),
            self.bias.as_slice().unwrap(),
        );
        let rows_in = x.chunks_exact(width);
        let rows_out = out.chunks_exact_mut(width);
        let rows_hat = normalized.chunks_exact_mut(width);
        for (((x, out), hat), inv_std) in rows_in.zip(rows_out).zip(rows_hat).zip(inv_stds) {
            // Two passes, as PyTorch: the variance of the centred values.
            let mean = lane_sum(x.chunks(LANES), |lanes, chunk| {
                lanes.iter_mut().zip(chunk).for_each(|(l, &v)| *l += v)
            }) / width as f32;
            hat.iter_mut().zip(x).for_each(|(h, &v)| *h = v - mean);
            let var = lane_sum(hat.chunks(LANES), |lanes, chunk| {
                lanes.iter_mut().zip(chunk).for_each(|(l, &c)| *l += c * c)
            }) / width as f32;
            *inv_std = 1.0 / (var + LAYER_NORM_EPS).sqrt();
            for (((o, h), &w), &b) in out.iter_mut().zip(hat.iter_mut()).zip(weight).zip(bias) {
                *h *= *inv_std;
                *o = *h * w + b;
            }
        }
    }

    /// Turn `grad` (d loss / d output of the last `forward`, rows · width) into d loss / d
    /// input in place, and set the parameter gradients:
    /// dx = inv_std · (ĝ - mean(ĝ) - x̂ · mean(ĝ · x̂)) with ĝ = g · weight.
    pub fn backward(&mut self, grad: &mut [f32]) {
        let width = self.width();
        assert_eq!(grad.len(), self.len, "gradient of the last forward");
        self.grad_weight.fill(0.0);
        self.grad_bias.fill(0.0);
        let weight = self.weight.as_slice().unwrap();
        let grad_weight = self.grad_weight.as_slice_mut().unwrap();
        let grad_bias = self.grad_bias.as_slice_mut().unwrap();
        let rows = grad
            .chunks_exact_mut(width)
            .zip(self.normalized.chunks_exact(width));
        for ((g, hat), &inv_std) in rows.zip(&self.inv_std) {
            for (((&gi, &h), gw), gb) in g
                .iter()
                .zip(hat)
                .zip(grad_weight.iter_mut())
                .zip(grad_bias.iter_mut())
            {
                *gw += gi * h;
                *gb += gi;
            }
            // Σ ĝ and Σ ĝ·x̂ with ĝ = g · weight.
            let chunks = || g.chunks(LANES).zip(weight.chunks(LANES));
            let sum_g = lane_sum(chunks(), |lanes, (g, w)| {
                for ((l, &gi), &wi) in lanes.iter_mut().zip(g).zip(w) {
                    *l += gi * wi;
                }
            });
            let sum_gh = lane_sum(chunks().zip(hat.chunks(LANES)), |lanes, ((g, w), h)| {
                for (((l, &gi), &wi), &hi) in lanes.iter_mut().zip(g).zip(w).zip(h) {
                    *l += gi * wi * hi;
                }
            });
            let (mean_g, mean_gh) = (sum_g / width as f32, sum_gh / width as f32);
            for ((gi, &h), &w) in g.iter_mut().zip(hat).zip(weight) {
                *gi = inv_std * (*gi * w - mean_g - h * mean_gh);
            }
        }
    }

    /// Visit the weight, then the bias, with their gradients.
    pub fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        visit(
            self.weight.as_slice_mut().unwrap(),
            self.grad_weight.as_slice().unwrap(),
        );
        visit(
            self.bias.as_slice_mut().unwrap(),
            self.grad_bias.as_slice().unwrap(),
        );
    }
}

/// How a layer norm is written in a model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LayerNormSpec {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl From<LayerNorm> for LayerNormSpec {
    fn from(norm: LayerNorm) -> Self {
        LayerNormSpec {
            weight: norm.weight.to_vec(),
            bias: norm.bias.to_vec(),
        }
    }
}

impl TryFrom<LayerNormSpec> for LayerNorm {
    type Error = NetworkError;

    fn try_from(spec: LayerNormSpec) -> Result<Self, NetworkError> {
        if spec.weight.len() != spec.bias.len() || spec.weight.is_empty() {
            return Err(NetworkError::LayerNormShape {
                weight: spec.weight.len(),
                bias: spec.bias.len(),
            });
        }
        if spec.weight.iter().chain(&spec.bias).any(|w| !w.is_finite()) {
            return Err(NetworkError::NonFiniteWeight {
                layer: "layer norm",
            });
        }
        Ok(LayerNorm::from_params(
            Array1::from(spec.weight),
            Array1::from(spec.bias),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{assert_close, numeric_grad, random_matrix};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn rows_are_normalised() {
        let mut norm = LayerNorm::new(4);
        let x = [1.0, 2.0, 3.0, 4.0, -2.0, -2.0, -2.0, -2.0];
        let mut out = [0.0; 8];
        norm.forward(&x, &mut out);
        // mean 2.5, var 1.25
        let s = 1.0 / (1.25f32 + LAYER_NORM_EPS).sqrt();
        for (o, e) in out.iter().zip([-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s]) {
            assert!((o - e).abs() < 1e-6, "{o} vs {e}");
        }
        // A constant row normalises to zero, not NaN.
        assert_eq!(&out[4..], &[0.0; 4]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (rows, width) = (3, 5);
        let mut x = random_matrix(rows, width, &mut rng)
            .into_raw_vec_and_offset()
            .0;
        let r = random_matrix(rows, width, &mut rng)
            .into_raw_vec_and_offset()
            .0;
        let weight = random_matrix(1, width, &mut rng).row(0).to_owned();
        let bias = random_matrix(1, width, &mut rng).row(0).to_owned();
        let mut norm = LayerNorm::from_params(weight, bias);
        let mut out = vec![0.0; rows * width];
        let probe = |norm: &mut LayerNorm, x: &[f32], out: &mut Vec<f32>| {
            norm.forward(x, out);
            out.iter()
                .zip(&r)
                .map(|(&o, &r)| o as f64 * r as f64)
                .sum::<f64>()
        };
        probe(&mut norm, &x, &mut out);
        let mut grad = r.clone();
        norm.backward(&mut grad);
        let mut analytic = Vec::new();
        norm.visit_params(&mut |_, g| analytic.extend_from_slice(g));

        let mut probe_norm = norm.clone();
        let numeric = numeric_grad(&mut x, |xs| probe(&mut probe_norm, xs, &mut out));
        for (i, (&a, &n)) in grad.iter().zip(&numeric).enumerate() {
            assert_close(a as f64, n, &format!("layer norm d/dx[{i}]"));
        }
        let mut params = Vec::new();
        norm.visit_params(&mut |p, _| params.extend_from_slice(p));
        let numeric = numeric_grad(&mut params, |ps| {
            let mut n = LayerNorm::from_params(
                Array1::from(ps[..width].to_vec()),
                Array1::from(ps[width..].to_vec()),
            );
            probe(&mut n, &x, &mut out)
        });
        for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
            assert_close(a as f64, n, &format!("layer norm d/dparam[{i}]"));
        }
    }

    #[test]
    fn a_damaged_spec_is_refused() {
        let short = serde_json::json!({"weight": [1.0, 1.0], "bias": [0.0]});
        let error = serde_json::from_value::<LayerNorm>(short).unwrap_err();
        assert!(error.to_string().contains("layer norm"), "{error}");
        let round = serde_json::to_value(LayerNorm::new(3)).unwrap();
        let back: LayerNorm = serde_json::from_value(round).unwrap();
        assert_eq!(back.weight().to_vec(), vec![1.0; 3]);
    }
}

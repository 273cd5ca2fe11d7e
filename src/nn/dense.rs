//! Dense (fully connected) layer: y = x·W + b, x: (batch, n_in), W: (n_in, n_out).

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::gemm::matmul;
use super::layer::visit_weights_and_bias;
use super::{Buffer, Layer, NetworkError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "DenseSpec", try_from = "DenseSpec")]
/// A fully connected layer: y = x·W + b.
pub struct Dense {
    /// (n_in, n_out)
    weights: Array2<f32>,
    /// (n_out)
    bias: Array1<f32>,
    grad_weights: Array2<f32>,
    grad_bias: Array1<f32>,
    output: Buffer,
    grad_input: Buffer,
}

impl Dense {
    /// A layer of `weights` (n_in, n_out) and `bias` (n_out); panics when their widths differ
    /// (a programming error: model files are checked by `TryFrom<DenseSpec>` first).
    pub fn new(weights: Array2<f32>, bias: Array1<f32>) -> Self {
        assert_eq!(weights.ncols(), bias.len(), "bias length must equal n_out");
        let (n_in, n_out) = weights.dim();
        Dense {
            weights,
            bias,
            grad_weights: Array2::zeros((n_in, n_out)),
            grad_bias: Array1::zeros(n_out),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        }
    }

    /// Inputs per row.
    pub fn n_in(&self) -> usize {
        self.weights.nrows()
    }

    /// Outputs per row.
    pub fn n_out(&self) -> usize {
        self.weights.ncols()
    }

    /// The weights: (n_in, n_out).
    pub fn weights(&self) -> &Array2<f32> {
        &self.weights
    }

    /// The bias: (n_out).
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }

    /// The product x·W alone, without the bias, into the output buffer: the first half of
    /// a forward pass whose bias is added by the next layer in the same pass over memory
    /// (see `ActivationLayer::forward_biased`). `x`: (batch, n_in).
    pub(crate) fn forward_linear(&mut self, x: ArrayView2<f32>) {
        self.output.resize(x.nrows(), self.n_out());
        matmul(x, self.weights.view(), 0.0, self.output.view_mut());
    }
}

/// `sums[j] = Σ_i g[i, j]`, row by row so that the additions run over contiguous memory.
fn column_sums(g: ArrayView2<f32>, sums: &mut Array1<f32>) {
    sums.fill(0.0);
    let sums = sums.as_slice_mut().expect("bias gradient is contiguous");
    for row in g.rows() {
        match row.as_slice() {
            Some(row) => sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v),
            None => sums.iter_mut().zip(row.iter()).for_each(|(s, &v)| *s += v),
        }
    }
}

impl Layer for Dense {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        self.output.resize(x.nrows(), self.n_out());
        // x·W, then the bias added to each row: the kernel's sum plus the bias, the same
        // bits as the own kernels adding a bias already in c (beta = 1), without ndarray's
        // broadcasting assign or a copy call per row (a few percent of a transformer's
        // step). The matrixmultiply fallback, which adds c after each block of 256 inputs,
        // may round differently on wider layers.
        matmul(x, self.weights.view(), 0.0, self.output.view_mut());
        let bias = self.bias.as_slice().expect("bias is contiguous");
        let out = self
            .output
            .view_mut()
            .into_slice()
            .expect("a buffer's rows are contiguous");
        for row in out.chunks_exact_mut(bias.len().max(1)) {
            row.iter_mut().zip(bias).for_each(|(o, &b)| *o += b);
        }
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        // dW = xᵀ·g: (n_in, batch)·(batch, n_out)
        matmul(x.t(), grad_out, 0.0, self.grad_weights.view_mut());
        // db = column sums of g
        column_sums(grad_out, &mut self.grad_bias);
        if need_grad_in {
            // dx = g·Wᵀ: (batch, n_out)·(n_out, n_in)
            self.grad_input.resize(x.nrows(), self.n_in());
            matmul(grad_out, self.weights.t(), 0.0, self.grad_input.view_mut());
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
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
        Some((
            self.weights.as_slice_mut().expect("weights are contiguous"),
            self.grad_weights
                .as_slice_mut()
                .expect("gradients are contiguous"),
        ))
    }
}

/// How a dense layer is written in the model file: weights row-major (n_in, n_out).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DenseSpec {
    n_in: usize,
    n_out: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl From<Dense> for DenseSpec {
    fn from(dense: Dense) -> Self {
        let (n_in, n_out) = dense.weights.dim();
        DenseSpec {
            n_in,
            n_out,
            weights: dense.weights.iter().copied().collect(),
            bias: dense.bias.to_vec(),
        }
    }
}

impl TryFrom<DenseSpec> for Dense {
    type Error = NetworkError;

    fn try_from(spec: DenseSpec) -> Result<Self, NetworkError> {
        if spec.bias.len() != spec.n_out {
            return Err(NetworkError::DenseBias {
                bias: spec.bias.len(),
                n_out: spec.n_out,
            });
        }
        let weights =
            Array2::from_shape_vec((spec.n_in, spec.n_out), spec.weights).map_err(|_| {
                NetworkError::DenseWeightCount {
                    n_in: spec.n_in,
                    n_out: spec.n_out,
                }
            })?;
        if weights.iter().chain(&spec.bias).any(|w| !w.is_finite()) {
            return Err(NetworkError::NonFiniteWeight { layer: "dense" });
        }
        Ok(Dense::new(weights, Array1::from(spec.bias)))
    }
}

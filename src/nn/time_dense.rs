//! A dense layer applied to every valid step of a sequence (see `sequence.rs`):
//! x: (batch, 1 + T * C) -> y: (batch, 1 + T * D), y_t = x_t·W + b for t < L, zeros for
//! the padding steps, the length column passed through. W: (C, D), as `Dense`.
//!
//! The valid steps of the whole batch are gathered into one (steps, C) matrix so that
//! forward and backward are each one matrix product (padding steps cost nothing), then
//! scattered back into the rows.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};
use rand::Rng;
use rand_distr::{Distribution, Uniform};
use serde::{Deserialize, Serialize};

use super::error::sequence_shape;
use super::gemm::matmul;
use super::layer::visit_weights_and_bias;
use super::{batch_lengths, Buffer, Layer, NetworkError, SeqShape};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "TimeDenseSpec", try_from = "TimeDenseSpec")]
/// y_t = x_t·W + b at every valid step t (see the top of this file).
pub struct TimeDense {
    /// (C, D)
    weights: Array2<f32>,
    /// (D)
    bias: Array1<f32>,
    grad_weights: Array2<f32>,
    grad_bias: Array1<f32>,
    input: SeqShape,
    output_shape: SeqShape,
    /// The valid steps of each row of the last forward.
    lengths: Vec<usize>,
    /// The valid steps of the last forward, gathered: (steps, C) row-major.
    steps_in: Vec<f32>,
    /// The gathered outputs in forward, output gradients in backward: (steps, D).
    steps_out: Vec<f32>,
    /// The gathered input gradients: (steps, C).
    steps_grad_in: Vec<f32>,
    output: Buffer,
    grad_input: Buffer,
}

impl TimeDense {
    /// A layer from `input` (T steps of C values) to T steps of `n_out` values with
    /// PyTorch's `nn.Linear` initialisation: weights and bias U(±1/sqrt(C)).
    pub fn new(input: SeqShape, n_out: usize, rng: &mut impl Rng) -> Result<Self, NetworkError> {
        sequence_shape("time_dense", input.steps, input.channels)?;
        sequence_shape("time_dense", input.steps, n_out)?;
        let limit = 1.0 / (input.channels as f64).sqrt();
        let uniform = Uniform::new_inclusive(-limit, limit);
        let mut draw = || uniform.sample(&mut *rng) as f32;
        let weights = Array2::from_shape_simple_fn((input.channels, n_out), &mut draw);
        let bias = Array1::from_shape_simple_fn(n_out, draw);
        TimeDense::from_weights(input.steps, weights, bias)
    }

    /// A layer over `steps` steps with `weights` (C, D) and `bias` (D).
    pub fn from_weights(
        steps: usize,
        weights: Array2<f32>,
        bias: Array1<f32>,
    ) -> Result<Self, NetworkError> {
        let (n_in, n_out) = weights.dim();
        if bias.len() != n_out {
            return Err(NetworkError::SequenceWeightCount {
                layer: "time_dense",
                what: "bias",
                got: bias.len(),
                expected: n_out as u64,
            });
        }
        Ok(TimeDense {
            input: sequence_shape("time_dense", steps, n_in)?,
            output_shape: sequence_shape("time_dense", steps, n_out)?,
            grad_weights: Array2::zeros((n_in, n_out)),
            grad_bias: Array1::zeros(n_out),
            weights: weights.as_standard_layout().into_owned(),
            bias,
            lengths: Vec::new(),
            steps_in: Vec::new(),
            steps_out: Vec::new(),
            steps_grad_in: Vec::new(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        })
    }

    /// The sequences it reads: T steps of C values.
    pub fn input_shape(&self) -> SeqShape {
        self.input
    }

    /// The sequences it writes: T steps of D values.
    pub fn output_shape(&self) -> SeqShape {
        self.output_shape
    }

    /// The weights: (C, D).
    pub fn weights(&self) -> &Array2<f32> {
        &self.weights
    }

    /// The bias: (D).
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }
}

/// Copy the valid steps of every row of `x` (steps of `width` values, lengths in
/// `lengths`) one after another into `steps` (resized to fit); returns how many.
fn gather(x: ArrayView2<f32>, width: usize, lengths: &[usize], steps: &mut Vec<f32>) -> usize {
    let n: usize = lengths.iter().sum();
    steps.resize(n * width, 0.0);
    let mut at = 0;
    for (row, &length) in x.rows().into_iter().zip(lengths) {
        let values = &mut steps[at..at + length * width];
        match row.as_slice() {
            Some(row) => values.copy_from_slice(&row[1..1 + length * width]),
            None => values
                .iter_mut()
                .zip(row.iter().skip(1))
                .for_each(|(v, &r)| *v = r),
        }
        at += length * width;
    }
    n
}

/// The inverse of `gather`: write the gathered `steps` back into the rows of `y` (steps
/// of `width` values), zeros into the padding steps; column 0 is left alone.
fn scatter(steps: &[f32], width: usize, lengths: &[usize], mut y: ArrayViewMut2<f32>) {
    let mut at = 0;
    for (mut row, &length) in y.rows_mut().into_iter().zip(lengths) {
        let row = row.as_slice_mut().expect("buffer rows are contiguous");
        let valid = length * width;
        row[1..1 + valid].copy_from_slice(&steps[at..at + valid]);
        row[1 + valid..].fill(0.0);
        at += valid;
    }
}

impl Layer for TimeDense {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        assert_eq!(x.ncols(), self.input.width(), "time_dense input width");
        let (c, d) = (self.input.channels, self.output_shape.channels);
        batch_lengths(x, self.input.steps, &mut self.lengths);
        let n = gather(x, c, &self.lengths, &mut self.steps_in);
        // Broadcast the bias into every step, then add x·W on top (beta = 1).
        self.steps_out.resize(n * d, 0.0);
        for step in self.steps_out.chunks_exact_mut(d) {
            step.copy_from_slice(self.bias.as_slice().expect("bias is contiguous"));
        }
        if n > 0 {
            let a = ArrayView2::from_shape((n, c), &self.steps_in).expect("gathered steps");
            let y = ArrayViewMut2::from_shape((n, d), &mut self.steps_out).expect("scratch");
            matmul(a, self.weights.view(), 1.0, y);
        }
        self.output.resize(x.nrows(), self.output_shape.width());
        let mut out = self.output.view_mut();
        out.column_mut(0).assign(&x.column(0));
        scatter(&self.steps_out, d, &self.lengths, out);
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        let (c, d) = (self.input.channels, self.output_shape.channels);
        // Gathered again from `x` (a copy, cheap next to the products): backward then
        // depends on its arguments alone.
        batch_lengths(x, self.input.steps, &mut self.lengths);
        gather(x, c, &self.lengths, &mut self.steps_in);
        let n = gather(grad_out, d, &self.lengths, &mut self.steps_out);
        let g = ArrayView2::from_shape((n, d), &self.steps_out).expect("gathered gradients");
        let a = ArrayView2::from_shape((n, c), &self.steps_in).expect("gathered steps");
        // dW = xᵀ·g over the valid steps; db = their column sums.
        if n > 0 {
            matmul(a.t(), g, 0.0, self.grad_weights.view_mut());
        } else {
            self.grad_weights.fill(0.0);
        }
        self.grad_bias.fill(0.0);
        let sums = self.grad_bias.as_slice_mut().expect("contiguous");
        for step in self.steps_out.chunks_exact(d) {
            sums.iter_mut().zip(step).for_each(|(s, &v)| *s += v);
        }
        if need_grad_in {
            self.grad_input.resize(x.nrows(), self.input.width());
            let mut grad_in = self.grad_input.view_mut();
            grad_in.column_mut(0).fill(0.0);
            // dx = g·Wᵀ over the valid steps.
            self.steps_grad_in.resize(n * c, 0.0);
            if n > 0 {
                let dx =
                    ArrayViewMut2::from_shape((n, c), &mut self.steps_grad_in).expect("scratch");
                matmul(g, self.weights.t(), 0.0, dx);
            }
            scatter(&self.steps_grad_in, c, &self.lengths, grad_in);
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
}

/// How a time-distributed dense layer is written in the model file: weights row-major
/// (C, D).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TimeDenseSpec {
    input: SeqShape,
    n_out: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl From<TimeDense> for TimeDenseSpec {
    fn from(layer: TimeDense) -> Self {
        TimeDenseSpec {
            input: layer.input,
            n_out: layer.output_shape.channels,
            weights: layer.weights.iter().copied().collect(),
            bias: layer.bias.to_vec(),
        }
    }
}

impl TryFrom<TimeDenseSpec> for TimeDense {
    type Error = NetworkError;

    fn try_from(spec: TimeDenseSpec) -> Result<Self, NetworkError> {
        let (n_in, n_out) = (spec.input.channels, spec.n_out);
        let got = spec.weights.len();
        let weights = Array2::from_shape_vec((n_in, n_out), spec.weights).map_err(|_| {
            NetworkError::SequenceWeightCount {
                layer: "time_dense",
                what: "weights",
                got,
                expected: (n_in as u64).saturating_mul(n_out as u64),
            }
        })?;
        if weights.iter().chain(&spec.bias).any(|w| !w.is_finite()) {
            return Err(NetworkError::NonFiniteWeight {
                layer: "time_dense",
            });
        }
        TimeDense::from_weights(spec.input.steps, weights, Array1::from(spec.bias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_sequence_layer, random_matrix, random_sequences};
    use crate::nn::AnyLayer;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn layer(input: SeqShape, n_out: usize, seed: u64) -> TimeDense {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        TimeDense::from_weights(
            input.steps,
            random_matrix(input.channels, n_out, &mut rng),
            random_matrix(1, n_out, &mut rng).row(0).to_owned(),
        )
        .unwrap()
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (seed, (steps, c, d, lengths)) in [
            (4, 3, 2, vec![0, 1, 4, 2]),
            (1, 2, 3, vec![1, 0, 1]),
            (5, 1, 1, vec![5, 3]),
        ]
        .into_iter()
        .enumerate()
        {
            let shape = SeqShape::new(steps, c);
            let layer = AnyLayer::TimeDense(layer(shape, d, seed as u64));
            check_sequence_layer(layer, shape, &lengths, seed as u64, "time_dense");
        }
    }

    #[test]
    fn steps_match_a_dense_product_and_padding_is_zero() {
        let shape = SeqShape::new(3, 2);
        let mut layer = layer(shape, 4, 7);
        let x = random_sequences(shape, &[2, 0, 3], 8);
        layer.forward(x.view(), false);
        let y = layer.output();
        for (b, length) in [2usize, 0, 3].into_iter().enumerate() {
            assert_eq!(y[[b, 0]], x[[b, 0]]);
            for t in 0..3 {
                for j in 0..4 {
                    let expected = if t < length {
                        layer.bias[j]
                            + (0..2)
                                .map(|i| x[[b, 1 + t * 2 + i]] * layer.weights[[i, j]])
                                .sum::<f32>()
                    } else {
                        0.0
                    };
                    let got = y[[b, 1 + t * 4 + j]];
                    assert!(
                        (got - expected).abs() < 1e-5,
                        "row {b} step {t}: {got} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn round_trips_through_serde_and_refuses_a_damaged_spec() {
        let original = layer(SeqShape::new(3, 2), 4, 1);
        let json = serde_json::to_value(AnyLayer::TimeDense(original.clone())).unwrap();
        assert_eq!(json["type"], "time_dense");
        let AnyLayer::TimeDense(back) = serde_json::from_value(json.clone()).unwrap() else {
            panic!("not a time_dense layer")
        };
        assert_eq!(back.weights(), original.weights());
        assert_eq!(back.bias(), original.bias());
        assert_eq!(back.input_shape(), original.input_shape());
        assert_eq!(back.output_shape(), original.output_shape());

        let mut damaged = json.clone();
        damaged["weights"].as_array_mut().unwrap().push(0.5.into());
        let message = serde_json::from_value::<AnyLayer>(damaged)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("time_dense layer: weights has 9 values; expected 8"),
            "{message}"
        );
        let mut damaged = json;
        damaged["bias"].as_array_mut().unwrap().pop();
        let message = serde_json::from_value::<AnyLayer>(damaged)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("bias has 3 values; expected 4"),
            "{message}"
        );
    }

    #[test]
    fn initialisation_is_pytorch_s_uniform_bound() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let layer = TimeDense::new(SeqShape::new(5, 16), 64, &mut rng).unwrap();
        let bound = 0.25;
        let all: Vec<f32> = layer
            .weights()
            .iter()
            .chain(layer.bias())
            .copied()
            .collect();
        assert!(all.iter().all(|w| w.abs() <= bound));
        assert!(all.iter().any(|w| w.abs() > 0.9 * bound));
        assert_eq!(layer.n_params(), 16 * 64 + 64);
    }

    #[test]
    fn forward_matches_pytorch() {
        use crate::nn::seq_pool::torch_fixture::{
            assert_matches, matrix, read, reshape, size, vector,
        };
        let f = read("time_dense");
        let weights = reshape(&f["weights"], size(&f["n_in"]), size(&f["n_out"]));
        let mut layer =
            TimeDense::from_weights(size(&f["steps"]), weights, vector(&f["bias"])).unwrap();
        let x = matrix(&f["x"]);
        layer.forward(x.view(), false);
        assert_matches(layer.output(), &matrix(&f["y"]), "time_dense");
        // A second batch of other rows first: the reused buffers leave nothing behind.
        let mut other = x.clone();
        other.column_mut(0).fill(5.0);
        layer.forward(other.view(), false);
        layer.forward(x.view(), false);
        assert_matches(layer.output(), &matrix(&f["y"]), "time_dense, reused");
    }
}

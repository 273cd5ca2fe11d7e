//! Token embedding: ids (batch, 1 + T) in the sequence layout of `sequence.rs` with one
//! channel -> vectors (batch, 1 + T * dim), each valid step's id replaced by its row of a
//! learned (vocab, dim) table; padding steps are zeros and the length column passes
//! through. Id 0 is the out-of-vocabulary token, a trained row like the others; a value
//! that is not a whole number in 0..vocab (damaged input) reads row 0.
//!
//! Ids are not differentiable: the input gradient is zero. The table's gradient adds up
//! the output gradients of the valid steps that read each row.

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::error::sequence_shape;
use super::{valid_steps, Buffer, Layer, NetworkError, SeqShape};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "EmbeddingSpec", try_from = "EmbeddingSpec")]
/// A learned (vocab, dim) table read at each valid step's token id (see the top of this file).
pub struct Embedding {
    /// (vocab, dim)
    weights: Array2<f32>,
    grad_weights: Array2<f32>,
    /// The output: `steps` steps of `dim` values.
    shape: SeqShape,
    output: Buffer,
    grad_input: Buffer,
}

impl Embedding {
    /// An embedding of `vocab` tokens (id 0 the out-of-vocabulary one) into `dim` values,
    /// over `steps` steps, initialised N(0, 1) as PyTorch's `nn.Embedding`. Errors when a
    /// size is zero or the output width overflows.
    pub fn new(
        vocab: usize,
        dim: usize,
        steps: usize,
        rng: &mut impl Rng,
    ) -> Result<Self, NetworkError> {
        sequence_shape("embedding", steps, dim)?;
        let weights =
            Array2::from_shape_simple_fn((vocab, dim), || StandardNormal.sample(&mut *rng));
        Embedding::from_weights(weights, steps)
    }

    /// An embedding with the table `weights` (vocab, dim) over `steps` steps.
    pub fn from_weights(weights: Array2<f32>, steps: usize) -> Result<Self, NetworkError> {
        let (vocab, dim) = weights.dim();
        if vocab == 0 {
            return Err(NetworkError::EmptyVocabulary);
        }
        let shape = sequence_shape("embedding", steps, dim)?;
        Ok(Embedding {
            grad_weights: Array2::zeros((vocab, dim)),
            weights: weights.as_standard_layout().into_owned(),
            shape,
            output: Buffer::default(),
            grad_input: Buffer::default(),
        })
    }

    /// Tokens in the vocabulary, the out-of-vocabulary id 0 included.
    pub fn vocab(&self) -> usize {
        self.weights.nrows()
    }

    /// Values per token.
    pub fn dim(&self) -> usize {
        self.weights.ncols()
    }

    /// T: steps per row.
    pub fn steps(&self) -> usize {
        self.shape.steps
    }

    /// The input: T steps of one id.
    pub fn input_shape(&self) -> SeqShape {
        SeqShape::new(self.shape.steps, 1)
    }

    /// The output: T steps of `dim` values.
    pub fn output_shape(&self) -> SeqShape {
        self.shape
    }

    /// The table: (vocab, dim), row i the vector of id i.
    pub fn weights(&self) -> &Array2<f32> {
        &self.weights
    }

    /// The table row an input value reads: the id when it is a whole number in
    /// 0..vocab, else 0 (the out-of-vocabulary row).
    pub fn row_of(&self, id: f32) -> usize {
        row_of(id, self.vocab())
    }

    fn check_input(&self, x: ArrayView2<f32>) {
        assert_eq!(
            x.ncols(),
            self.input_shape().width(),
            "embedding input width"
        );
    }
}

/// The row of `id` in a table of `vocab` rows (see `Embedding::row_of`).
fn row_of(id: f32, vocab: usize) -> usize {
    let row = id as usize; // saturating; NaN gives 0
    if id >= 0.0 && id.fract() == 0.0 && row < vocab {
        row
    } else {
        0
    }
}

impl Layer for Embedding {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        self.check_input(x);
        let (steps, dim) = (self.shape.steps, self.shape.channels);
        self.output.resize(x.nrows(), self.shape.width());
        let vocab = self.vocab();
        let table = self.weights.as_slice().expect("the table is contiguous");
        let mut out = self.output.view_mut();
        for (ids, mut y) in x.rows().into_iter().zip(out.rows_mut()) {
            let y = y.as_slice_mut().expect("buffer rows are contiguous");
            y[0] = ids[0];
            let length = valid_steps(ids[0], steps);
            for (t, y) in y[1..].chunks_exact_mut(dim).enumerate() {
                if t < length {
                    let row = row_of(ids[1 + t], vocab);
                    y.copy_from_slice(&table[row * dim..(row + 1) * dim]);
                } else {
                    y.fill(0.0);
                }
            }
        }
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        self.check_input(x);
        let (steps, dim) = (self.shape.steps, self.shape.channels);
        self.grad_weights.fill(0.0);
        for (ids, g) in x.rows().into_iter().zip(grad_out.rows()) {
            for t in 0..valid_steps(ids[0], steps) {
                let row = self.row_of(ids[1 + t]);
                let start = self.shape.step_start(t);
                let g = g.slice(ndarray::s![start..start + dim]);
                self.grad_weights
                    .row_mut(row)
                    .iter_mut()
                    .zip(g)
                    .for_each(|(gw, &gv)| *gw += gv);
            }
        }
        if need_grad_in {
            self.grad_input.resize(x.nrows(), x.ncols());
            self.grad_input.view_mut().fill(0.0);
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        visit(
            self.weights
                .as_slice_mut()
                .expect("the table is contiguous"),
            self.grad_weights
                .as_slice()
                .expect("gradients are contiguous"),
        );
    }

    fn n_params(&self) -> usize {
        self.weights.len()
    }
}

/// How an embedding is written in the model file: the table row-major (vocab, dim).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EmbeddingSpec {
    vocab: usize,
    dim: usize,
    steps: usize,
    weights: Vec<f32>,
}

impl From<Embedding> for EmbeddingSpec {
    fn from(embedding: Embedding) -> Self {
        EmbeddingSpec {
            vocab: embedding.vocab(),
            dim: embedding.dim(),
            steps: embedding.steps(),
            weights: embedding.weights.iter().copied().collect(),
        }
    }
}

impl TryFrom<EmbeddingSpec> for Embedding {
    type Error = NetworkError;

    fn try_from(spec: EmbeddingSpec) -> Result<Self, NetworkError> {
        if spec.vocab == 0 {
            return Err(NetworkError::EmptyVocabulary);
        }
        let got = spec.weights.len();
        let weights =
            Array2::from_shape_vec((spec.vocab, spec.dim), spec.weights).map_err(|_| {
                NetworkError::SequenceWeightCount {
                    layer: "embedding",
                    what: "weights",
                    got,
                    expected: (spec.vocab as u64).saturating_mul(spec.dim as u64),
                }
            })?;
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(NetworkError::NonFiniteWeight { layer: "embedding" });
        }
        Embedding::from_weights(weights, spec.steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{assert_close, numeric_grad, random_matrix};
    use crate::nn::AnyLayer;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn table() -> Array2<f32> {
        array![[0.5f32, -0.5], [1.0, 2.0], [3.0, 4.0]]
    }

    #[test]
    fn reads_rows_zeroes_padding_and_sends_damaged_ids_to_row_0() {
        let mut layer = Embedding::from_weights(table(), 4).unwrap();
        let x = array![
            [3.0f32, 2.0, 1.0, 0.0, 2.0],
            [4.0, 2.5, -1.0, 3.0, f32::NAN],
            [0.0, 1.0, 1.0, 1.0, 1.0],
        ];
        layer.forward(x.view(), false);
        let expected = array![
            [3.0f32, 3.0, 4.0, 1.0, 2.0, 0.5, -0.5, 0.0, 0.0],
            [4.0, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ];
        assert_eq!(layer.output(), expected.view());
    }

    /// The table's gradient against finite differences at integer ids (ids themselves are
    /// not perturbed: a fractional id is damaged input), and a zero input gradient.
    #[test]
    fn table_gradient_matches_finite_differences() {
        let (vocab, dim, steps) = (5, 3, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut layer = Embedding::new(vocab, dim, steps, &mut rng).unwrap();
        let lengths = [0usize, 1, 4, 2, 3];
        let mut x = Array2::<f32>::zeros((lengths.len(), 1 + steps));
        for (mut row, &length) in x.rows_mut().into_iter().zip(&lengths) {
            row[0] = length as f32;
            for t in 0..steps {
                // Ids repeat within rows so that rows accumulate; padding ids are real ids too.
                row[1 + t] = rng.gen_range(0..vocab) as f32;
            }
        }
        layer.forward(x.view(), true);
        let r = random_matrix(lengths.len(), 1 + steps * dim, &mut rng);
        layer.backward(x.view(), r.view(), true);
        assert!(layer.grad_in().iter().all(|&g| g == 0.0));
        assert_eq!(layer.grad_in().dim(), x.dim());
        let analytic = layer.grad_weights.clone();

        let mut params: Vec<f32> = layer.weights.iter().copied().collect();
        let numeric = numeric_grad(&mut params, |ps| {
            let weights = Array2::from_shape_vec((vocab, dim), ps.to_vec()).unwrap();
            let mut probe = Embedding::from_weights(weights, steps).unwrap();
            probe.forward(x.view(), false);
            probe
                .output()
                .iter()
                .zip(&r)
                .map(|(&o, &r)| o as f64 * r as f64)
                .sum()
        });
        for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
            assert_close(a as f64, n, &format!("embedding d/dweight[{i}]"));
        }
        assert!(analytic.iter().any(|&g| g != 0.0));
    }

    #[test]
    fn round_trips_through_serde_and_refuses_a_damaged_spec() {
        let layer = AnyLayer::Embedding(Embedding::from_weights(table(), 4).unwrap());
        let json = serde_json::to_value(&layer).unwrap();
        assert_eq!(json["type"], "embedding");
        let back: AnyLayer = serde_json::from_value(json.clone()).unwrap();
        let AnyLayer::Embedding(back) = back else {
            panic!("not an embedding")
        };
        assert_eq!(back.weights(), table());
        assert_eq!(back.steps(), 4);

        let mut damaged = json.clone();
        damaged["weights"].as_array_mut().unwrap().pop();
        let message = serde_json::from_value::<AnyLayer>(damaged)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("embedding layer: weights has 5 values; expected 6"),
            "{message}"
        );
        let mut empty = json.clone();
        empty["vocab"] = 0.into();
        empty["weights"] = serde_json::json!([]);
        let message = serde_json::from_value::<AnyLayer>(empty)
            .unwrap_err()
            .to_string();
        assert!(message.contains("vocabulary is empty"), "{message}");
        let mut no_steps = json;
        no_steps["steps"] = 0.into();
        assert!(serde_json::from_value::<AnyLayer>(no_steps).is_err());
    }

    #[test]
    fn forward_matches_pytorch() {
        use crate::nn::seq_pool::torch_fixture::{assert_matches, matrix, read, reshape, size};
        let f = read("embedding");
        let (vocab, dim) = (size(&f["vocab"]), size(&f["dim"]));
        let weights = reshape(&f["weights"], vocab, dim);
        let mut layer = Embedding::from_weights(weights, size(&f["steps"])).unwrap();
        layer.forward(matrix(&f["x"]).view(), false);
        assert_matches(layer.output(), &matrix(&f["y"]), "embedding");
    }
}

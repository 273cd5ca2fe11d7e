//! A learned positional embedding: x: (batch, 1 + T * D) -> y = x + P_t at every valid
//! step t, with a learned (T, D) table P; padding steps are zeros and the length column
//! passes through (see `sequence.rs`). Initialised N(0, 0.02²), the transformer recipe of
//! the reference models.

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::error::sequence_shape;
use super::{valid_steps, Buffer, Layer, NetworkError, SeqShape};

/// The standard deviation of the initial table.
const INIT_STD: f64 = 0.02;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "PositionalEmbeddingSpec", try_from = "PositionalEmbeddingSpec")]
/// y_t = x_t + P_t at every valid step t (see the top of this file).
pub struct PositionalEmbedding {
    /// (T, D)
    table: Array2<f32>,
    grad_table: Array2<f32>,
    /// T steps of D values, in and out.
    shape: SeqShape,
    output: Buffer,
    grad_input: Buffer,
}

impl PositionalEmbedding {
    /// A table for sequences of `shape`, drawn N(0, 0.02²).
    pub fn new(shape: SeqShape, rng: &mut impl Rng) -> Result<Self, NetworkError> {
        let shape = sequence_shape("positional_embedding", shape.steps, shape.channels)?;
        let normal = Normal::new(0.0, INIT_STD).expect("the std is finite and positive");
        let table = Array2::from_shape_simple_fn((shape.steps, shape.channels), || {
            normal.sample(&mut *rng) as f32
        });
        PositionalEmbedding::from_table(table)
    }

    /// A layer that adds `table` (T, D).
    pub fn from_table(table: Array2<f32>) -> Result<Self, NetworkError> {
        let (steps, dim) = table.dim();
        Ok(PositionalEmbedding {
            shape: sequence_shape("positional_embedding", steps, dim)?,
            grad_table: Array2::zeros((steps, dim)),
            table: table.as_standard_layout().into_owned(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        })
    }

    /// The sequences it reads and writes: T steps of D values.
    pub fn shape(&self) -> SeqShape {
        self.shape
    }

    /// The table: (T, D), row t added to step t.
    pub fn table(&self) -> &Array2<f32> {
        &self.table
    }
}

/// y = x + p, value by value.
fn add_into(y: &mut [f32], x: &[f32], p: &[f32]) {
    for ((y, &xv), &pv) in y.iter_mut().zip(x).zip(p) {
        *y = xv + pv;
    }
}

impl Layer for PositionalEmbedding {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        assert_eq!(x.ncols(), self.shape.width(), "positional input width");
        let (steps, dim) = (self.shape.steps, self.shape.channels);
        self.output.resize(x.nrows(), self.shape.width());
        let table = self.table.as_slice().expect("the table is contiguous");
        let mut out = self.output.view_mut();
        for (xr, mut y) in x.rows().into_iter().zip(out.rows_mut()) {
            let y = y.as_slice_mut().expect("buffer rows are contiguous");
            y[0] = xr[0];
            let valid = valid_steps(xr[0], steps) * dim;
            let (y_valid, y_padding) = y[1..].split_at_mut(valid);
            let x_valid = xr.slice(ndarray::s![1..1 + valid]);
            // Slices where the rows are contiguous (always, from a layer's buffer): they
            // vectorise, ndarray's element iterators do not.
            match x_valid.as_slice() {
                Some(x_valid) => add_into(y_valid, x_valid, table),
                None => {
                    for ((y, &xv), &p) in y_valid.iter_mut().zip(&x_valid).zip(table) {
                        *y = xv + p;
                    }
                }
            }
            y_padding.fill(0.0);
        }
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        let steps = self.shape.steps;
        let dim = self.shape.channels;
        // dP_t = Σ over the rows where t is valid of g_t.
        self.grad_table.fill(0.0);
        let grad_table = self.grad_table.as_slice_mut().expect("contiguous");
        for (xr, g) in x.rows().into_iter().zip(grad_out.rows()) {
            let valid = valid_steps(xr[0], steps) * dim;
            let g = g.slice(ndarray::s![1..1 + valid]);
            match g.as_slice() {
                Some(g) => grad_table.iter_mut().zip(g).for_each(|(gp, &gv)| *gp += gv),
                None => grad_table
                    .iter_mut()
                    .zip(&g)
                    .for_each(|(gp, &gv)| *gp += gv),
            }
        }
        if need_grad_in {
            // dx = g at valid steps, 0 at padding and in the length column.
            self.grad_input.resize(x.nrows(), self.shape.width());
            let mut grad_in = self.grad_input.view_mut();
            for ((xr, g), mut gi) in x
                .rows()
                .into_iter()
                .zip(grad_out.rows())
                .zip(grad_in.rows_mut())
            {
                let gi = gi.as_slice_mut().expect("buffer rows are contiguous");
                gi[0] = 0.0;
                let valid = valid_steps(xr[0], steps) * dim;
                let (gi_valid, gi_padding) = gi[1..].split_at_mut(valid);
                let g = g.slice(ndarray::s![1..1 + valid]);
                match g.as_slice() {
                    Some(g) => gi_valid.copy_from_slice(g),
                    None => gi_valid.iter_mut().zip(&g).for_each(|(d, &s)| *d = s),
                }
                gi_padding.fill(0.0);
            }
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        visit(
            self.table.as_slice_mut().expect("the table is contiguous"),
            self.grad_table
                .as_slice()
                .expect("gradients are contiguous"),
        );
    }

    fn n_params(&self) -> usize {
        self.table.len()
    }
}

/// How a positional embedding is written in the model file: the table row-major (T, D).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PositionalEmbeddingSpec {
    shape: SeqShape,
    table: Vec<f32>,
}

impl From<PositionalEmbedding> for PositionalEmbeddingSpec {
    fn from(layer: PositionalEmbedding) -> Self {
        PositionalEmbeddingSpec {
            shape: layer.shape,
            table: layer.table.iter().copied().collect(),
        }
    }
}

impl TryFrom<PositionalEmbeddingSpec> for PositionalEmbedding {
    type Error = NetworkError;

    fn try_from(spec: PositionalEmbeddingSpec) -> Result<Self, NetworkError> {
        let SeqShape { steps, channels } = spec.shape;
        let got = spec.table.len();
        let table = Array2::from_shape_vec((steps, channels), spec.table).map_err(|_| {
            NetworkError::SequenceWeightCount {
                layer: "positional_embedding",
                what: "table",
                got,
                expected: (steps as u64).saturating_mul(channels as u64),
            }
        })?;
        if table.iter().any(|w| !w.is_finite()) {
            return Err(NetworkError::NonFiniteWeight {
                layer: "positional_embedding",
            });
        }
        PositionalEmbedding::from_table(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_sequence_layer, random_matrix, random_sequences};
    use crate::nn::AnyLayer;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn layer(shape: SeqShape, seed: u64) -> PositionalEmbedding {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        PositionalEmbedding::from_table(random_matrix(shape.steps, shape.channels, &mut rng))
            .unwrap()
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (seed, (steps, dim, lengths)) in [
            (4, 3, vec![0, 1, 4, 2]),
            (1, 2, vec![1, 0, 1]),
            (6, 1, vec![6, 3]),
        ]
        .into_iter()
        .enumerate()
        {
            let shape = SeqShape::new(steps, dim);
            let layer = AnyLayer::PositionalEmbedding(layer(shape, seed as u64));
            check_sequence_layer(layer, shape, &lengths, seed as u64, "positional");
        }
    }

    #[test]
    fn adds_the_table_to_valid_steps_only() {
        let shape = SeqShape::new(3, 2);
        let mut layer = layer(shape, 4);
        let x = random_sequences(shape, &[2, 0], 5);
        layer.forward(x.view(), false);
        let y = layer.output();
        for t in 0..3 {
            for j in 0..2 {
                let col = 1 + t * 2 + j;
                let expected = if t < 2 {
                    x[[0, col]] + layer.table[[t, j]]
                } else {
                    0.0
                };
                assert_eq!(y[[0, col]], expected);
                assert_eq!(y[[1, col]], 0.0);
            }
        }
        assert_eq!((y[[0, 0]], y[[1, 0]]), (2.0, 0.0));
    }

    #[test]
    fn round_trips_through_serde_and_refuses_a_damaged_spec() {
        let original = layer(SeqShape::new(3, 2), 1);
        let json = serde_json::to_value(AnyLayer::PositionalEmbedding(original.clone())).unwrap();
        assert_eq!(json["type"], "positional_embedding");
        let AnyLayer::PositionalEmbedding(back) = serde_json::from_value(json.clone()).unwrap()
        else {
            panic!("not a positional embedding")
        };
        assert_eq!(back.table(), original.table());
        let mut damaged = json;
        damaged["table"].as_array_mut().unwrap().pop();
        let message = serde_json::from_value::<AnyLayer>(damaged)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("positional_embedding layer: table has 5 values; expected 6"),
            "{message}"
        );
    }

    #[test]
    fn initial_table_has_std_0_02() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let layer = PositionalEmbedding::new(SeqShape::new(100, 50), &mut rng).unwrap();
        let n = layer.table().len() as f64;
        let var = layer
            .table()
            .iter()
            .map(|&v| (v as f64).powi(2))
            .sum::<f64>()
            / n;
        assert!((var.sqrt() - 0.02).abs() < 0.001, "std {}", var.sqrt());
    }

    #[test]
    fn forward_matches_pytorch() {
        use crate::nn::seq_pool::torch_fixture::{assert_matches, matrix, read, reshape, size};
        let f = read("positional_embedding");
        let table = reshape(&f["table"], size(&f["steps"]), size(&f["dim"]));
        let mut layer = PositionalEmbedding::from_table(table).unwrap();
        layer.forward(matrix(&f["x"]).view(), false);
        assert_matches(layer.output(), &matrix(&f["y"]), "positional");
    }
}

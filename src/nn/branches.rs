//! `Branches`: the first layer of a network whose row mixes plain features with sequence
//! blocks (a text column's token ids, a series). Each block runs through its own small
//! network (an encoder: embedding, recurrent or attention layers, pooling) and the
//! results are concatenated after the plain columns, so one dense head reads them all:
//!
//! ```text
//! [ plain columns .. | encoder 1 output | encoder 2 output | .. ]
//! ```
//!
//! It only stands first in a network: its inputs are the preprocessed row, which needs no
//! gradient, so `backward` computes none (`grad_in` is zeros).

use ndarray::{s, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{Buffer, Layer, Network, NetworkError};

/// A block of input columns and the network that encodes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Branch {
    /// The block's first column in the layer's input.
    pub start: usize,
    /// The encoder; it takes `encoder.n_inputs` columns from `start`.
    pub encoder: Network,
}

impl Branch {
    fn columns(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.encoder.n_inputs
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "BranchesSpec", try_from = "BranchesSpec")]
/// Plain columns passed through, sequence blocks encoded, all concatenated.
pub struct Branches {
    n_inputs: usize,
    branches: Vec<Branch>,
    /// The input columns in no block, in order.
    plain: Vec<usize>,
    output: Buffer,
    grad_input: Buffer,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchesSpec {
    n_inputs: usize,
    branches: Vec<Branch>,
}

impl From<Branches> for BranchesSpec {
    fn from(b: Branches) -> Self {
        BranchesSpec {
            n_inputs: b.n_inputs,
            branches: b.branches,
        }
    }
}

impl TryFrom<BranchesSpec> for Branches {
    type Error = NetworkError;
    fn try_from(spec: BranchesSpec) -> Result<Self, NetworkError> {
        Branches::new(spec.n_inputs, spec.branches)
    }
}

impl Branches {
    /// `n_inputs` columns, of which each branch encodes its block. Errors when a block
    /// reaches past the input or overlaps the one before (blocks are in column order).
    pub fn new(n_inputs: usize, branches: Vec<Branch>) -> Result<Self, NetworkError> {
        let mut next_free = 0;
        for (i, branch) in branches.iter().enumerate() {
            let columns = branch.columns();
            if columns.start < next_free || columns.end > n_inputs || columns.is_empty() {
                return Err(NetworkError::BranchColumns {
                    branch: i + 1,
                    start: columns.start,
                    end: columns.end,
                    n_inputs,
                });
            }
            next_free = columns.end;
        }
        let plain = (0..n_inputs)
            .filter(|c| !branches.iter().any(|b| b.columns().contains(c)))
            .collect();
        Ok(Branches {
            n_inputs,
            branches,
            plain,
            output: Buffer::default(),
            grad_input: Buffer::default(),
        })
    }

    /// Columns it takes.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Columns it gives: the plain ones, then every encoder's outputs.
    pub fn n_outputs(&self) -> usize {
        self.plain.len()
            + self
                .branches
                .iter()
                .map(|b| b.encoder.n_outputs())
                .sum::<usize>()
    }

    /// The encoded blocks, in column order.
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    /// The encoders, to check each on its own when a file is loaded.
    pub(crate) fn encoders(&self) -> impl Iterator<Item = &Network> {
        self.branches.iter().map(|b| &b.encoder)
    }

    /// The input columns in no block, in order.
    pub fn plain_columns(&self) -> &[usize] {
        &self.plain
    }
}

impl Layer for Branches {
    fn forward(&mut self, x: ArrayView2<f32>, train: bool) {
        let rows = x.nrows();
        let width = self.n_outputs();
        self.output.resize(rows, width);
        let mut out = self.output.view_mut();
        for (j, &c) in self.plain.iter().enumerate() {
            out.column_mut(j).assign(&x.column(c));
        }
        let mut at = self.plain.len();
        for branch in &mut self.branches {
            let columns = branch.columns();
            let encoded = branch.encoder.forward(x.slice(s![.., columns]), train);
            let n = encoded.ncols();
            out.slice_mut(s![.., at..at + n]).assign(&encoded);
            at += n;
        }
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        let mut at = self.plain.len();
        for branch in &mut self.branches {
            let n = branch.encoder.n_outputs();
            let columns = branch.columns();
            branch
                .encoder
                .backward(x.slice(s![.., columns]), grad_out.slice(s![.., at..at + n]));
            at += n;
        }
        if need_grad_in {
            // Not used in a network (the layer stands first); zeros keep the shape.
            self.grad_input.resize(x.nrows(), self.n_inputs);
            self.grad_input.view_mut().fill(0.0);
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        for branch in &mut self.branches {
            branch.encoder.visit_params(visit);
        }
    }

    fn n_params(&self) -> usize {
        self.branches.iter().map(|b| b.encoder.n_params()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{assert_close, numeric_grad, random_matrix};
    use crate::nn::{Activation, ActivationLayer, AnyLayer, Dense};
    use ndarray::{Array1, Array2};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn dense(n_in: usize, n_out: usize, rng: &mut ChaCha8Rng) -> Dense {
        Dense::new(
            random_matrix(n_in, n_out, rng),
            random_matrix(1, n_out, rng).row(0).to_owned(),
        )
    }

    /// 5 inputs: columns 1..3 go through dense(2 -> 3) + tanh; 0, 3, 4 pass through.
    fn branches(rng: &mut ChaCha8Rng) -> Branches {
        let encoder = Network {
            n_inputs: 2,
            layers: vec![
                AnyLayer::Dense(dense(2, 3, rng)),
                AnyLayer::Activation(ActivationLayer::new(Activation::Tanh)),
            ],
        };
        Branches::new(5, vec![Branch { start: 1, encoder }]).unwrap()
    }

    #[test]
    fn plain_columns_come_first_then_each_encoding() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut layer = branches(&mut rng);
        assert_eq!(layer.plain_columns(), &[0, 3, 4]);
        assert_eq!(layer.n_outputs(), 6);
        let x = random_matrix(4, 5, &mut rng);
        layer.forward(x.view(), false);
        let AnyLayer::Dense(d) = &layer.branches()[0].encoder.layers[0] else {
            unreachable!()
        };
        let expected_block = (x.slice(s![.., 1..3]).dot(d.weights()) + d.bias()).mapv(f32::tanh);
        let out = layer.output();
        for r in 0..4 {
            assert_eq!(out[[r, 0]], x[[r, 0]]);
            assert_eq!(out[[r, 1]], x[[r, 3]]);
            assert_eq!(out[[r, 2]], x[[r, 4]]);
            for j in 0..3 {
                assert!((out[[r, 3 + j]] - expected_block[[r, j]]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn gradients_through_the_branches_and_the_head_match_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut net = Network {
            n_inputs: 5,
            layers: vec![
                AnyLayer::Branches(branches(&mut rng)),
                AnyLayer::Dense(dense(6, 2, &mut rng)),
            ],
        };
        net.validate().unwrap();
        let x = random_matrix(3, 5, &mut rng);
        let r = random_matrix(3, 2, &mut rng);
        let probe = |net: &mut Network| -> f64 {
            let y = net.forward(x.view(), false);
            y.iter().zip(&r).map(|(&a, &b)| a as f64 * b as f64).sum()
        };
        net.forward(x.view(), true);
        net.backward(x.view(), r.view());
        let mut analytic = Vec::new();
        net.visit_params(&mut |_, g| analytic.extend_from_slice(g));
        let mut params = Vec::new();
        net.copy_params_into(&mut params);
        let numeric = numeric_grad(&mut params, |ps| {
            let mut n = net.clone();
            n.load_params_from(ps);
            probe(&mut n)
        });
        assert_eq!(analytic.len(), 2 * 3 + 3 + 6 * 2 + 2);
        for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
            assert_close(a as f64, n, &format!("branches d/dparam[{i}]"));
        }
    }

    #[test]
    fn overlapping_or_outside_blocks_and_a_late_branches_layer_are_refused() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let encoder = |n_inputs| Network {
            n_inputs,
            layers: vec![AnyLayer::Dense(Dense::new(
                Array2::zeros((n_inputs, 1)),
                Array1::zeros(1),
            ))],
        };
        let outside = Branches::new(
            3,
            vec![Branch {
                start: 2,
                encoder: encoder(2),
            }],
        );
        assert!(matches!(
            outside,
            Err(NetworkError::BranchColumns { branch: 1, .. })
        ));
        let overlapping = Branches::new(
            5,
            vec![
                Branch {
                    start: 0,
                    encoder: encoder(3),
                },
                Branch {
                    start: 2,
                    encoder: encoder(2),
                },
            ],
        );
        assert!(matches!(
            overlapping,
            Err(NetworkError::BranchColumns { branch: 2, .. })
        ));

        let late = Network {
            n_inputs: 5,
            layers: vec![
                AnyLayer::Dense(dense(5, 5, &mut rng)),
                AnyLayer::Branches(branches(&mut rng)),
            ],
        };
        let err = late.validate().unwrap_err().to_string();
        assert!(err.contains("may only be the first layer"), "{err}");
    }

    #[test]
    fn a_saved_branches_layer_reads_back_and_a_damaged_one_is_refused() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let layer = AnyLayer::Branches(branches(&mut rng));
        let json = serde_json::to_string(&layer).unwrap();
        let back: AnyLayer = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let damaged = json.replace("\"start\":1", "\"start\":4");
        let err = serde_json::from_str::<AnyLayer>(&damaged)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("columns 4..6 must lie within the 5 inputs"),
            "{err}"
        );
    }
}

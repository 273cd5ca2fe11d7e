//! Weight initialisation: He (for ReLU-like activations) and Xavier/Glorot.

use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// How initial weights are drawn.
pub enum Init {
    /// Normal(0, sqrt(2 / n_in)): keeps the variance through ReLU layers.
    HeNormal,
    /// Uniform(±sqrt(6 / (n_in + n_out))).
    XavierUniform,
}

impl Init {
    /// A (n_in, n_out) weight matrix.
    pub fn weights(self, n_in: usize, n_out: usize, rng: &mut impl Rng) -> Array2<f32> {
        match self {
            Init::HeNormal => {
                let std = (2.0 / n_in as f64).sqrt();
                let normal = Normal::new(0.0, std).expect("std is finite and positive");
                Array2::from_shape_simple_fn((n_in, n_out), || normal.sample(rng) as f32)
            }
            Init::XavierUniform => {
                let limit = (6.0 / (n_in + n_out) as f64).sqrt();
                let uniform = Uniform::new_inclusive(-limit, limit);
                Array2::from_shape_simple_fn((n_in, n_out), || uniform.sample(rng) as f32)
            }
        }
    }
}

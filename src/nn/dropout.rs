//! Inverted dropout: in training each input is zeroed with probability `rate` and the rest
//! scaled by 1 / (1 - rate), so nothing changes at evaluation (identity).

use ndarray::{ArrayView2, Zip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Buffer, Layer, NetworkError};

/// Inverted dropout between layers; identity at evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dropout {
    /// The probability of zeroing each input in training, in [0, 1).
    pub rate: f32,
    /// Saved with the layer so that a resumed training run draws the same masks.
    #[serde(with = "crate::rng_state", default = "default_rng")]
    rng: ChaCha8Rng,
    #[serde(skip)]
    mask: Buffer,
    #[serde(skip)]
    output: Buffer,
    #[serde(skip)]
    grad_input: Buffer,
}

fn default_rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(0)
}

impl Dropout {
    /// Dropout of `rate`, which must be in [0, 1); masks drawn from a RNG seeded with
    /// `seed`.
    pub fn new(rate: f32, seed: u64) -> Result<Self, NetworkError> {
        if !(0.0..1.0).contains(&rate) {
            return Err(NetworkError::DropoutRate { rate });
        }
        Ok(Dropout {
            rate,
            rng: ChaCha8Rng::seed_from_u64(seed),
            mask: Buffer::default(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        })
    }
}

impl Layer for Dropout {
    fn forward(&mut self, x: ArrayView2<f32>, train: bool) {
        let (rows, cols) = x.dim();
        self.output.resize(rows, cols);
        self.mask.resize(rows, cols);
        let keep_scale = 1.0 / (1.0 - self.rate);
        let rate = self.rate;
        let rng = &mut self.rng;
        self.mask.view_mut().iter_mut().for_each(|m| {
            *m = if !train || rng.gen::<f32>() >= rate {
                if train {
                    keep_scale
                } else {
                    1.0
                }
            } else {
                0.0
            }
        });
        Zip::from(&mut self.output.view_mut())
            .and(&x)
            .and(&self.mask.view())
            .for_each(|y, &x, &m| *y = x * m);
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, _x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        if !need_grad_in {
            return;
        }
        self.grad_input.resize(grad_out.nrows(), grad_out.ncols());
        Zip::from(&mut self.grad_input.view_mut())
            .and(&grad_out)
            .and(&self.mask.view())
            .for_each(|gx, &g, &m| *gx = g * m);
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }
}

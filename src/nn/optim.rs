//! Optimizers: `step` updates every parameter from its gradient. State (velocity, moments)
//! is allocated at the first step and reused; learning-rate schedules live elsewhere.

use serde::{Deserialize, Serialize};

use super::Network;
use crate::parallel::{for_each_part, SharedMut};

/// Updates a network's parameters from the gradients of its last backward pass.
pub trait Optimizer {
    /// One update of every parameter of `network` from its current gradient.
    fn step(&mut self, network: &mut Network);
    /// The learning rate the next `step` uses.
    fn learning_rate(&self) -> f32;
    /// Set the learning rate for the following steps (the trainer does so every epoch).
    fn set_learning_rate(&mut self, lr: f32);
}

/// Make `state` hold one zeroed vector per parameter tensor on first use.
fn state_for(state: &mut Vec<Vec<f32>>, index: usize, len: usize) -> &mut [f32] {
    if state.len() <= index {
        state.push(vec![0.0; len]);
    }
    &mut state[index]
}

/// Settings of `Sgd`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f32,
    /// Momentum μ; 0 is plain SGD (no velocity kept).
    pub momentum: f32,
    /// Nesterov momentum: step along g + μ·v instead of v.
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
}

/// SGD as PyTorch defines it: g += wd·p; v = μ·v + g; p -= lr·(nesterov ? g + μ·v : v).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    /// The settings; `lr` is the current rate, changed by `set_learning_rate`.
    pub config: SgdConfig,
    velocity: Vec<Vec<f32>>,
}

impl Sgd {
    /// An optimizer with no velocity yet; it is allocated at the first step.
    pub fn new(config: SgdConfig) -> Self {
        Sgd {
            config,
            velocity: Vec::new(),
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, network: &mut Network) {
        let SgdConfig {
            lr,
            momentum,
            nesterov,
            weight_decay,
        } = self.config;
        let velocity = &mut self.velocity;
        let mut index = 0;
        network.visit_params(&mut |params, grads| {
            let v = state_for(velocity, index, params.len());
            index += 1;
            for ((p, &g), v) in params.iter_mut().zip(grads).zip(v.iter_mut()) {
                let g = g + weight_decay * *p;
                if momentum == 0.0 {
                    *p -= lr * g;
                    continue;
                }
                *v = momentum * *v + g;
                let update = if nesterov { g + momentum * *v } else { *v };
                *p -= lr * update;
            }
        });
    }

    fn learning_rate(&self) -> f32 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}

/// Settings of `Adam`; the default is PyTorch's: lr 1e-3, β1 0.9, β2 0.999, ε 1e-8, no
/// weight decay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// Decay rate β1 of the first moment (mean of the gradients).
    pub beta1: f32,
    /// Decay rate β2 of the second moment (mean of the squared gradients).
    pub beta2: f32,
    /// ε added to √v̂ in the denominator, against division by zero.
    pub eps: f32,
    /// Decoupled weight decay (AdamW): p -= lr·wd·p.
    pub weight_decay: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Adam with bias correction:
/// m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= lr·m̂ / (√v̂ + ε), m̂ = m/(1-β1ᵗ), v̂ = v/(1-β2ᵗ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// The settings; `lr` is the current rate, changed by `set_learning_rate`.
    pub config: AdamConfig,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// An optimizer at step 0 with no moments yet; they are allocated at the first step.
    pub fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, network: &mut Network) {
        self.t += 1;
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.config;
        let k = AdamStep {
            beta1,
            beta2,
            eps,
            // lr·m̂ = (lr / (1-β1ᵗ))·m and √v̂ = √v · (1 / √(1-β2ᵗ))
            step: lr / (1.0 - beta1.powi(self.t)),
            inv_v_correction_sqrt: 1.0 / (1.0 - beta2.powi(self.t)).sqrt(),
            decay: lr * weight_decay,
        };
        let (ms, vs) = (&mut self.m, &mut self.v);
        let mut index = 0;
        network.visit_params(&mut |params, grads| {
            let m = state_for(ms, index, params.len());
            let v = state_for(vs, index, params.len());
            index += 1;
            // Each element's update depends on that element alone: any split gives the
            // same numbers.
            let (params, m, v) = (SharedMut::new(params), SharedMut::new(m), SharedMut::new(v));
            for_each_part(grads.len(), ADAM_CHUNK, &|r| {
                // SAFETY: the tasks' ranges are disjoint.
                let (p, m, v) = unsafe {
                    (
                        params.range(r.clone()),
                        m.range(r.clone()),
                        v.range(r.clone()),
                    )
                };
                adam_update(p, &grads[r], m, v, &k);
            });
        });
    }

    fn learning_rate(&self) -> f32 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}

/// Either optimizer with its state, as a checkpoint stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum AnyOptimizer {
    /// Adam, or AdamW with a non-zero weight decay.
    Adam(Adam),
    /// SGD, with optional (Nesterov) momentum and L2 weight decay.
    Sgd(Sgd),
}

impl Optimizer for AnyOptimizer {
    fn step(&mut self, network: &mut Network) {
        match self {
            AnyOptimizer::Adam(o) => o.step(network),
            AnyOptimizer::Sgd(o) => o.step(network),
        }
    }

    fn learning_rate(&self) -> f32 {
        match self {
            AnyOptimizer::Adam(o) => o.learning_rate(),
            AnyOptimizer::Sgd(o) => o.learning_rate(),
        }
    }

    fn set_learning_rate(&mut self, lr: f32) {
        match self {
            AnyOptimizer::Adam(o) => o.set_learning_rate(lr),
            AnyOptimizer::Sgd(o) => o.set_learning_rate(lr),
        }
    }
}

/// The fewest parameters per thread when the Adam step is split over threads.
const ADAM_CHUNK: usize = 16 * 1024;

/// The per-step constants of an Adam update.
struct AdamStep {
    beta1: f32,
    beta2: f32,
    eps: f32,
    step: f32,
    inv_v_correction_sqrt: f32,
    decay: f32,
}

/// One Adam update of a parameter tensor, over slices of equal length.
/// p -= step·m / (√v · inv_v_correction_sqrt + ε) + decay·p.
#[inline(always)]
fn adam_kernel(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let gi = g[i];
        let mi = k.beta1 * m[i] + (1.0 - k.beta1) * gi;
        let vi = k.beta2 * v[i] + (1.0 - k.beta2) * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] -= k.step * mi / (vi.sqrt() * k.inv_v_correction_sqrt + k.eps) + k.decay * p[i];
    }
}

/// The same kernel compiled for AVX (8 lanes instead of SSE's 4). Only AVX, not FMA, so
/// that every operation rounds exactly as in the portable build: same numbers either way.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn adam_kernel_avx(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    adam_kernel(p, g, m, v, k)
}

fn adam_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, checked just above.
        return unsafe { adam_kernel_avx(p, g, m, v, k) };
    }
    adam_kernel(p, g, m, v, k)
}

#[cfg(test)]
mod tests {
    //! Steps computed by hand on a 1 -> 1 dense layer whose gradients are set exactly:
    //! with input x and output gradient g, dW = x·g and db = g.
    use super::*;
    use crate::nn::{AnyLayer, Dense};
    use ndarray::array;

    fn one_weight_network() -> Network {
        Network {
            n_inputs: 1,
            layers: vec![AnyLayer::Dense(Dense::new(
                array![[1.0f32]],
                array![0.0f32],
            ))],
        }
    }

    /// Set dW = grad_w and db = grad_w / 2 by a forward and backward pass.
    fn set_gradient(net: &mut Network, grad_w: f32) {
        let x = array![[2.0f32]];
        net.forward(x.view(), true);
        net.backward(x.view(), array![[grad_w / 2.0]].view());
    }

    fn weight(net: &mut Network) -> f32 {
        let mut params = Vec::new();
        net.copy_params_into(&mut params);
        params[0]
    }

    fn run(optimizer: &mut dyn Optimizer, grads: &[f32]) -> Vec<f32> {
        let mut net = one_weight_network();
        grads
            .iter()
            .map(|&g| {
                set_gradient(&mut net, g);
                optimizer.step(&mut net);
                weight(&mut net)
            })
            .collect()
    }

    fn sgd(momentum: f32, nesterov: bool, weight_decay: f32) -> Sgd {
        Sgd::new(SgdConfig {
            lr: 0.1,
            momentum,
            nesterov,
            weight_decay,
        })
    }

    fn assert_steps(actual: Vec<f32>, expected: &[f64]) {
        for (a, e) in actual.iter().zip(expected) {
            assert!((*a as f64 - e).abs() < 1e-6, "{actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn plain_sgd() {
        // w = 1 - 0.1·1 = 0.9, then 0.9 - 0.1·0.5 = 0.85
        assert_steps(run(&mut sgd(0.0, false, 0.0), &[1.0, 0.5]), &[0.9, 0.85]);
    }

    #[test]
    fn sgd_with_momentum() {
        // v = 1, w = 0.9; v = 0.9 + 1 = 1.9, w = 0.9 - 0.19 = 0.71
        assert_steps(run(&mut sgd(0.9, false, 0.0), &[1.0, 1.0]), &[0.9, 0.71]);
    }

    #[test]
    fn sgd_with_nesterov_momentum() {
        // v = 1, u = 1 + 0.9·1 = 1.9, w = 0.81; v = 1.9, u = 1 + 0.9·1.9 = 2.71, w = 0.539
        assert_steps(run(&mut sgd(0.9, true, 0.0), &[1.0, 1.0]), &[0.81, 0.539]);
    }

    #[test]
    fn sgd_with_l2_weight_decay() {
        // g = 1 + 0.1·1 = 1.1, w = 0.89; g = 1 + 0.1·0.89 = 1.089, w = 0.7811
        assert_steps(run(&mut sgd(0.0, false, 0.1), &[1.0, 1.0]), &[0.89, 0.7811]);
    }

    #[test]
    fn adam_with_bias_correction() {
        // Step 1: m̂ = 1, v̂ = 1, w = 0.9. Step 2 with g = 0.5: m = 0.14, v = 0.001249,
        // m̂ = 0.14/0.19, v̂ = 0.001249/0.001999, w = 0.9 - 0.1·m̂/√v̂ = 0.80678204.
        let mut adam = Adam::new(AdamConfig {
            lr: 0.1,
            ..AdamConfig::default()
        });
        assert_steps(run(&mut adam, &[1.0, 0.5]), &[0.9, 0.806_782_04]);
    }

    #[test]
    fn adamw_decays_decoupled_from_the_gradient() {
        // w -= lr·(m̂/√v̂ + wd·w): 1 - 0.1·(1 + 0.1) = 0.89; then 0.78788204
        let config = AdamConfig {
            lr: 0.1,
            weight_decay: 0.1,
            ..AdamConfig::default()
        };
        assert_steps(
            run(&mut Adam::new(config), &[1.0, 0.5]),
            &[0.89, 0.787_882_04],
        );
    }
}

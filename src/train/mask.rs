//! `WeightMask`: the weights of a network held at exactly zero while it trains (the
//! fine-tuning of a pruned network). The loop masks the gradient before each optimizer
//! step, so momentum and Adam's moments never see those weights, and zeroes them again
//! after it, so that weight decay or a stale moment cannot move them either.

use crate::nn::Network;

/// Which weights of each prunable layer (`Network::visit_prunable`) are held at zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightMask {
    /// (layer index, one flag per weight: true = held at zero)
    layers: Vec<(usize, Vec<bool>)>,
}

impl WeightMask {
    /// The mask of the weights of `network` that are exactly zero now.
    pub fn of_zeros(network: &mut Network) -> Self {
        let mut layers = Vec::new();
        network.visit_prunable(&mut |layer, weights, _| {
            layers.push((layer, weights.iter().map(|&w| w == 0.0).collect()));
        });
        WeightMask { layers }
    }

    /// Weights held at zero, over all layers.
    pub fn n_masked(&self) -> usize {
        self.layers
            .iter()
            .map(|(_, m)| m.iter().filter(|&&z| z).count())
            .sum()
    }

    /// Zero the masked entries of each layer's weights, or of their gradient.
    fn zero(&self, network: &mut Network, gradient: bool) {
        let mut next = self.layers.iter().peekable();
        network.visit_prunable(&mut |layer, weights, grad| {
            if let Some((_, mask)) = next.next_if(|(l, _)| *l == layer) {
                let values = if gradient { grad } else { weights };
                for (v, &z) in values.iter_mut().zip(mask) {
                    if z {
                        *v = 0.0;
                    }
                }
            }
        });
    }

    /// Zero the gradient of every masked weight (before the optimizer step).
    pub fn mask_gradients(&self, network: &mut Network) {
        self.zero(network, true);
    }

    /// Zero every masked weight (after the optimizer step).
    pub fn apply(&self, network: &mut Network) {
        self.zero(network, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, MlpConfig, Optimizer};
    use crate::nn::{Adam, AdamConfig, Loss, SoftmaxCrossEntropy, Targets};
    use ndarray::Array2;

    fn network() -> Network {
        let config = MlpConfig {
            n_inputs: 3,
            hidden: vec![4],
            n_outputs: 2,
            activation: Activation::Relu,
            dropout: 0.0,
        };
        Network::mlp(&config, 7).unwrap()
    }

    #[test]
    fn masked_weights_stay_zero_under_adam_with_weight_decay_and_the_rest_move() {
        let mut net = network();
        // Zero every other weight of each matrix; biases stay.
        net.visit_prunable(&mut |_, w, _| {
            w.iter_mut().step_by(2).for_each(|v| *v = 0.0);
        });
        let mask = WeightMask::of_zeros(&mut net);
        assert_eq!(mask.n_masked(), 3 * 4 / 2 + 4 * 2 / 2);
        let mut before = Vec::new();
        net.visit_prunable(&mut |_, w, _| before.extend_from_slice(w));
        let mut adam = Adam::new(AdamConfig {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
        });
        let x = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f32 * 0.1 - 0.7);
        let y = [0u32, 1, 1, 0, 1];
        let loss = SoftmaxCrossEntropy::default();
        for _ in 0..10 {
            let out = net.forward(x.view(), true).to_owned();
            let mut grad = Array2::zeros(out.raw_dim());
            loss.loss_and_grad(out.view(), Targets::Classes(&y), grad.view_mut());
            net.backward(x.view(), grad.view());
            mask.mask_gradients(&mut net);
            let mut masked_grads_are_zero = true;
            net.visit_prunable(&mut |_, _, g| {
                masked_grads_are_zero &= g.iter().step_by(2).all(|&v| v == 0.0);
            });
            assert!(masked_grads_are_zero);
            adam.step(&mut net);
            mask.apply(&mut net);
        }
        let mut after = Vec::new();
        net.visit_prunable(&mut |_, w, _| after.extend_from_slice(w));
        let mut moved = 0;
        let mut offset = 0;
        net.visit_prunable(&mut |_, w, _| {
            for (i, &v) in w.iter().enumerate() {
                if i % 2 == 0 {
                    assert_eq!(v.to_bits(), 0.0f32.to_bits(), "a masked weight moved");
                } else if v != before[offset + i] {
                    moved += 1;
                }
            }
            offset += w.len();
        });
        assert!(moved > 0, "the unmasked weights must train");
        assert_eq!(WeightMask::of_zeros(&mut net), mask);
    }
}

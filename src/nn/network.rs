//! `Network`: a sequence of layers run forward and backward over a batch.

use ndarray::{Array1, Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    Activation, ActivationLayer, AnyLayer, Conv2D, Dense, Dropout, ImageShape, Init, Layer,
    MaxPool2D, NetworkError,
};

/// `problem` of the conv layer at index `i` of `Network::cnn`.
fn in_conv_layer(i: usize, problem: NetworkError) -> NetworkError {
    NetworkError::InConvLayer {
        layer: i + 1,
        problem: Box::new(problem),
    }
}

/// The shape of a multi-layer perceptron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Width of the input.
    pub n_inputs: usize,
    /// Widths of the hidden layers (empty: a linear model).
    pub hidden: Vec<usize>,
    /// Width of the output (one per class, or one per regression target).
    pub n_outputs: usize,
    /// The activation after each hidden layer.
    pub activation: Activation,
    /// Dropout rate after each hidden activation, in [0, 1) (0: none).
    pub dropout: f32,
}

/// One convolution of a CNN: `filters` output channels, `kernel` x `kernel` windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvSpec {
    /// Output channels.
    pub filters: usize,
    /// Side of the square kernel.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Zeros added on every side of the image.
    pub padding: usize,
}

impl ConvSpec {
    /// Stride 1 and padding kernel / 2: an odd kernel keeps the image size ("same").
    pub fn same(filters: usize, kernel: usize) -> Self {
        ConvSpec {
            filters,
            kernel,
            stride: 1,
            padding: kernel / 2,
        }
    }
}

/// The shape of a small CNN: each conv layer is followed by ReLU and 2x2 max-pooling, then
/// the dense head (`hidden`, `activation`, `dropout` as in `MlpConfig`) reads the last
/// feature maps flattened row-major H x W x C. Inputs are images row-major H x W x C.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CnnConfig {
    /// The shape of the input images.
    pub image: ImageShape,
    /// The conv layers, in order.
    pub conv: Vec<ConvSpec>,
    /// Widths of the hidden dense layers of the head.
    pub hidden: Vec<usize>,
    /// Width of the output.
    pub n_outputs: usize,
    /// The activation after each hidden dense layer.
    pub activation: Activation,
    /// Dropout rate after each hidden dense activation, in [0, 1) (0: none).
    pub dropout: f32,
}

/// What `Network::visit_prunable` calls: the layer's index, its weights, their gradient.
pub type PrunableVisitor<'a> = dyn FnMut(usize, &mut [f32], &mut [f32]) + 'a;

/// A sequence of layers, the network of a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    /// Width of the input.
    pub n_inputs: usize,
    /// The layers, input first.
    pub layers: Vec<AnyLayer>,
}

impl Network {
    /// Dense layers with He init before ReLU-like activations, Xavier otherwise (the
    /// output layer included); weights drawn from a RNG seeded with `seed`. Errors when
    /// the dropout rate is not in [0, 1).
    pub fn mlp(config: &MlpConfig, seed: u64) -> Result<Network, NetworkError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layers = Vec::new();
        let mut n_in = config.n_inputs;
        for (i, &width) in config.hidden.iter().enumerate() {
            let init = if config.activation.is_relu_like() {
                Init::HeNormal
            } else {
                Init::XavierUniform
            };
            layers.push(AnyLayer::Dense(Dense::new(
                init.weights(n_in, width, &mut rng),
                Array1::zeros(width),
            )));
            layers.push(AnyLayer::Activation(ActivationLayer::new(
                config.activation,
            )));
            if config.dropout > 0.0 {
                let dropout_seed = seed.wrapping_add(1000 + i as u64);
                layers.push(AnyLayer::Dropout(Dropout::new(
                    config.dropout,
                    dropout_seed,
                )?));
            }
            n_in = width;
        }
        layers.push(AnyLayer::Dense(Dense::new(
            Init::XavierUniform.weights(n_in, config.n_outputs, &mut rng),
            Array1::zeros(config.n_outputs),
        )));
        Ok(Network {
            n_inputs: config.n_inputs,
            layers,
        })
    }

    /// Conv layers (He init) each followed by ReLU and 2x2 max-pooling, then the dense head
    /// of `Network::mlp`. Errors when an image becomes too small for a kernel or a pool,
    /// or the dropout rate is not in [0, 1).
    pub fn cnn(config: &CnnConfig, seed: u64) -> Result<Network, NetworkError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc0_417a);
        let mut layers = Vec::new();
        let mut shape = config.image;
        for (i, spec) in config.conv.iter().enumerate() {
            let patch = spec.kernel * spec.kernel * shape.channels;
            let conv = Conv2D::new(
                shape,
                spec.kernel,
                spec.stride,
                spec.padding,
                Init::HeNormal.weights(patch, spec.filters, &mut rng),
                Array1::zeros(spec.filters),
            )
            .map_err(|e| in_conv_layer(i, e))?;
            let pool = MaxPool2D::new(conv.output_shape(), 2).map_err(|e| in_conv_layer(i, e))?;
            shape = pool.output_shape();
            // Pooling before the ReLU: max and ReLU commute (values and gradients alike),
            // and the ReLU then sees a quarter of the values.
            layers.push(AnyLayer::Conv2D(conv));
            layers.push(AnyLayer::MaxPool2D(pool));
            layers.push(AnyLayer::Activation(ActivationLayer::new(Activation::Relu)));
        }
        let head = Network::mlp(
            &MlpConfig {
                n_inputs: shape.len(),
                hidden: config.hidden.clone(),
                n_outputs: config.n_outputs,
                activation: config.activation,
                dropout: config.dropout,
            },
            seed,
        )?;
        layers.extend(head.layers);
        Ok(Network {
            n_inputs: config.image.len(),
            layers,
        })
    }

    /// Width of the output: what the last layer gives (`n_inputs` without layers).
    pub fn n_outputs(&self) -> usize {
        self.layers
            .iter()
            .fold(self.n_inputs, |width, layer| layer.output_width(width))
    }

    /// Its layers with each `branches` layer replaced by the layers of its encoders (in
    /// order, depth first): every layer with weights of its own.
    pub fn leaf_layers(&self) -> Vec<&AnyLayer> {
        let mut out = Vec::new();
        for layer in &self.layers {
            match layer {
                AnyLayer::Branches(b) => b
                    .branches()
                    .iter()
                    .for_each(|branch| out.extend(branch.encoder.leaf_layers())),
                other => out.push(other),
            }
        }
        out
    }

    /// Number of trainable parameters.
    pub fn n_params(&self) -> usize {
        self.layers.iter().map(|l| l.n_params()).sum()
    }

    /// `x`: (batch, n_inputs) -> (batch, n_outputs), a view of the last layer's buffer.
    ///
    /// A dense layer (f32 or int8) followed by an activation runs fused: the dense layer's
    /// buffer gets x·W and the activation adds the bias as it applies f, in one pass over
    /// memory (so that dense layer's own `output()` then lacks its bias; nothing reads it).
    pub fn forward<'a>(&'a mut self, x: ArrayView2<'a, f32>, train: bool) -> ArrayView2<'a, f32> {
        let mut i = 0;
        while i < self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(i);
            let input = match before.last() {
                Some(prev) => prev.output(),
                None => x.view(),
            };
            match rest {
                [AnyLayer::Dense(dense), AnyLayer::Activation(activation), ..] => {
                    dense.forward_linear(input);
                    activation.forward_biased(dense.output(), dense.bias());
                    i += 2;
                }
                [AnyLayer::DenseInt8(dense), AnyLayer::Activation(activation), ..] => {
                    dense.forward_linear(input);
                    activation.forward_biased(dense.output(), dense.bias());
                    i += 2;
                }
                [layer, ..] => {
                    layer.forward(input, train);
                    i += 1;
                }
                [] => unreachable!("i < layers.len()"),
            }
        }
        match self.layers.last() {
            Some(last) => last.output(),
            None => x,
        }
    }

    /// Backward pass after `forward(x, true)`; `grad_output`: (batch, n_outputs).
    /// The first layer computes no gradient with respect to the input.
    pub fn backward(&mut self, x: ArrayView2<f32>, grad_output: ArrayView2<f32>) {
        for i in (0..self.layers.len()).rev() {
            let (before, rest) = self.layers.split_at_mut(i);
            let (current, after) = rest.split_first_mut().expect("i is in range");
            let input = match before.last() {
                Some(prev) => prev.output(),
                None => x.view(),
            };
            let grad_out = match after.first() {
                Some(next) => next.grad_in(),
                None => grad_output.view(),
            };
            current.backward(input, grad_out, i > 0);
        }
    }

    /// Visit every (parameter, gradient) pair in a fixed order.
    pub fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        for layer in &mut self.layers {
            layer.visit_params(visit);
        }
    }

    /// Visit the prunable weight matrix of each top-level layer that has one (see
    /// `Layer::prunable_weights`) with its index in `layers` and its gradient.
    pub fn visit_prunable(&mut self, visit: &mut PrunableVisitor<'_>) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            if let Some((weights, grad)) = layer.prunable_weights() {
                visit(i, weights, grad);
            }
        }
    }

    /// All parameters, concatenated in `visit_params` order.
    pub fn copy_params_into(&mut self, out: &mut Vec<f32>) {
        out.clear();
        self.visit_params(&mut |p, _| out.extend_from_slice(p));
    }

    /// Set all parameters from a `copy_params_into` copy.
    pub fn load_params_from(&mut self, from: &[f32]) {
        let mut offset = 0;
        self.visit_params(&mut |p, _| {
            p.copy_from_slice(&from[offset..offset + p.len()]);
            offset += p.len();
        });
    }

    /// Inference over any number of rows, `batch_rows` at a time: (n_rows, n_outputs).
    pub fn predict(&mut self, x: ArrayView2<f32>, batch_rows: usize) -> Array2<f32> {
        let mut out = Array2::zeros((x.nrows(), self.n_outputs()));
        let batch_rows = batch_rows.max(1);
        for start in (0..x.nrows()).step_by(batch_rows) {
            let end = (start + batch_rows).min(x.nrows());
            let y = self.forward(x.slice(ndarray::s![start..end, ..]), false);
            out.slice_mut(ndarray::s![start..end, ..]).assign(&y);
        }
        out
    }
}

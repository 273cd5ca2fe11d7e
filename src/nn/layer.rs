//! The `Layer` trait and `AnyLayer`, the closed set of layer kinds a model file can hold.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::Int8Matrix;
use super::{ActivationLayer, Branches, Conv2D, Dense, Dropout, EncoderBlock, MaxPool2D};
use super::{Embedding, Gru, Lstm, PositionalEmbedding, QuantizedDense, SequencePool, TimeDense};

/// One step of a network, forward and backward over a batch.
///
/// A layer owns its output and input-gradient buffers; they are reused from batch to batch.
pub trait Layer {
    /// `x`: (batch, n_in). The result is kept and read with `output`.
    fn forward(&mut self, x: ArrayView2<f32>, train: bool);

    /// (batch, n_out): the result of the last `forward`.
    fn output(&self) -> ArrayView2<'_, f32>;

    /// `x`: the input of the last `forward`; `grad_out`: (batch, n_out), d loss / d output.
    /// Sets the parameter gradients and, when `need_grad_in`, d loss / d x.
    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool);

    /// (batch, n_in): d loss / d x from the last `backward` that asked for it.
    fn grad_in(&self) -> ArrayView2<'_, f32>;

    /// Visit each parameter tensor with its gradient, always in the same order.
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut [f32], &[f32])) {}

    /// Number of trainable parameters.
    fn n_params(&self) -> usize {
        0
    }

    /// The weight matrix that pruning acts on, with its gradient from the last
    /// `backward`: dense and convolution layers only (biases, embeddings and the weights
    /// of recurrent and attention layers stay dense).
    fn prunable_weights(&mut self) -> Option<(&mut [f32], &mut [f32])> {
        None
    }
}

/// Visit a weight matrix and a bias with their gradients, in that order (the parameters
/// of dense and conv layers).
pub(crate) fn visit_weights_and_bias(
    weights: &mut Array2<f32>,
    grad_weights: &Array2<f32>,
    bias: &mut Array1<f32>,
    grad_bias: &Array1<f32>,
    visit: &mut dyn FnMut(&mut [f32], &[f32]),
) {
    visit(
        weights.as_slice_mut().expect("weights are contiguous"),
        grad_weights.as_slice().expect("gradients are contiguous"),
    );
    visit(
        bias.as_slice_mut().expect("bias is contiguous"),
        grad_bias.as_slice().expect("gradients are contiguous"),
    );
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
/// Every layer kind a model file can hold, tagged by `type`.
pub enum AnyLayer {
    /// A fully connected layer.
    Dense(Dense),
    /// An element-wise activation.
    Activation(ActivationLayer),
    /// Inverted dropout.
    Dropout(Dropout),
    /// Images row-major H x W x C in, H x W x C out (see `conv.rs`).
    #[serde(rename = "conv2d")]
    Conv2D(Conv2D),
    #[serde(rename = "max_pool2d")]
    /// 2-D max pooling.
    MaxPool2D(MaxPool2D),
    /// Plain columns passed on, sequence blocks encoded by their own networks (first
    /// layer only; see `branches.rs`).
    Branches(Branches),
    /// Token ids to vectors, per step of a sequence (see `sequence.rs`).
    Embedding(Embedding),
    /// A dense layer applied to every valid step of a sequence.
    TimeDense(TimeDense),
    /// A learned table added to every valid step of a sequence.
    PositionalEmbedding(PositionalEmbedding),
    /// Sequences to one vector each: last valid step, mean or max.
    SequencePool(SequencePool),
    /// A transformer encoder block over sequence blocks (see `encoder_block.rs`).
    #[serde(rename = "transformer_encoder")]
    EncoderBlock(Box<EncoderBlock>),
    /// A GRU over a sequence block, the state at every step out (see `gru.rs`).
    Gru(Gru),
    /// An LSTM over a sequence block, the state at every step out (see `lstm.rs`).
    Lstm(Lstm),
    /// A dense layer with int8 weights, inference only (`compress --int8`).
    DenseInt8(QuantizedDense),
}

macro_rules! dispatch {
    ($self:ident, $layer:ident => $call:expr) => {
        match $self {
            AnyLayer::Dense($layer) => $call,
            AnyLayer::Activation($layer) => $call,
            AnyLayer::Dropout($layer) => $call,
            AnyLayer::Conv2D($layer) => $call,
            AnyLayer::MaxPool2D($layer) => $call,
            AnyLayer::Branches($layer) => $call,
            AnyLayer::Embedding($layer) => $call,
            AnyLayer::TimeDense($layer) => $call,
            AnyLayer::PositionalEmbedding($layer) => $call,
            AnyLayer::SequencePool($layer) => $call,
            AnyLayer::EncoderBlock($layer) => $call,
            AnyLayer::Gru($layer) => $call,
            AnyLayer::Lstm($layer) => $call,
            AnyLayer::DenseInt8($layer) => $call,
        }
    };
}

impl AnyLayer {
    /// The int8 weight matrices it holds: an int8 dense layer's, and those of a conv, GRU
    /// or LSTM layer quantized by `compress --int8` (a recurrent layer's input weights,
    /// then its recurrent ones); none for a layer in f32.
    pub fn int8_weights(&self) -> Vec<&Int8Matrix> {
        match self {
            AnyLayer::DenseInt8(d) => vec![d.matrix()],
            AnyLayer::Conv2D(c) => c.int8_weights().into_iter().collect(),
            AnyLayer::Gru(g) => g.int8_weights().map_or(vec![], |(ih, hh)| vec![ih, hh]),
            AnyLayer::Lstm(l) => l.int8_weights().map_or(vec![], |(ih, hh)| vec![ih, hh]),
            _ => Vec::new(),
        }
    }

    /// The layer's `type` in a model file: `dense`, `activation`, `dropout`, `conv2d`,
    /// `max_pool2d`, `branches`, `embedding`, `time_dense`, `positional_embedding`,
    /// `sequence_pool`, `transformer_encoder`, `gru`, `lstm`, `dense_int8`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyLayer::Dense(_) => "dense",
            AnyLayer::Activation(_) => "activation",
            AnyLayer::Dropout(_) => "dropout",
            AnyLayer::Conv2D(_) => "conv2d",
            AnyLayer::MaxPool2D(_) => "max_pool2d",
            AnyLayer::Branches(_) => "branches",
            AnyLayer::Embedding(_) => "embedding",
            AnyLayer::TimeDense(_) => "time_dense",
            AnyLayer::PositionalEmbedding(_) => "positional_embedding",
            AnyLayer::SequencePool(_) => "sequence_pool",
            AnyLayer::EncoderBlock(_) => "transformer_encoder",
            AnyLayer::Gru(_) => "gru",
            AnyLayer::Lstm(_) => "lstm",
            AnyLayer::DenseInt8(_) => "dense_int8",
        }
    }

    /// The values per row it gives when it receives `width` (element-wise layers keep the
    /// width; the others fix it).
    pub fn output_width(&self, width: usize) -> usize {
        match self {
            AnyLayer::Dense(d) => d.n_out(),
            AnyLayer::Conv2D(c) => c.output_shape().len(),
            AnyLayer::MaxPool2D(p) => p.output_shape().len(),
            AnyLayer::Branches(b) => b.n_outputs(),
            AnyLayer::Embedding(e) => e.output_shape().width(),
            AnyLayer::TimeDense(t) => t.output_shape().width(),
            AnyLayer::PositionalEmbedding(p) => p.shape().width(),
            AnyLayer::SequencePool(p) => p.n_out(),
            AnyLayer::EncoderBlock(e) => e.shape().width(),
            AnyLayer::Gru(g) => g.output_shape().width(),
            AnyLayer::Lstm(l) => l.output_shape().width(),
            AnyLayer::DenseInt8(d) => d.n_out(),
            AnyLayer::Activation(_) | AnyLayer::Dropout(_) => width,
        }
    }
}

impl Layer for AnyLayer {
    fn forward(&mut self, x: ArrayView2<f32>, train: bool) {
        dispatch!(self, l => l.forward(x, train))
    }
    fn output(&self) -> ArrayView2<'_, f32> {
        dispatch!(self, l => l.output())
    }
    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        dispatch!(self, l => l.backward(x, grad_out, need_grad_in))
    }
    fn grad_in(&self) -> ArrayView2<'_, f32> {
        dispatch!(self, l => l.grad_in())
    }
    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        dispatch!(self, l => l.visit_params(visit))
    }
    fn n_params(&self) -> usize {
        dispatch!(self, l => l.n_params())
    }
    fn prunable_weights(&mut self) -> Option<(&mut [f32], &mut [f32])> {
        dispatch!(self, l => l.prunable_weights())
    }
}

//! The network library: layers with reusable buffers, losses, optimizers, initialisation.

mod activation;
mod attention;
mod branches;
mod buffer;
mod conv;
#[cfg(target_arch = "x86_64")]
mod conv_direct;
mod conv_spec;

mod dense;
mod dropout;
mod embedding;
mod encoder_block;
mod encoder_weights;
mod encoders;
mod error;
pub(crate) mod fast_math;
mod gemm;
mod gru;
mod image_shape;
mod init;
mod int8;
mod int8_spec;
mod layer;
mod layer_norm;
mod loss;
mod lstm;
mod network;
mod optim;
mod pool;
mod positional;
mod quantized_dense;
mod recurrent;
mod recurrent_spec;
mod seq_pool;
mod sequence;
mod softmax;
mod time_dense;
mod validate;

#[cfg(test)]
pub(crate) mod gradcheck;
#[cfg(test)]
mod recurrent_tests;

pub(crate) use activation::LEAKY_RELU_SLOPE;
pub use activation::{Activation, ActivationLayer};
pub use attention::{Segments, SelfAttention};
pub use branches::{Branch, Branches};
pub(crate) use buffer::{prefix_mut, Buffer};
pub use conv::Conv2D;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use encoder_block::EncoderBlock;
pub use encoder_weights::EncoderWeights;
pub use encoders::{BlockInput, EncoderPlan, Stage};
pub use error::NetworkError;
pub use gemm::{
    gemm_choice, gemm_kernel, matmul, own_kernel, set_gemm_kernel, GemmChoice, GemmKernel, GEMM_ENV,
};
pub use gru::Gru;
pub use image_shape::ImageShape;
pub use init::Init;
pub use int8::{
    code_factor, decode_scale, int8_kernel, quantize_columns, Int8Kernel, Int8Matrix, ScaleCodes,
    INT8_ENV, MAX_INT8_INPUTS,
};
pub use layer::{AnyLayer, Layer};
pub use layer_norm::{LayerNorm, LAYER_NORM_EPS};
pub use loss::{BinaryCrossEntropy, Loss, Mse, SoftmaxCrossEntropy, Targets};
pub use lstm::Lstm;
pub use network::{CnnConfig, ConvSpec, MlpConfig, Network, PrunableVisitor};
pub use optim::{Adam, AdamConfig, AnyOptimizer, Optimizer, Sgd, SgdConfig};
pub use pool::MaxPool2D;
pub use positional::PositionalEmbedding;
pub use quantized_dense::{Int8Product, QuantizedDense};
pub use recurrent::{GateMajor, GateMajorInt8};
pub use seq_pool::{PoolMode, SequencePool};
pub use sequence::{batch_lengths, valid_steps, SeqShape};
pub use time_dense::TimeDense;
pub use validate::{MAX_KERNEL, MAX_LAYER_WIDTH, MAX_PADDING, MAX_ROW_VALUES};

//! The network library: layers with reusable buffers, losses, optimizers, initialisation.

mod activation;
mod buffer;
mod conv;
mod dense;
mod dropout;
mod gemm;
mod init;
mod layer;
mod loss;
mod network;
mod optim;
mod pool;
/// The thread pool's old path, kept while the CLI moves to [`crate::parallel`].
pub use crate::parallel as threads;

#[cfg(test)]
pub(crate) mod gradcheck;

/// Re-exported from [`crate::parallel`], its home beside the rest of the float control.
pub use crate::parallel::FlushDenormals;
pub use activation::{sigmoid, Activation, ActivationLayer, LEAKY_RELU_SLOPE};
pub use buffer::Buffer;
pub use conv::{Conv2D, ImageShape};
pub use dense::Dense;
pub use dropout::Dropout;
pub use gemm::{matmul, own_kernel};
pub use init::Init;
pub use layer::{AnyLayer, Layer};
pub use loss::{BinaryCrossEntropy, Loss, Mse, SoftmaxCrossEntropy, Targets};
pub use network::{CnnConfig, ConvSpec, MlpConfig, Network};
pub use optim::{Adam, AdamConfig, AnyOptimizer, Optimizer, Sgd, SgdConfig};
pub use pool::MaxPool2D;

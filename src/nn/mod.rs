//! The network library: layers with reusable buffers, losses, optimizers, initialisation.

mod activation;
mod buffer;
mod denormals;
mod dense;
mod dropout;
mod init;
mod layer;
mod loss;
mod network;
mod optim;

#[cfg(test)]
pub(crate) mod gradcheck;

pub use activation::{Activation, ActivationLayer};
pub use buffer::Buffer;
pub use denormals::FlushDenormals;
pub use dense::Dense;
pub use dropout::Dropout;
pub use init::Init;
pub use layer::{AnyLayer, Layer};
pub use loss::{Loss, Mse, SoftmaxCrossEntropy, Targets};
pub use network::{MlpConfig, Network};
pub use optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};

//! csvnn: train small neural networks on CSV tables.
pub mod data;
pub mod error;
pub mod metrics;
pub mod nn;
pub mod parallel;
pub mod preprocess;
pub mod rng_state;
pub mod train;

pub use error::{Error, Location, Result};
pub mod atomic;
pub mod evaluate;
pub mod explain;
pub mod model;
pub mod onnx;

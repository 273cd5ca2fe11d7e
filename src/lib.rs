//! csvnn: train small neural networks on CSV tables.
pub mod metrics;
pub mod data;
pub mod error;
pub mod nn;

pub use error::{Error, Location, Result};

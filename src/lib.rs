//! csvnn: train small neural networks on CSV tables.
pub mod metrics;

//! Metrics: plain functions over slices (classification.rs, regression.rs) and the
//! reports `evaluate` prints.

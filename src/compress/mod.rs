//! Compressing a trained model into a smaller or faster one that scores the same rows:
//! post-training int8 quantization (`int8.rs`). The result is a normal model file that
//! records how it was compressed (`record.rs`).

mod int8;
mod record;

pub use int8::{is_int8, quantize_int8, quantize_network};
pub use record::{CompressionRecord, Int8Note, INT8_ACTIVATIONS, INT8_WEIGHTS};

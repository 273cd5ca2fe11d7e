//! `CompressionRecord`: what a model file says about how it was compressed.

use serde::{Deserialize, Serialize};

/// How a model was compressed; absent from models that were not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompressionRecord {
    /// Post-training int8 quantization, when it was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<Int8Note>,
}

/// What int8 quantization did to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Int8Note {
    /// How the weights were quantized.
    pub weights: String,
    /// How the inputs of the quantized layers are quantized when the model runs.
    pub activations: String,
    /// Layers whose weights became int8.
    pub layers_int8: usize,
    /// The kinds of the layers with weights that stayed f32 (one entry per layer).
    pub layers_f32: Vec<String>,
    /// Bytes of the quantized layers' weights in f32 (4 per weight).
    pub f32_weight_bytes: u64,
    /// Bytes of the same weights in int8 with their scales (1 per weight, 4 per scale).
    pub int8_weight_bytes: u64,
}

/// The `weights` of an `Int8Note`.
pub const INT8_WEIGHTS: &str =
    "int8, symmetric, one scale per output channel (max |w| / 127), round half to even";
/// The `activations` of an `Int8Note`.
pub const INT8_ACTIVATIONS: &str =
    "int8, symmetric, one scale per row from the row's max |x| (dynamic), i32 accumulation";

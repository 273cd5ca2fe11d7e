//! Smaller or faster models from trained ones that score the same rows: magnitude pruning
//! with fine-tuning (`prune`) and post-training int8 quantization (`int8`). The result is
//! a normal model file that records how it was made (`record`).

mod int8;
mod prune;
mod record;

pub use int8::{
    is_int8, param_stats, product_for, quantize_int8, quantize_network, F32_PRODUCT_INPUTS,
    F32_PRODUCT_OUTPUTS,
};
pub use prune::{prune, prune_weights, PruneSettings, Scope};
pub use record::{
    count_zeros, CompressionRecord, Int8Note, PruneNote, PrunedLayer, INT8_ACTIVATIONS,
    INT8_WEIGHTS,
};

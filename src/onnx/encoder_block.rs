//! A transformer encoder block's nodes. (A stub: the real file is written separately.)

use super::builder::Builder;
use crate::error::{Error, Result};
use crate::nn::EncoderBlock;

/// Nodes of one transformer encoder block (post-norm, as nn::EncoderBlock computes it).
/// `x`: float (N, T, D), batch-major; `steps`: int64 (N), each row's valid steps (1..=T).
/// Returns the name of the block's output, float (N, T, D); values at padding steps are unspecified.
pub(super) fn add_encoder_block(
    _b: &mut Builder,
    _prefix: &str,
    _block: &EncoderBlock,
    _x: &str,
    _steps: &str,
) -> Result<String> {
    Err(Error::config(
        "cannot export: transformer encoder blocks are not exported yet",
    ))
}

//! `EncoderWeights`: a transformer encoder block's parameters in PyTorch's layout, the
//! form an exporter (ONNX) and a comparison with PyTorch need; csvnn keeps the linear maps
//! transposed, as `Dense` layers (see encoder_block.rs).

use ndarray::{Array1, Array2};

use super::encoder_block::EncoderBlockSpec;
use super::layer_norm::LayerNorm;
use super::{Dense, EncoderBlock, NetworkError};

/// An encoder block's parameters in PyTorch's layout (`TransformerEncoderLayer`'s
/// `state_dict`, which ONNX's MatMul-after-transpose and LayerNormalization also take):
/// weight matrices are (out_features, in_features).
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderWeights {
    /// `self_attn.in_proj_weight`: (3·D, D), rows q, then k, then v.
    pub in_proj_weight: Array2<f32>,
    /// `self_attn.in_proj_bias`: (3·D).
    pub in_proj_bias: Array1<f32>,
    /// `self_attn.out_proj.weight`: (D, D).
    pub out_proj_weight: Array2<f32>,
    /// `self_attn.out_proj.bias`: (D).
    pub out_proj_bias: Array1<f32>,
    /// `linear1.weight`: (F, D).
    pub linear1_weight: Array2<f32>,
    /// `linear1.bias`: (F).
    pub linear1_bias: Array1<f32>,
    /// `linear2.weight`: (D, F).
    pub linear2_weight: Array2<f32>,
    /// `linear2.bias`: (D).
    pub linear2_bias: Array1<f32>,
    /// `norm1.weight`: (D).
    pub norm1_weight: Array1<f32>,
    /// `norm1.bias`: (D).
    pub norm1_bias: Array1<f32>,
    /// `norm2.weight`: (D).
    pub norm2_weight: Array1<f32>,
    /// `norm2.bias`: (D).
    pub norm2_bias: Array1<f32>,
}

/// A `Dense` from PyTorch's (out, in) weight.
fn dense_from_torch(weight: &Array2<f32>, bias: &Array1<f32>) -> Dense {
    Dense::new(weight.t().as_standard_layout().into_owned(), bias.clone())
}

impl EncoderBlock {
    /// A block with PyTorch's weights (`weights`), checked as a model file is.
    pub fn from_torch(
        steps: usize,
        heads: usize,
        weights: &EncoderWeights,
    ) -> Result<Self, NetworkError> {
        let w = weights;
        let norm = |weight: &Array1<f32>, bias: &Array1<f32>| {
            LayerNorm::from_params(weight.clone(), bias.clone())
        };
        if w.norm1_weight.len() != w.norm1_bias.len() || w.norm2_weight.len() != w.norm2_bias.len()
        {
            return Err(NetworkError::LayerNormShape {
                weight: w.norm1_weight.len().max(w.norm2_weight.len()),
                bias: w.norm1_bias.len().max(w.norm2_bias.len()),
            });
        }
        for (weight, bias) in [
            (&w.in_proj_weight, &w.in_proj_bias),
            (&w.out_proj_weight, &w.out_proj_bias),
            (&w.linear1_weight, &w.linear1_bias),
            (&w.linear2_weight, &w.linear2_bias),
        ] {
            if weight.nrows() != bias.len() {
                return Err(NetworkError::DenseBias {
                    bias: bias.len(),
                    n_out: weight.nrows(),
                });
            }
        }
        let values = [
            &w.in_proj_weight,
            &w.out_proj_weight,
            &w.linear1_weight,
            &w.linear2_weight,
        ]
        .into_iter()
        .flat_map(|m| m.iter())
        .chain(
            [
                &w.in_proj_bias,
                &w.out_proj_bias,
                &w.linear1_bias,
                &w.linear2_bias,
                &w.norm1_weight,
                &w.norm1_bias,
                &w.norm2_weight,
                &w.norm2_bias,
            ]
            .into_iter()
            .flat_map(|v| v.iter()),
        );
        if values.into_iter().any(|v| !v.is_finite()) {
            return Err(NetworkError::NonFiniteWeight {
                layer: "transformer_encoder",
            });
        }
        EncoderBlockSpec {
            steps,
            d_model: w.in_proj_weight.ncols(),
            heads,
            feedforward: w.linear1_weight.nrows(),
            in_proj: dense_from_torch(&w.in_proj_weight, &w.in_proj_bias),
            out_proj: dense_from_torch(&w.out_proj_weight, &w.out_proj_bias),
            linear1: dense_from_torch(&w.linear1_weight, &w.linear1_bias),
            linear2: dense_from_torch(&w.linear2_weight, &w.linear2_bias),
            norm1: norm(&w.norm1_weight, &w.norm1_bias),
            norm2: norm(&w.norm2_weight, &w.norm2_bias),
        }
        .try_into()
    }

    /// The parameters in PyTorch's layout (for an exporter).
    pub fn torch_weights(&self) -> EncoderWeights {
        let torch = |dense: &Dense| {
            let weight = dense.weights().t().as_standard_layout().into_owned();
            (weight, dense.bias().clone())
        };
        let (in_proj_weight, in_proj_bias) = torch(self.attention.in_proj());
        let (out_proj_weight, out_proj_bias) = torch(self.attention.out_proj());
        let (linear1_weight, linear1_bias) = torch(&self.linear1);
        let (linear2_weight, linear2_bias) = torch(&self.linear2);
        EncoderWeights {
            in_proj_weight,
            in_proj_bias,
            out_proj_weight,
            out_proj_bias,
            linear1_weight,
            linear1_bias,
            linear2_weight,
            linear2_bias,
            norm1_weight: self.norm1.weight().clone(),
            norm1_bias: self.norm1.bias().clone(),
            norm2_weight: self.norm2.weight().clone(),
            norm2_bias: self.norm2.bias().clone(),
        }
    }
}

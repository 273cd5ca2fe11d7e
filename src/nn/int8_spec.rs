//! Weight-only int8 weights as a model file holds them (`Int8WeightsSpec`), shared by the
//! layers `compress --int8` quantizes but runs in f32 (conv, GRU, LSTM): the int8 matrix
//! row-major as bytes in base64, one scale per output column as a one-byte code under an
//! f32 base (`ScaleCodes`), the encoding of an int8 dense layer's (`quantized_dense`).
//! Each layer dequantizes them once, when made or loaded, into its f32 weights.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::int8::{base64_decode, base64_encode, Int8Matrix, ScaleCodes};
use super::quantized_dense::decode_int8;
use super::NetworkError;

/// An int8 matrix (n_in, n_out) as written: `weights` its values row-major as bytes in
/// base64, `scale_base` and `scale_codes` (one byte per output column, base64) its scales.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Int8WeightsSpec {
    weights: String,
    scale_base: f32,
    scale_codes: String,
}

/// `w` quantized with one scale per output column as a one-byte code
/// (`Int8Matrix::quantize`); an error names the layer `kind`.
pub(super) fn quantize_weights(
    kind: &'static str,
    w: ArrayView2<f32>,
) -> Result<Int8Matrix, NetworkError> {
    Int8Matrix::quantize(w).map_err(|p| NetworkError::Int8Weights {
        layer: kind,
        message: p.describe(w.nrows(), w.ncols(), w.len(), &[]),
    })
}

/// `m` (quantized with scale codes, as `quantize_weights` makes it) as written.
pub(super) fn encode(m: &Int8Matrix) -> Int8WeightsSpec {
    let codes = m
        .scale_codes()
        .expect("weight-only int8 weights are quantized with scale codes");
    let bytes: Vec<u8> = m.values().iter().map(|&v| v as u8).collect();
    Int8WeightsSpec {
        weights: base64_encode(&bytes),
        scale_base: codes.base(),
        scale_codes: base64_encode(codes.codes()),
    }
}

/// The int8 matrix of `spec` for a layer `kind`, which must hold `n_in` x `n_out` weights
/// and `n_out` codes; an error says what was expected.
pub(super) fn decode(
    kind: &'static str,
    spec: Int8WeightsSpec,
    n_in: usize,
    n_out: usize,
) -> Result<Int8Matrix, NetworkError> {
    let values = decode_int8(kind, &spec.weights)?;
    let codes = base64_decode(&spec.scale_codes).ok_or_else(|| NetworkError::Int8Weights {
        layer: kind,
        message: "the scale codes are not base64 text".to_string(),
    })?;
    let count = values.len();
    let codes = ScaleCodes::new(spec.scale_base, codes);
    let scales = codes.scales();
    Int8Matrix::from_codes(n_in, n_out, values, codes).map_err(|p| NetworkError::Int8Weights {
        layer: kind,
        message: p.describe(n_in, n_out, count, &scales),
    })
}

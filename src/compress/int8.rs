//! `quantize_int8`: a trained model with its dense layers' weights in int8.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::nn::{AnyLayer, Layer, Network, QuantizedDense};

use super::record::{CompressionRecord, Int8Note, INT8_ACTIVATIONS, INT8_WEIGHTS};

/// A copy of `model` whose dense layers hold int8 weights with one scale per output, stored
/// as one-byte codes (`nn::QuantizedDense`, `nn::ScaleCodes`); layers of other kinds keep
/// their f32 weights and are listed in the record. The result is inference-only and is
/// written as format version 5. Errors when the model is already int8.
pub fn quantize_int8(model: &Model) -> Result<Model> {
    if is_int8(&model.network) || model.compression.as_ref().is_some_and(|c| c.int8.is_some()) {
        return Err(Error::config("the model's weights are already int8"));
    }
    let mut out = model.clone();
    let (network, note) = quantize_network(&model.network)?;
    out.network = network;
    let mut record: CompressionRecord = out.compression.take().unwrap_or_default();
    record.int8 = Some(note);
    out.compression = Some(record);
    out.refresh_format_version();
    Ok(out)
}

/// A copy of `network` whose dense layers hold int8 weights, and what was done.
pub fn quantize_network(network: &Network) -> Result<(Network, Int8Note)> {
    let mut out = network.clone();
    let mut note = Int8Note {
        weights: INT8_WEIGHTS.to_string(),
        activations: INT8_ACTIVATIONS.to_string(),
        layers_int8: 0,
        layers_f32: Vec::new(),
        f32_weight_bytes: 0,
        int8_weight_bytes: 0,
    };
    for layer in &mut out.layers {
        match layer {
            AnyLayer::Dense(d) => {
                let q = QuantizedDense::quantize(d)?;
                note.f32_weight_bytes += 4 * d.weights().len() as u64;
                note.int8_weight_bytes += q.matrix().bytes() as u64;
                note.layers_int8 += 1;
                *layer = AnyLayer::DenseInt8(q);
            }
            other if other.n_params() > 0 => note.layers_f32.push(other.kind().to_string()),
            _ => {}
        }
    }
    Ok((out, note))
}

/// True when a layer of `network` holds int8 weights.
pub fn is_int8(network: &Network) -> bool {
    network
        .layers
        .iter()
        .any(|l| matches!(l, AnyLayer::DenseInt8(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, MlpConfig};

    /// With one-byte scale codes, even a layer with 4-6 inputs stays under 0.3x of its
    /// f32 bytes (4-byte scales gave 0.25 + 1/n_in: 0.42x with 6 inputs).
    #[test]
    fn a_tiny_network_s_int8_weights_are_under_0_3_of_f32() {
        for (n_inputs, expected) in [(6usize, 586u64), (4, 458)] {
            let config = MlpConfig {
                n_inputs,
                hidden: vec![64],
                n_outputs: 2,
                activation: Activation::Tanh,
                dropout: 0.0,
            };
            let network = Network::mlp(&config, 1).unwrap();
            let (_, note) = quantize_network(&network).unwrap();
            // Layer 1: n_in x 64 bytes + 64 codes + a 4-byte base; layer 2: 64 x 2 + 2 + 4.
            assert_eq!(note.int8_weight_bytes, expected);
            assert_eq!(note.f32_weight_bytes, 4 * (n_inputs as u64 * 64 + 128));
            let ratio = note.int8_weight_bytes as f64 / note.f32_weight_bytes as f64;
            assert!(ratio <= 0.3, "{n_inputs} inputs: {ratio}");
        }
    }
}

//! `quantize_int8`: a trained model with its dense layers' weights in int8.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::nn::{AnyLayer, Int8Product, Layer, Network, QuantizedDense};

use super::record::{CompressionRecord, Int8Note, INT8_ACTIVATIONS, INT8_WEIGHTS};

/// A layer with fewer inputs than this runs the f32 product (`product_for`).
pub const F32_PRODUCT_INPUTS: usize = 32;
/// A layer with fewer outputs than this runs the f32 product (`product_for`).
pub const F32_PRODUCT_OUTPUTS: usize = 8;

/// The product an int8 dense layer of `n_in` x `n_out` runs: f32 (weights dequantized on
/// load) with fewer than `F32_PRODUCT_INPUTS` inputs or `F32_PRODUCT_OUTPUTS` outputs,
/// where quantizing each input row (its maximum, a scale, a pass over the row) costs more
/// than the whole f32 product of so few weights; int8 otherwise.
pub fn product_for(n_in: usize, n_out: usize) -> Int8Product {
    if n_in < F32_PRODUCT_INPUTS || n_out < F32_PRODUCT_OUTPUTS {
        Int8Product::F32
    } else {
        Int8Product::Int8
    }
}

/// A copy of `model` whose dense layers hold int8 weights with one scale per output, stored
/// as one-byte codes (`nn::QuantizedDense`, `nn::ScaleCodes`), each running the product
/// `product_for` its shape, and whose conv layers hold int8 weights per filter dequantized
/// for the f32 product (`nn::Conv2D::quantize_int8`); layers of other kinds keep their f32
/// weights and are listed in the record. The result is inference-only and is written as format version 5, or 6 when
/// a layer runs the f32 product. Errors when the model is already int8.
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

/// A copy of `network` whose dense layers hold int8 weights (each with the product
/// `product_for` its shape) and whose conv layers hold int8 weights dequantized on load
/// (the f32 product), and what was done.
pub fn quantize_network(network: &Network) -> Result<(Network, Int8Note)> {
    let mut out = network.clone();
    let mut note = Int8Note {
        weights: INT8_WEIGHTS.to_string(),
        activations: INT8_ACTIVATIONS.to_string(),
        layers_int8: 0,
        layers_f32: Vec::new(),
        f32_weight_bytes: 0,
        int8_weight_bytes: 0,
        products: Vec::new(),
    };
    for layer in &mut out.layers {
        match layer {
            AnyLayer::Dense(d) => {
                let product = product_for(d.n_in(), d.n_out());
                let q = QuantizedDense::quantize(d)?.with_product(product);
                note.products.push(product.as_str().to_string());
                note.f32_weight_bytes += 4 * d.weights().len() as u64;
                note.int8_weight_bytes += q.matrix().bytes() as u64;
                note.layers_int8 += 1;
                *layer = AnyLayer::DenseInt8(q);
            }
            AnyLayer::Conv2D(c) => {
                // Weight-only: conv layers always run the f32 product (an int8 conv
                // product was slower than f32 and lost accuracy; docs/compression.md).
                let q = c.quantize_int8()?;
                let m = q.int8_weights().expect("quantized");
                note.products.push(Int8Product::F32.as_str().to_string());
                note.f32_weight_bytes += 4 * c.weights().len() as u64;
                note.int8_weight_bytes += m.bytes() as u64;
                note.layers_int8 += 1;
                *layer = AnyLayer::Conv2D(q);
            }
            other if other.n_params() > 0 => note.layers_f32.push(other.kind().to_string()),
            _ => {}
        }
    }
    Ok((out, note))
}

/// True when a layer of `network` holds int8 weights.
pub fn is_int8(network: &Network) -> bool {
    network.layers.iter().any(|l| match l {
        AnyLayer::DenseInt8(_) => true,
        AnyLayer::Conv2D(c) => c.int8_weights().is_some(),
        _ => false,
    })
}

/// (bytes, values, zeros) of the parameters of `network`'s layers as stored: 4 bytes per
/// f32 value; an int8 dense or conv layer's weights at their int8 bytes with their scales
/// (`nn::Int8Matrix::bytes`) whatever product it runs, its bias in f32.
pub fn param_stats(network: &Network) -> (usize, usize, usize) {
    let (mut bytes, mut values, mut zeros) = (0, 0, 0);
    for layer in &network.layers {
        let int8 = match layer {
            AnyLayer::DenseInt8(d) => Some((d.matrix(), d.bias())),
            AnyLayer::Conv2D(c) => c.int8_weights().map(|m| (m, c.bias())),
            _ => None,
        };
        if let Some((m, bias)) = int8 {
            bytes += m.bytes() + 4 * bias.len();
            values += m.values().len() + bias.len();
            zeros += m.values().iter().filter(|&&v| v == 0).count();
            zeros += bias.iter().filter(|&&v| v == 0.0).count();
        } else {
            layer.clone().visit_params(&mut |p, _| {
                bytes += 4 * p.len();
                values += p.len();
                zeros += p.iter().filter(|&&v| v == 0.0).count();
            });
        }
    }
    (bytes, values, zeros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, MlpConfig};

    #[test]
    fn small_layers_get_the_f32_product_and_wide_ones_int8() {
        for (n_in, n_out, product) in [
            (4, 64, Int8Product::F32),
            (31, 64, Int8Product::F32),
            (32, 64, Int8Product::Int8),
            (64, 8, Int8Product::Int8),
            (64, 7, Int8Product::F32),
            (64, 1, Int8Product::F32),
            (310, 64, Int8Product::Int8),
            (256, 256, Int8Product::Int8),
        ] {
            assert_eq!(product_for(n_in, n_out), product, "{n_in} x {n_out}");
        }
        // The record's words say the same numbers.
        assert!(INT8_ACTIVATIONS.contains(&format!(
            "fewer than {F32_PRODUCT_INPUTS} inputs or {F32_PRODUCT_OUTPUTS} outputs"
        )));
    }

    /// A compressed 14-256-256-4 network: the first and last layers run the f32 product,
    /// the middle one int8 (recorded in that order), and the whole network gives the bits
    /// of a network holding f32 `Dense` layers with the dequantized weights in their place
    /// (the fused dense + activation pass included), for every activation.
    #[test]
    fn a_network_s_small_layers_compute_as_dense_layers_on_the_dequantized_weights() {
        use ndarray::Array2;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
        let x = Array2::from_shape_fn((70, 14), |_| rng.gen_range(-2.0f32..2.0));
        for activation in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            let config = MlpConfig {
                n_inputs: 14,
                hidden: vec![256, 256],
                n_outputs: 4,
                activation,
                dropout: 0.0,
            };
            let mut f32_net = Network::mlp(&config, 7).unwrap();
            f32_net.visit_params(&mut |p, _| {
                p.iter_mut().for_each(|v| *v = rng.gen_range(-0.3f32..0.3))
            });
            let (mut net, note) = quantize_network(&f32_net).unwrap();
            assert_eq!(note.products, ["f32", "int8", "f32"]);
            assert_eq!(note.layers_int8, 3);
            let mut reference = net.clone();
            let mut replaced = 0;
            for layer in &mut reference.layers {
                if let AnyLayer::DenseInt8(d) = layer {
                    if d.product() == Int8Product::F32 {
                        *layer = AnyLayer::Dense(d.dequantized_dense());
                        replaced += 1;
                    }
                }
            }
            assert_eq!(replaced, 2);
            let got = net.forward(x.view(), false).to_owned();
            let want = reference.forward(x.view(), false).to_owned();
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{activation:?}"
            );
            // Row by row: the same bits (no dependence on the batch).
            for r in [0, 33, 69] {
                let one = net.forward(x.slice(ndarray::s![r..r + 1, ..]), false);
                assert_eq!(one.row(0), got.row(r), "{activation:?} row {r}");
            }
        }
    }

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

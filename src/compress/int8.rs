//! `quantize_int8`: a trained model with its dense layers' weights in int8.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::nn::{AnyLayer, Branch, Branches, Int8Product, Layer, Network, QuantizedDense};

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
/// `product_for` its shape) and whose conv, GRU and LSTM layers (those of the encoders of a
/// `branches` layer included) hold int8 weights dequantized on load (the f32 product), and
/// what was done.
pub fn quantize_network(network: &Network) -> Result<(Network, Int8Note)> {
    let mut note = Int8Note {
        weights: INT8_WEIGHTS.to_string(),
        activations: INT8_ACTIVATIONS.to_string(),
        layers_int8: 0,
        layers_f32: Vec::new(),
        f32_weight_bytes: 0,
        int8_weight_bytes: 0,
        products: Vec::new(),
    };
    let out = quantize_layers(network, &mut note)?;
    Ok((out, note))
}

/// `network` quantized as `quantize_network` says, what was done added to `note` in layer
/// order (an encoder's layers where its `branches` layer stands).
fn quantize_layers(network: &Network, note: &mut Int8Note) -> Result<Network> {
    let mut out = network.clone();
    for layer in &mut out.layers {
        if let AnyLayer::Dense(d) = layer {
            let product = product_for(d.n_in(), d.n_out());
            let q = QuantizedDense::quantize(d)?.with_product(product);
            note.products.push(product.as_str().to_string());
            note.f32_weight_bytes += 4 * d.weights().len() as u64;
            note.int8_weight_bytes += q.matrix().bytes() as u64;
            note.layers_int8 += 1;
            *layer = AnyLayer::DenseInt8(q);
        } else if let AnyLayer::Branches(b) = layer {
            let branches = b
                .branches()
                .iter()
                .map(|branch| {
                    Ok(Branch {
                        start: branch.start,
                        encoder: quantize_layers(&branch.encoder, note)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            *layer = AnyLayer::Branches(Branches::new(b.n_inputs(), branches)?);
        } else if let Some((q, f32_weights)) = weight_only(layer)? {
            // Weight-only: these layers always run the f32 product (an int8 conv product
            // was slower than f32 and lost accuracy; docs/compression.md).
            note.products.push(Int8Product::F32.as_str().to_string());
            note.f32_weight_bytes += 4 * f32_weights as u64;
            let bytes = q
                .int8_weights()
                .iter()
                .map(|m| m.bytes() as u64)
                .sum::<u64>();
            note.int8_weight_bytes += bytes;
            note.layers_int8 += 1;
            *layer = q;
        } else if layer.n_params() > 0 {
            note.layers_f32.push(layer.kind().to_string());
        }
    }
    Ok(out)
}

/// A conv, GRU or LSTM layer quantized weight-only (its weights int8, dequantized for
/// the f32 product), with its count of f32 weights; `None` for other kinds.
fn weight_only(layer: &AnyLayer) -> Result<Option<(AnyLayer, usize)>> {
    Ok(match layer {
        AnyLayer::Conv2D(c) => Some((AnyLayer::Conv2D(c.quantize_int8()?), c.weights().len())),
        AnyLayer::Gru(g) => Some((
            AnyLayer::Gru(g.quantize_int8()?),
            g.weights_ih().len() + g.weights_hh().len(),
        )),
        AnyLayer::Lstm(l) => Some((
            AnyLayer::Lstm(l.quantize_int8()?),
            l.weights_ih().len() + l.weights_hh().len(),
        )),
        _ => None,
    })
}

/// True when a layer of `network` (or of its encoders) holds int8 weights.
pub fn is_int8(network: &Network) -> bool {
    network
        .leaf_layers()
        .iter()
        .any(|l| !l.int8_weights().is_empty())
}

/// (bytes, values, zeros) of the parameters of `network`'s layers (its encoders' included)
/// as stored: 4 bytes per f32 value; an int8 dense, conv, GRU or LSTM layer's weights at
/// their int8 bytes with their scales (`nn::Int8Matrix::bytes`) whatever product it runs,
/// its biases in f32.
pub fn param_stats(network: &Network) -> (usize, usize, usize) {
    let (mut bytes, mut values, mut zeros) = (0, 0, 0);
    for layer in network.leaf_layers() {
        let int8 = layer.int8_weights();
        if int8.is_empty() {
            layer.clone().visit_params(&mut |p, _| {
                bytes += 4 * p.len();
                values += p.len();
                zeros += p.iter().filter(|&&v| v == 0.0).count();
            });
            continue;
        }
        for m in int8 {
            bytes += m.bytes();
            values += m.values().len();
            zeros += m.values().iter().filter(|&&v| v == 0).count();
        }
        // Their biases stay f32.
        let biases = match layer {
            AnyLayer::DenseInt8(d) => vec![d.bias()],
            AnyLayer::Conv2D(c) => vec![c.bias()],
            AnyLayer::Gru(g) => vec![g.bias_ih(), g.bias_hh()],
            AnyLayer::Lstm(l) => vec![l.bias_ih(), l.bias_hh()],
            _ => Vec::new(),
        };
        for bias in biases {
            bytes += 4 * bias.len();
            values += bias.len();
            zeros += bias.iter().filter(|&&v| v == 0.0).count();
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

    /// A network with a series encoder (a GRU of 8 units then an LSTM of 6, after two
    /// plain columns): both recurrent layers become int8 with the f32 product (two
    /// matrices each, one scale code per column), nothing is left f32, and the network
    /// computes the bits of one whose layers are f32 layers holding the dequantized
    /// weights.
    #[test]
    fn a_network_s_recurrent_layers_compute_as_f32_layers_on_the_dequantized_weights() {
        use crate::nn::{BlockInput, EncoderPlan, PoolMode, SeqShape, Stage};
        use ndarray::Array2;
        use rand::{Rng, SeedableRng};
        let shape = SeqShape::new(6, 3);
        let plan = EncoderPlan {
            start: 2,
            input: BlockInput::Series(shape),
            embedding_dim: 0,
            stages: vec![Stage::Gru(8), Stage::Lstm(6)],
            pool: PoolMode::Last,
        };
        let head = MlpConfig {
            n_inputs: 2 + shape.width(),
            hidden: vec![16],
            n_outputs: 3,
            activation: Activation::Tanh,
            dropout: 0.0,
        };
        let f32_net = Network::with_encoders(&head, &[plan], 4).unwrap();
        let (mut net, note) = quantize_network(&f32_net).unwrap();
        // gru, lstm, dense 8 -> 16, dense 16 -> 3: all the f32 product.
        assert_eq!(note.products, ["f32"; 4]);
        assert_eq!(note.layers_int8, 4);
        assert!(note.layers_f32.is_empty(), "{:?}", note.layers_f32);
        // Weights: GRU 3x24 + 8x24, LSTM 8x24 + 6x24, dense 8x16 + 16x3; in int8 one byte
        // each, a code per column and a 4-byte base per matrix.
        assert_eq!(note.f32_weight_bytes, 4 * (72 + 192 + 192 + 144 + 128 + 48));
        assert_eq!(note.int8_weight_bytes, 100 + 220 + 220 + 172 + 148 + 55);
        assert!(is_int8(&net) && !is_int8(&f32_net));
        // The biases stay f32: 24 + 24 per recurrent layer, 16 and 3 for the dense ones.
        let biases = 24 * 4 + 16 + 3;
        let (bytes, values, _) = param_stats(&net);
        assert_eq!((bytes, values), (915 + 4 * biases, 776 + biases));

        let mut reference = net.clone();
        let AnyLayer::Branches(b) = &reference.layers[0] else {
            panic!("the first layer is the branches layer");
        };
        let mut branches = b.branches().to_vec();
        for layer in &mut branches[0].encoder.layers {
            *layer = match &*layer {
                AnyLayer::Gru(g) => {
                    assert!(g.int8_weights().is_some());
                    AnyLayer::Gru(g.dequantized())
                }
                AnyLayer::Lstm(l) => {
                    assert!(l.int8_weights().is_some());
                    AnyLayer::Lstm(l.dequantized())
                }
                other => other.clone(),
            };
        }
        reference.layers[0] = AnyLayer::Branches(Branches::new(b.n_inputs(), branches).unwrap());
        for layer in &mut reference.layers {
            if let AnyLayer::DenseInt8(d) = layer {
                *layer = AnyLayer::Dense(d.dequantized_dense());
            }
        }
        assert!(!is_int8(&reference));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut x = Array2::from_shape_fn((40, 2 + shape.width()), |_| rng.gen_range(-2.0f32..2.0));
        for (i, mut row) in x.rows_mut().into_iter().enumerate() {
            row[2] = (i % 7) as f32; // lengths 0 to 6
        }
        let got = net.forward(x.view(), false).to_owned();
        let want = reference.forward(x.view(), false).to_owned();
        assert!(got
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

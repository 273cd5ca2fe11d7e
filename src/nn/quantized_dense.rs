//! `QuantizedDense`: a dense layer with int8 weights (one scale per output) for inference
//! only, made by `compress --int8` from a trained `Dense` (products in `int8/`).

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::int8::{
    base64_decode, base64_encode, int8_affine, int8_kernel, Int8Matrix, Int8Scratch,
};
use super::{Buffer, Dense, Layer, NetworkError};

/// The layer kind in a model file.
const KIND: &str = "dense_int8";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "QuantizedDenseSpec", try_from = "QuantizedDenseSpec")]
/// A dense layer with int8 weights: y = dequantized(x_q · W_q) + b. It has no trainable
/// parameters; its backward pass gives zero gradients (nothing trains a compressed model).
pub struct QuantizedDense {
    matrix: Int8Matrix,
    /// (n_out)
    bias: Array1<f32>,
    scratch: Int8Scratch,
    output: Buffer,
    grad_input: Buffer,
}

impl QuantizedDense {
    /// `dense` with its weights quantized per output column.
    pub fn quantize(dense: &Dense) -> Result<Self, NetworkError> {
        let matrix = Int8Matrix::quantize(dense.weights().view()).map_err(|p| {
            NetworkError::Int8Weights {
                layer: KIND,
                message: p.describe(dense.n_in(), dense.n_out(), dense.weights().len(), &[]),
            }
        })?;
        Ok(Self::from_parts(matrix, dense.bias().clone()))
    }

    fn from_parts(matrix: Int8Matrix, bias: Array1<f32>) -> Self {
        QuantizedDense {
            matrix,
            bias,
            scratch: Int8Scratch::default(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        }
    }

    /// Inputs per row.
    pub fn n_in(&self) -> usize {
        self.matrix.n_in()
    }

    /// Outputs per row.
    pub fn n_out(&self) -> usize {
        self.matrix.n_out()
    }

    /// The int8 weights and their scales.
    pub fn matrix(&self) -> &Int8Matrix {
        &self.matrix
    }

    /// The bias: (n_out).
    pub fn bias(&self) -> &Array1<f32> {
        &self.bias
    }

    /// x·W without the bias into the output buffer: the first half of a forward pass
    /// fused with the activation after (`Network::forward`), which adds the bias.
    pub(crate) fn forward_linear(&mut self, x: ArrayView2<f32>) {
        self.output.resize(x.nrows(), self.n_out());
        int8_affine(
            int8_kernel(),
            x,
            &self.matrix,
            None,
            &mut self.scratch,
            self.output.view_mut(),
        );
    }
}

impl Layer for QuantizedDense {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        self.output.resize(x.nrows(), self.n_out());
        let bias = self.bias.as_slice().expect("bias is contiguous");
        int8_affine(
            int8_kernel(),
            x,
            &self.matrix,
            Some(bias),
            &mut self.scratch,
            self.output.view_mut(),
        );
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, _grad_out: ArrayView2<f32>, need_grad_in: bool) {
        if need_grad_in {
            self.grad_input.resize(x.nrows(), self.n_in());
            self.grad_input.view_mut().fill(0.0);
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }

    fn n_params(&self) -> usize {
        self.matrix.values().len() + self.bias.len()
    }
}

/// How an int8 dense layer is written in the model file: the weights (n_in, n_out)
/// row-major as int8 bytes in base64, one scale per output, the bias in f32.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QuantizedDenseSpec {
    n_in: usize,
    n_out: usize,
    weights: String,
    scales: Vec<f32>,
    bias: Vec<f32>,
}

impl From<QuantizedDense> for QuantizedDenseSpec {
    fn from(layer: QuantizedDense) -> Self {
        let bytes: Vec<u8> = layer.matrix.values().iter().map(|&v| v as u8).collect();
        QuantizedDenseSpec {
            n_in: layer.n_in(),
            n_out: layer.n_out(),
            weights: base64_encode(&bytes),
            scales: layer.matrix.scales().to_vec(),
            bias: layer.bias.to_vec(),
        }
    }
}

/// The int8 values of base64 `text`, or an error for the layer `kind`.
pub(crate) fn decode_int8(kind: &'static str, text: &str) -> Result<Vec<i8>, NetworkError> {
    let bytes = base64_decode(text).ok_or_else(|| NetworkError::Int8Weights {
        layer: kind,
        message: "the weights are not base64 text".to_string(),
    })?;
    Ok(bytes.into_iter().map(|b| b as i8).collect())
}

impl TryFrom<QuantizedDenseSpec> for QuantizedDense {
    type Error = NetworkError;

    fn try_from(spec: QuantizedDenseSpec) -> Result<Self, NetworkError> {
        if spec.bias.len() != spec.n_out {
            return Err(NetworkError::DenseBias {
                bias: spec.bias.len(),
                n_out: spec.n_out,
            });
        }
        if spec.bias.iter().any(|b| !b.is_finite()) {
            return Err(NetworkError::NonFiniteWeight { layer: KIND });
        }
        let values = decode_int8(KIND, &spec.weights)?;
        let count = values.len();
        let matrix =
            Int8Matrix::new(spec.n_in, spec.n_out, values, spec.scales.clone()).map_err(|p| {
                NetworkError::Int8Weights {
                    layer: KIND,
                    message: p.describe(spec.n_in, spec.n_out, count, &spec.scales),
                }
            })?;
        Ok(Self::from_parts(matrix, Array1::from(spec.bias)))
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn layer() -> (Dense, QuantizedDense) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let w = Array2::from_shape_fn((19, 6), |_| rng.gen_range(-1.0f32..1.0));
        let b = Array1::from_shape_fn(6, |_| rng.gen_range(-1.0f32..1.0));
        let dense = Dense::new(w, b);
        let q = QuantizedDense::quantize(&dense).unwrap();
        (dense, q)
    }

    #[test]
    fn forward_is_close_to_the_float_layer() {
        let (mut dense, mut q) = layer();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let x = Array2::from_shape_fn((50, 19), |_| rng.gen_range(-2.0f32..2.0));
        dense.forward(x.view(), false);
        q.forward(x.view(), false);
        let worst = dense
            .output()
            .iter()
            .zip(q.output().iter())
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        // 19 terms of |x| ≤ 2, |w| ≤ 1: half steps 2/254 and 1/254 give ≤ 0.15 in the worst
        // case; in practice the errors cancel to a few hundredths.
        assert!(worst < 0.15, "worst difference {worst}");
        assert!(worst > 0.0, "int8 cannot be exact here");
    }

    #[test]
    fn the_file_form_round_trips_and_damage_is_named() {
        let (_, q) = layer();
        let text = serde_json::to_string(&q).unwrap();
        let back: QuantizedDense = serde_json::from_str(&text).unwrap();
        assert_eq!(back.matrix(), q.matrix());
        let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
        let broken = |key: &str, value: serde_json::Value| {
            let mut s = spec.clone();
            s[key] = value;
            serde_json::from_value::<QuantizedDense>(s)
                .unwrap_err()
                .to_string()
        };
        assert!(broken("weights", "@@@@".into()).contains("not base64"));
        assert!(broken("weights", "AAAA".into())
            .contains("have 3 values; expected n_in x n_out = 19 x 6"));
        assert!(broken("scales", serde_json::json!([1.0]))
            .contains("1 scales; expected one per output, 6"));
        assert!(broken("scales", serde_json::json!([1, 1, 0, 1, 1, 1])).contains("scale 3 is 0"));
        assert!(broken("bias", serde_json::json!([1.0])).contains("bias has 1 values"));
    }

    /// A network's int8 dense layers fused with their activations (`Network::forward`)
    /// give the values of the layers run one by one (bias, then f), for every activation.
    #[test]
    fn fused_forward_matches_the_layers_one_by_one() {
        use crate::nn::{Activation, AnyLayer, MlpConfig, Network};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let x = Array2::from_shape_fn((29, 37), |_| rng.gen_range(-2.0f32..2.0));
        for activation in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            let config = MlpConfig {
                n_inputs: 37,
                hidden: vec![70, 18],
                n_outputs: 3,
                activation,
                dropout: 0.0,
            };
            let mut f32_net = Network::mlp(&config, 5).unwrap();
            // Biases away from zero, so that a lost bias shows.
            f32_net.visit_params(&mut |p, _| {
                p.iter_mut().for_each(|v| *v = rng.gen_range(-0.5f32..0.5))
            });
            let (mut net, _) = crate::compress::quantize_network(&f32_net).unwrap();
            assert!(net
                .layers
                .iter()
                .any(|l| matches!(l, AnyLayer::DenseInt8(_))));
            let fused = net.forward(x.view(), false).to_owned();
            let mut current = x.clone();
            for layer in &mut net.layers {
                layer.forward(current.view(), false);
                current = layer.output().to_owned();
            }
            let worst = fused
                .iter()
                .zip(&current)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst <= 1e-6, "{activation:?}: {worst}");
        }
    }
}

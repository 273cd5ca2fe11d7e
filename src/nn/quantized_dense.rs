//! `QuantizedDense`: a dense layer with int8 weights (one scale per output) for inference
//! only, made by `compress --int8` from a trained `Dense` (products in `int8/`).

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::int8::{
    base64_decode, base64_encode, int8_affine, int8_kernel, Int8Matrix, Int8Problem, Int8Scratch,
    ScaleCodes,
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

    /// How the scales are stored, in words: "a 1-byte scale code" (format 5) or "an f32
    /// scale" (format 4).
    pub fn scale_form(&self) -> &'static str {
        if self.matrix.scale_codes().is_some() {
            "a 1-byte scale code"
        } else {
            "an f32 scale"
        }
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
/// row-major as int8 bytes in base64, the scales either as `scale_base` and one byte code
/// per output in base64 (`scale_codes`, format 5) or as one f32 per output (`scales`,
/// format 4, still read and written back as read), the bias in f32.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QuantizedDenseSpec {
    n_in: usize,
    n_out: usize,
    weights: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scales: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale_base: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale_codes: Option<String>,
    bias: Vec<f32>,
}

impl From<QuantizedDense> for QuantizedDenseSpec {
    fn from(layer: QuantizedDense) -> Self {
        let bytes: Vec<u8> = layer.matrix.values().iter().map(|&v| v as u8).collect();
        let (scales, scale_base, scale_codes) = match layer.matrix.scale_codes() {
            Some(c) => (None, Some(c.base()), Some(base64_encode(c.codes()))),
            None => (Some(layer.matrix.scales().to_vec()), None, None),
        };
        QuantizedDenseSpec {
            n_in: layer.n_in(),
            n_out: layer.n_out(),
            weights: base64_encode(&bytes),
            scales,
            scale_base,
            scale_codes,
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
        let (n_in, n_out) = (spec.n_in, spec.n_out);
        let problem = |p: Int8Problem, scales: &[f32]| NetworkError::Int8Weights {
            layer: KIND,
            message: p.describe(n_in, n_out, count, scales),
        };
        let matrix = match (spec.scales, spec.scale_base, spec.scale_codes) {
            (Some(scales), None, None) => Int8Matrix::new(n_in, n_out, values, scales.clone())
                .map_err(|p| problem(p, &scales))?,
            (None, Some(base), Some(text)) => {
                let codes = base64_decode(&text).ok_or_else(|| NetworkError::Int8Weights {
                    layer: KIND,
                    message: "the scale codes are not base64 text".to_string(),
                })?;
                let codes = ScaleCodes::new(base, codes);
                let scales = codes.scales();
                Int8Matrix::from_codes(n_in, n_out, values, codes)
                    .map_err(|p| problem(p, &scales))?
            }
            _ => {
                return Err(NetworkError::Int8Weights {
                    layer: KIND,
                    message: "expected either `scale_base` and `scale_codes` or `scales` \
                              (one f32 per output)"
                        .to_string(),
                })
            }
        };
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
        assert!(spec.get("scales").is_none(), "{spec}");
        let base = q.matrix().scale_codes().unwrap().base();
        assert_eq!(spec["scale_base"].as_f64().map(|v| v as f32), Some(base));
        // 6 codes in base64: 8 characters.
        assert_eq!(spec["scale_codes"].as_str().unwrap().len(), 8);
        let broken_spec = |spec: &serde_json::Value, key: &str, value: serde_json::Value| {
            let mut s = spec.clone();
            s[key] = value;
            serde_json::from_value::<QuantizedDense>(s)
                .unwrap_err()
                .to_string()
        };
        let broken = |key: &str, value: serde_json::Value| broken_spec(&spec, key, value);
        assert!(broken("weights", "@@@@".into()).contains("not base64"));
        assert!(broken("weights", "AAAA".into())
            .contains("have 3 values; expected n_in x n_out = 19 x 6"));
        assert!(broken("scale_codes", "@@@@".into()).contains("scale codes are not base64"));
        assert!(broken("scale_codes", "AAAA".into())
            .contains("there are 3 scale codes; expected one per output, 6"));
        assert!(broken("scale_base", serde_json::json!(0.0))
            .contains("the scale base is 0; expected a finite number above 0"));
        assert!(broken("scale_base", serde_json::json!(-2.5)).contains("the scale base is -2.5"));
        assert!(broken("scales", serde_json::json!([1, 1, 1, 1, 1, 1]))
            .contains("expected either `scale_base` and `scale_codes` or `scales`"));
        assert!(broken("bias", serde_json::json!([1.0])).contains("bias has 1 values"));

        // The format-4 form: one f32 scale per output, read and written back as it was.
        let mut old = spec.clone();
        let object = old.as_object_mut().unwrap();
        object.remove("scale_base");
        object.remove("scale_codes");
        object.insert("scales".into(), serde_json::json!(q.matrix().scales()));
        let from_old: QuantizedDense = serde_json::from_value(old.clone()).unwrap();
        assert!(from_old.matrix().scale_codes().is_none());
        assert_eq!(from_old.matrix().scales(), q.matrix().scales());
        assert_eq!(from_old.matrix().values(), q.matrix().values());
        assert_eq!(from_old.matrix().bytes(), 19 * 6 + 4 * 6);
        let rewritten = serde_json::to_value(&from_old).unwrap();
        assert!(rewritten.get("scale_codes").is_none() && rewritten["scales"].is_array());
        let again: QuantizedDense = serde_json::from_value(rewritten).unwrap();
        assert_eq!(again.matrix(), from_old.matrix());
        let broken = |key: &str, value: serde_json::Value| broken_spec(&old, key, value);
        assert!(broken("scales", serde_json::json!([1.0]))
            .contains("1 scales; expected one per output, 6"));
        assert!(broken("scales", serde_json::json!([1, 1, 0, 1, 1, 1])).contains("scale 3 is 0"));
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

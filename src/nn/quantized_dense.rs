//! `QuantizedDense`: a dense layer with int8 weights (one scale per output) for inference
//! only, made by `compress --int8` from a trained `Dense`. It runs one of two products
//! (`Int8Product`): int8 x int8 with its inputs quantized per row (`int8/`), or, for the
//! small layers where that quantization costs more than the whole f32 product, the f32
//! product on its weights dequantized once when the layer is made or loaded.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::int8::{
    base64_decode, base64_encode, int8_affine, int8_kernel, Int8Matrix, Int8Problem, Int8Scratch,
    ScaleCodes,
};
use super::{Buffer, Dense, Layer, NetworkError};

/// The layer kind in a model file.
const KIND: &str = "dense_int8";

/// The product an int8 dense layer runs; in the model file the layer's `product`
/// (`"int8"` or `"f32"`; absent: `"int8"`, as in every file before format 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int8Product {
    /// Each input row quantized to int8 with its own scale, the product in i32, then
    /// `(acc · s_x) · s_j + b_j` in f32.
    Int8,
    /// Weight-only: the int8 weights dequantized once (`q · s_j`, `Int8Matrix::dequantized`)
    /// into an f32 matrix, then the f32 product of a `Dense` holding it; the inputs are
    /// not quantized.
    F32,
}

impl Int8Product {
    /// The name in the model file and in reports: `int8` or `f32`.
    pub fn as_str(self) -> &'static str {
        match self {
            Int8Product::Int8 => "int8",
            Int8Product::F32 => "f32",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "QuantizedDenseSpec", try_from = "QuantizedDenseSpec")]
/// A dense layer with int8 weights: y = dequantized(x_q · W_q) + b, or with the f32
/// product y = x · dequantized(W_q) + b (`Int8Product`). It has no trainable parameters;
/// its backward pass gives zero gradients (nothing trains a compressed model).
pub struct QuantizedDense {
    matrix: Int8Matrix,
    /// (n_out)
    bias: Array1<f32>,
    /// With `Int8Product::F32`: the dequantized weights and the bias as a `Dense`, whose
    /// forward pass (and buffers) this layer's is; `None` with the int8 product.
    float: Option<Dense>,
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
        Ok(Self::from_parts(
            matrix,
            dense.bias().clone(),
            Int8Product::Int8,
        ))
    }

    fn from_parts(matrix: Int8Matrix, bias: Array1<f32>, product: Int8Product) -> Self {
        let mut layer = QuantizedDense {
            matrix,
            bias,
            float: None,
            scratch: Int8Scratch::default(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        };
        if product == Int8Product::F32 {
            layer.float = Some(layer.dequantized_dense());
        }
        layer
    }

    /// The layer running `product` (the weights and bias unchanged; with
    /// `Int8Product::F32` they are dequantized here, once).
    pub fn with_product(self, product: Int8Product) -> Self {
        Self::from_parts(self.matrix, self.bias, product)
    }

    /// The product this layer runs.
    pub fn product(&self) -> Int8Product {
        if self.float.is_some() {
            Int8Product::F32
        } else {
            Int8Product::Int8
        }
    }

    /// An f32 `Dense` with this layer's weights dequantized (`q · s_j`) and its bias:
    /// what the f32 product computes.
    pub fn dequantized_dense(&self) -> Dense {
        let w = Array2::from_shape_vec(
            (self.matrix.n_in(), self.matrix.n_out()),
            self.matrix.dequantized(),
        )
        .expect("n_in x n_out values");
        Dense::new(w, self.bias.clone())
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
        if let Some(float) = &mut self.float {
            float.forward_linear(x);
            return;
        }
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
    fn forward(&mut self, x: ArrayView2<f32>, train: bool) {
        if let Some(float) = &mut self.float {
            float.forward(x, train);
            return;
        }
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
        match &self.float {
            Some(float) => float.output(),
            None => self.output.view(),
        }
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
/// format 4, still read and written back as read), the bias in f32; `product` is
/// `"f32"` for the f32 product and absent for the int8 one (`"int8"` is read too; any
/// JSON value is taken here so that a wrong one is named, not just its type).
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product: Option<serde_json::Value>,
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
            product: match layer.product() {
                Int8Product::Int8 => None,
                Int8Product::F32 => Some(Int8Product::F32.as_str().into()),
            },
        }
    }
}

/// The product named by a file's `product` value (absent: int8).
fn parse_product(value: Option<&serde_json::Value>) -> Result<Int8Product, NetworkError> {
    match value.map(|v| (v, v.as_str())) {
        None | Some((_, Some("int8"))) => Ok(Int8Product::Int8),
        Some((_, Some("f32"))) => Ok(Int8Product::F32),
        Some((v, _)) => Err(NetworkError::Int8Weights {
            layer: KIND,
            message: format!(
                "the product is {v}; expected \"int8\" (inputs quantized per row) or \"f32\" \
                 (weights dequantized to f32 on load)"
            ),
        }),
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
        let product = parse_product(spec.product.as_ref())?;
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
        Ok(Self::from_parts(matrix, Array1::from(spec.bias), product))
    }
}

#[cfg(test)]
mod tests {
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

    /// The f32 product is a `Dense` on the dequantized weights: the same bits from
    /// `forward` and from `forward_linear`, its weights are `q · s_j`, and it differs from
    /// the int8 product (so a layer that ignored its product would fail here).
    #[test]
    fn the_f32_product_is_a_dense_layer_on_the_dequantized_weights_bit_for_bit() {
        let (_, q) = layer();
        let mut weight_only = q.clone().with_product(Int8Product::F32);
        assert_eq!(weight_only.product(), Int8Product::F32);
        assert_eq!(q.product(), Int8Product::Int8);
        let mut dense = q.dequantized_dense();
        let m = q.matrix();
        for ((i, j), &w) in dense.weights().indexed_iter() {
            let expected = m.values()[i * m.n_out() + j] as f32 * m.scales()[j];
            assert_eq!(w.to_bits(), expected.to_bits(), "({i}, {j})");
        }
        let mut int8 = q.clone();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
        let x = Array2::from_shape_fn((50, 19), |_| rng.gen_range(-2.0f32..2.0));
        let bits = |a: ArrayView2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        dense.forward(x.view(), false);
        weight_only.forward(x.view(), false);
        assert_eq!(bits(weight_only.output()), bits(dense.output()));
        int8.forward(x.view(), false);
        assert_ne!(bits(int8.output()), bits(dense.output()));
        dense.forward_linear(x.view());
        weight_only.forward_linear(x.view());
        assert_eq!(bits(weight_only.output()), bits(dense.output()));
        // The product changes nothing stored.
        assert_eq!(weight_only.matrix(), q.matrix());
        assert_eq!(weight_only.n_params(), q.n_params());
    }

    #[test]
    fn the_product_round_trips_and_a_bad_one_is_named() {
        let (_, q) = layer();
        let int8 = serde_json::to_value(&q).unwrap();
        assert!(int8.get("product").is_none(), "{int8}");
        let f32_layer = q.clone().with_product(Int8Product::F32);
        let text = serde_json::to_string(&f32_layer).unwrap();
        let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(spec["product"], "f32");
        let back: QuantizedDense = serde_json::from_str(&text).unwrap();
        assert_eq!(back.product(), Int8Product::F32);
        assert_eq!(back.matrix(), q.matrix());
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        let with = |value: serde_json::Value| {
            let mut s = spec.clone();
            s["product"] = value;
            serde_json::from_value::<QuantizedDense>(s)
        };
        assert_eq!(with("int8".into()).unwrap().product(), Int8Product::Int8);
        // Written back without the field: the int8 product is the default.
        assert!(serde_json::to_value(with("int8".into()).unwrap())
            .unwrap()
            .get("product")
            .is_none());
        let expected = |shown: &str| {
            format!(
                "dense_int8 layer: the product is {shown}; expected \"int8\" (inputs quantized \
                 per row) or \"f32\" (weights dequantized to f32 on load)"
            )
        };
        for (value, shown) in [
            (serde_json::json!("F32"), "\"F32\""),
            (serde_json::json!("f16"), "\"f16\""),
            (serde_json::json!(32), "32"),
            (serde_json::json!(["f32"]), "[\"f32\"]"),
        ] {
            assert_eq!(with(value).unwrap_err().to_string(), expected(shown));
        }
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

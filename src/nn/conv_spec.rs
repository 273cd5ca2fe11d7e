//! How a conv layer is written in the model file (`Conv2DSpec`), with f32 weights or, for
//! a layer quantized by `compress --int8` (weight-only), int8 weights with one scale per
//! filter stored as a one-byte code (`int8_spec`, as GRU and LSTM layers store theirs). The layer dequantizes them once, when made or loaded, into
//! its f32 weights and runs its ordinary f32 forward pass.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::conv::patch_len;
use super::int8_spec::{decode, encode, Int8WeightsSpec};
use super::{Conv2D, ImageShape, NetworkError};

/// The layer kind named in errors.
const KIND: &str = "conv2d";

/// How a conv layer is written in the model file: weights row-major
/// (kernel * kernel * c_in, c_out), row (ky * kernel + kx) * c_in + ci, either in f32
/// (`weights`) or, for a layer quantized by `compress --int8`, in int8 with one scale
/// code per filter (`int8_weights`, format 6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Conv2DSpec {
    input: ImageShape,
    filters: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    int8_weights: Option<Int8WeightsSpec>,
    bias: Vec<f32>,
}

// Serde's `into` and `try_from` container attributes, written out here so that conv.rs
// need not import its file form (and the two files do not import each other).
impl Serialize for Conv2D {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Conv2DSpec::from(self.clone()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Conv2D {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = Conv2DSpec::deserialize(deserializer)?;
        Conv2D::try_from(spec).map_err(serde::de::Error::custom)
    }
}

impl From<Conv2D> for Conv2DSpec {
    fn from(conv: Conv2D) -> Self {
        Conv2DSpec {
            input: conv.input_shape(),
            filters: conv.output_shape().channels,
            kernel: conv.kernel(),
            stride: conv.stride(),
            padding: conv.padding(),
            weights: match conv.int8_weights() {
                Some(_) => None,
                None => Some(conv.weights().iter().copied().collect()),
            },
            int8_weights: conv.int8_weights().map(encode),
            bias: conv.bias().to_vec(),
        }
    }
}

impl TryFrom<Conv2DSpec> for Conv2D {
    type Error = NetworkError;

    fn try_from(spec: Conv2DSpec) -> Result<Self, NetworkError> {
        let patch =
            patch_len(spec.kernel, spec.input.channels).ok_or(NetworkError::ConvTooLarge {
                input: spec.input,
                kernel: spec.kernel,
                padding: spec.padding,
            })?;
        let (weights, int8) = match (spec.weights, spec.int8_weights) {
            (Some(w), None) => (w, None),
            (None, Some(q)) => {
                let m = decode(KIND, q, patch, spec.filters)?;
                (vec![0.0; m.values().len()], Some(m))
            }
            _ => {
                return Err(NetworkError::Int8Weights {
                    layer: KIND,
                    message: "expected either `weights` (f32) or `int8_weights`".to_string(),
                })
            }
        };
        let weights = Array2::from_shape_vec((patch, spec.filters), weights).map_err(|_| {
            NetworkError::ConvWeightCount {
                patch,
                filters: spec.filters,
            }
        })?;
        if weights.iter().chain(&spec.bias).any(|w| !w.is_finite()) {
            return Err(NetworkError::NonFiniteWeight { layer: "conv" });
        }
        let mut conv = Conv2D::new(
            spec.input,
            spec.kernel,
            spec.stride,
            spec.padding,
            weights,
            Array1::from(spec.bias),
        )?;
        if let Some(m) = int8 {
            conv.set_int8(m);
        }
        Ok(conv)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};
    use rand::{Rng, SeedableRng};

    use crate::nn::{Conv2D, ImageShape, Layer};

    /// A 7x6x3 -> 4x3x5 conv (kernel 3, stride 2, padding 1) with random weights, and 9
    /// random images.
    fn conv_and_images() -> (Conv2D, Array2<f32>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let w = Array2::from_shape_fn((27, 5), |(_, c)| {
            rng.gen_range(-1.0f32..1.0) * (c + 1) as f32
        });
        let b = Array1::from_shape_fn(5, |_| rng.gen_range(-0.5f32..0.5));
        let conv = Conv2D::new(ImageShape::new(7, 6, 3), 3, 2, 1, w, b).unwrap();
        let x = Array2::from_shape_fn((9, 7 * 6 * 3), |_| rng.gen_range(-2.0f32..2.0));
        (conv, x)
    }

    fn same_bits(a: &Array2<f32>, b: &Array2<f32>) -> bool {
        a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// The quantized layer computes the bits of an f32 conv holding `q · s_filter`, its
    /// weights are within half a step of the trained ones, and it trains nothing.
    #[test]
    fn a_quantized_conv_computes_as_a_conv_on_the_dequantized_weights() {
        let (conv, x) = conv_and_images();
        let mut q = conv.quantize_int8().unwrap();
        let m = q.int8_weights().unwrap().clone();
        assert_eq!((m.n_in(), m.n_out()), (27, 5));
        let dequantized = Array2::from_shape_vec((27, 5), m.dequantized()).unwrap();
        for ((r, c), &w) in conv.weights().indexed_iter() {
            let got = dequantized[[r, c]];
            assert!((got - w).abs() <= m.scales()[c] * 0.5 + 1e-6, "{r},{c}");
        }
        let mut reference = Conv2D::new(
            conv.input_shape(),
            3,
            2,
            1,
            dequantized.clone(),
            conv.bias().clone(),
        )
        .unwrap();
        assert!(same_bits(q.weights(), &dequantized));
        q.forward(x.view(), false);
        reference.forward(x.view(), false);
        assert!(same_bits(
            &q.output().to_owned(),
            &reference.output().to_owned()
        ));
        let mut visited = 0;
        q.visit_params(&mut |_, _| visited += 1);
        assert_eq!(visited, 0);
        assert!(q.prunable_weights().is_none());
    }

    /// Written as int8 base64 with scale codes (no f32 weights) and read back, the layer
    /// holds the same int8 values, scales and f32 weights and computes the same bits.
    #[test]
    fn a_quantized_conv_round_trips_through_its_file_form() {
        let (conv, x) = conv_and_images();
        let mut q = conv.quantize_int8().unwrap();
        let json = serde_json::to_value(&q).unwrap();
        assert!(json.get("weights").is_none());
        let block = &json["int8_weights"];
        assert_eq!(block["weights"].as_str().unwrap().len(), 27 * 5 / 3 * 4);
        assert!(block["scale_base"].is_number());
        assert!(block["scale_codes"].is_string());
        let mut back: Conv2D = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back.int8_weights(), q.int8_weights());
        assert!(same_bits(back.weights(), q.weights()));
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        q.forward(x.view(), false);
        back.forward(x.view(), false);
        assert!(same_bits(&q.output().to_owned(), &back.output().to_owned()));
        // A trained layer is still written with f32 weights.
        let plain = serde_json::to_value(&conv).unwrap();
        assert!(plain.get("int8_weights").is_none() && plain["weights"].is_array());
    }

    /// A damaged int8 block is refused with what was expected, never a panic.
    #[test]
    fn a_bad_int8_conv_block_is_refused_with_what_was_expected() {
        let (conv, _) = conv_and_images();
        let json = serde_json::to_value(conv.quantize_int8().unwrap()).unwrap();
        let error = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut j = json.clone();
            edit(&mut j);
            serde_json::from_value::<Conv2D>(j).unwrap_err().to_string()
        };
        assert_eq!(
            error(&|j| j["int8_weights"]["weights"] = "not base64!".into()),
            "conv2d layer: the weights are not base64 text"
        );
        assert_eq!(
            error(&|j| j["int8_weights"]["weights"] = "AAAA".into()),
            "conv2d layer: the int8 weights have 3 values; expected n_in x n_out = 27 x 5"
        );
        assert_eq!(
            error(&|j| j["int8_weights"]["scale_codes"] = "AAAA".into()),
            "conv2d layer: there are 3 scale codes; expected one per output, 5"
        );
        assert_eq!(
            error(&|j| j["int8_weights"]["scale_codes"] = "*".into()),
            "conv2d layer: the scale codes are not base64 text"
        );
        assert_eq!(
            error(&|j| j["int8_weights"]["scale_base"] = (-1.0).into()),
            "conv2d layer: the scale base is -1; expected a finite number above 0"
        );
        assert_eq!(
            error(&|j| j["weights"] = vec![0.0; 135].into()),
            "conv2d layer: expected either `weights` (f32) or `int8_weights`"
        );
        assert_eq!(
            error(&|j| {
                j.as_object_mut().unwrap().remove("int8_weights");
            }),
            "conv2d layer: expected either `weights` (f32) or `int8_weights`"
        );
    }
}

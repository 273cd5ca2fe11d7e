//! How a model file holds a GRU or LSTM layer (`RecurrentSpec`): its weights in f32 or, for
//! a layer quantized by `compress --int8` (weight-only), in int8 with one scale per output
//! column stored as a one-byte code (`int8_spec`, as conv layers store theirs). The layer
//! dequantizes them once, when loaded, into its f32 weights and runs its f32 forward pass.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::int8_spec::{decode, encode, Int8WeightsSpec};
use super::recurrent::{RecurrentInt8, RecurrentParams};
use super::{NetworkError, SeqShape};

/// How a model file holds a GRU or LSTM layer: `weights_ih` row-major (C, G·H),
/// `weights_hh` row-major (H, G·H), gate blocks in PyTorch's order (GRU r, z, n; LSTM
/// i, f, g, o), and the two biases (G·H). A layer quantized by `compress --int8` holds
/// `int8_weights_ih` and `int8_weights_hh` (the same matrices in int8, one scale code per
/// column; format 6) in place of the two f32 weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RecurrentSpec {
    steps: usize,
    channels: usize,
    hidden: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights_ih: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights_hh: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    int8_weights_ih: Option<Int8WeightsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    int8_weights_hh: Option<Int8WeightsSpec>,
    bias_ih: Vec<f32>,
    bias_hh: Vec<f32>,
}

/// The weights of a spec, in f32 or in int8.
enum Weights {
    F32(Vec<f32>, Vec<f32>),
    Int8(Int8WeightsSpec, Int8WeightsSpec),
}

impl RecurrentSpec {
    /// How a model file holds `p`: int8 weights when it was quantized, f32 otherwise.
    pub fn of(p: &RecurrentParams) -> Self {
        let f32_weights = |w: &Array2<f32>| p.int8.is_none().then(|| w.iter().copied().collect());
        RecurrentSpec {
            steps: p.shape.steps,
            channels: p.shape.channels,
            hidden: p.hidden,
            weights_ih: f32_weights(&p.w_ih),
            weights_hh: f32_weights(&p.w_hh),
            int8_weights_ih: p.int8.as_ref().map(|q| encode(&q.ih)),
            int8_weights_hh: p.int8.as_ref().map(|q| encode(&q.hh)),
            bias_ih: p.b_ih.to_vec(),
            bias_hh: p.b_hh.to_vec(),
        }
    }

    /// The parameters of a layer `kind` of `gates` gates: sizes positive and not
    /// overflowing, weight counts that fit them, finite values; int8 weights with one
    /// scale code per column, dequantized into the f32 weights.
    pub fn into_params(
        self,
        gates: usize,
        kind: &'static str,
    ) -> Result<RecurrentParams, NetworkError> {
        let (steps, channels, hidden) = (self.steps, self.channels, self.hidden);
        let shape_error = NetworkError::RecurrentShape {
            layer: kind,
            steps,
            channels,
            hidden,
        };
        let gh = hidden.checked_mul(gates);
        let sizes = gh.and_then(|gh| {
            Some((
                gh,
                channels.checked_mul(gh)?,
                hidden.checked_mul(gh)?,
                steps.checked_mul(channels.max(hidden))?.checked_add(1)?,
            ))
        });
        let Some((gh, n_ih, n_hh, _)) = sizes.filter(|_| steps > 0 && channels > 0 && hidden > 0)
        else {
            return Err(shape_error);
        };
        let count = |what: &'static str, got: usize, expected: usize| {
            if got == expected {
                Ok(())
            } else {
                Err(NetworkError::RecurrentWeightCount {
                    layer: kind,
                    what,
                    got,
                    expected,
                })
            }
        };
        let weights = match (
            self.weights_ih,
            self.weights_hh,
            self.int8_weights_ih,
            self.int8_weights_hh,
        ) {
            (Some(ih), Some(hh), None, None) => Weights::F32(ih, hh),
            (None, None, Some(ih), Some(hh)) => Weights::Int8(ih, hh),
            _ => {
                return Err(NetworkError::Int8Weights {
                    layer: kind,
                    message: "expected either `weights_ih` and `weights_hh` (f32) or \
                              `int8_weights_ih` and `int8_weights_hh`"
                        .to_string(),
                })
            }
        };
        let (w_ih, w_hh, int8) = match weights {
            Weights::F32(ih, hh) => {
                count("weights_ih", ih.len(), n_ih)?;
                count("weights_hh", hh.len(), n_hh)?;
                (ih, hh, None)
            }
            Weights::Int8(ih, hh) => {
                let int8 = RecurrentInt8 {
                    ih: decode(kind, ih, channels, gh)
                        .map_err(|e| in_field("int8_weights_ih", e))?,
                    hh: decode(kind, hh, hidden, gh).map_err(|e| in_field("int8_weights_hh", e))?,
                };
                // Placeholders the dequantized values replace (`set_int8`).
                (vec![0.0; n_ih], vec![0.0; n_hh], Some(int8))
            }
        };
        count("bias_ih", self.bias_ih.len(), gh)?;
        count("bias_hh", self.bias_hh.len(), gh)?;
        let all = [&w_ih, &w_hh, &self.bias_ih, &self.bias_hh];
        if all.iter().any(|v| v.iter().any(|w| !w.is_finite())) {
            return Err(NetworkError::NonFiniteWeight { layer: kind });
        }
        let matrix = |rows, v| Array2::from_shape_vec((rows, gh), v).expect("counts checked");
        let mut params = RecurrentParams::new(
            SeqShape::new(steps, channels),
            matrix(channels, w_ih),
            matrix(hidden, w_hh),
            Array1::from(self.bias_ih),
            Array1::from(self.bias_hh),
        );
        if let Some(int8) = int8 {
            params.set_int8(int8);
        }
        Ok(params)
    }
}

/// An int8 weights error `e` said of the spec's `field`.
fn in_field(field: &str, e: NetworkError) -> NetworkError {
    match e {
        NetworkError::Int8Weights { layer, message } => NetworkError::Int8Weights {
            layer,
            message: format!("`{field}`: {message}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::SeedableRng;
    use serde_json::Value;

    use crate::nn::gradcheck::random_sequences;
    use crate::nn::{AnyLayer, Gru, Int8Matrix, Layer, Lstm, SeqShape};

    const SHAPE: SeqShape = SeqShape {
        steps: 5,
        channels: 3,
    };

    /// A GRU and an LSTM of 4 units over 5 steps of 3 channels, their weights scaled per
    /// column (so the columns' scales differ), and 6 sequences of lengths 5, 2, 0, 3, 1, 5.
    fn layers_and_sequences() -> (Vec<AnyLayer>, Array2<f32>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let spread = |w: &Array2<f32>| {
            Array2::from_shape_fn(w.raw_dim(), |(r, c)| w[[r, c]] * (1 + c % 5) as f32)
        };
        let g = Gru::new(SHAPE, 4, &mut rng);
        let g = Gru::from_weights(
            SHAPE,
            spread(g.weights_ih()),
            spread(g.weights_hh()),
            g.bias_ih().clone(),
            g.bias_hh().clone(),
        );
        let l = Lstm::new(SHAPE, 4, &mut rng);
        let l = Lstm::from_weights(
            SHAPE,
            spread(l.weights_ih()),
            spread(l.weights_hh()),
            l.bias_ih().clone(),
            l.bias_hh().clone(),
        );
        let x = random_sequences(SHAPE, &[5, 2, 0, 3, 1, 5], 12);
        (vec![AnyLayer::Gru(g), AnyLayer::Lstm(l)], x)
    }

    fn quantize(layer: &AnyLayer) -> AnyLayer {
        match layer {
            AnyLayer::Gru(g) => AnyLayer::Gru(g.quantize_int8().unwrap()),
            AnyLayer::Lstm(l) => AnyLayer::Lstm(l.quantize_int8().unwrap()),
            _ => unreachable!("a recurrent layer"),
        }
    }

    /// The f32 weights (ih, hh) of a recurrent layer.
    fn weights(layer: &AnyLayer) -> (Array2<f32>, Array2<f32>) {
        match layer {
            AnyLayer::Gru(g) => (g.weights_ih().clone(), g.weights_hh().clone()),
            AnyLayer::Lstm(l) => (l.weights_ih().clone(), l.weights_hh().clone()),
            _ => unreachable!("a recurrent layer"),
        }
    }

    fn same_bits(a: &Array2<f32>, b: &Array2<f32>) -> bool {
        a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// `m` back in f32, (n_in, n_out).
    fn dequantized(m: &Int8Matrix) -> Array2<f32> {
        Array2::from_shape_vec((m.n_in(), m.n_out()), m.dequantized()).unwrap()
    }

    /// A quantized GRU or LSTM holds its weights in int8 per output column (G·H scales
    /// per matrix), each within half a step of the trained weight; it computes the bits
    /// of an f32 layer holding `q · s_column`, and it trains nothing.
    #[test]
    fn a_quantized_recurrent_layer_computes_as_one_on_the_dequantized_weights() {
        let (layers, x) = layers_and_sequences();
        for layer in layers {
            let kind = layer.kind();
            let gh = if kind == "gru" { 12 } else { 16 };
            let mut q = quantize(&layer);
            let int8 = q.int8_weights();
            assert_eq!(int8.len(), 2, "{kind}");
            let (ih, hh) = (int8[0].clone(), int8[1].clone());
            assert_eq!(
                (ih.n_in(), ih.n_out(), hh.n_in(), hh.n_out()),
                (3, gh, 4, gh)
            );
            assert!(ih.scale_codes().is_some() && hh.scale_codes().is_some());
            let (w_ih, w_hh) = weights(&layer);
            for (m, w) in [(&ih, &w_ih), (&hh, &w_hh)] {
                let back = dequantized(m);
                for ((r, c), &v) in w.indexed_iter() {
                    let step = m.scales()[c];
                    assert!(
                        (back[[r, c]] - v).abs() <= step * 0.5 + 1e-7,
                        "{kind} {r},{c}"
                    );
                }
                // One scale per column: the columns were scaled apart, so are their scales.
                assert!(m.scales()[0] < m.scales()[4], "{kind}");
            }
            let (q_ih, q_hh) = weights(&q);
            assert!(same_bits(&q_ih, &dequantized(&ih)) && same_bits(&q_hh, &dequantized(&hh)));
            // The f32 layer holding them.
            let mut reference = match &q {
                AnyLayer::Gru(g) => AnyLayer::Gru(g.dequantized()),
                AnyLayer::Lstm(l) => AnyLayer::Lstm(l.dequantized()),
                _ => unreachable!("a recurrent layer"),
            };
            assert!(reference.int8_weights().is_empty());
            q.forward(x.view(), false);
            reference.forward(x.view(), false);
            assert!(
                same_bits(&q.output().to_owned(), &reference.output().to_owned()),
                "{kind}"
            );
            let mut visited = 0;
            q.visit_params(&mut |_, _| visited += 1);
            assert_eq!(visited, 0, "{kind}");
            assert!(q.prunable_weights().is_none());
            // The trained layer is unchanged and still trains.
            assert!(layer.int8_weights().is_empty());
            let mut trained = layer.clone();
            trained.visit_params(&mut |_, _| visited += 1);
            assert_eq!(visited, 4, "{kind}");
        }
    }

    /// Written as int8 base64 with scale codes (no f32 weights) and read back, the layer
    /// holds the same int8 values, scales and f32 weights, writes the same JSON and
    /// computes the same bits.
    #[test]
    fn a_quantized_recurrent_layer_round_trips_through_its_file_form() {
        let (layers, x) = layers_and_sequences();
        for layer in layers {
            let kind = layer.kind();
            let gh = if kind == "gru" { 12 } else { 16 };
            let mut q = quantize(&layer);
            let json = serde_json::to_value(&q).unwrap();
            assert!(json.get("weights_ih").is_none() && json.get("weights_hh").is_none());
            for (field, rows) in [("int8_weights_ih", 3), ("int8_weights_hh", 4)] {
                let block = &json[field];
                // Base64 of rows x G·H bytes, then of G·H codes.
                let base64 = |bytes: usize| bytes.div_ceil(3) * 4;
                assert_eq!(block["weights"].as_str().unwrap().len(), base64(rows * gh));
                assert!(block["scale_base"].is_number(), "{kind} {field}");
                assert_eq!(block["scale_codes"].as_str().unwrap().len(), base64(gh));
            }
            let mut back: AnyLayer = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(back.int8_weights(), q.int8_weights(), "{kind}");
            let ((a_ih, a_hh), (b_ih, b_hh)) = (weights(&q), weights(&back));
            assert!(same_bits(&a_ih, &b_ih) && same_bits(&a_hh, &b_hh), "{kind}");
            assert_eq!(serde_json::to_value(&back).unwrap(), json);
            q.forward(x.view(), false);
            back.forward(x.view(), false);
            assert!(same_bits(&q.output().to_owned(), &back.output().to_owned()));
            // A trained layer is still written with f32 weights.
            let plain = serde_json::to_value(&layer).unwrap();
            assert!(plain.get("int8_weights_ih").is_none() && plain["weights_ih"].is_array());
        }
    }

    /// A damaged int8 block is refused with the layer, the field and what was expected,
    /// never a panic.
    #[test]
    fn a_bad_int8_recurrent_block_is_refused_with_what_was_expected() {
        let (layers, _) = layers_and_sequences();
        let gru = serde_json::to_value(quantize(&layers[0])).unwrap();
        let lstm = serde_json::to_value(quantize(&layers[1])).unwrap();
        let error = |json: &Value, edit: &dyn Fn(&mut Value)| {
            let mut j = json.clone();
            edit(&mut j);
            serde_json::from_value::<AnyLayer>(j)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(&gru, &|j| j["int8_weights_ih"]["weights"] =
                "not base64!".into()),
            "gru layer: `int8_weights_ih`: the weights are not base64 text"
        );
        assert_eq!(
            error(&gru, &|j| j["int8_weights_ih"]["weights"] = "AAAA".into()),
            "gru layer: `int8_weights_ih`: the int8 weights have 3 values; expected n_in x n_out = 3 x 12"
        );
        assert_eq!(
            error(&lstm, &|j| j["int8_weights_hh"]["weights"] = "AAAA".into()),
            "lstm layer: `int8_weights_hh`: the int8 weights have 3 values; expected n_in x n_out = 4 x 16"
        );
        assert_eq!(
            error(&lstm, &|j| j["int8_weights_hh"]["scale_codes"] =
                "AAAA".into()),
            "lstm layer: `int8_weights_hh`: there are 3 scale codes; expected one per output, 16"
        );
        assert_eq!(
            error(&gru, &|j| j["int8_weights_hh"]["scale_codes"] = "*".into()),
            "gru layer: `int8_weights_hh`: the scale codes are not base64 text"
        );
        assert_eq!(
            error(&lstm, &|j| j["int8_weights_ih"]["scale_base"] =
                (-1.0).into()),
            "lstm layer: `int8_weights_ih`: the scale base is -1; expected a finite number above 0"
        );
        let either = "expected either `weights_ih` and `weights_hh` (f32) or `int8_weights_ih` and `int8_weights_hh`";
        assert_eq!(
            error(&gru, &|j| j["weights_ih"] = vec![0.0; 36].into()),
            format!("gru layer: {either}")
        );
        assert_eq!(
            error(&lstm, &|j| {
                j.as_object_mut().unwrap().remove("int8_weights_hh");
            }),
            format!("lstm layer: {either}")
        );
        // The f32 biases are checked as before.
        assert_eq!(
            error(&gru, &|j| j["bias_hh"] = vec![0.0; 11].into()),
            "gru layer: bias_hh has 11 values; expected 12"
        );
    }
}

//! Tests of `Gru` and `Lstm` together: forward values and gradients against PyTorch
//! (tests/fixtures/recurrent/make.py), a stack of two recurrent layers against finite
//! differences, model-file round trips and the load-time checks.

use ndarray::{s, Array1, Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::gradcheck::{assert_close, numeric_grad, random_matrix, random_sequences};
use super::{AnyLayer, Gru, Layer, Lstm, Network, SeqShape};

/// One fixture of make.py: PyTorch's layout, flat row-major arrays.
#[derive(Deserialize)]
struct Fixture {
    steps: usize,
    channels: usize,
    hidden: usize,
    lengths: Vec<usize>,
    x: Vec<f32>,
    weight_ih: Vec<f32>,
    weight_hh: Vec<f32>,
    bias_ih: Vec<f32>,
    bias_hh: Vec<f32>,
    output: Vec<f32>,
    probe: Vec<f32>,
    grad_weight_ih: Vec<f32>,
    grad_weight_hh: Vec<f32>,
    grad_bias_ih: Vec<f32>,
    grad_bias_hh: Vec<f32>,
    grad_x: Vec<f32>,
}

fn fixture(kind: &str) -> Fixture {
    let path = format!(
        "{}/tests/fixtures/recurrent/{kind}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Our (in, G·H) layout from PyTorch's (G·H, in), flat.
fn ours(torch: &[f32], inputs: usize) -> Array2<f32> {
    let rows = torch.len() / inputs;
    Array2::from_shape_vec((rows, inputs), torch.to_vec())
        .unwrap()
        .reversed_axes()
        .as_standard_layout()
        .to_owned()
}

/// A sequence batch: the lengths in column 0, then `values` (batch x T·width).
fn sequence_batch(lengths: &[usize], values: &[f32]) -> Array2<f32> {
    let width = values.len() / lengths.len();
    let mut x = Array2::zeros((lengths.len(), 1 + width));
    for (b, &length) in lengths.iter().enumerate() {
        x[[b, 0]] = length as f32;
        let row = &values[b * width..(b + 1) * width];
        x.slice_mut(s![b, 1..])
            .assign(&ArrayView2::from_shape((1, width), row).unwrap().row(0));
    }
    x
}

fn assert_all_close(what: &str, got: impl IntoIterator<Item = f32>, expected: &[f32]) {
    let got: Vec<f32> = got.into_iter().collect();
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= 1e-5 * (1.0 + e.abs()),
            "{what}[{i}]: {g} vs PyTorch's {e}"
        );
    }
}

/// The layer of a fixture, its forward values and its gradients for the probe.
fn check_against_torch(kind: &str) {
    let f = fixture(kind);
    let shape = SeqShape::new(f.steps, f.channels);
    let (w_ih, w_hh) = (ours(&f.weight_ih, f.channels), ours(&f.weight_hh, f.hidden));
    let (b_ih, b_hh) = (
        Array1::from(f.bias_ih.clone()),
        Array1::from(f.bias_hh.clone()),
    );
    let mut layer = match kind {
        "gru" => AnyLayer::Gru(Gru::from_weights(shape, w_ih, w_hh, b_ih, b_hh)),
        _ => AnyLayer::Lstm(Lstm::from_weights(shape, w_ih, w_hh, b_ih, b_hh)),
    };
    let torch = match &layer {
        AnyLayer::Gru(g) => g.torch_parameters(),
        AnyLayer::Lstm(l) => l.torch_parameters(),
        _ => unreachable!(),
    };
    assert_eq!(
        torch.weight_ih.iter().copied().collect::<Vec<_>>(),
        f.weight_ih
    );
    assert_eq!(
        torch.weight_hh.iter().copied().collect::<Vec<_>>(),
        f.weight_hh
    );

    let x = sequence_batch(&f.lengths, &f.x);
    layer.forward(x.view(), true);
    let out = layer.output().to_owned();
    assert_eq!(
        out.column(0),
        x.column(0),
        "{kind}: the length column passes"
    );
    assert_all_close(
        &format!("{kind} output"),
        out.slice(s![.., 1..]).iter().copied(),
        &f.output,
    );

    let mut probe = sequence_batch(&f.lengths, &f.probe);
    probe.column_mut(0).fill(0.0);
    layer.backward(x.view(), probe.view(), true);
    assert_all_close(
        &format!("{kind} d/dx"),
        layer.grad_in().slice(s![.., 1..]).iter().copied(),
        &f.grad_x,
    );
    let mut grads = Vec::new();
    layer.visit_params(&mut |_, g| grads.push(g.to_vec()));
    let expected = [
        ours(&f.grad_weight_ih, f.channels),
        ours(&f.grad_weight_hh, f.hidden),
    ];
    for (what, (got, want)) in ["weight_ih", "weight_hh"]
        .iter()
        .zip(grads.iter().zip(&expected))
    {
        let want: Vec<f32> = want.iter().copied().collect();
        assert_all_close(&format!("{kind} d/d{what}"), got.iter().copied(), &want);
    }
    assert_all_close(
        &format!("{kind} d/dbias_ih"),
        grads[2].clone(),
        &f.grad_bias_ih,
    );
    assert_all_close(
        &format!("{kind} d/dbias_hh"),
        grads[3].clone(),
        &f.grad_bias_hh,
    );
}

#[test]
fn gru_matches_pytorch_forward_and_backward() {
    check_against_torch("gru");
}

#[test]
fn lstm_matches_pytorch_forward_and_backward() {
    check_against_torch("lstm");
}

#[test]
fn onnx_parameters_reorder_the_gate_blocks() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let gru = Gru::new(SeqShape::new(3, 2), 4, &mut rng);
    let (torch, onnx) = (gru.torch_parameters(), gru.onnx_parameters());
    // ONNX's z, r, h against PyTorch's r, z, n.
    assert_eq!(
        onnx.weight_ih.slice(s![0..4, ..]),
        torch.weight_ih.slice(s![4..8, ..])
    );
    assert_eq!(
        onnx.weight_hh.slice(s![4..8, ..]),
        torch.weight_hh.slice(s![0..4, ..])
    );
    assert_eq!(onnx.bias_hh.slice(s![8..]), torch.bias_hh.slice(s![8..]));
    let lstm = Lstm::new(SeqShape::new(3, 2), 4, &mut rng);
    let (torch, onnx) = (lstm.torch_parameters(), lstm.onnx_parameters());
    // ONNX's i, o, f, c against PyTorch's i, f, g, o.
    assert_eq!(
        onnx.weight_ih.slice(s![4..8, ..]),
        torch.weight_ih.slice(s![12..16, ..])
    );
    assert_eq!(onnx.bias_ih.slice(s![12..]), torch.bias_ih.slice(s![8..12]));
    assert_eq!(torch.weight_hh.dim(), (16, 4));
}

/// A GRU feeding an LSTM: the second reads the lengths the first passes on, and the
/// first's input gradient carries the second's.
#[test]
fn a_stack_of_two_recurrent_layers_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let shape = SeqShape::new(4, 2);
    let mut gru = Gru::new(shape, 3, &mut rng);
    let mut lstm = Lstm::new(SeqShape::new(4, 3), 2, &mut rng);
    let lengths = [4, 0, 2, 1, 3];
    let mut x = random_sequences(shape, &lengths, 12);
    gru.forward(x.view(), true);
    lstm.forward(gru.output(), true);
    let r = random_matrix(lengths.len(), lstm.output().ncols(), &mut rng);
    lstm.backward(gru.output(), r.view(), true);
    gru.backward(x.view(), lstm.grad_in(), true);
    let analytic = gru.grad_in().to_owned();

    let (rows, cols) = x.dim();
    let numeric = numeric_grad(x.as_slice_mut().unwrap(), |xs| {
        let xv = ArrayView2::from_shape((rows, cols), xs).unwrap();
        gru.forward(xv, false);
        lstm.forward(gru.output(), false);
        lstm.output()
            .iter()
            .zip(&r)
            .map(|(&o, &r)| (o * r) as f64)
            .sum()
    });
    for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
        if i % cols == 0 {
            assert_eq!(a, 0.0, "the length column gets no gradient");
        } else {
            assert_close(a as f64, n, &format!("stack d/dx[{i}]"));
        }
    }
}

#[test]
fn layers_round_trip_through_the_model_file() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let shape = SeqShape::new(5, 3);
    let x = random_sequences(shape, &[5, 2, 0], 6);
    for layer in [
        AnyLayer::Gru(Gru::new(shape, 4, &mut rng)),
        AnyLayer::Lstm(Lstm::new(shape, 4, &mut rng)),
    ] {
        let json = serde_json::to_string(&layer).unwrap();
        assert!(
            json.starts_with(&format!("{{\"type\":\"{}\"", layer.kind())),
            "{json}"
        );
        let (mut before, mut after): (AnyLayer, AnyLayer) =
            (layer, serde_json::from_str(&json).unwrap());
        before.forward(x.view(), false);
        after.forward(x.view(), false);
        assert_eq!(before.output(), after.output());
        assert_eq!(after.output_width(shape.width()), 1 + 5 * 4);
    }
}

#[test]
fn a_damaged_recurrent_layer_is_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let good =
        serde_json::to_value(AnyLayer::Lstm(Lstm::new(SeqShape::new(2, 1), 2, &mut rng))).unwrap();
    let damaged = |field: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[field] = value;
        serde_json::from_value::<AnyLayer>(v)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        damaged("bias_hh", serde_json::json!(vec![0.0; 7])),
        "lstm layer: bias_hh has 7 values; expected 8"
    );
    assert_eq!(
        damaged("weights_hh", serde_json::json!(vec![0.5; 8])),
        "lstm layer: weights_hh has 8 values; expected 16"
    );
    let mut weights = vec![serde_json::json!(0.5); 7];
    weights.push(serde_json::json!(1e39));
    assert_eq!(
        damaged("weights_ih", serde_json::Value::Array(weights)),
        "lstm layer: a weight is not a finite number"
    );
    for (field, value) in [("hidden", 0usize), ("steps", 0), ("steps", usize::MAX)] {
        let message = damaged(field, serde_json::json!(value));
        assert!(message.contains("must all be positive"), "{message}");
    }
}

#[test]
fn validate_refuses_a_recurrent_layer_of_the_wrong_width() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let shape = SeqShape::new(10, 3);
    let network = |n_inputs, layer| Network {
        n_inputs,
        layers: vec![layer],
    };
    let gru = AnyLayer::Gru(Gru::new(shape, 4, &mut rng));
    network(31, gru.clone()).validate().unwrap();
    assert_eq!(
        network(30, gru).validate().unwrap_err().to_string(),
        "layer 1 (gru): takes sequences of 10 steps x 3 channels (31 values with the length column) but receives 30"
    );
    let lstm = AnyLayer::Lstm(Lstm::new(shape, 4, &mut rng));
    let message = network(32, lstm).validate().unwrap_err().to_string();
    assert!(
        message.starts_with("layer 1 (lstm): takes sequences"),
        "{message}"
    );
}

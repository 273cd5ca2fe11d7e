//! An int8 dense layer as ONNX core operators (opset 13) that reproduce csvnn's numbers:
//! each row quantized with its own scale (`max |x| / 127`, 1 for a row of zeros; Round is
//! half to even in both), the product in int32 by `MatMulInteger` on the int8 weights,
//! then `(acc · s_x) · s_w + b` in float, `s_w` the f32 scales (decoded from the one-byte
//! codes when the layer stores them so). A layer with the f32 product (weight-only) is
//! the same int8 weights `Cast` to float times the per-output scales (`Mul`), `MatMul`
//! and `Add` the bias: the inputs are not quantized.

use ndarray::{Array1, Array2};

use super::builder::{int, ints, Builder};
use super::proto::{FLOAT, INT8};
use crate::nn::{Conv2D, Int8Matrix, Int8Product, QuantizedDense};

/// Add the nodes of `d` reading `x` (N, n_in) float; returns the output's name.
pub(super) fn dense_int8(b: &mut Builder, prefix: &str, d: &QuantizedDense, x: &str) -> String {
    let m = d.matrix();
    let raw = m.values().iter().map(|&v| v as u8).collect();
    let w = b.initializer(
        &format!("{prefix}_weights_int8"),
        vec![m.n_in() as i64, m.n_out() as i64],
        INT8,
        raw,
    );
    let w_scales = b.floats(
        &format!("{prefix}_scales"),
        &[m.n_out()],
        m.scales().iter().copied(),
    );
    let bias = b.floats(
        &format!("{prefix}_bias"),
        &[m.n_out()],
        d.bias().iter().copied(),
    );
    if d.product() == Int8Product::F32 {
        // q · s_j in f32, the weights csvnn multiplies by. Not `DequantizeLinear`: the
        // same values, but onnxruntime (1.32, default optimizations) fuses it with the
        // MatMul into `MatMulNBits`, which quantizes the inputs to int8 (8.7e-3 off on
        // chile_vote); a Cast and a Mul of constants are folded into plain weights.
        let w = cast_and_scale(b, &w, &w_scales);
        let y = b.node("MatMul", &[x, &w], vec![], None);
        return b.node("Add", &[&y, &bias], vec![], None);
    }
    let abs = b.node("Abs", &[x], vec![], None);
    let max = b.node(
        "ReduceMax",
        &[&abs],
        vec![ints("axes", &[1]), int("keepdims", 1)],
        None,
    );
    let q_max = b.const_float(127.0);
    let scale = b.node("Div", &[&max, &q_max], vec![], None);
    let zero = b.const_float(0.0);
    let one = b.const_float(1.0);
    let positive = b.node("Greater", &[&scale, &zero], vec![], None);
    let scale = b.node("Where", &[&positive, &scale, &one], vec![], None);
    let scaled = b.node("Div", &[x, &scale], vec![], None);
    let rounded = b.node("Round", &[&scaled], vec![], None);
    let low = b.const_float(-127.0);
    let clipped = b.node("Clip", &[&rounded, &low, &q_max], vec![], None);
    let xq = b.node("Cast", &[&clipped], vec![int("to", INT8 as i64)], None);
    let acc = b.node("MatMulInteger", &[&xq, &w], vec![], None);
    let acc = b.node("Cast", &[&acc], vec![int("to", FLOAT as i64)], None);
    let y = b.node("Mul", &[&acc, &scale], vec![], None);
    let y = b.node("Mul", &[&y, &w_scales], vec![], None);
    b.node("Add", &[&y, &bias], vec![], None)
}

/// The float weights (c_out, c_in, k, k) of a conv layer holding int8 weights `m`
/// ((k * k * c_in, c_out), row (ky * k + kx) * c_in + ci): the int8 initializer in ONNX's
/// order `Cast` to float times the per-filter scales ((c_out, 1, 1, 1), `Mul`), the
/// weights csvnn dequantizes on load (weight-only: the inputs stay float).
pub(super) fn conv_weights_int8(
    b: &mut Builder,
    prefix: &str,
    c: &Conv2D,
    m: &Int8Matrix,
) -> String {
    let (k, c_in, c_out) = (c.kernel(), c.input_shape().channels, m.n_out());
    let v = m.values();
    let raw = (0..c_out)
        .flat_map(|co| (0..c_in).flat_map(move |ci| (0..k * k).map(move |kk| (kk, ci, co))))
        .map(|(kk, ci, co)| v[(kk * c_in + ci) * c_out + co] as u8)
        .collect();
    let dims = [c_out, c_in, k, k].map(|d| d as i64).to_vec();
    let w = b.initializer(&format!("{prefix}_weights_int8"), dims, INT8, raw);
    let scales = b.floats(
        &format!("{prefix}_scales"),
        &[c_out, 1, 1, 1],
        m.scales().iter().copied(),
    );
    cast_and_scale(b, &w, &scales)
}

/// ONNX's W (1, G·H, C) or R (1, G·H, H) of a GRU or LSTM layer holding int8 weights:
/// the int8 initializer `name`_int8 of `w` (G·H, n), already in ONNX's gate order, `Cast`
/// to float times the scale of each row ((1, G·H, 1), `Mul`), the weights csvnn
/// dequantizes on load (weight-only: inputs and states stay float).
pub(super) fn recurrent_weights_int8(
    b: &mut Builder,
    name: &str,
    w: &Array2<i8>,
    scales: &Array1<f32>,
) -> String {
    let (gh, n) = w.dim();
    let raw = w.iter().map(|&v| v as u8).collect();
    let dims = vec![1, gh as i64, n as i64];
    let w = b.initializer(&format!("{name}_int8"), dims, INT8, raw);
    let scales = b.floats(
        &format!("{name}_scales"),
        &[1, gh, 1],
        scales.iter().copied(),
    );
    cast_and_scale(b, &w, &scales)
}

/// The int8 tensor `w` `Cast` to float times `scales` (broadcast): q · s in f32, the
/// weights csvnn multiplies by.
fn cast_and_scale(b: &mut Builder, w: &str, scales: &str) -> String {
    let w = b.node("Cast", &[w], vec![int("to", FLOAT as i64)], None);
    b.node("Mul", &[&w, scales], vec![], None)
}

//! GRU and LSTM layers as ONNX `GRU` / `LSTM` nodes (one direction, initial state zero).
//!
//! csvnn's equations are PyTorch's: a GRU is ONNX's with `linear_before_reset = 1`; the
//! gate order and layout come from `onnx_parameters()` (W: (G·H, C), R: (G·H, H),
//! B = [input bias, recurrent bias]). `sequence_lens` stops each row at its last valid
//! step, as csvnn does; ONNX wants the steps first, so the values are transposed to
//! (T, N, C) and the output Y (T, 1, N, H) back to (N, T, H). A layer quantized by
//! `compress --int8` has W and R from int8 initializers dequantized in the graph.

use super::builder::{int, ints, Builder};
use super::int8::recurrent_weights_int8;
use super::proto::INT32;
use super::sequence::{lengths_at_least_one, Block};
use crate::error::Result;
use crate::nn::{GateMajor, GateMajorInt8, Gru, Lstm};

/// Which recurrent cell.
enum Cell {
    Gru,
    Lstm,
}

/// A GRU over `x`: (N, T, C) -> (N, T, H).
pub(super) fn gru(
    b: &mut Builder,
    prefix: &str,
    g: &Gru,
    x: &str,
    block: &Block,
) -> Result<(String, Block)> {
    block.expect(g.input_shape(), "gru")?;
    let y = recurrent(
        b,
        prefix,
        Cell::Gru,
        &g.onnx_parameters(),
        g.onnx_int8_parameters(),
        x,
        block,
    );
    Ok((y, out_block(block, g.hidden())))
}

/// An LSTM over `x`: (N, T, C) -> (N, T, H).
pub(super) fn lstm(
    b: &mut Builder,
    prefix: &str,
    l: &Lstm,
    x: &str,
    block: &Block,
) -> Result<(String, Block)> {
    block.expect(l.input_shape(), "lstm")?;
    let y = recurrent(
        b,
        prefix,
        Cell::Lstm,
        &l.onnx_parameters(),
        l.onnx_int8_parameters(),
        x,
        block,
    );
    Ok((y, out_block(block, l.hidden())))
}

fn out_block(block: &Block, hidden: usize) -> Block {
    Block {
        channels: hidden,
        ..block.clone()
    }
}

fn recurrent(
    b: &mut Builder,
    prefix: &str,
    cell: Cell,
    params: &GateMajor,
    int8: Option<GateMajorInt8>,
    x: &str,
    block: &Block,
) -> String {
    let (gh, channels) = params.weight_ih.dim();
    let hidden = params.weight_hh.ncols();
    let (w, r) = match int8 {
        // Weight-only int8: the file holds the int8 weights, dequantized in the graph.
        Some(q) => (
            recurrent_weights_int8(b, &format!("{prefix}_W"), &q.weight_ih, &q.scales_ih),
            recurrent_weights_int8(b, &format!("{prefix}_R"), &q.weight_hh, &q.scales_hh),
        ),
        None => (
            b.floats(
                &format!("{prefix}_W"),
                &[1, gh, channels],
                params.weight_ih.iter().copied(),
            ),
            b.floats(
                &format!("{prefix}_R"),
                &[1, gh, hidden],
                params.weight_hh.iter().copied(),
            ),
        ),
    };
    let bias = b.floats(
        &format!("{prefix}_B"),
        &[1, 2 * gh],
        params.bias_ih.iter().chain(&params.bias_hh).copied(),
    );
    // A row of length 0 runs one step; pooling drops it by its real length.
    let lengths = lengths_at_least_one(b, block);
    let lengths = b.node("Cast", &[&lengths], vec![int("to", INT32 as i64)], None);
    let time_major = b.node("Transpose", &[x], vec![ints("perm", &[1, 0, 2])], None);
    let mut attributes = vec![int("hidden_size", hidden as i64)];
    let op = match cell {
        Cell::Gru => {
            attributes.push(int("linear_before_reset", 1));
            "GRU"
        }
        Cell::Lstm => "LSTM",
    };
    let y = b.node(
        op,
        &[&time_major, &w, &r, &bias, &lengths],
        attributes,
        None,
    );
    // Y: (T, 1, N, H) -> (T, N, H) -> (N, T, H).
    let axis = b.const_int64s(&[1]);
    let y = b.node("Squeeze", &[&y, &axis], vec![], None);
    b.node("Transpose", &[&y], vec![ints("perm", &[1, 0, 2])], None)
}

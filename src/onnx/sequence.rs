//! Sequence blocks inside the graph and the nodes of the per-step layers: a block row
//! `[L, T x C values]` (csvnn's layout, `nn/sequence.rs`) becomes `lengths`: int64 (N) and
//! values: float (N, T, C), batch-major. Values at padding steps (t >= L) are left
//! unspecified (an embedding reads row 0 there, a GRU writes zeros, attention anything);
//! every node that reduces over the steps masks them, so they never reach a valid output.

use super::builder::{int, ints, Builder};
use super::proto::{FLOAT, INT64};
use crate::error::{Error, Result};
use crate::nn::{Embedding, PoolMode, PositionalEmbedding, SeqShape, SequencePool, TimeDense};

/// A sequence block in the graph: its values' name is carried beside it.
#[derive(Clone)]
pub(super) struct Block {
    /// T: steps per row.
    pub(super) steps: usize,
    /// C: values per step.
    pub(super) channels: usize,
    /// int64 (N): each row's valid steps L, 0..=T.
    pub(super) lengths: String,
}

impl Block {
    /// An error unless the block is `shape` (csvnn checks this when a model is loaded).
    pub(super) fn expect(&self, shape: SeqShape, layer: &str) -> Result<()> {
        if (self.steps, self.channels) == (shape.steps, shape.channels) {
            Ok(())
        } else {
            Err(Error::config(format!(
                "cannot export: a {layer} layer reads {} steps of {} values but is given {} steps of {}",
                shape.steps, shape.channels, self.steps, self.channels
            )))
        }
    }
}

/// Split a flat block row `row`: float (N, 1 + T·C) into its lengths and values.
pub(super) fn split_block(b: &mut Builder, row: &str, shape: SeqShape) -> (String, Block) {
    let (steps, channels) = (shape.steps as i64, shape.channels as i64);
    let axis = b.const_int64s(&[1]);
    let (zero, one, end) = (
        b.const_int64s(&[0]),
        b.const_int64s(&[1]),
        b.const_int64s(&[1 + steps * channels]),
    );
    let length = b.node("Slice", &[row, &zero, &one, &axis], vec![], None);
    let length = b.node("Cast", &[&length], vec![int("to", INT64 as i64)], None);
    let flat = b.const_int64s(&[-1]);
    let lengths = b.node("Reshape", &[&length, &flat], vec![], None);
    let values = b.node("Slice", &[row, &one, &end, &axis], vec![], None);
    let shape_name = b.const_int64s(&[-1, steps, channels]);
    let values = b.node("Reshape", &[&values, &shape_name], vec![], None);
    let block = Block {
        steps: shape.steps,
        channels: shape.channels,
        lengths,
    };
    (values, block)
}

/// The lengths clamped to at least 1: int64 (N). Recurrent nodes and attention need a
/// step per row; a row of length 0 is still pooled to zeros with its real length.
pub(super) fn lengths_at_least_one(b: &mut Builder, block: &Block) -> String {
    let one = b.const_int64s(&[1]);
    b.node("Max", &[&block.lengths, &one], vec![], None)
}

/// bool (N, T, 1): the steps `compare` (`Less`: the valid steps; `Equal`: step
/// `target`) relates to `target`, int64 (N).
fn step_mask(b: &mut Builder, steps: usize, compare: &str, target: &str) -> String {
    let range: Vec<i64> = (0..steps as i64).collect();
    let positions = b.const_int64s(&range);
    let axis1 = b.const_int64s(&[1]);
    let column = b.node("Unsqueeze", &[target, &axis1], vec![], None);
    let mask = b.node(compare, &[&positions, &column], vec![], None);
    let axis2 = b.const_int64s(&[2]);
    b.node("Unsqueeze", &[&mask, &axis2], vec![], None)
}

/// Embedding: a Gather of each id's row of the table; (N, T, 1) ids -> (N, T, dim). As in
/// csvnn, an id that is not a whole number in 0..vocab (NaN included) reads row 0.
pub(super) fn embedding(
    b: &mut Builder,
    prefix: &str,
    e: &Embedding,
    ids: &str,
    block: &Block,
) -> Result<String> {
    block.expect(e.input_shape(), "embedding")?;
    let table = b.floats(
        &format!("{prefix}_table"),
        &[e.vocab(), e.dim()],
        e.weights().iter().copied(),
    );
    let flat = b.const_int64s(&[-1, e.steps() as i64]);
    let ids = b.node("Reshape", &[ids, &flat], vec![], None);
    let zero = b.const_float(0.0);
    let vocab = b.const_float(e.vocab() as f32);
    let at_least_zero = b.node("GreaterOrEqual", &[&ids, &zero], vec![], None);
    let below_vocab = b.node("Less", &[&ids, &vocab], vec![], None);
    let floor = b.node("Floor", &[&ids], vec![], None);
    let whole = b.node("Equal", &[&floor, &ids], vec![], None);
    let in_range = b.node("And", &[&at_least_zero, &below_vocab], vec![], None);
    let valid = b.node("And", &[&in_range, &whole], vec![], None);
    let ids = b.node("Where", &[&valid, &ids, &zero], vec![], None);
    let ids = b.node("Cast", &[&ids], vec![int("to", INT64 as i64)], None);
    Ok(b.node("Gather", &[&table, &ids], vec![int("axis", 0)], None))
}

/// TimeDense: x·W + b at every step; (N, T, C) -> (N, T, D).
pub(super) fn time_dense(
    b: &mut Builder,
    prefix: &str,
    d: &TimeDense,
    x: &str,
    block: &Block,
) -> Result<(String, Block)> {
    block.expect(d.input_shape(), "time_dense")?;
    let out = d.output_shape();
    let w = b.floats(
        &format!("{prefix}_weights"),
        &[d.input_shape().channels, out.channels],
        d.weights().iter().copied(),
    );
    let bias = b.floats(
        &format!("{prefix}_bias"),
        &[out.channels],
        d.bias().iter().copied(),
    );
    let product = b.node("MatMul", &[x, &w], vec![], None);
    let y = b.node("Add", &[&product, &bias], vec![], None);
    let block = Block {
        channels: out.channels,
        ..block.clone()
    };
    Ok((y, block))
}

/// PositionalEmbedding: the (T, D) table added to every row (padding steps too; they stay
/// unspecified).
pub(super) fn positional(
    b: &mut Builder,
    prefix: &str,
    p: &PositionalEmbedding,
    x: &str,
    block: &Block,
) -> Result<String> {
    block.expect(p.shape(), "positional_embedding")?;
    let table = b.floats(
        &format!("{prefix}_table"),
        &[p.shape().steps, p.shape().channels],
        p.table().iter().copied(),
    );
    Ok(b.node("Add", &[x, &table], vec![], None))
}

/// SequencePool over the valid steps only: (N, T, C) -> (N, C), or (N, T x C) when it
/// flattens (padding steps zeroed); a row of length 0 gives zeros, as in csvnn.
pub(super) fn pool(b: &mut Builder, p: &SequencePool, x: &str, block: &Block) -> Result<String> {
    block.expect(p.input_shape(), "sequence_pool")?;
    let zero = b.const_float(0.0);
    let sum_steps = |b: &mut Builder, masked: &str| {
        let axis1 = b.const_int64s(&[1]);
        b.node(
            "ReduceSum",
            &[masked, &axis1],
            vec![int("keepdims", 0)],
            None,
        )
    };
    Ok(match p.mode() {
        PoolMode::Last => {
            // Only step L - 1 kept (none when L = 0), then summed over the steps.
            let one = b.const_int64s(&[1]);
            let last = b.node("Sub", &[&block.lengths, &one], vec![], None);
            let mask = step_mask(b, block.steps, "Equal", &last);
            let masked = b.node("Where", &[&mask, x, &zero], vec![], None);
            sum_steps(b, &masked)
        }
        PoolMode::Mean => {
            let mask = step_mask(b, block.steps, "Less", &block.lengths);
            let masked = b.node("Where", &[&mask, x, &zero], vec![], None);
            let sum = sum_steps(b, &masked);
            let count = lengths_at_least_one(b, block);
            let count = b.node("Cast", &[&count], vec![int("to", FLOAT as i64)], None);
            let column = b.const_int64s(&[-1, 1]);
            let count = b.node("Reshape", &[&count, &column], vec![], None);
            b.node("Div", &[&sum, &count], vec![], None)
        }
        PoolMode::Flatten => {
            let mask = step_mask(b, block.steps, "Less", &block.lengths);
            let masked = b.node("Where", &[&mask, x, &zero], vec![], None);
            let flat = b.const_int64s(&[-1, (block.steps * block.channels) as i64]);
            b.node("Reshape", &[&masked, &flat], vec![], None)
        }
        PoolMode::Max => {
            let mask = step_mask(b, block.steps, "Less", &block.lengths);
            let low = b.const_float(f32::NEG_INFINITY);
            let masked = b.node("Where", &[&mask, x, &low], vec![], None);
            let max = b.node(
                "ReduceMax",
                &[&masked],
                vec![ints("axes", &[1]), int("keepdims", 0)],
                None,
            );
            let none = b.const_int64s(&[0]);
            let empty = b.node("Equal", &[&block.lengths, &none], vec![], None);
            let column = b.const_int64s(&[-1, 1]);
            let empty = b.node("Reshape", &[&empty, &column], vec![], None);
            b.node("Where", &[&empty, &zero, &max], vec![], None)
        }
    })
}

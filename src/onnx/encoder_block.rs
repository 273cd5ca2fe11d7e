//! The nodes of one transformer encoder block (`nn::EncoderBlock`, post-norm, ReLU):
//!
//! ```text
//! Q, K, V = x·W_q + b_q, x·W_k + b_k, x·W_v + b_v        (N, T, D) each
//! P_h     = Softmax(Q_h·K_hᵀ · 1/sqrt(d_head) + mask)    (N, heads, T, T)
//! x1      = LayerNorm1(x + [P_1·V_1 | ..]·W_out + b_out)
//! out     = LayerNorm2(x1 + ReLU(x1·W_1 + b_1)·W_2 + b_2)
//! ```
//!
//! csvnn packs the valid steps and never computes the padding; the graph computes every
//! step and keeps padded keys out with an additive mask (0 for a valid key, `MASKED` for a
//! padded one), so the valid steps get csvnn's values and the padding steps are left
//! unspecified (finite when `x` is). The scaling follows csvnn's: the scores Q·Kᵀ are
//! scaled, not the queries.

use ndarray::Array2;

use super::builder::{int, ints, Builder};
use super::proto::{AttributeProto, ATTRIBUTE_FLOAT};
use crate::error::Result;
use crate::nn::{EncoderBlock, LAYER_NORM_EPS};

/// The score of a padded key. Finite, so that a row with no valid step (which csvnn
/// zeroes) gives finite values rather than NaN; exp of it minus any real score is 0.
const MASKED: f32 = -1e30;

/// Nodes of one transformer encoder block (post-norm, as nn::EncoderBlock computes it).
/// `x`: float (N, T, D), batch-major; `steps`: int64 (N), each row's valid steps (1..=T).
/// Returns the name of the block's output, float (N, T, D); values at padding steps are unspecified.
pub(super) fn add_encoder_block(
    b: &mut Builder,
    prefix: &str,
    block: &EncoderBlock,
    x: &str,
    steps: &str,
) -> Result<String> {
    let (t, d, heads) = (block.steps(), block.d_model(), block.heads());
    let dh = d / heads;
    let (t, d_i, heads_i, dh_i) = (t as i64, d as i64, heads as i64, dh as i64);
    let w = block.torch_weights();

    // The key mask, (N, 1, 1, T): 0 where step < steps[n], MASKED elsewhere.
    let positions = b.int64s(&format!("{prefix}_positions"), &(0..t).collect::<Vec<_>>());
    let column = b.int64s(&format!("{prefix}_steps_column"), &[-1, 1]);
    let steps_column = b.node("Reshape", &[steps, &column], vec![], None);
    let valid = b.node("Less", &[&positions, &steps_column], vec![], None);
    let zero = b.floats(&format!("{prefix}_mask_valid"), &[], [0.0].into_iter());
    let masked = b.floats(&format!("{prefix}_mask_padded"), &[], [MASKED].into_iter());
    let mask = b.node("Where", &[&valid, &zero, &masked], vec![], None);
    let mask_shape = b.int64s(&format!("{prefix}_mask_shape"), &[-1, 1, 1, t]);
    let mask = b.node("Reshape", &[&mask, &mask_shape], vec![], None);

    // Q, K, V, each split into heads: (N, heads, T, d_head); K transposed to (.., d_head, T).
    let heads_shape = b.int64s(&format!("{prefix}_heads_shape"), &[-1, t, heads_i, dh_i]);
    let mut project = |part: usize, name: &str, perm: &[i64]| {
        let rows = part * d..(part + 1) * d;
        let weight = w.in_proj_weight.slice(ndarray::s![rows.clone(), ..]);
        let bias = w.in_proj_bias.slice(ndarray::s![rows]);
        let y = linear(
            b,
            &format!("{prefix}_{name}"),
            x,
            &weight.to_owned(),
            bias.iter().copied(),
        );
        let split = b.node("Reshape", &[&y, &heads_shape], vec![], None);
        b.node("Transpose", &[&split], vec![ints("perm", perm)], None)
    };
    let q = project(0, "q", &[0, 2, 1, 3]);
    let k_t = project(1, "k", &[0, 2, 3, 1]);
    let v = project(2, "v", &[0, 2, 1, 3]);

    // P = Softmax(Q·Kᵀ · scale + mask), scale computed as csvnn does.
    let scores = b.node("MatMul", &[&q, &k_t], vec![], None);
    let scale = 1.0 / (dh as f32).sqrt();
    let scale = b.floats(&format!("{prefix}_scale"), &[], [scale].into_iter());
    let scores = b.node("Mul", &[&scores, &scale], vec![], None);
    let scores = b.node("Add", &[&scores, &mask], vec![], None);
    let p = b.node("Softmax", &[&scores], vec![int("axis", -1)], None);
    // O = [P_1·V_1 | ..]: (N, heads, T, d_head) -> (N, T, D).
    let o = b.node("MatMul", &[&p, &v], vec![], None);
    let o = b.node("Transpose", &[&o], vec![ints("perm", &[0, 2, 1, 3])], None);
    let model_shape = b.int64s(&format!("{prefix}_model_shape"), &[-1, t, d_i]);
    let o = b.node("Reshape", &[&o, &model_shape], vec![], None);
    let attention = linear(
        b,
        &format!("{prefix}_out_proj"),
        &o,
        &w.out_proj_weight,
        w.out_proj_bias.iter().copied(),
    );

    // x1 = LayerNorm1(x + attention)
    let sum = b.node("Add", &[x, &attention], vec![], None);
    let x1 = layer_norm(
        b,
        &format!("{prefix}_norm1"),
        &sum,
        (&w.norm1_weight, &w.norm1_bias),
    );
    // out = LayerNorm2(x1 + Linear2(ReLU(Linear1(x1))))
    let hidden = linear(
        b,
        &format!("{prefix}_linear1"),
        &x1,
        &w.linear1_weight,
        w.linear1_bias.iter().copied(),
    );
    let hidden = b.node("Relu", &[&hidden], vec![], None);
    let ff = linear(
        b,
        &format!("{prefix}_linear2"),
        &hidden,
        &w.linear2_weight,
        w.linear2_bias.iter().copied(),
    );
    let sum = b.node("Add", &[&x1, &ff], vec![], None);
    Ok(layer_norm(
        b,
        &format!("{prefix}_norm2"),
        &sum,
        (&w.norm2_weight, &w.norm2_bias),
    ))
}

/// y = x·Wᵀ + bias over the last axis, `weight` in PyTorch's (out, in) layout; the
/// initializers are `{name}_weight` (in, out) and `{name}_bias`.
fn linear(
    b: &mut Builder,
    name: &str,
    x: &str,
    weight: &Array2<f32>,
    bias: impl Iterator<Item = f32>,
) -> String {
    let (n_out, n_in) = weight.dim();
    let w = b.floats(
        &format!("{name}_weight"),
        &[n_in, n_out],
        weight.t().iter().copied(),
    );
    let bias = b.floats(&format!("{name}_bias"), &[n_out], bias);
    let product = b.node("MatMul", &[x, &w], vec![], None);
    b.node("Add", &[&product, &bias], vec![], None)
}

/// LayerNormalization over the last axis with csvnn's epsilon.
fn layer_norm(
    b: &mut Builder,
    name: &str,
    x: &str,
    (weight, bias): (&ndarray::Array1<f32>, &ndarray::Array1<f32>),
) -> String {
    let scale = b.floats(
        &format!("{name}_weight"),
        &[weight.len()],
        weight.iter().copied(),
    );
    let shift = b.floats(&format!("{name}_bias"), &[bias.len()], bias.iter().copied());
    let epsilon = AttributeProto {
        name: "epsilon".to_string(),
        r#type: ATTRIBUTE_FLOAT,
        f: Some(LAYER_NORM_EPS),
        ..AttributeProto::default()
    };
    b.node(
        "LayerNormalization",
        &[x, &scale, &shift],
        vec![int("axis", -1), epsilon],
        None,
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use ndarray::Array2;
    use prost::Message;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    use super::super::builder::{dims_type, Builder};
    use super::super::proto::*;
    use super::*;
    use crate::nn::gradcheck::random_sequences;
    use crate::nn::Layer;

    /// Why onnxruntime cannot run here, if it cannot (CI has none).
    fn onnxruntime_missing() -> Option<String> {
        match Command::new("python3")
            .args(["-c", "import onnxruntime"])
            .output()
        {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            Err(e) => Some(format!("python3: {e}")),
        }
    }

    /// A block of randomly drawn weights, its biases and layer norms moved off their
    /// initial 0 and 1 so that every parameter counts.
    fn random_block(steps: usize, d: usize, heads: usize, ff: usize, seed: u64) -> EncoderBlock {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut block = EncoderBlock::new(steps, d, heads, ff, &mut rng).unwrap();
        block.visit_params(&mut |p, _| p.iter_mut().for_each(|v| *v += rng.gen_range(-0.3..0.3)));
        block
    }

    /// A model of `blocks` one after the other: inputs `x` (N, T, D) and `steps` (N),
    /// output `y` (N, T, D); opset 17, which LayerNormalization needs.
    fn model(blocks: &[EncoderBlock]) -> ModelProto {
        let (t, d) = (blocks[0].steps() as i64, blocks[0].d_model() as i64);
        let mut b = Builder::default();
        let mut current = "x".to_string();
        for (i, block) in blocks.iter().enumerate() {
            current =
                add_encoder_block(&mut b, &format!("block{i}"), block, &current, "steps").unwrap();
        }
        b.node("Identity", &[&current], vec![], Some("y"));
        let value = |name: &str, elem_type, dims: &[Option<i64>]| ValueInfoProto {
            name: name.to_string(),
            r#type: dims_type(elem_type, dims),
            doc_string: String::new(),
        };
        ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            producer_name: "csvnn".to_string(),
            graph: Some(GraphProto {
                node: b.nodes,
                name: "encoder_blocks".to_string(),
                initializer: b.initializers,
                input: vec![
                    value("x", FLOAT, &[None, Some(t), Some(d)]),
                    value("steps", INT64, &[None]),
                ],
                output: vec![value("y", FLOAT, &[None, Some(t), Some(d)])],
                ..GraphProto::default()
            }),
            ..ModelProto::default()
        }
    }

    /// onnxruntime's `y` for the sequence rows `x` (batch, 1 + T·D), through check.py.
    fn onnxruntime_output(model: &ModelProto, x: &Array2<f32>, t: usize, dir: &Path) -> Vec<f32> {
        let d = (x.ncols() - 1) / t;
        let model_path = dir.join("block.onnx");
        std::fs::write(&model_path, model.encode_to_vec()).unwrap();
        let input = json!({
            "shape": [x.nrows(), t, d],
            "x": x.rows().into_iter().flat_map(|r| r.to_vec().split_off(1)).collect::<Vec<_>>(),
            "steps": x.column(0).iter().map(|&l| l as i64).collect::<Vec<_>>(),
        });
        let (input_path, output_path) = (dir.join("input.json"), dir.join("output.json"));
        std::fs::write(&input_path, input.to_string()).unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/onnx_block/check.py"
        );
        let out = Command::new("python3")
            .arg(script)
            .args([&model_path, &input_path, &output_path])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "check.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let output: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(output_path).unwrap()).unwrap();
        output["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect()
    }

    /// Runs `blocks` in csvnn and in onnxruntime on rows of `lengths` valid steps and
    /// returns the largest difference at a valid step (None without onnxruntime).
    fn max_difference(blocks: &mut [EncoderBlock], lengths: &[usize], seed: u64) -> Option<f32> {
        if let Some(why) = onnxruntime_missing() {
            eprintln!("skipped: onnxruntime cannot be imported ({why})");
            return None;
        }
        let shape = blocks[0].shape();
        let x = random_sequences(shape, lengths, seed);
        let mut expected = x.clone();
        for block in blocks.iter_mut() {
            block.forward(expected.view(), false);
            expected = block.output().to_owned();
        }
        let dir = tempfile::tempdir().unwrap();
        let actual = onnxruntime_output(&model(blocks), &x, shape.steps, dir.path());
        assert_eq!(actual.len(), x.nrows() * (x.ncols() - 1), "output size");
        let d = shape.channels;
        let mut max = 0.0f32;
        for (n, &l) in lengths.iter().enumerate() {
            let row = &actual[n * shape.steps * d..][..l * d];
            for (&a, &e) in row.iter().zip(&expected.row(n).to_vec()[1..]) {
                assert!(a.is_finite(), "row {n}: {a}");
                max = max.max((a - e).abs());
            }
        }
        Some(max)
    }

    /// Rows of every length from 1 to T = 5, full ones first and last.
    const LENGTHS: [usize; 7] = [5, 1, 3, 2, 4, 1, 5];

    #[test]
    fn a_block_matches_csvnn_in_onnxruntime() {
        for (i, (d, heads, ff)) in [(8, 2, 16), (8, 4, 16), (32, 2, 64), (32, 4, 64)]
            .into_iter()
            .enumerate()
        {
            let seed = 10 + i as u64;
            let mut blocks = [random_block(5, d, heads, ff, seed)];
            let Some(max) = max_difference(&mut blocks, &LENGTHS, seed) else {
                return;
            };
            eprintln!("D = {d}, {heads} heads: max |onnxruntime - csvnn| = {max:e}");
            assert!(max <= 1e-5, "D = {d}, {heads} heads: differs by {max}");
        }
    }

    #[test]
    fn two_blocks_in_sequence_match_csvnn_in_onnxruntime() {
        for (d, heads, ff) in [(8, 2, 16), (32, 4, 64)] {
            let mut blocks = [
                random_block(5, d, heads, ff, 20),
                random_block(5, d, heads, ff, 21),
            ];
            let Some(max) = max_difference(&mut blocks, &LENGTHS, 22) else {
                return;
            };
            eprintln!("two blocks, D = {d}, {heads} heads: max |onnxruntime - csvnn| = {max:e}");
            assert!(max <= 1e-5, "two blocks, D = {d}: differs by {max}");
        }
    }
}

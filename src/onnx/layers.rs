//! Each network layer's nodes (Gemm, activations, Conv, MaxPool, the sequence layers),
//! the image reshapes, and `Branches`: the plain columns and each block's encoder.

use super::builder::{int, ints, Builder};
use super::encoder_block::add_encoder_block;
use super::proto::{AttributeProto, ATTRIBUTE_FLOAT};
use super::recurrent;
use super::sequence::{self, lengths_at_least_one, split_block, Block};
use crate::error::{Error, Result};
use crate::nn::{Activation, AnyLayer, Branches, ImageShape, SeqShape, LEAKY_RELU_SLOPE};

/// What the current value is: rows of flat features, NCHW images, or a sequence block's
/// values (N, T, C) with its lengths.
#[derive(Clone)]
pub(super) enum Value {
    Flat,
    Image(ImageShape),
    Sequence(Block),
}

/// The current value as a sequence block of `shape`: a flat block row is split into its
/// lengths and values.
fn sequence_input(
    b: &mut Builder,
    current: String,
    value: Value,
    shape: SeqShape,
    kind: &str,
) -> Result<(String, Block)> {
    match value {
        Value::Flat => Ok(split_block(b, &current, shape)),
        Value::Sequence(block) => {
            block.expect(shape, kind)?;
            Ok((current, block))
        }
        Value::Image(_) => Err(Error::config(format!(
            "cannot export: a {kind} layer follows a convolution layer"
        ))),
    }
}

/// Add the nodes of a layer, which reads `current` (a `value`); returns the name and the
/// kind of the layer's output. `prefix` names its constants (`layer3`, or
/// `layer0_block1_layer2` inside an encoder).
pub(super) fn add_layer(
    b: &mut Builder,
    prefix: &str,
    layer: &AnyLayer,
    mut current: String,
    mut value: Value,
) -> Result<(String, Value)> {
    if let (
        Value::Sequence(_),
        AnyLayer::Dense(_) | AnyLayer::DenseInt8(_) | AnyLayer::Conv2D(_) | AnyLayer::MaxPool2D(_),
    ) = (&value, layer)
    {
        return Err(Error::config(format!(
            "cannot export: a {} layer reads a sequence that no pooling layer reduced",
            layer.kind()
        )));
    }
    match layer {
        AnyLayer::Dense(d) => {
            if let Value::Image(shape) = value {
                current = flatten_image(b, prefix, shape, &current);
            }
            let w = b.floats(
                &format!("{prefix}_weights"),
                &[d.n_in(), d.n_out()],
                d.weights().iter().copied(),
            );
            let bias = b.floats(
                &format!("{prefix}_bias"),
                &[d.n_out()],
                d.bias().iter().copied(),
            );
            current = b.node("Gemm", &[&current, &w, &bias], vec![], None);
            value = Value::Flat;
        }
        AnyLayer::Activation(a) => {
            current = match a.function {
                Activation::Relu => b.node("Relu", &[&current], vec![], None),
                Activation::Tanh => b.node("Tanh", &[&current], vec![], None),
                Activation::Sigmoid => b.node("Sigmoid", &[&current], vec![], None),
                Activation::LeakyRelu => {
                    let alpha = AttributeProto {
                        name: "alpha".to_string(),
                        r#type: ATTRIBUTE_FLOAT,
                        f: Some(LEAKY_RELU_SLOPE),
                        ..AttributeProto::default()
                    };
                    b.node("LeakyRelu", &[&current], vec![alpha], None)
                }
            };
        }
        AnyLayer::Dropout(_) => {}
        AnyLayer::Conv2D(c) => {
            let input = c.input_shape();
            if let Value::Flat = value {
                let shape_name = b.int64s(
                    &format!("{prefix}_image_shape"),
                    &[
                        -1,
                        input.height as i64,
                        input.width as i64,
                        input.channels as i64,
                    ],
                );
                let nhwc = b.node("Reshape", &[&current, &shape_name], vec![], None);
                current = b.node(
                    "Transpose",
                    &[&nhwc],
                    vec![ints("perm", &[0, 3, 1, 2])],
                    None,
                );
            }
            // csvnn: (k * k * c_in, c_out), row (ky * k + kx) * c_in + ci;
            // ONNX: (c_out, c_in, k, k).
            let (k, c_in, c_out) = (c.kernel(), input.channels, c.output_shape().channels);
            let w_name = match c.int8_weights() {
                Some(m) => super::int8::conv_weights_int8(b, prefix, c, m),
                None => {
                    let w = c.weights();
                    let oihw = (0..c_out).flat_map(|co| {
                        (0..c_in)
                            .flat_map(move |ci| (0..k * k).map(move |kk| w[[kk * c_in + ci, co]]))
                    });
                    b.floats(&format!("{prefix}_weights"), &[c_out, c_in, k, k], oihw)
                }
            };
            let bias = b.floats(
                &format!("{prefix}_bias"),
                &[c_out],
                c.bias().iter().copied(),
            );
            let (k, s, p) = (k as i64, c.stride() as i64, c.padding() as i64);
            current = b.node(
                "Conv",
                &[&current, &w_name, &bias],
                vec![
                    ints("kernel_shape", &[k, k]),
                    ints("strides", &[s, s]),
                    ints("pads", &[p, p, p, p]),
                ],
                None,
            );
            value = Value::Image(c.output_shape());
        }
        AnyLayer::MaxPool2D(p) => {
            if let Value::Flat = value {
                return Err(Error::config(
                    "cannot export: a max-pool layer follows a dense layer (csvnn only makes networks whose pooling follows a conv layer)",
                ));
            }
            let s = p.size() as i64;
            current = b.node(
                "MaxPool",
                &[&current],
                vec![ints("kernel_shape", &[s, s]), ints("strides", &[s, s])],
                None,
            );
            value = Value::Image(p.output_shape());
        }
        AnyLayer::Branches(branches) => {
            if !matches!(value, Value::Flat) {
                return Err(Error::config(
                    "cannot export: a branches layer stands after another layer",
                ));
            }
            current = add_branches(b, prefix, branches, &current)?;
            value = Value::Flat;
        }
        AnyLayer::Embedding(e) => {
            let (ids, block) = sequence_input(b, current, value, e.input_shape(), "embedding")?;
            current = sequence::embedding(b, prefix, e, &ids, &block)?;
            value = Value::Sequence(Block {
                channels: e.dim(),
                ..block
            });
        }
        AnyLayer::TimeDense(d) => {
            let (x, block) = sequence_input(b, current, value, d.input_shape(), "time_dense")?;
            let (y, block) = sequence::time_dense(b, prefix, d, &x, &block)?;
            (current, value) = (y, Value::Sequence(block));
        }
        AnyLayer::PositionalEmbedding(p) => {
            let (x, block) = sequence_input(b, current, value, p.shape(), "positional")?;
            current = sequence::positional(b, prefix, p, &x, &block)?;
            value = Value::Sequence(block);
        }
        AnyLayer::EncoderBlock(e) => {
            let (x, block) = sequence_input(b, current, value, e.shape(), "transformer")?;
            let steps = lengths_at_least_one(b, &block);
            current = add_encoder_block(b, prefix, e, &x, &steps)?;
            value = Value::Sequence(block);
        }
        AnyLayer::Gru(g) => {
            let (x, block) = sequence_input(b, current, value, g.input_shape(), "gru")?;
            let (y, block) = recurrent::gru(b, prefix, g, &x, &block)?;
            (current, value) = (y, Value::Sequence(block));
        }
        AnyLayer::Lstm(l) => {
            let (x, block) = sequence_input(b, current, value, l.input_shape(), "lstm")?;
            let (y, block) = recurrent::lstm(b, prefix, l, &x, &block)?;
            (current, value) = (y, Value::Sequence(block));
        }
        AnyLayer::SequencePool(p) => {
            let (x, block) = sequence_input(b, current, value, p.input_shape(), "pool")?;
            current = sequence::pool(b, p, &x, &block)?;
            value = Value::Flat;
        }
        AnyLayer::DenseInt8(d) => {
            if let Value::Image(shape) = value {
                current = flatten_image(b, prefix, shape, &current);
            }
            current = super::int8::dense_int8(b, prefix, d, &current);
            value = Value::Flat;
        }
    }
    Ok((current, value))
}

/// NCHW images back to csvnn's rows, H x W x C flattened (what a dense layer reads).
fn flatten_image(b: &mut Builder, prefix: &str, shape: ImageShape, current: &str) -> String {
    let nhwc = b.node(
        "Transpose",
        &[current],
        vec![ints("perm", &[0, 2, 3, 1])],
        None,
    );
    let shape_name = b.int64s(&format!("{prefix}_flat_shape"), &[-1, shape.len() as i64]);
    b.node("Reshape", &[&nhwc, &shape_name], vec![], None)
}

/// `Branches`: the plain columns of `features` (N, n_inputs) gathered, each block sliced
/// out and run through its encoder, all concatenated on axis 1 in that order.
fn add_branches(
    b: &mut Builder,
    prefix: &str,
    branches: &Branches,
    features: &str,
) -> Result<String> {
    let mut parts = Vec::new();
    if !branches.plain_columns().is_empty() {
        let plain: Vec<i64> = branches.plain_columns().iter().map(|&c| c as i64).collect();
        let columns = b.int64s(&format!("{prefix}_plain_columns"), &plain);
        parts.push(b.node("Gather", &[features, &columns], vec![int("axis", 1)], None));
    }
    for (j, branch) in branches.branches().iter().enumerate() {
        let start = b.const_int64s(&[branch.start as i64]);
        let end = b.const_int64s(&[(branch.start + branch.encoder.n_inputs) as i64]);
        let axis = b.const_int64s(&[1]);
        let mut current = b.node("Slice", &[features, &start, &end, &axis], vec![], None);
        let mut value = Value::Flat;
        let block_prefix = format!("{prefix}_block{}", j + 1);
        for (k, layer) in branch.encoder.layers.iter().enumerate() {
            let layer_prefix = format!("{block_prefix}_layer{k}");
            (current, value) = add_layer(b, &layer_prefix, layer, current, value)?;
        }
        parts.push(flatten_output(b, &block_prefix, current, value)?);
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    Ok(match parts.as_slice() {
        [one] => one.to_string(),
        _ => b.node("Concat", &parts, vec![int("axis", 1)], None),
    })
}

/// The network's output as flat rows: images (NCHW) go back to csvnn's H x W x C order.
/// `prefix` names the constant.
pub(super) fn flatten_output(
    b: &mut Builder,
    prefix: &str,
    current: String,
    value: Value,
) -> Result<String> {
    match value {
        Value::Flat => Ok(current),
        Value::Image(shape) => {
            let nhwc = b.node(
                "Transpose",
                &[&current],
                vec![ints("perm", &[0, 2, 3, 1])],
                None,
            );
            let shape_name = b.int64s(&format!("{prefix}_flat_shape"), &[-1, shape.len() as i64]);
            Ok(b.node("Reshape", &[&nhwc, &shape_name], vec![], None))
        }
        Value::Sequence(_) => Err(Error::config(
            "cannot export: the network ends in a sequence that no pooling layer reduced",
        )),
    }
}

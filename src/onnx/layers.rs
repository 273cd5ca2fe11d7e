//! Each network layer's nodes (Gemm, activations, Conv, MaxPool) and the image reshapes.

use super::builder::{ints, Builder};
use super::proto::{AttributeProto, ATTRIBUTE_FLOAT};
use crate::error::{Error, Result};
use crate::nn::{Activation, AnyLayer, ImageShape, LEAKY_RELU_SLOPE};

/// What the current value is: rows of flat features, or NCHW images.
#[derive(Clone, Copy)]
pub(super) enum Value {
    Flat,
    Image(ImageShape),
}

/// Add the nodes of layer `i`, which reads `current` (a `value`); returns the name and the
/// kind of the layer's output.
pub(super) fn add_layer(
    b: &mut Builder,
    i: usize,
    layer: &AnyLayer,
    mut current: String,
    mut value: Value,
) -> Result<(String, Value)> {
    match layer {
        AnyLayer::Dense(d) => {
            if let Value::Image(shape) = value {
                let nhwc = b.node(
                    "Transpose",
                    &[&current],
                    vec![ints("perm", &[0, 2, 3, 1])],
                    None,
                );
                let shape_name =
                    b.int64s(&format!("layer{i}_flat_shape"), &[-1, shape.len() as i64]);
                current = b.node("Reshape", &[&nhwc, &shape_name], vec![], None);
            }
            let w = b.floats(
                &format!("layer{i}_weights"),
                &[d.n_in(), d.n_out()],
                d.weights().iter().copied(),
            );
            let bias = b.floats(
                &format!("layer{i}_bias"),
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
                    &format!("layer{i}_image_shape"),
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
            let w = c.weights();
            let oihw = (0..c_out).flat_map(|co| {
                (0..c_in).flat_map(move |ci| (0..k * k).map(move |kk| w[[kk * c_in + ci, co]]))
            });
            let w_name = b.floats(&format!("layer{i}_weights"), &[c_out, c_in, k, k], oihw);
            let bias = b.floats(
                &format!("layer{i}_bias"),
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
        AnyLayer::Branches(_) => {
            return Err(Error::config(
                "cannot export yet: the model encodes text or series columns (ONNX export covers dense and convolution networks)",
            ));
        }
        AnyLayer::Embedding(_)
        | AnyLayer::TimeDense(_)
        | AnyLayer::PositionalEmbedding(_)
        | AnyLayer::SequencePool(_)
        | AnyLayer::EncoderBlock(_)
        | AnyLayer::Gru(_)
        | AnyLayer::Lstm(_) => {
            return Err(Error::config(format!(
                "cannot export: {} layers are not exported to ONNX yet",
                layer.kind()
            )));
        }
    }
    Ok((current, value))
}

/// The network's output as flat rows: images (NCHW) go back to csvnn's H x W x C order.
pub(super) fn flatten_output(b: &mut Builder, current: String, value: Value) -> String {
    match value {
        Value::Flat => current,
        Value::Image(shape) => {
            let nhwc = b.node(
                "Transpose",
                &[&current],
                vec![ints("perm", &[0, 2, 3, 1])],
                None,
            );
            let shape_name = b.int64s("output_flat_shape", &[-1, shape.len() as i64]);
            b.node("Reshape", &[&nhwc, &shape_name], vec![], None)
        }
    }
}

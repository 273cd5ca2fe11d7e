//! Export of a model as a standard ONNX graph (IR version 7, opset 13), encoded with prost
//! from hand-written structs for the few ONNX messages it needs (field numbers as in
//! onnx/onnx.proto).
//!
//! The graph has one input, `input`: float (N, n_inputs), one row per CSV row, laid out as
//! the network's inputs (see [`input_layout`]), in the model's column order:
//! - a numeric column is one input holding the raw value in the column's own units; NaN
//!   means missing and is replaced by the training mean, as csvnn does; the graph then
//!   standardises it with the training mean and standard deviation;
//! - a categorical column is one input per category of its training vocabulary (byte
//!   order), 1 for the row's category and 0 elsewhere (all 0 for a value not seen in
//!   training; a missing value is the one-hot of the column's impute category).
//!
//! The imputation and standardisation run in double precision, as in csvnn, and their
//! result is rounded to float for the network (float throughout).
//!
//! The one output is `probabilities`: float (N, n_classes), Softmax over the network's
//! logits in the model's label order (classification), or `prediction`: double (N, 1), the
//! value in the target's units (regression; the network's standardised output times the
//! target's std plus its mean, in double precision as csvnn does). Dropout is the identity and is left out. Conv and max-pool
//! layers, which csvnn runs on images stored row-major H x W x C, become a Reshape to
//! (N, H, W, C) and a Transpose to ONNX's (N, C, H, W) before them, and the reverse before
//! the next dense layer. The layout, the labels and the task are also stored in the file's
//! metadata (`csvnn.inputs`, `csvnn.labels`, `csvnn.task`).

use std::path::Path;

use prost::Message;
use serde::Serialize;

use crate::atomic::write_atomically;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::nn::{Activation, AnyLayer, ImageShape, LEAKY_RELU_SLOPE};
use crate::preprocess::{Feature, TargetEncoder};

pub const IR_VERSION: i64 = 7;
pub const OPSET: i64 = 13;

/// The ONNX messages csvnn writes: a subset of onnx.proto with its field numbers.
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(int64, tag = "1")]
        pub ir_version: i64,
        #[prost(message, repeated, tag = "8")]
        pub opset_import: Vec<OperatorSetIdProto>,
        #[prost(string, tag = "2")]
        pub producer_name: String,
        #[prost(string, tag = "3")]
        pub producer_version: String,
        #[prost(string, tag = "6")]
        pub doc_string: String,
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        #[prost(message, repeated, tag = "14")]
        pub metadata_props: Vec<StringStringEntryProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OperatorSetIdProto {
        #[prost(string, tag = "1")]
        pub domain: String,
        #[prost(int64, tag = "2")]
        pub version: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringStringEntryProto {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(string, tag = "10")]
        pub doc_string: String,
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfoProto>,
        #[prost(message, repeated, tag = "12")]
        pub output: Vec<ValueInfoProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        #[prost(string, tag = "3")]
        pub name: String,
        #[prost(string, tag = "4")]
        pub op_type: String,
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
    }

    /// `AttributeProto.AttributeType`
    pub const ATTRIBUTE_FLOAT: i32 = 1;
    pub const ATTRIBUTE_INT: i32 = 2;
    pub const ATTRIBUTE_INTS: i32 = 7;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(int32, tag = "20")]
        pub r#type: i32,
        #[prost(float, optional, tag = "2")]
        pub f: Option<f32>,
        #[prost(int64, optional, tag = "3")]
        pub i: Option<i64>,
        #[prost(int64, repeated, packed = "false", tag = "8")]
        pub ints: Vec<i64>,
    }

    /// `TensorProto.DataType`
    pub const FLOAT: i32 = 1;
    pub const INT64: i32 = 7;
    pub const DOUBLE: i32 = 11;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(int64, repeated, packed = "false", tag = "1")]
        pub dims: Vec<i64>,
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(string, tag = "8")]
        pub name: String,
        /// Little-endian values, row-major.
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfoProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub r#type: Option<TypeProto>,
        #[prost(string, tag = "3")]
        pub doc_string: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeProto {
        /// The `tensor_type` case of the `value` oneof.
        #[prost(message, optional, tag = "1")]
        pub tensor_type: Option<TypeProtoTensor>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeProtoTensor {
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorShapeProto {
        #[prost(message, repeated, tag = "1")]
        pub dim: Vec<Dimension>,
    }

    /// One of `dim_value` or `dim_param` (a oneof in onnx.proto).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        #[prost(int64, optional, tag = "1")]
        pub dim_value: Option<i64>,
        #[prost(string, optional, tag = "2")]
        pub dim_param: Option<String>,
    }
}

use proto::*;

/// One input of the exported graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputSlot {
    /// Position in the `input` tensor's second dimension.
    pub index: usize,
    pub column: String,
    /// "numeric" (the raw value; NaN for missing) or "categorical" (one-hot).
    pub kind: &'static str,
    /// The category this input stands for (categorical columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What a missing value becomes: the training mean, or the impute category.
    pub impute: String,
}

/// The inputs of the exported graph, one per network input, in order.
pub fn input_layout(model: &Model) -> Vec<InputSlot> {
    let mut slots = Vec::new();
    for feature in &model.pipeline.features {
        match feature {
            Feature::Numeric(n) => slots.push(InputSlot {
                index: slots.len(),
                column: n.name.clone(),
                kind: "numeric",
                category: None,
                impute: n.impute.to_string(),
            }),
            Feature::Categorical(c) => {
                for category in &c.categories {
                    slots.push(InputSlot {
                        index: slots.len(),
                        column: c.name.clone(),
                        kind: "categorical",
                        category: Some(category.clone()),
                        impute: c.impute.clone(),
                    });
                }
            }
        }
    }
    slots
}

fn dims_type(elem_type: i32, dims: &[Option<i64>]) -> Option<TypeProto> {
    Some(TypeProto {
        tensor_type: Some(TypeProtoTensor {
            elem_type,
            shape: Some(TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|d| match d {
                        Some(v) => Dimension {
                            dim_value: Some(*v),
                            dim_param: None,
                        },
                        None => Dimension {
                            dim_value: None,
                            dim_param: Some("N".to_string()),
                        },
                    })
                    .collect(),
            }),
        }),
    })
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: ATTRIBUTE_INTS,
        ints: values.to_vec(),
        ..AttributeProto::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: ATTRIBUTE_INT,
        i: Some(value),
        ..AttributeProto::default()
    }
}

/// Builds the node list, naming each intermediate value.
#[derive(Default)]
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    counter: usize,
}

impl Builder {
    /// Add a constant tensor (little-endian raw data); returns its name.
    fn initializer(
        &mut self,
        name: &str,
        dims: Vec<i64>,
        data_type: i32,
        raw_data: Vec<u8>,
    ) -> String {
        self.initializers.push(TensorProto {
            dims,
            data_type,
            name: name.to_string(),
            raw_data,
        });
        name.to_string()
    }

    fn floats(&mut self, name: &str, dims: &[usize], values: impl Iterator<Item = f32>) -> String {
        let dims = dims.iter().map(|&d| d as i64).collect();
        self.initializer(
            name,
            dims,
            FLOAT,
            values.flat_map(f32::to_le_bytes).collect(),
        )
    }

    fn doubles(&mut self, name: &str, values: &[f64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, vec![values.len() as i64], DOUBLE, raw)
    }

    fn int64s(&mut self, name: &str, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, vec![values.len() as i64], INT64, raw)
    }

    /// Add a node; returns its output's name (`output`, or a fresh one).
    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
        output: Option<&str>,
    ) -> String {
        self.counter += 1;
        let out = output.map_or_else(|| format!("t{}", self.counter), str::to_string);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: format!("{op}_{}", self.counter),
            op_type: op.to_string(),
            attribute: attributes,
        });
        out
    }
}

/// What the current value is: rows of flat features, or NCHW images.
#[derive(Clone, Copy)]
enum Value {
    Flat,
    Image(ImageShape),
}

/// The model as an ONNX `ModelProto`.
pub fn to_proto(model: &Model) -> Result<ModelProto> {
    let pipeline = &model.pipeline;
    let network = &model.network;
    let layout = input_layout(model);
    let n_inputs = layout.len();
    let mut b = Builder::default();

    // Imputation and standardisation, per input.
    let (mut impute, mut mean, mut std) = (Vec::new(), Vec::new(), Vec::new());
    for feature in &pipeline.features {
        match feature {
            Feature::Numeric(n) => {
                impute.push(n.impute);
                mean.push(n.mean);
                std.push(n.std);
            }
            Feature::Categorical(c) => {
                for _ in 0..c.width() {
                    impute.push(0.0);
                    mean.push(0.0);
                    std.push(1.0);
                }
            }
        }
    }
    // In double precision, as csvnn computes them, then rounded to float as csvnn does.
    let impute = b.doubles("impute", &impute);
    let mean = b.doubles("mean", &mean);
    let std = b.doubles("std", &std);
    let input = b.node("Cast", &["input"], vec![int("to", DOUBLE as i64)], None);
    let is_nan = b.node("IsNaN", &[&input], vec![], None);
    let filled = b.node("Where", &[&is_nan, &impute, &input], vec![], None);
    let centred = b.node("Sub", &[&filled, &mean], vec![], None);
    let scaled = b.node("Div", &[&centred, &std], vec![], None);
    let mut current = b.node(
        "Cast",
        &[&scaled],
        vec![int("to", FLOAT as i64)],
        Some("features"),
    );
    let mut value = Value::Flat;

    for (i, layer) in network.layers.iter().enumerate() {
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
        }
    }
    if let Value::Image(shape) = value {
        let nhwc = b.node(
            "Transpose",
            &[&current],
            vec![ints("perm", &[0, 2, 3, 1])],
            None,
        );
        let shape_name = b.int64s("output_flat_shape", &[-1, shape.len() as i64]);
        current = b.node("Reshape", &[&nhwc, &shape_name], vec![], None);
    }

    let (output, output_type, n_outputs, doc) = match &pipeline.target_encoder {
        TargetEncoder::Classification { labels } => {
            b.node(
                "Softmax",
                &[&current],
                vec![int("axis", -1)],
                Some("probabilities"),
            );
            (
                "probabilities",
                FLOAT,
                labels.len(),
                format!(
                    "class probabilities, one column per label: {}",
                    labels.join(", ")
                ),
            )
        }
        TargetEncoder::Regression { mean, std } => {
            // In double precision, as csvnn does: a float output could not hold large
            // targets to the unit.
            let s = b.doubles("target_std", &[*std]);
            let m = b.doubles("target_mean", &[*mean]);
            let wide = b.node("Cast", &[&current], vec![int("to", DOUBLE as i64)], None);
            let scaled = b.node("Mul", &[&wide, &s], vec![], None);
            b.node("Add", &[&scaled, &m], vec![], Some("prediction"));
            (
                "prediction",
                DOUBLE,
                1,
                format!("the predicted '{}' in its own units", pipeline.target),
            )
        }
    };

    let layout_json = serde_json::to_string(&layout).map_err(|e| Error::Training(e.to_string()))?;
    let labels_json = serde_json::to_string(pipeline.target_encoder.labels())
        .map_err(|e| Error::Training(e.to_string()))?;
    let graph = GraphProto {
        node: b.nodes,
        name: "csvnn".to_string(),
        initializer: b.initializers,
        doc_string: format!("csvnn model predicting '{}'", pipeline.target),
        input: vec![ValueInfoProto {
            name: "input".to_string(),
            r#type: dims_type(FLOAT, &[None, Some(n_inputs as i64)]),
            doc_string: "one row per CSV row: numeric columns in raw units (NaN = missing), categorical columns one-hot; layout in the metadata 'csvnn.inputs'".to_string(),
        }],
        output: vec![ValueInfoProto {
            name: output.to_string(),
            r#type: dims_type(output_type, &[None, Some(n_outputs as i64)]),
            doc_string: doc,
        }],
    };
    let entry = |key: &str, value: String| StringStringEntryProto {
        key: key.to_string(),
        value,
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "csvnn".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        doc_string: String::new(),
        graph: Some(graph),
        metadata_props: vec![
            entry("csvnn.task", model.task.to_string()),
            entry("csvnn.target", pipeline.target.clone()),
            entry("csvnn.labels", labels_json),
            entry("csvnn.inputs", layout_json),
        ],
    })
}

/// Write the model as an ONNX file, atomically.
pub fn export(model: &Model, path: &Path) -> Result<()> {
    let bytes = to_proto(model)?.encode_to_vec();
    write_atomically(path, |out| {
        out.write_all(&bytes)
            .map_err(|e| Error::io(&path.display().to_string(), e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_use_the_onnx_field_numbers() {
        // OperatorSetIdProto { domain: "", version: 13 }: field 2, varint 13.
        let op = OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        };
        assert_eq!(op.encode_to_vec(), [0x10, 13]);
        // AttributeProto ints = [1, 2] unpacked (as onnx.proto2 declares): field 8, varints.
        let a = ints("p", &[1, 2]);
        assert_eq!(
            a.encode_to_vec(),
            [0x0a, 1, b'p', 0x40, 1, 0x40, 2, 0xa0, 0x01, 7]
        );
        let d = Dimension {
            dim_value: None,
            dim_param: Some("N".into()),
        };
        assert_eq!(d.encode_to_vec(), [0x12, 1, b'N']);
    }
}

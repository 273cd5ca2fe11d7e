//! The ONNX messages csvnn writes: a subset of onnx/onnx.proto with its field numbers.
//!
//! Each struct is the message of the same name; a field's doc is onnx.proto's meaning.

/// The ONNX IR version of the exported files.
pub const IR_VERSION: i64 = 7;
/// The version of the default operator set (`ai.onnx`) the graph uses.
pub const OPSET: i64 = 13;
/// The operator set of a graph with transformer encoder blocks (`LayerNormalization`
/// is an operator from opset 17).
pub const OPSET_ENCODER: i64 = 17;
/// The domain of the traditional-ML operators (`LabelEncoder`) the raw-column graph uses.
pub const ML_DOMAIN: &str = "ai.onnx.ml";
/// The version of the `ai.onnx.ml` operator set it imports (`LabelEncoder` between strings
/// and int64 is in version 2).
pub const OPSET_ML: i64 = 2;

/// A whole model file: metadata and the graph.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version, [`IR_VERSION`].
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The operator sets the graph uses.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The tool that wrote the file.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// That tool's version.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// Free text about the model.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The computation.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Key-value metadata (`csvnn.inputs`, `csvnn.labels`, ...).
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// An operator set and its version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The set's domain; empty for the default `ai.onnx`.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The set's version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// One metadata entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The entry's name.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The entry's value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// The graph: nodes in topological order, constants, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The operations, each after the ones whose outputs it reads.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (weights, biases, statistics), by name.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Free text about the graph.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// The graph's inputs.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// One operation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// The names of the values it reads.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// The names of the values it makes.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's own name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator, e.g. `Gemm`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// The operator's attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// The operator's domain: empty for the default `ai.onnx`, or `ai.onnx.ml`.
    #[prost(string, tag = "7")]
    pub domain: String,
}

/// `AttributeProto.AttributeType` FLOAT.
pub const ATTRIBUTE_FLOAT: i32 = 1;
/// `AttributeProto.AttributeType` INT.
pub const ATTRIBUTE_INT: i32 = 2;
/// `AttributeProto.AttributeType` STRING.
pub const ATTRIBUTE_STRING: i32 = 3;
/// `AttributeProto.AttributeType` INTS.
pub const ATTRIBUTE_INTS: i32 = 7;
/// `AttributeProto.AttributeType` STRINGS.
pub const ATTRIBUTE_STRINGS: i32 = 8;

/// One attribute of a node: a float, an integer, a string or a list of integers or
/// strings.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name, e.g. `perm`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Which value is set: one of the `ATTRIBUTE_*` constants.
    #[prost(int32, tag = "20")]
    pub r#type: i32,
    /// The value of a float attribute.
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    /// The value of an integer attribute.
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    /// The value of a string attribute (UTF-8 bytes).
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    /// The values of an integer-list attribute (unpacked, as onnx.proto2 declares).
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// The values of a string-list attribute (UTF-8 bytes each).
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
}

/// `TensorProto.DataType` FLOAT (f32).
pub const FLOAT: i32 = 1;
/// `TensorProto.DataType` INT8.
pub const INT8: i32 = 3;
/// `TensorProto.DataType` INT32.
pub const INT32: i32 = 6;
/// `TensorProto.DataType` STRING (UTF-8).
pub const STRING: i32 = 8;
/// `TensorProto.DataType` INT64.
pub const INT64: i32 = 7;
/// `TensorProto.DataType` DOUBLE (f64).
pub const DOUBLE: i32 = 11;

/// A constant tensor.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The shape.
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type: one of the `TensorProto.DataType` constants.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// The name nodes read it by.
    #[prost(string, tag = "8")]
    pub name: String,
    /// Little-endian values, row-major.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

/// The name, type and shape of a graph input or output.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its type and shape.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// Free text about it.
    #[prost(string, tag = "3")]
    pub doc_string: String,
}

/// A value's type; csvnn writes tensors only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The `tensor_type` case of the `value` oneof.
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TypeProtoTensor>,
}

/// A tensor type: element type and shape (`TypeProto.Tensor`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProtoTensor {
    /// The element type: one of the `TensorProto.DataType` constants.
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    /// The shape.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// A tensor shape, one entry per dimension.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions, outermost first.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// One of `dim_value` or `dim_param` (a oneof in onnx.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// A fixed size.
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    /// A named size that is free (`N`, the number of rows).
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

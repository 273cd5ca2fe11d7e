//! `Builder`: the node and constant lists of a graph being built, and attribute helpers.

use super::proto::*;

/// The type of a tensor of `elem_type` and shape `dims` (`None`: the free row count `N`).
pub(super) fn dims_type(elem_type: i32, dims: &[Option<i64>]) -> Option<TypeProto> {
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

/// An integer-list attribute.
pub(super) fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: ATTRIBUTE_INTS,
        ints: values.to_vec(),
        ..AttributeProto::default()
    }
}

/// An integer attribute.
pub(super) fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: ATTRIBUTE_INT,
        i: Some(value),
        ..AttributeProto::default()
    }
}

/// A string attribute.
pub(super) fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: ATTRIBUTE_STRING,
        s: Some(value.as_bytes().to_vec()),
        ..AttributeProto::default()
    }
}

/// A string-list attribute.
pub(super) fn strings<'a>(name: &str, values: impl IntoIterator<Item = &'a str>) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: ATTRIBUTE_STRINGS,
        strings: values.into_iter().map(|v| v.as_bytes().to_vec()).collect(),
        ..AttributeProto::default()
    }
}

/// Builds the node list, naming each intermediate value.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) nodes: Vec<NodeProto>,
    pub(super) initializers: Vec<TensorProto>,
    counter: usize,
}

impl Builder {
    /// Add a constant tensor (little-endian raw data); returns its name.
    pub(super) fn initializer(
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

    pub(super) fn floats(
        &mut self,
        name: &str,
        dims: &[usize],
        values: impl Iterator<Item = f32>,
    ) -> String {
        let dims = dims.iter().map(|&d| d as i64).collect();
        self.initializer(
            name,
            dims,
            FLOAT,
            values.flat_map(f32::to_le_bytes).collect(),
        )
    }

    pub(super) fn doubles(&mut self, name: &str, values: &[f64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, vec![values.len() as i64], DOUBLE, raw)
    }

    pub(super) fn int64s(&mut self, name: &str, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, vec![values.len() as i64], INT64, raw)
    }

    /// An int64 constant of shape (len) under a fresh name (axes, shapes, indices).
    pub(super) fn const_int64s(&mut self, values: &[i64]) -> String {
        self.counter += 1;
        let name = format!("const{}", self.counter);
        self.int64s(&name, values)
    }

    /// A float scalar constant under a fresh name.
    pub(super) fn const_float(&mut self, value: f32) -> String {
        self.counter += 1;
        let name = format!("const{}", self.counter);
        self.floats(&name, &[], std::iter::once(value))
    }

    /// A double constant of shape (len) under a fresh name.
    pub(super) fn const_doubles(&mut self, values: &[f64]) -> String {
        self.counter += 1;
        let name = format!("const{}", self.counter);
        self.doubles(&name, values)
    }

    /// Add a node; returns its output's name (`output`, or a fresh one).
    pub(super) fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
        output: Option<&str>,
    ) -> String {
        self.node_in("", op, inputs, attributes, output)
    }

    /// A node of the `ai.onnx.ml` domain (`node` otherwise).
    pub(super) fn ml_node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
        output: Option<&str>,
    ) -> String {
        self.node_in(ML_DOMAIN, op, inputs, attributes, output)
    }

    /// A double-precision binary operation with a constant: `Add`, `Sub`, `Mul` or `Div`.
    pub(super) fn with_const(&mut self, op: &str, value: &str, constant: f64) -> String {
        let c = self.const_doubles(&[constant]);
        self.node(op, &[value, &c], vec![], None)
    }

    fn node_in(
        &mut self,
        domain: &str,
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
            domain: domain.to_string(),
        });
        out
    }
}

//! `to_proto`: the whole ONNX graph of a model: input preprocessing, the layers, the output.

use super::builder::{dims_type, int, Builder};
use super::layers::{add_layer, flatten_output, Value};
use super::layout::input_layout;
use super::proto::*;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::preprocess::{Feature, TargetEncoder};

/// The model as an ONNX `ModelProto`.
pub fn to_proto(model: &Model) -> Result<ModelProto> {
    let pipeline = &model.pipeline;
    let network = &model.network;
    if let Some(f) = pipeline.features.iter().find(|f| {
        !matches!(
            f,
            Feature::Numeric(_) | Feature::Categorical(_) | Feature::Ordinal(_)
        )
    }) {
        return Err(Error::config(format!(
            "the column '{}' is a {} column, which the ONNX export does not take yet (its graph reads numbers and one-hot categories); train without it to export",
            f.name(),
            f.kind()
        )));
    }
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
            // The caller gives the level's index; it is imputed and standardised as a
            // number is.
            Feature::Ordinal(o) => {
                impute.push(o.impute);
                mean.push(o.mean);
                std.push(o.std);
            }
            Feature::Categorical(c) => {
                for _ in 0..c.width() {
                    impute.push(0.0);
                    mean.push(0.0);
                    std.push(1.0);
                }
            }
            Feature::Date(_) | Feature::Sequence(_) | Feature::Text(_) => {
                unreachable!("refused above")
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
        (current, value) = add_layer(&mut b, i, layer, current, value)?;
    }
    let current = flatten_output(&mut b, current, value);

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

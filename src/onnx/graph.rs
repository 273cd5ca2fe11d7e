//! `to_proto`: the whole ONNX graph of a model: input preprocessing, the layers, the output.

use super::builder::{dims_type, int, Builder};
use super::inputs::{add_inputs, Slots};
use super::layers::{add_layer, flatten_output, Value};
use super::layout::input_layout;
use super::proto::*;
use super::raw_inputs::{add_label, add_raw_inputs, graph_inputs, name_columns};
use super::raw_layout::column_inputs;
use super::Inputs;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::nn::{AnyLayer, Network};
use crate::preprocess::{Feature, Pipeline, TargetEncoder};

/// The model as an ONNX `ModelProto` whose inputs are laid out as `inputs` says.
pub fn to_proto(model: &Model, inputs: Inputs) -> Result<ModelProto> {
    let pipeline = &model.pipeline;
    let network = &model.network;
    let layout = input_layout(model);
    let n_inputs = layout.len();
    let raw = inputs == Inputs::Raw;
    let mut b = Builder::default();
    let mut current = if raw {
        let slots = add_raw_inputs(&mut b, pipeline);
        add_inputs(&mut b, pipeline, Slots::Double(&slots))
    } else {
        add_inputs(&mut b, pipeline, Slots::Input)
    };
    let mut value = Value::Flat;

    for (i, layer) in network.layers.iter().enumerate() {
        (current, value) = add_layer(&mut b, &format!("layer{i}"), layer, current, value)?;
    }
    let current = flatten_output(&mut b, "output", current, value)?;

    let (output, output_type, n_outputs, doc) = match &pipeline.target_encoder {
        TargetEncoder::Classification { labels } => {
            b.node(
                "Softmax",
                &[&current],
                vec![int("axis", -1)],
                Some("probabilities"),
            );
            if raw {
                add_label(&mut b, &current, labels);
            }
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

    let labels_json = json(&pipeline.target_encoder.labels())?;
    let mut outputs = vec![ValueInfoProto {
        name: output.to_string(),
        r#type: dims_type(output_type, &[None, Some(n_outputs as i64)]),
        doc_string: doc,
    }];
    let (input, layout_entry) = if raw {
        let columns = column_inputs(model);
        if model.task == crate::preprocess::Task::Classification {
            outputs.push(ValueInfoProto {
                name: "label".to_string(),
                r#type: dims_type(STRING, &[None]),
                doc_string: "the predicted label (the most probable class)".to_string(),
            });
        }
        let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
        name_columns(&mut b.nodes, &mut b.initializers, &columns, &names)?;
        (graph_inputs(&columns), ("csvnn.columns", json(&columns)?))
    } else {
        let input = ValueInfoProto {
            name: "input".to_string(),
            r#type: dims_type(FLOAT, &[None, Some(n_inputs as i64)]),
            doc_string: "one row per CSV row: numeric columns in raw units (NaN = missing), categorical columns one-hot, date parts, series values (NaN = padding), token ids (NaN = unused); layout in the metadata 'csvnn.inputs'".to_string(),
        };
        (vec![input], ("csvnn.inputs", json(&layout)?))
    };
    let graph = GraphProto {
        node: b.nodes,
        name: "csvnn".to_string(),
        initializer: b.initializers,
        doc_string: format!("csvnn model predicting '{}'", pipeline.target),
        input,
        output: outputs,
    };
    let entry = |key: &str, value: String| StringStringEntryProto {
        key: key.to_string(),
        value,
    };
    let mut opset_import = vec![OperatorSetIdProto {
        domain: String::new(),
        version: opset(network),
    }];
    if raw {
        opset_import.push(OperatorSetIdProto {
            domain: ML_DOMAIN.to_string(),
            version: OPSET_ML,
        });
    }
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import,
        producer_name: "csvnn".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        doc_string: String::new(),
        graph: Some(graph),
        metadata_props: [
            entry("csvnn.task", model.task.to_string()),
            entry("csvnn.target", pipeline.target.clone()),
            entry("csvnn.labels", labels_json),
            entry(layout_entry.0, layout_entry.1),
        ]
        .into_iter()
        .chain(
            text_metadata(pipeline)?
                .into_iter()
                .map(|(k, v)| entry(&k, v)),
        )
        .collect(),
    })
}

/// A value as JSON text, for the metadata.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Training(e.to_string()))
}

/// The operator set: 17 when a transformer block needs `LayerNormalization`, else 13.
fn opset(network: &Network) -> i64 {
    let encoder = |layers: &[AnyLayer]| {
        layers
            .iter()
            .any(|l| matches!(l, AnyLayer::EncoderBlock(_)))
    };
    let nested = network.layers.iter().any(|l| match l {
        AnyLayer::Branches(branches) => branches.encoders().any(|e| encoder(&e.layers)),
        _ => false,
    });
    if nested || encoder(&network.layers) {
        OPSET_ENCODER
    } else {
        OPSET
    }
}

/// What a caller needs to turn a text cell into the token ids of its input slots: one
/// `csvnn.text.<column>` entry per text column.
fn text_metadata(pipeline: &Pipeline) -> Result<Vec<(String, String)>> {
    pipeline
        .features
        .iter()
        .filter_map(|f| match f {
            Feature::Text(t) => Some(t),
            _ => None,
        })
        .map(|t| {
            let value = serde_json::json!({
                "vocabulary": t.vocabulary,
                "max_tokens": t.options.max_tokens,
                "ngrams": t.options.ngrams,
                "ngram_buckets": t.options.ngram_buckets,
                "tokenizer": TOKENIZER,
                "ngram_hash": NGRAM_HASH,
            });
            let text = serde_json::to_string(&value).map_err(|e| Error::Training(e.to_string()))?;
            Ok((format!("csvnn.text.{}", t.name), text))
        })
        .collect()
}

/// How csvnn tokenises a cell (`preprocess::tokenizer::tokenize`).
const TOKENIZER: &str = "lowercase the cell (Unicode full lowercasing, Rust's str::to_lowercase), split it on every character that is not alphanumeric (Rust's char::is_alphanumeric: Unicode Alphabetic or Numeric), drop empty pieces; ids: the first max_tokens words, word i of the vocabulary is id i + 1 and a word not in it id 0, then while fewer than max_tokens ids the n-grams of 2..=ngrams consecutive words (all bigrams in order, then all trigrams, ...) as id len(vocabulary) + 1 + bucket; a cell without a word is the one id 0";

/// How an n-gram's bucket is computed (`preprocess::tokenizer::ngram_bucket`).
const NGRAM_HASH: &str = "64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3, each byte XORed in then the product taken modulo 2^64) of the n-gram's words joined by one space, UTF-8, modulo ngram_buckets";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, BlockInput, EncoderPlan, MlpConfig, PoolMode, SeqShape, Stage};

    /// A network over 2 plain columns and a 4x3 series encoded by `stages`.
    fn network(stages: Vec<Stage>, pool: PoolMode) -> Network {
        let head = MlpConfig {
            n_inputs: 2 + 13,
            hidden: vec![4],
            n_outputs: 2,
            activation: Activation::Relu,
            dropout: 0.0,
        };
        let plan = EncoderPlan {
            start: 2,
            input: BlockInput::Series(SeqShape::new(4, 3)),
            embedding_dim: 0,
            stages,
            pool,
        };
        Network::with_encoders(&head, &[plan], 1).unwrap()
    }

    #[test]
    fn the_opset_is_17_only_with_encoder_blocks() {
        let attention = Stage::Attention {
            heads: 2,
            dim: 4,
            layers: 1,
        };
        assert_eq!(opset(&network(vec![attention], PoolMode::Mean)), 17);
        let recurrent = network(vec![Stage::Gru(5), Stage::Lstm(3)], PoolMode::Last);
        assert_eq!(opset(&recurrent), 13);
    }

    #[test]
    fn every_node_reads_values_defined_before_it() {
        for pool in [
            PoolMode::Last,
            PoolMode::Mean,
            PoolMode::Max,
            PoolMode::Flatten,
        ] {
            let net = network(vec![Stage::Gru(5), Stage::Lstm(3)], pool);
            let mut b = Builder::default();
            let (mut current, mut value) = ("features".to_string(), Value::Flat);
            for (i, layer) in net.layers.iter().enumerate() {
                (current, value) =
                    add_layer(&mut b, &format!("layer{i}"), layer, current, value).unwrap();
            }
            let out = flatten_output(&mut b, "output", current, value).unwrap();
            let mut defined: std::collections::HashSet<String> =
                b.initializers.iter().map(|t| t.name.clone()).collect();
            assert_eq!(
                defined.len(),
                b.initializers.len(),
                "initializer names repeat"
            );
            defined.insert("features".to_string());
            for node in &b.nodes {
                for input in &node.input {
                    assert!(defined.contains(input), "{} reads {input}", node.name);
                }
                for output in &node.output {
                    assert!(defined.insert(output.clone()), "{output} written twice");
                }
            }
            // Every initializer is read (onnxruntime warns about unused ones).
            for t in &b.initializers {
                assert!(
                    b.nodes.iter().any(|n| n.input.contains(&t.name)),
                    "{} is unused ({pool:?})",
                    t.name
                );
            }
            let ops: Vec<&str> = b.nodes.iter().map(|n| n.op_type.as_str()).collect();
            assert_eq!(ops.iter().filter(|&&o| o == "GRU").count(), 1);
            assert_eq!(ops.iter().filter(|&&o| o == "LSTM").count(), 1);
            assert_eq!(ops.last(), Some(&"Gemm"));
            assert_eq!(b.nodes.last().unwrap().output[0], out);
        }
    }
}

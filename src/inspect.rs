//! The inspection of a saved model: task, input columns with their fitted statistics,
//! classes, architecture with parameter counts, training settings, a summary of the
//! history and the validation metrics (`inspect --format json` prints it).

use serde::Serialize;

use crate::model::{Model, TrainingRecord, ValidationMetrics};
use crate::nn::{AnyLayer, Layer};
use crate::preprocess::{Feature, TargetEncoder, Task};
use crate::train::EpochRecord;

/// The `inspect --format json` object.
#[derive(Debug, Serialize)]
pub struct Inspection<'a> {
    pub model: String,
    pub format_version: u32,
    pub csvnn_version: &'a str,
    pub task: Task,
    pub target: &'a str,
    /// Class labels in model order (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<&'a [String]>,
    /// How the target is standardised inside the model (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_scaling: Option<TargetScaling>,
    /// Feature columns in network-input order.
    pub inputs: Vec<Input<'a>>,
    pub dropped: &'a [String],
    pub na_values: &'a [String],
    pub architecture: Architecture,
    pub training: &'a TrainingRecord,
    pub history: HistorySummary<'a>,
    pub validation_metrics: Option<&'a ValidationMetrics>,
}

#[derive(Debug, Serialize)]
pub struct TargetScaling {
    pub mean: f64,
    pub std: f64,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input<'a> {
    Numeric {
        name: &'a str,
        impute: f64,
        mean: f64,
        std: f64,
        network_inputs: usize,
    },
    Categorical {
        name: &'a str,
        impute: &'a str,
        /// The vocabulary in network-input order, with training counts.
        categories: Vec<CategoryCount<'a>>,
        network_inputs: usize,
    },
}

#[derive(Debug, Serialize)]
pub struct CategoryCount<'a> {
    pub value: &'a str,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Architecture {
    pub n_inputs: usize,
    pub n_outputs: usize,
    pub layers: Vec<LayerSummary>,
    pub params: usize,
}

#[derive(Debug, Serialize)]
pub struct LayerSummary {
    /// `dense`, `activation` or `dropout`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What distinguishes it: `64 -> 32`, `relu`, `rate 0.2`.
    pub detail: String,
    pub params: usize,
}

#[derive(Debug, Serialize)]
pub struct HistorySummary<'a> {
    pub epochs: usize,
    pub first: Option<&'a EpochRecord>,
    pub last: Option<&'a EpochRecord>,
    /// The epoch with the lowest validation loss (when there was validation).
    pub best: Option<&'a EpochRecord>,
}

fn summarise_layer(layer: &AnyLayer) -> LayerSummary {
    let (kind, detail) = describe_layer(layer);
    LayerSummary {
        kind,
        detail,
        params: layer.n_params(),
    }
}

/// The layer's kind (`dense`, `activation`, `dropout`, `conv2d`, `max_pool2d`) and what
/// distinguishes it: `64 -> 32`, `relu`, `rate 0.2`, `6x6x1 -> 4x4x4 (kernel 3, ...)`.
pub(crate) fn describe_layer(layer: &AnyLayer) -> (&'static str, String) {
    match layer {
        AnyLayer::Dense(d) => ("dense", format!("{} -> {}", d.n_in(), d.n_out())),
        AnyLayer::Activation(a) => (
            "activation",
            serde_json::to_value(a.function)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ),
        AnyLayer::Dropout(d) => ("dropout", format!("rate {}", d.rate)),
        AnyLayer::Conv2D(c) => {
            let (i, o) = (c.input_shape(), c.output_shape());
            (
                "conv2d",
                format!(
                    "{}x{}x{} -> {}x{}x{} (kernel {}, stride {}, padding {})",
                    i.height,
                    i.width,
                    i.channels,
                    o.height,
                    o.width,
                    o.channels,
                    c.kernel(),
                    c.stride(),
                    c.padding()
                ),
            )
        }
        AnyLayer::MaxPool2D(p) => {
            let (i, o) = (p.input_shape(), p.output_shape());
            (
                "max_pool2d",
                format!(
                    "{}x{}x{} -> {}x{}x{} (size {})",
                    i.height,
                    i.width,
                    i.channels,
                    o.height,
                    o.width,
                    o.channels,
                    p.size()
                ),
            )
        }
    }
}

impl<'a> Inspection<'a> {
    /// What `model` holds; `shown` is how to name the model file.
    pub fn of(model: &'a Model, shown: String) -> Inspection<'a> {
        let pipeline = &model.pipeline;
        let (classes, target_scaling) = match &pipeline.target_encoder {
            TargetEncoder::Classification { labels } => (Some(labels.as_slice()), None),
            TargetEncoder::Regression { mean, std } => (
                None,
                Some(TargetScaling {
                    mean: *mean,
                    std: *std,
                }),
            ),
        };
        let inputs = pipeline
            .features
            .iter()
            .map(|f| match f {
                Feature::Numeric(c) => Input::Numeric {
                    name: &c.name,
                    impute: c.impute,
                    mean: c.mean,
                    std: c.std,
                    network_inputs: f.width(),
                },
                Feature::Categorical(c) => Input::Categorical {
                    name: &c.name,
                    impute: &c.impute,
                    categories: c
                        .categories
                        .iter()
                        .zip(&c.counts)
                        .map(|(value, &count)| CategoryCount { value, count })
                        .collect(),
                    network_inputs: f.width(),
                },
            })
            .collect();
        let history = &model.history;
        let best = history
            .iter()
            .filter(|r| r.val_loss.is_some_and(f64::is_finite))
            .min_by(|a, b| a.val_loss.partial_cmp(&b.val_loss).unwrap());
        Inspection {
            model: shown,
            format_version: model.format_version,
            csvnn_version: &model.csvnn_version,
            task: model.task,
            target: &pipeline.target,
            classes,
            target_scaling,
            inputs,
            dropped: &pipeline.dropped,
            na_values: &pipeline.na_values.0,
            architecture: Architecture {
                n_inputs: model.network.n_inputs,
                n_outputs: model.network.n_outputs(),
                layers: model.network.layers.iter().map(summarise_layer).collect(),
                params: model.network.n_params(),
            },
            training: &model.training,
            history: HistorySummary {
                epochs: history.len(),
                first: history.first(),
                last: history.last(),
                best,
            },
            validation_metrics: model.validation_metrics.as_ref(),
        }
    }
}

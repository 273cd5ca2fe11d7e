//! `csvnn inspect`: what a saved model holds, for people (a table) or scripts (JSON):
//! task, input columns with their fitted statistics, classes, architecture with parameter
//! counts, training settings, a summary of the history and the validation metrics.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::common::write_stdout;
use super::preprocess::Format;
use csvnn::model::{Model, TrainingRecord, ValidationMetrics};
use csvnn::nn::{AnyLayer, Layer};
use csvnn::preprocess::{Feature, TargetEncoder, Task};
use csvnn::train::EpochRecord;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// How to print; json keys are stable for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

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
    let (kind, detail) = match layer {
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
    };
    LayerSummary {
        kind,
        detail,
        params: layer.n_params(),
    }
}

pub fn inspection<'a>(model: &'a Model, shown: String) -> Inspection<'a> {
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

/// A number for people: 4 significant decimals, or "-" when absent.
fn num(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        Some(v) => v.to_string(),
        None => "-".to_string(),
    }
}

/// Categories shown per column before "... and N more".
const SHOWN_CATEGORIES: usize = 6;

impl Inspection<'_> {
    /// A plain-text summary for people (may change between versions).
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let t = self.training;
        let _ = writeln!(
            out,
            "{}: csvnn model (format {}, written by csvnn {})",
            self.model, self.format_version, self.csvnn_version
        );
        let _ = writeln!(out, "task:     {} ({})", self.task, t.task_reason);
        let _ = writeln!(out, "target:   {}", self.target);
        if let Some(classes) = self.classes {
            let _ = writeln!(out, "classes:  {} ({})", classes.join(", "), classes.len());
        }
        if let Some(s) = &self.target_scaling {
            let _ = writeln!(
                out,
                "target scaling: mean {}, std {}",
                num(Some(s.mean)),
                num(Some(s.std))
            );
        }

        let _ = writeln!(out, "\ninput columns ({}):", self.inputs.len());
        let width = self
            .inputs
            .iter()
            .map(|i| match i {
                Input::Numeric { name, .. } | Input::Categorical { name, .. } => {
                    name.chars().count()
                }
            })
            .max()
            .unwrap_or(0)
            .max(6);
        for input in &self.inputs {
            match input {
                Input::Numeric {
                    name,
                    impute,
                    mean,
                    std,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  numeric      mean {}  std {}  missing -> {}",
                        num(Some(*mean)),
                        num(Some(*std)),
                        num(Some(*impute))
                    );
                }
                Input::Categorical {
                    name,
                    impute,
                    categories,
                    ..
                } => {
                    let mut shown: Vec<String> = categories
                        .iter()
                        .take(SHOWN_CATEGORIES)
                        .map(|c| format!("{} ({})", c.value, c.count))
                        .collect();
                    if categories.len() > SHOWN_CATEGORIES {
                        shown.push(format!(
                            "... and {} more",
                            categories.len() - SHOWN_CATEGORIES
                        ));
                    }
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  categorical  {} categories: {}  missing -> {impute}",
                        categories.len(),
                        shown.join(", ")
                    );
                }
            }
        }
        if !self.dropped.is_empty() {
            let _ = writeln!(out, "  dropped: {}", self.dropped.join(", "));
        }

        let a = &self.architecture;
        let _ = writeln!(
            out,
            "\narchitecture: {} inputs -> {} outputs, {} parameters",
            a.n_inputs, a.n_outputs, a.params
        );
        for (i, layer) in a.layers.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:>2}  {:<10}  {:<14}  {:>8} params",
                i + 1,
                layer.kind,
                layer.detail,
                layer.params
            );
        }

        let c = &t.config;
        let optimizer = serde_json::to_value(c.optimizer)
            .map(|v| compact(&v))
            .unwrap_or_default();
        let _ = writeln!(out, "\ntraining:");
        let _ = writeln!(out, "  loss {}, optimizer {optimizer}", t.loss);
        let _ = writeln!(
            out,
            "  epochs {}, batch size {}, patience {}, seed {}, dropout {}",
            c.epochs, c.batch_size, c.patience, c.seed, t.dropout
        );
        let _ = writeln!(
            out,
            "  rows: {} training, {} validation (split {})",
            t.rows_train, t.rows_validation, t.validation_split
        );
        let stop = if t.stopped_early {
            "stopped early"
        } else {
            "ran to the end"
        };
        let best = t
            .best_epoch
            .map(|e| format!(", weights of epoch {e} kept"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {} epochs run, {stop}{best}", t.epochs_run);

        let metric = match self.task {
            Task::Classification => "val accuracy",
            Task::Regression => "val rmse",
        };
        let h = &self.history;
        let _ = writeln!(out, "\nhistory ({} epochs):", h.epochs);
        let _ = writeln!(
            out,
            "  {:<6}  {:>6}  {:>10}  {:>10}  {:>12}",
            "", "epoch", "train loss", "val loss", metric
        );
        for (what, record) in [("first", h.first), ("best", h.best), ("last", h.last)] {
            if let Some(r) = record {
                let _ = writeln!(
                    out,
                    "  {what:<6}  {:>6}  {:>10}  {:>10}  {:>12}",
                    r.epoch,
                    num(Some(r.train_loss)),
                    num(r.val_loss),
                    num(r.val_metric)
                );
            }
        }

        let _ = write!(out, "\nvalidation metrics: ");
        match self.validation_metrics {
            Some(v) => {
                let mut parts = vec![format!("loss {}", num(Some(v.loss)))];
                if let Some(a) = v.accuracy {
                    parts.push(format!("accuracy {}", num(Some(a))));
                }
                if let Some(r) = v.rmse {
                    parts.push(format!("rmse {}", num(Some(r))));
                }
                let _ = writeln!(out, "{}", parts.join(", "));
            }
            None => {
                let _ = writeln!(out, "none (trained without validation rows)");
            }
        }
        out
    }
}

/// `{"name":"adam","lr":0.001}` as `adam (lr 0.001, ...)`; numbers are the optimizer's
/// f32 settings, shown as f32 (0.9, not 0.8999999761581421).
fn compact(value: &serde_json::Value) -> String {
    let Some(object) = value.as_object() else {
        return value.to_string();
    };
    let name = object
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("?")
        .to_string();
    let settings: Vec<String> = object
        .iter()
        .filter(|(k, _)| k.as_str() != "name")
        .map(|(k, v)| match v.as_f64() {
            Some(f) => format!("{k} {}", f as f32),
            None => format!("{k} {v}"),
        })
        .collect();
    format!("{name} ({})", settings.join(", "))
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let inspection = inspection(&model, args.model.display().to_string());
    let text = match args.format {
        Format::Table => inspection.to_table(),
        Format::Json => serde_json::to_string_pretty(&inspection)? + "\n",
    };
    write_stdout(&text)?;
    Ok(())
}

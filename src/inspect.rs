//! The inspection of a saved model: task, input columns with their fitted statistics,
//! classes, architecture with parameter counts, training settings, a summary of the
//! history and the validation metrics (`inspect --format json` prints it).

use serde::Serialize;

use crate::compress::{count_zeros, param_stats, CompressionRecord};
use crate::model::{Model, TrainingRecord, ValidationMetrics};
use crate::nn::{AnyLayer, Int8Product, Layer};
use crate::preprocess::{Feature, TargetEncoder, Task, TextOptions};
use crate::train::EpochRecord;

/// The `inspect --format json` object; its keys are stable for scripts.
#[derive(Debug, Serialize)]
pub struct Inspection<'a> {
    /// The model file as the user named it.
    pub model: String,
    /// The file's `format_version`.
    pub format_version: u32,
    /// The csvnn version that wrote the file.
    pub csvnn_version: &'a str,
    /// `classification` or `regression`.
    pub task: Task,
    /// The target column's name.
    pub target: &'a str,
    /// Class labels in model order (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<&'a [String]>,
    /// How the target is standardised inside the model (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_scaling: Option<TargetScaling>,
    /// Feature columns in network-input order.
    pub inputs: Vec<Input<'a>>,
    /// Columns the model ignores by name.
    pub dropped: &'a [String],
    /// The tokens read as missing values.
    pub na_values: &'a [String],
    /// Layers and parameter counts.
    pub architecture: Architecture,
    /// The model file's `training` object, as it is.
    pub training: &'a TrainingRecord,
    /// First, last and best epochs of the history.
    pub history: HistorySummary<'a>,
    /// The model file's `validation_metrics` (`null` without validation).
    pub validation_metrics: Option<&'a ValidationMetrics>,
    /// How the model was compressed, with its zero weights counted (absent when it was not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionSummary<'a>>,
}

/// A compressed model's record and what its weights hold now.
#[derive(Debug, Serialize)]
pub struct CompressionSummary<'a> {
    /// The model file's `compression` object, as it is (its keys at this level).
    #[serde(flatten)]
    pub record: &'a CompressionRecord,
    /// Parameters (weights and biases) that are not zero.
    pub nonzero_params: usize,
    /// Zero weights of the dense and convolution layers, as a fraction of them.
    pub sparsity: f64,
}

/// A regression target's standardisation: the network predicts (y - mean) / std.
#[derive(Debug, Serialize)]
pub struct TargetScaling {
    /// Mean of the training targets.
    pub mean: f64,
    /// Standard deviation of the training targets.
    pub std: f64,
}

/// One feature column as the network sees it; in JSON, `type` is `numeric`,
/// `categorical`, `ordinal`, `date`, `sequence` or `text`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input<'a> {
    /// A number column: imputed, then standardised.
    Numeric {
        /// The column's name.
        name: &'a str,
        /// The value that replaces a missing cell (the training mean).
        impute: f64,
        /// The training mean.
        mean: f64,
        /// The training standard deviation (1 for a constant column).
        std: f64,
        /// Network inputs it becomes: always 1.
        network_inputs: usize,
    },
    /// An ordered category column: the level's index, imputed, then standardised.
    Ordinal {
        /// The column's name.
        name: &'a str,
        /// The levels, lowest first (level i is the number i), with training counts.
        levels: Vec<CategoryCount<'a>>,
        /// The index that replaces a missing cell or an unknown value (the training mean).
        impute: f64,
        /// The training mean of the indices.
        mean: f64,
        /// Their standard deviation (1 when all rows hold one level).
        std: f64,
        /// Network inputs it becomes: always 1.
        network_inputs: usize,
    },
    /// A date column: the year standardised, then sine/cosine pairs of its cycles.
    Date {
        /// The column's name.
        name: &'a str,
        /// Its strftime-style format; `null`: ISO 8601.
        format: Option<&'a str>,
        /// The names of its inputs, in order (`year`, `month_sin`, ...).
        parts: &'static [&'static str],
        /// The training mean of the fractional year.
        year_mean: f64,
        /// Its standard deviation.
        year_std: f64,
        /// The earliest and latest training dates, ISO 8601.
        range: [&'a str; 2],
        /// Network inputs it becomes: 7, or 9 with the hour.
        network_inputs: usize,
    },
    /// Every feature column as one series: `[L, T x C values standardised per channel]`.
    Sequence {
        /// The series' name: its first and last columns.
        name: &'a str,
        /// T: steps per row.
        steps: usize,
        /// C: values per step.
        channels: usize,
        /// Per channel: the training mean.
        mean: &'a [f64],
        /// Per channel: the training standard deviation.
        std: &'a [f64],
        /// Network inputs it becomes: 1 + T x C.
        network_inputs: usize,
    },
    /// A text column: token ids as a one-channel sequence block `[L, ids...]`.
    Text {
        /// The column's name.
        name: &'a str,
        /// V: words in the vocabulary (ids 1..=V; 0 is out of the vocabulary).
        vocab_size: usize,
        /// Token ids a network embeds: 1 + V, plus the n-gram buckets.
        n_ids: usize,
        /// The tokenizer and vocabulary settings.
        options: TextOptions,
        /// The most frequent words, at most 10.
        top_words: &'a [String],
        /// Network inputs it becomes: 1 + max_tokens.
        network_inputs: usize,
    },
    /// A category column: imputed, then one-hot encoded.
    Categorical {
        /// The column's name.
        name: &'a str,
        /// The value that replaces a missing cell (the most frequent training value).
        impute: &'a str,
        /// The vocabulary in network-input order, with training counts.
        categories: Vec<CategoryCount<'a>>,
        /// Network inputs it becomes: one per category, plus one when the rarest values
        /// were folded into a shared input (`--max-categories`).
        network_inputs: usize,
    },
}

/// A category of a categorical input.
#[derive(Debug, Serialize)]
pub struct CategoryCount<'a> {
    /// The category's text.
    pub value: &'a str,
    /// Training rows that held it.
    pub count: u64,
}

/// The network's shape.
#[derive(Debug, Serialize)]
pub struct Architecture {
    /// Network inputs (the encoded width of all feature columns).
    pub n_inputs: usize,
    /// Network outputs: one per class, or 1 for regression.
    pub n_outputs: usize,
    /// The layers, input side first.
    pub layers: Vec<LayerSummary>,
    /// Trainable parameters of all layers together.
    pub params: usize,
    /// Bytes the parameters take as stored: 4 per f32 value, 1 per int8 weight and the
    /// int8 layers' scales (`nn::Int8Matrix::bytes`).
    pub param_bytes: usize,
    /// Fraction of the parameters (weights and biases) that are exactly zero.
    pub sparsity: f64,
}

/// One layer of the network.
#[derive(Debug, Serialize)]
pub struct LayerSummary {
    /// `dense`, `activation`, `dropout`, `conv2d` or `max_pool2d` (key `type`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What distinguishes it: `64 -> 32`, `relu`, `rate 0.2`.
    pub detail: String,
    /// The layer's trainable parameters.
    pub params: usize,
    /// A `branches` layer's encoders, one list of layers per encoded block (key absent for
    /// other layers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encoders: Vec<Vec<LayerSummary>>,
    /// An int8 dense layer's product: `int8` (inputs quantized per row) or `f32` (weights
    /// dequantized on load); key absent for other layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<&'static str>,
}

/// The training history in brief; each epoch as in the model file's `history`.
#[derive(Debug, Serialize)]
pub struct HistorySummary<'a> {
    /// Epochs run.
    pub epochs: usize,
    /// The first epoch (`null` when none ran).
    pub first: Option<&'a EpochRecord>,
    /// The last epoch (`null` when none ran).
    pub last: Option<&'a EpochRecord>,
    /// The epoch whose weights the model kept (`training.best_epoch`: the lowest validation
    /// loss, or the best `--monitor` metric); for a model that does not record one, the
    /// epoch with the lowest validation loss (when there was validation).
    pub best: Option<&'a EpochRecord>,
}

fn summarise_layer(layer: &AnyLayer) -> LayerSummary {
    let (kind, detail) = describe_layer(layer);
    let encoders = match layer {
        AnyLayer::Branches(b) => b
            .branches()
            .iter()
            .map(|branch| branch.encoder.layers.iter().map(summarise_layer).collect())
            .collect(),
        _ => Vec::new(),
    };
    let product = match layer {
        AnyLayer::DenseInt8(d) => Some(d.product().as_str()),
        // Conv, GRU and LSTM int8 layers are weight-only.
        other if !other.int8_weights().is_empty() => Some(Int8Product::F32.as_str()),
        _ => None,
    };
    LayerSummary {
        kind,
        detail,
        params: layer.n_params(),
        encoders,
        product,
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
        AnyLayer::Conv2D(c) => (
            "conv2d",
            format!(
                "{} -> {} (kernel {}, stride {}, padding {}{})",
                c.input_shape(),
                c.output_shape(),
                c.kernel(),
                c.stride(),
                c.padding(),
                if c.int8_weights().is_some() {
                    "; int8 weights, a 1-byte scale code per filter; f32 product"
                } else {
                    ""
                }
            ),
        ),
        AnyLayer::MaxPool2D(p) => (
            "max_pool2d",
            format!(
                "{} -> {} (size {})",
                p.input_shape(),
                p.output_shape(),
                p.size()
            ),
        ),
        AnyLayer::Branches(b) => (
            "branches",
            format!(
                "{} -> {} ({} plain, {} encoded block{})",
                b.n_inputs(),
                b.n_outputs(),
                b.plain_columns().len(),
                b.branches().len(),
                if b.branches().len() == 1 { "" } else { "s" }
            ),
        ),
        AnyLayer::Embedding(e) => (
            "embedding",
            format!("{} tokens -> {} steps x {}", e.vocab(), e.steps(), e.dim()),
        ),
        AnyLayer::TimeDense(t) => (
            "time_dense",
            format!(
                "{} steps x {} -> {}",
                t.input_shape().steps,
                t.input_shape().channels,
                t.output_shape().channels
            ),
        ),
        AnyLayer::PositionalEmbedding(p) => (
            "positional_embedding",
            format!("{} steps x {}", p.shape().steps, p.shape().channels),
        ),
        AnyLayer::SequencePool(p) => (
            "sequence_pool",
            format!(
                "{} steps x {} -> {} ({:?})",
                p.input_shape().steps,
                p.n_out(),
                p.n_out(),
                p.mode()
            )
            .to_lowercase(),
        ),
        AnyLayer::EncoderBlock(e) => (
            "transformer_encoder",
            format!(
                "{} steps x {} (heads {}, feed-forward {})",
                e.steps(),
                e.d_model(),
                e.heads(),
                e.feedforward()
            ),
        ),
        AnyLayer::Gru(g) => ("gru", recurrent_detail(layer, g.input_shape(), g.hidden())),
        AnyLayer::Lstm(l) => ("lstm", recurrent_detail(layer, l.input_shape(), l.hidden())),
        AnyLayer::DenseInt8(d) => (
            "dense_int8",
            format!(
                "{} -> {} (int8 weights, {} per output; {} product)",
                d.n_in(),
                d.n_out(),
                d.scale_form(),
                d.product().as_str()
            ),
        ),
    }
}

/// `100x6 -> 100x64`: steps x channels in, steps x hidden units out, and for a `layer`
/// quantized by `compress --int8` how its weights are held.
fn recurrent_detail(layer: &AnyLayer, input: crate::nn::SeqShape, hidden: usize) -> String {
    let (t, c) = (input.steps, input.channels);
    let int8 = " (int8 weights, a 1-byte scale code per gate unit; f32 product)";
    let int8 = (!layer.int8_weights().is_empty()).then_some(int8);
    format!("{t}x{c} -> {t}x{hidden}{}", int8.unwrap_or_default())
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
                Feature::Date(c) => Input::Date {
                    name: &c.name,
                    format: c.format.as_ref().map(|f| f.as_str()),
                    parts: c.parts(),
                    year_mean: c.year_mean,
                    year_std: c.year_std,
                    range: [&c.min, &c.max],
                    network_inputs: f.width(),
                },
                Feature::Text(c) => Input::Text {
                    name: &c.name,
                    vocab_size: c.vocab_size(),
                    n_ids: c.n_ids(),
                    options: c.options,
                    top_words: &c.vocabulary[..c.vocab_size().min(10)],
                    network_inputs: f.width(),
                },
                Feature::Sequence(c) => Input::Sequence {
                    name: &c.name,
                    steps: c.shape.steps,
                    channels: c.shape.channels,
                    mean: &c.mean,
                    std: &c.std,
                    network_inputs: f.width(),
                },
                Feature::Ordinal(c) => Input::Ordinal {
                    name: &c.name,
                    levels: c
                        .levels
                        .iter()
                        .zip(&c.counts)
                        .map(|(value, &count)| CategoryCount { value, count })
                        .collect(),
                    impute: c.impute,
                    mean: c.mean,
                    std: c.std,
                    network_inputs: f.width(),
                },
            })
            .collect();
        let (param_bytes, values, zeros) = param_stats(&model.network);
        // As stored: int8 layers train nothing, so `visit_params` would skip them.
        let nonzero_params = values - zeros;
        let history = &model.history;
        // The epoch whose weights were kept (by the loss or a --monitor metric); for a
        // model that does not record it, the lowest validation loss.
        let best = model
            .training
            .best_epoch
            .and_then(|epoch| history.iter().find(|r| r.epoch == epoch))
            .or_else(|| {
                history
                    .iter()
                    .filter(|r| r.val_loss.is_some_and(f64::is_finite))
                    .min_by(|a, b| a.val_loss.partial_cmp(&b.val_loss).unwrap())
            });
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
                param_bytes,
                sparsity: zeros as f64 / values.max(1) as f64,
            },
            training: &model.training,
            history: HistorySummary {
                epochs: history.len(),
                first: history.first(),
                last: history.last(),
                best,
            },
            validation_metrics: model.validation_metrics.as_ref(),
            compression: model.compression.as_ref().map(|record| {
                let mut network = model.network.clone();
                let layers = count_zeros(&mut network);
                let zeros: usize = layers.iter().map(|l| l.zeros).sum();
                let weights: usize = layers.iter().map(|l| l.weights).sum();
                CompressionSummary {
                    record,
                    nonzero_params,
                    sparsity: zeros as f64 / weights.max(1) as f64,
                }
            }),
        }
    }
}

//! The saved model: one JSON file holding the pipeline, the network, the training
//! settings and history, so that it alone can score new rows.

use std::path::Path;

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomically;
use crate::compress::CompressionRecord;
use crate::error::{Error, Result};
use crate::model_check::check_model;
use crate::nn::{Activation, AnyLayer, Int8Product, Network};
use crate::preprocess::{Pipeline, TargetEncoder, Task};
use crate::train::{argmax, EpochRecord, Monitor, TrainConfig};
use crate::versioned::{read_versioned, FileKind};

/// The `format` of a model file; a file with another name is refused.
pub const FORMAT_NAME: &str = "csvnn-model";
/// The newest `format_version` this csvnn reads; a file with a newer one is refused. It
/// writes the oldest version that holds the model (`format_version_for`).
pub const FORMAT_VERSION: u32 = 6;

/// How the model was trained (everything but wall-clock times, so files are reproducible).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// Why the task was chosen (`--task auto`), or that it was given.
    pub task_reason: String,
    /// Widths of the hidden dense layers, input side first.
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers.
    pub activation: Activation,
    /// "cross_entropy" or "mse".
    pub loss: String,
    /// Dropout rate after each hidden layer, in [0, 1).
    pub dropout: f32,
    /// Fraction of the rows held out for validation; 0 when a separate validation file
    /// was given or validation was off.
    pub validation_split: f64,
    /// Rows trained on.
    pub rows_train: usize,
    /// Rows validated on; 0 without validation.
    pub rows_validation: usize,
    /// Class weights of the loss (`--class-weight`), in label order.
    pub class_weights: Option<Vec<ClassWeight>>,
    /// Epochs, batch size, early stopping, seed, optimizer and learning-rate schedule.
    pub config: TrainConfig,
    /// Epochs actually run (fewer than `config.epochs` when stopped early).
    pub epochs_run: usize,
    /// The epoch whose weights were kept, when early stopping chose them.
    pub best_epoch: Option<usize>,
    /// True when early stopping ended the run before `config.epochs`.
    pub stopped_early: bool,
    /// The study that chose these settings, when the model comes from `tune`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuned: Option<TuneNote>,
    /// The teacher whose probabilities the model was trained on, when distilled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distilled: Option<DistillNote>,
}

/// Distillation: the teacher model and how its outputs were mixed with the labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillNote {
    /// The teacher's file name (without its directory).
    pub teacher: String,
    /// The softmax temperature of both teacher and student in the distillation term.
    pub temperature: f32,
    /// The weight of the teacher's term; the labels' term has 1 - weight.
    pub weight: f32,
}

/// Where a tuned model's settings come from: the study and its best trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneNote {
    /// Trials the study drew.
    pub trials: usize,
    /// The best trial's index, from 0.
    pub best_trial: usize,
    /// The highest rung it reached, from 0.
    pub rung: usize,
    /// Epochs it trained (the refit trains as many on all rows).
    pub epochs: usize,
    /// Its validation loss.
    pub val_loss: f64,
    /// Its validation accuracy (classification) or RMSE (regression).
    pub val_metric: f64,
    /// How it was validated: `holdout 0.2` or `5 folds`.
    pub validation: String,
}

/// The loss weight of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassWeight {
    /// The class label, as in the target column.
    pub label: String,
    /// The factor on the loss of this class's rows.
    pub weight: f32,
}

/// Loss and main metric on the validation rows, with the weights the model keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationMetrics {
    /// The loss on the validation rows.
    pub loss: f64,
    /// Fraction of rows whose class is right (classification; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Root mean squared error in the target's units (regression; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rmse: Option<f64>,
}

/// A trained model, as saved in the model file (layout in docs/model-format.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Always `FORMAT_NAME` (`"csvnn-model"`).
    pub format: String,
    /// `FORMAT_VERSION` when written; a newer one is refused on load.
    pub format_version: u32,
    /// The csvnn version that wrote the file.
    pub csvnn_version: String,
    /// Classification or regression (the pipeline's target encoder says the same).
    pub task: Task,
    /// The fitted preprocessing: raw cells to network inputs, and the target encoding.
    pub pipeline: Pipeline,
    /// The layers and their weights; takes `pipeline.n_inputs()` inputs.
    pub network: Network,
    /// How the model was trained.
    pub training: TrainingRecord,
    /// One record per epoch run, in order (no timings, so files are reproducible).
    pub history: Vec<EpochRecord>,
    /// Scores on the validation rows with the kept weights; `None` without validation.
    pub validation_metrics: Option<ValidationMetrics>,
    /// How the model was compressed (`compress`); absent when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionRecord>,
}

/// The oldest format version that holds a model: the pipeline's (3 with a date, text or
/// series column, 2 with an ordinal one), and 2 when a metric other than the loss chose the kept epoch (a reader of
/// version 1 would not show which); 1 otherwise, so such files stay readable by csvnn
/// releases that know only version 1. A compressed model (int8 layers, a compression
/// record) is version 4, 5 when an int8 layer stores its scales as one-byte codes, and 6
/// when an int8 layer runs the f32 product (every int8 conv, GRU and LSTM layer does; a
/// version-5 reader would ignore a dense layer's `product`
/// and run the int8 one: a newer version makes it refuse the file instead).
fn format_version_for(
    pipeline: &Pipeline,
    training: &TrainingRecord,
    compression: Option<&CompressionRecord>,
    network: &Network,
) -> u32 {
    let monitored = training.config.monitor != Monitor::Loss;
    let layers = network.leaf_layers();
    let coded = layers
        .iter()
        .any(|l| matches!(l, AnyLayer::DenseInt8(d) if d.matrix().scale_codes().is_some()));
    // Conv, GRU and LSTM int8 layers always run the f32 product.
    let weight_only = layers.iter().any(|l| match l {
        AnyLayer::DenseInt8(d) => d.product() == Int8Product::F32,
        other => !other.int8_weights().is_empty(),
    });
    let compressed = match (compression.is_some(), coded, weight_only) {
        (_, _, true) => 6,
        (_, true, false) => 5,
        (true, false, false) => 4,
        (false, false, false) => 1,
    };
    pipeline
        .format_version()
        .max(if monitored { 2 } else { 1 })
        .max(compressed)
}

/// How a model file is recognised and its problems worded.
const MODEL_FILE: FileKind = FileKind {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    invalid_json: "not a valid model file: ",
    wrong_kind: |path| Error::ModelFile {
        path,
        message: "not a csvnn model (expected a JSON object with \"format\": \"csvnn-model\")"
            .to_string(),
    },
    noun: "model",
    newer_advice: "; upgrade csvnn",
    damaged: "the model file is damaged: ",
};

/// What a model says about a set of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Class probabilities (n_rows, n_classes) computed in f64; the class is their argmax.
    Classes {
        /// (n_rows, n_classes), each row summing to 1.
        probs: Array2<f64>,
        /// (n_rows,) the predicted class index of each row, in label order.
        classes: Vec<usize>,
    },
    /// Predicted values in the target's units.
    Values(Vec<f64>),
}

/// Rows per forward pass when predicting.
const PREDICT_BATCH: usize = 1024;

impl Model {
    /// A model of the current format and csvnn version; the task is the pipeline's.
    pub fn new(
        pipeline: Pipeline,
        network: Network,
        training: TrainingRecord,
        history: Vec<EpochRecord>,
        validation_metrics: Option<ValidationMetrics>,
    ) -> Self {
        Model {
            format: FORMAT_NAME.to_string(),
            format_version: format_version_for(&pipeline, &training, None, &network),
            csvnn_version: env!("CARGO_PKG_VERSION").to_string(),
            task: pipeline.task(),
            pipeline,
            network,
            training,
            history,
            validation_metrics,
            compression: None,
        }
    }

    /// The model with `record` of how it was compressed, and the format version that
    /// holds it.
    pub fn with_compression(mut self, record: CompressionRecord) -> Model {
        self.format_version =
            format_version_for(&self.pipeline, &self.training, Some(&record), &self.network);
        self.compression = Some(record);
        self
    }

    /// Set `format_version` to the oldest version that holds the model as it is now
    /// (after a change such as compression).
    pub fn refresh_format_version(&mut self) {
        self.format_version = format_version_for(
            &self.pipeline,
            &self.training,
            self.compression.as_ref(),
            &self.network,
        );
    }

    /// Write the model as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, |out| {
            serde_json::to_writer(&mut *out, self)
                .map_err(|e| Error::io(&path.display().to_string(), e.into()))?;
            out.write_all(b"\n")
                .map_err(|e| Error::io(&path.display().to_string(), e))
        })
    }

    /// Read a model, refusing files that are not csvnn models, come from a newer format,
    /// or do not pass `model_check::check_model` (a network that does not fit together or
    /// with its pipeline, or sizes beyond the limits).
    pub fn load(path: &Path) -> Result<Model> {
        let mut model: Model = read_versioned(path, &MODEL_FILE)?;
        check_model(model.task, &model.network, &model.pipeline)
            .map_err(|p| Error::invalid_model(path, p))?;
        if let Some(record) = &model.compression {
            record
                .check(&mut model.network)
                .map_err(|message| Error::ModelFile {
                    path: path.display().to_string(),
                    message,
                })?;
        }
        Ok(model)
    }

    /// Raw network outputs, (n_rows, n_outputs), computed in parallel chunks, one per
    /// thread of `parallel::current_threads`. Each row's result does not depend on the
    /// chunking, so any thread count gives the same numbers.
    pub fn network_outputs(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let n = x.nrows();
        let threads = crate::parallel::current_threads().clamp(1, n.div_ceil(PREDICT_BATCH).max(1));
        if threads == 1 {
            // One part: no thread to start (a served single row would pay for it).
            return self.network.clone().predict(x, PREDICT_BATCH);
        }
        let mut out = Array2::zeros((n, self.network.n_outputs()));
        let chunk = n.div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for (x_part, mut out_part) in x
                .axis_chunks_iter(Axis(0), chunk)
                .zip(out.axis_chunks_iter_mut(Axis(0), chunk))
            {
                let mut network = self.network.clone();
                scope.spawn(move || out_part.assign(&network.predict(x_part, PREDICT_BATCH)));
            }
        });
        out
    }

    /// Predictions for network inputs `x` (n_rows, n_inputs).
    pub fn predict(&self, x: ArrayView2<f32>) -> Predictions {
        self.predictions(self.network_outputs(x))
    }

    /// `predict` on this thread with `network`, a clone of this model's network that the
    /// caller keeps from one call to the next (a server's), so that its weights are not
    /// cloned and its buffers not allocated again each time. The same numbers as
    /// `predict`: a row's result does not depend on the chunking.
    pub fn predict_with(&self, network: &mut Network, x: ArrayView2<f32>) -> Predictions {
        self.predictions(network.predict(x, PREDICT_BATCH))
    }

    /// Network outputs as predictions: classes and probabilities, or values.
    fn predictions(&self, outputs: Array2<f32>) -> Predictions {
        match &self.pipeline.target_encoder {
            TargetEncoder::Classification { .. } => {
                let probs = softmax_rows(outputs.view());
                let classes = probs.axis_iter(Axis(0)).map(argmax).collect();
                Predictions::Classes { probs, classes }
            }
            encoder @ TargetEncoder::Regression { .. } => {
                Predictions::Values(outputs.iter().map(|&o| encoder.destandardise(o)).collect())
            }
        }
    }
}

/// Softmax of each row in f64, shifted by the row's maximum so that nothing overflows.
pub fn softmax_rows(logits: ArrayView2<f32>) -> Array2<f64> {
    let mut probs = logits.mapv(|v| v as f64);
    for mut row in probs.axis_iter_mut(Axis(0)) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
    probs
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    #[test]
    fn f32_weights_round_trip_exactly_through_json() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let values: Vec<f32> = (0..200_000)
            .map(|i| match i % 3 {
                0 => rng.gen::<f32>() * 2.0 - 1.0,
                1 => f32::from_bits(rng.gen_range(0x0080_0000..0x7f00_0000)),
                _ => -f32::from_bits(rng.gen_range(0x0080_0000..0x7f00_0000)),
            })
            .collect();
        let text = serde_json::to_string(&values).unwrap();
        let back: Vec<f32> = serde_json::from_str(&text).unwrap();
        assert!(values
            .iter()
            .zip(&back)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

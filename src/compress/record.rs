//! `CompressionRecord`: how a model was compressed, kept in the model file next to the
//! weights, and the load-time check that the weights still say what the record says.

use serde::{Deserialize, Serialize};

use crate::nn::Network;

/// How a model was compressed (`None` fields: that method was not applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompressionRecord {
    /// Magnitude pruning, when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned: Option<PruneNote>,
    /// Post-training int8 quantization, when it was applied (after any pruning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<Int8Note>,
}

/// Magnitude pruning: what was asked, what each layer holds, how it was fine-tuned. The
/// pruned weights themselves are the exact zeros of the layers' weight matrices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PruneNote {
    /// The fraction of the prunable weights asked to be zero, in (0, 1).
    pub sparsity: f64,
    /// How the threshold was chosen: `global` (one magnitude over all layers).
    pub threshold: String,
    /// Each pruned layer, in network order.
    pub layers: Vec<PrunedLayer>,
    /// Epochs of fine-tuning after pruning (0: none).
    pub fine_tune_epochs: usize,
    /// The file name of the fine-tuning data (without its directory).
    pub data: String,
    /// Rows fine-tuned on.
    pub rows: usize,
}

/// One pruned weight matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrunedLayer {
    /// The layer's index in the network's `layers`, from 0.
    pub layer: usize,
    /// Weights in its matrix.
    pub weights: usize,
    /// Of them, exactly zero.
    pub zeros: usize,
}

impl PrunedLayer {
    /// The fraction of its weights that are zero.
    pub fn sparsity(&self) -> f64 {
        self.zeros as f64 / self.weights.max(1) as f64
    }
}

impl PruneNote {
    /// Zero weights over all pruned layers, as a fraction of their weights.
    pub fn achieved(&self) -> f64 {
        let zeros: usize = self.layers.iter().map(|l| l.zeros).sum();
        let weights: usize = self.layers.iter().map(|l| l.weights).sum();
        zeros as f64 / weights.max(1) as f64
    }
}

/// The zero count of each prunable layer of `network` (see `Network::visit_prunable`).
pub fn count_zeros(network: &mut Network) -> Vec<PrunedLayer> {
    let mut layers = Vec::new();
    network.visit_prunable(&mut |layer, weights, _| {
        layers.push(PrunedLayer {
            layer,
            weights: weights.len(),
            zeros: weights.iter().filter(|&&w| w == 0.0).count(),
        });
    });
    layers
}

impl CompressionRecord {
    /// Check the record against the weights of `network`: each pruned layer must still hold
    /// as many weights and zeros as its note says (a file edited by hand does not).
    pub fn check(&self, network: &mut Network) -> Result<(), String> {
        let Some(note) = &self.pruned else {
            return Ok(());
        };
        let found = count_zeros(network);
        for recorded in &note.layers {
            let Some(now) = found.iter().find(|f| f.layer == recorded.layer) else {
                if self.int8.is_some() {
                    // Quantized after pruning: the layer is int8 now (its zeros stayed 0).
                    continue;
                }
                return Err(format!(
                    "the pruning record names layer {} but it has no weight matrix to prune",
                    recorded.layer + 1
                ));
            };
            if now != recorded {
                return Err(format!(
                    "layer {} holds {} zero weights of {}, but the pruning record says {} of {}; the file was edited or damaged",
                    recorded.layer + 1,
                    now.zeros,
                    now.weights,
                    recorded.zeros,
                    recorded.weights
                ));
            }
        }
        Ok(())
    }
}

/// What int8 quantization did to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Int8Note {
    /// How the weights were quantized.
    pub weights: String,
    /// How the inputs of the quantized layers are quantized when the model runs.
    pub activations: String,
    /// Layers whose weights became int8.
    pub layers_int8: usize,
    /// The kinds of the layers with weights that stayed f32 (one entry per layer).
    pub layers_f32: Vec<String>,
    /// Bytes of the quantized layers' weights in f32 (4 per weight).
    pub f32_weight_bytes: u64,
    /// Bytes of the same weights in int8 with their scales: 1 per weight, 1 per output
    /// (its scale code) and 4 per matrix (the scale base; a GRU or LSTM layer has two);
    /// 4 per output in files written before the codes (format 4), whose scales were f32.
    pub int8_weight_bytes: u64,
    /// The product of each int8 layer, in network order: `int8` (inputs quantized per
    /// row) or `f32` (weights dequantized on load; `compress::product_for`). Empty in
    /// files written before the choice (format 4-5), whose layers all run int8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
}

/// The `weights` of an `Int8Note`.
pub const INT8_WEIGHTS: &str = "int8, symmetric, one scale per output channel stored as a \
     1-byte code k (base * 2^(-k/16), the smallest at least max |w| / 127), round half to even";
/// The `activations` of an `Int8Note`.
pub const INT8_ACTIVATIONS: &str =
    "int8, symmetric, one scale per row from the row's max |x| (dynamic), i32 accumulation, \
     in the layers with the int8 product; f32 in those with the f32 product (conv, GRU and \
     LSTM layers, and dense layers with fewer than 32 inputs or 8 outputs: the int8 weights dequantized \
     to f32 on load)";

//! Magnitude pruning: zero the smallest weights of the dense and convolution matrices,
//! then fine-tune the rest on training rows with the model's own optimizer, learning rate,
//! batch size and seed, the zeros held by a `WeightMask`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::record::{count_zeros, PruneNote};
use crate::data::RawTable;
use crate::error::{Error, Location, Result};
use crate::model::Model;
use crate::nn::{Loss, Mse, Network, SoftmaxCrossEntropy};
use crate::preprocess::TargetEncoder;
use crate::train::{
    dataset, rows_with_target_noticed, train_masked, Augment, Notice, Observer, TrainData,
    TrainState, ValidationMetric, WeightMask,
};

/// Where the magnitude threshold is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One threshold over the weights of all prunable layers (the default).
    #[default]
    Global,
    /// Each layer pruned to the sparsity on its own.
    Layer,
}

impl Scope {
    /// `global` or `layer`, as the record names it.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Layer => "layer",
        }
    }
}

/// What `prune` does.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneSettings {
    /// The fraction of the prunable weights to zero, in (0, 1).
    pub sparsity: f64,
    /// Epochs of fine-tuning after pruning (0: none).
    pub epochs: usize,
    /// One threshold for all layers, or one per layer.
    pub scope: Scope,
}

/// Zero the `sparsity` fraction of smallest-magnitude weights of the prunable layers of
/// `network` (ties broken by position, so the result does not depend on anything else).
pub fn prune_weights(network: &mut Network, sparsity: f64, scope: Scope) {
    // (layer position in visit order, weight index, magnitude)
    let mut all: Vec<(usize, usize, f32)> = Vec::new();
    let mut sizes = Vec::new();
    let mut position = 0;
    network.visit_prunable(&mut |_, weights, _| {
        all.extend(
            weights
                .iter()
                .enumerate()
                .map(|(i, w)| (position, i, w.abs())),
        );
        sizes.push(weights.len());
        position += 1;
    });
    let mut doomed: Vec<Vec<usize>> = vec![Vec::new(); sizes.len()];
    let mut choose = |mut group: Vec<(usize, usize, f32)>| {
        let k = (sparsity * group.len() as f64).round() as usize;
        group.sort_by(|a, b| a.2.total_cmp(&b.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        for &(layer, i, _) in &group[..k.min(group.len())] {
            doomed[layer].push(i);
        }
    };
    match scope {
        Scope::Global => choose(all),
        Scope::Layer => {
            for layer in 0..sizes.len() {
                choose(all.iter().copied().filter(|w| w.0 == layer).collect());
            }
        }
    }
    let mut position = 0;
    network.visit_prunable(&mut |_, weights, _| {
        for &i in &doomed[position] {
            weights[i] = 0.0;
        }
        position += 1;
    });
}

/// Prune `model` to `settings.sparsity` and fine-tune it on the rows of `table` that
/// have a target (read with the model's own pipeline, so the table must hold its columns
/// and a target of its kind). The result records the pruning in its `compression`, and
/// has no validation metrics (those of the unpruned weights no longer hold).
pub fn prune(
    model: &Model,
    table: &RawTable,
    settings: &PruneSettings,
    observer: &mut dyn Observer,
) -> Result<Model> {
    if !(settings.sparsity > 0.0 && settings.sparsity < 1.0) {
        return Err(Error::config(format!(
            "the pruning sparsity is {}; expected a number between 0 and 1, both excluded",
            settings.sparsity
        )));
    }
    if super::is_int8(&model.network) {
        return Err(Error::config(
            "the model's weights are already int8, which cannot be fine-tuned; expected an f32 model (prune first, then quantize: --prune with --int8 does both in that order)",
        ));
    }
    let pipeline = &model.pipeline;
    let target = table.column_index(&pipeline.target).ok_or_else(|| {
        Error::data(
            Location::file(&table.source),
            format!(
                "the target column '{}' is missing; fine-tuning a pruned model needs it",
                pipeline.target
            ),
        )
    })?;
    let rows = rows_with_target_noticed(table, target, &pipeline.na_values, false, observer);
    if rows.is_empty() {
        return Err(Error::data(
            Location::file(&table.source).column(&pipeline.target),
            "no row has a target value; expected at least one to fine-tune on",
        ));
    }
    let transformed = pipeline.transform(table, Some(&rows))?;
    for notice in Notice::findings(&table.source, &transformed) {
        observer.notice(notice);
    }
    let data = dataset(transformed.x, pipeline.encode_targets(table, &rows)?);

    let mut network = model.network.clone();
    prune_weights(&mut network, settings.sparsity, settings.scope);
    let mask = WeightMask::of_zeros(&mut network);
    if settings.epochs > 0 {
        fine_tune(model, &mut network, &mask, &data, settings.epochs, observer)?;
    }
    let note = PruneNote {
        sparsity: settings.sparsity,
        threshold: settings.scope.name().to_string(),
        layers: count_zeros(&mut network),
        fine_tune_epochs: settings.epochs,
        data: file_name(&table.source),
        rows: rows.len(),
    };
    let mut record = model.compression.clone().unwrap_or_default();
    record.pruned = Some(note);
    let pruned = Model {
        network,
        validation_metrics: None,
        ..model.clone()
    };
    Ok(pruned.with_compression(record))
}

/// Train `network` for `epochs` on all of `data` with the model's recorded optimizer,
/// learning rate and its schedule, batch size, seed and class weights; no validation (so
/// no early stopping or plateau rule) and no augmentation.
fn fine_tune(
    model: &Model,
    network: &mut Network,
    mask: &WeightMask,
    data: &crate::train::Dataset,
    epochs: usize,
    observer: &mut dyn Observer,
) -> Result<()> {
    let mut config = model.training.config.clone();
    config.epochs = epochs;
    config.patience = 0;
    config.schedule.plateau = None;
    config.augment = Augment::default();
    let (loss, metric): (Box<dyn Loss>, _) = match &model.pipeline.target_encoder {
        TargetEncoder::Classification { labels } => {
            let weights = model.training.class_weights.as_ref().map(|w| {
                labels
                    .iter()
                    .map(|l| w.iter().find(|c| &c.label == l).map_or(1.0, |c| c.weight))
                    .collect()
            });
            (
                Box::new(SoftmaxCrossEntropy {
                    class_weights: weights,
                }),
                ValidationMetric::Accuracy,
            )
        }
        TargetEncoder::Regression { std, .. } => {
            (Box::new(Mse), ValidationMetric::Rmse { target_std: *std })
        }
    };
    let mut state = TrainState::new(network.clone(), &config);
    let rows = TrainData {
        train: data,
        validation: None,
        metric,
    };
    train_masked(
        &mut state,
        loss.as_ref(),
        rows,
        &config,
        Some(mask),
        observer,
    )?;
    *network = state.network;
    Ok(())
}

/// The last component of `path`, as the record keeps it.
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::CompressionRecord;
    use crate::nn::{Activation, MlpConfig};

    fn network() -> Network {
        let config = MlpConfig {
            n_inputs: 10,
            hidden: vec![20],
            n_outputs: 3,
            activation: Activation::Relu,
            dropout: 0.0,
        };
        Network::mlp(&config, 3).unwrap()
    }

    #[test]
    fn global_pruning_zeroes_the_smallest_weights_and_leaves_biases() {
        let mut net = network();
        net.visit_params(&mut |p, _| p.iter_mut().for_each(|v| *v += 0.01));
        let mut before = Vec::new();
        net.visit_prunable(&mut |_, w, _| before.extend_from_slice(w));
        let mut params_before = Vec::new();
        net.copy_params_into(&mut params_before);
        prune_weights(&mut net, 0.8, Scope::Global);
        let mut after = Vec::new();
        net.visit_prunable(&mut |_, w, _| after.extend_from_slice(w));
        let zeros = after.iter().filter(|&&w| w == 0.0).count();
        assert_eq!(zeros, (0.8 * before.len() as f64).round() as usize);
        // Every kept weight is at least as large as every pruned one.
        let largest_pruned = (before.iter().zip(&after))
            .filter(|(_, &a)| a == 0.0)
            .map(|(b, _)| b.abs())
            .fold(0.0f32, f32::max);
        let smallest_kept = (before.iter().zip(&after))
            .filter(|(_, &a)| a != 0.0)
            .map(|(b, _)| b.abs())
            .fold(f32::INFINITY, f32::min);
        assert!(largest_pruned <= smallest_kept);
        // Kept weights and biases are unchanged.
        let mut params_after = Vec::new();
        net.copy_params_into(&mut params_after);
        let changed = (params_before.iter().zip(&params_after))
            .filter(|(b, a)| b != a)
            .count();
        assert_eq!(changed, zeros);
    }

    #[test]
    fn layer_pruning_gives_each_layer_the_sparsity() {
        let mut net = network();
        prune_weights(&mut net, 0.5, Scope::Layer);
        let layers = count_zeros(&mut net);
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[0].zeros, 100);
        assert_eq!(layers[1].zeros, 30);
        let record = CompressionRecord {
            pruned: Some(PruneNote {
                sparsity: 0.5,
                threshold: "layer".into(),
                layers: layers.clone(),
                fine_tune_epochs: 0,
                data: "d.csv".into(),
                rows: 1,
            }),
            int8: None,
        };
        assert_eq!(record.check(&mut net), Ok(()));
        net.visit_prunable(&mut |layer, w, _| {
            if layer == 0 {
                *w.iter_mut().find(|v| **v == 0.0).unwrap() = 0.5;
            }
        });
        assert_eq!(
            record.check(&mut net).unwrap_err(),
            "layer 1 holds 99 zero weights of 200, but the pruning record says 100 of 200; the file was edited or damaged"
        );
    }
}

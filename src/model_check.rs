//! Checking a model read from a file before it scores anything: the network on its own
//! (`Network::validate`: widths chain through every layer, sizes within limits), then the
//! network against its pipeline (inputs = the encoded width, outputs = what the target
//! needs), the target itself (a classifier has at least two labels) and each series (T x C
//! columns, one mean and deviation per channel: encoding indexes by both). A file edited by
//! hand or damaged is refused here with what was found and what was expected, instead of
//! panicking or allocating without bound when it runs. The checkpoint reader uses
//! `check_network` too.

use crate::nn::{Network, NetworkError};
use crate::preprocess::{Feature, Pipeline, TargetEncoder, Task};

/// Why a model (or a checkpoint's network and pipeline) cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelProblem {
    /// The network does not fit together (a layer's width, a size limit, ...).
    #[error(transparent)]
    Network(#[from] NetworkError),

    /// A classification target with fewer than two labels.
    #[error("the classification target has {labels} labels; expected at least 2")]
    TooFewLabels {
        /// The labels in the file.
        labels: usize,
    },

    /// A network whose input width differs from the pipeline's encoded width.
    #[error("the network takes {network} inputs; expected {pipeline}, the inputs the pipeline encodes its feature columns into")]
    Inputs {
        /// The network's `n_inputs`.
        network: usize,
        /// The pipeline's encoded width.
        pipeline: usize,
    },

    /// A network whose output width differs from the target's (one output per class
    /// label, or one value for regression).
    #[error("the network gives {network} outputs; expected {}", expected_outputs(.task, *.target))]
    Outputs {
        /// The width the last layer gives.
        network: usize,
        /// The outputs the target needs.
        target: usize,
        /// The target's task.
        task: Task,
    },

    /// A series whose columns are not its steps times its channels, or whose means and
    /// standard deviations are not one per channel.
    #[error("the series '{name}' has {found}; expected {expected}")]
    Series {
        /// The series' name in the file.
        name: String,
        /// What the file holds: `35 columns`.
        found: String,
        /// What its shape needs: `36 columns, 3 steps of 12 channels`.
        expected: String,
    },

    /// A model whose `task` differs from its target encoder's.
    #[error(
        "the model's task is {model} but its target is encoded for {target}; expected the same"
    )]
    Task {
        /// The model's `task`.
        model: Task,
        /// The target encoder's task.
        target: Task,
    },
}

/// "3, one per class label" or "1 (regression)".
fn expected_outputs(task: &Task, target: usize) -> String {
    match task {
        Task::Classification => format!("{target}, one per class label"),
        Task::Regression => format!("{target} (regression)"),
    }
}

/// Each series of `pipeline` against its shape (`SequenceColumn::shape_problem`). Before
/// the pipeline's width is computed, as that multiplies T by C.
fn check_series(pipeline: &Pipeline) -> Result<(), ModelProblem> {
    for feature in &pipeline.features {
        if let Feature::Sequence(series) = feature {
            if let Some((found, expected)) = series.shape_problem() {
                return Err(ModelProblem::Series {
                    name: series.name.clone(),
                    found,
                    expected,
                });
            }
        }
    }
    Ok(())
}

/// Check `network` on its own and against `pipeline`: the target (at least two labels
/// for classification), each series (`check_series`), the network's layers
/// (`Network::validate`), its input width
/// (the pipeline's encoded width) and its output width (one per label; 1 for regression,
/// so a binary classifier has two outputs).
pub fn check_network(network: &Network, pipeline: &Pipeline) -> Result<(), ModelProblem> {
    if let TargetEncoder::Classification { labels } = &pipeline.target_encoder {
        if labels.len() < 2 {
            return Err(ModelProblem::TooFewLabels {
                labels: labels.len(),
            });
        }
    }
    check_series(pipeline)?;
    network.validate()?;
    if network.n_inputs != pipeline.n_inputs() {
        return Err(ModelProblem::Inputs {
            network: network.n_inputs,
            pipeline: pipeline.n_inputs(),
        });
    }
    let target = pipeline.target_encoder.n_outputs();
    if network.n_outputs() != target {
        return Err(ModelProblem::Outputs {
            network: network.n_outputs(),
            target,
            task: pipeline.task(),
        });
    }
    Ok(())
}

/// `check_network`, and that the model's recorded `task` is its pipeline's.
pub fn check_model(task: Task, network: &Network, pipeline: &Pipeline) -> Result<(), ModelProblem> {
    if task != pipeline.task() {
        return Err(ModelProblem::Task {
            model: task,
            target: pipeline.task(),
        });
    }
    check_network(network, pipeline)
}

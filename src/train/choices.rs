//! The values of training settings that are more than a number: the loss, optimizer and
//! class-weight choices, convolution layers, the ranges numbers must lie in, and a setting
//! that differs between two runs.

use serde::{Deserialize, Serialize};

use crate::nn::Activation;

/// The activation of the hidden dense layers: one given, or `Auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationChoice {
    /// tanh for a network of dense layers only, ReLU after convolutions and sequence or
    /// text encoders: on the small tabular sets tanh beat ReLU (docs/defaults.md), while
    /// behind an encoder ReLU kept the better scores.
    #[default]
    Auto,
    /// max(0, x).
    Relu,
    /// x, or a small slope below 0.
    LeakyRelu,
    /// The hyperbolic tangent.
    Tanh,
    /// The logistic function.
    Sigmoid,
}

impl ActivationChoice {
    /// The activation of a network that is dense layers only (`plain`) or not.
    pub fn resolve(self, plain: bool) -> Activation {
        match self {
            ActivationChoice::Auto if plain => Activation::Tanh,
            ActivationChoice::Auto | ActivationChoice::Relu => Activation::Relu,
            ActivationChoice::LeakyRelu => Activation::LeakyRelu,
            ActivationChoice::Tanh => Activation::Tanh,
            ActivationChoice::Sigmoid => Activation::Sigmoid,
        }
    }
}

impl From<Activation> for ActivationChoice {
    fn from(activation: Activation) -> Self {
        match activation {
            Activation::Relu => ActivationChoice::Relu,
            Activation::LeakyRelu => ActivationChoice::LeakyRelu,
            Activation::Tanh => ActivationChoice::Tanh,
            Activation::Sigmoid => ActivationChoice::Sigmoid,
        }
    }
}

/// The loss: cross-entropy for classification, MSE for regression, or one given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossChoice {
    /// The loss of the task.
    #[default]
    Auto,
    /// Softmax cross-entropy (classification only).
    CrossEntropy,
    /// Mean squared error on the standardised target (regression only).
    Mse,
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerChoice {
    /// Adam; with weight decay, AdamW's decoupled decay.
    #[default]
    Adam,
    /// Stochastic gradient descent with momentum; weight decay as L2.
    Sgd,
}

/// Weights of the classes in the loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeights {
    /// `n_rows / (n_classes · class count)` over the training rows.
    Balanced,
    /// (label, weight) pairs; classes not listed weigh 1.
    Given(Vec<(String, f32)>),
}

/// One convolution layer of a CNN: `filters` output channels, a `kernel` x `kernel`
/// window with "same" padding, followed by ReLU and 2x2 max-pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvLayer {
    /// Output channels.
    pub filters: usize,
    /// Side of the square kernel.
    pub kernel: usize,
}

/// A range a setting's value must lie in, with how to say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Greater than 0 (and finite).
    Positive,
    /// At least 0 (and finite).
    NonNegative,
    /// In [0, 1).
    Fraction,
    /// In (0, 1].
    UnitInterval,
    /// In [0, 1].
    ZeroToOne,
    /// A whole number of at least this.
    AtLeast(usize),
}

impl Bound {
    /// Whether `value` lies in the range.
    pub fn holds(self, value: f64) -> bool {
        match self {
            Bound::Positive => value.is_finite() && value > 0.0,
            Bound::NonNegative => value.is_finite() && value >= 0.0,
            Bound::Fraction => (0.0..1.0).contains(&value),
            Bound::UnitInterval => value > 0.0 && value <= 1.0,
            Bound::ZeroToOne => (0.0..=1.0).contains(&value),
            Bound::AtLeast(n) => value >= n as f64,
        }
    }

    /// What is expected, e.g. "a number greater than 0".
    pub fn expected(self) -> String {
        match self {
            Bound::Positive => "a number greater than 0".to_string(),
            Bound::NonNegative => "a number of at least 0".to_string(),
            Bound::Fraction => "a number from 0 up to (not including) 1".to_string(),
            Bound::UnitInterval => "a number greater than 0 and at most 1".to_string(),
            Bound::ZeroToOne => "a number from 0 to 1".to_string(),
            Bound::AtLeast(n) => format!("a whole number of at least {n}"),
        }
    }
}

/// One setting whose value differs between two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDifference {
    /// The field name in `TrainSettings`.
    pub setting: String,
    /// This run's value, as JSON text.
    pub now: String,
    /// The other run's value, as JSON text.
    pub then: String,
}

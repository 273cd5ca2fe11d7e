//! The search space of a study: which values each tuned setting may take, the defaults,
//! reading a space file (JSON) that narrows or widens them, and drawing one trial's
//! settings from a seeded RNG.

use std::path::Path;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::Activation;
use crate::train::{
    AttentionLayers, Cell, EncoderSettings, OptimizerChoice, Pooling, RecurrentLayer, TextEncoder,
    TrainSettings,
};

/// A range of numbers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// The lowest value.
    pub min: f64,
    /// The highest value.
    pub max: f64,
}

/// The values each tuned setting may take. `SearchSpace::default()` lists the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Learning rate, drawn log-uniformly. Default: 1e-4 to 0.1.
    pub lr: Range,
    /// Number of hidden layers, a whole number drawn uniformly. Default: 1 to 3.
    pub layers: Range,
    /// Widths a hidden layer may have, each drawn apart. Default: 32, 64, 128, 256.
    pub widths: Vec<usize>,
    /// Activations of the hidden layers. Default: relu, leaky_relu, tanh.
    pub activation: Vec<Activation>,
    /// Dropout rate, drawn uniformly, in [0, 1). Default: 0 to 0.5.
    pub dropout: Range,
    /// Weight decay, drawn log-uniformly (a range of 0 to 0 turns it off). Default: 1e-6
    /// to 1e-2.
    pub weight_decay: Range,
    /// Rows per mini-batch. Default: 32, 64, 128, 256.
    pub batch_size: Vec<usize>,
    /// Optimizers. Default: adam, sgd.
    pub optimizer: Vec<OptimizerChoice>,
    /// Encoders of the series and text blocks (each as `train`'s encoder flags give
    /// them; `{}` is csvnn's default). Empty: not searched, the study's own encoders
    /// serve (and nothing is drawn, so studies without it keep their trials). See
    /// `with_default_encoders`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encoders: Vec<EncoderSettings>,
}

impl Default for SearchSpace {
    fn default() -> Self {
        SearchSpace {
            lr: Range {
                min: 1e-4,
                max: 0.1,
            },
            layers: Range { min: 1.0, max: 3.0 },
            widths: vec![32, 64, 128, 256],
            activation: vec![Activation::Relu, Activation::LeakyRelu, Activation::Tanh],
            dropout: Range { min: 0.0, max: 0.5 },
            weight_decay: Range {
                min: 1e-6,
                max: 1e-2,
            },
            batch_size: vec![32, 64, 128, 256],
            optimizer: vec![OptimizerChoice::Adam, OptimizerChoice::Sgd],
            encoders: Vec::new(),
        }
    }
}

/// The settings one trial draws; the rest of its `TrainSettings` are the study's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialSettings {
    /// The optimizer.
    pub optimizer: OptimizerChoice,
    /// Learning rate.
    pub lr: f32,
    /// Hidden layer widths, input side first.
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers.
    pub activation: Activation,
    /// Dropout rate after each hidden layer.
    pub dropout: f32,
    /// Weight decay.
    pub weight_decay: f32,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// The encoders of the series and text blocks, when the space searches them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoders: Option<EncoderSettings>,
}

impl TrialSettings {
    /// `base` with these settings.
    pub fn apply(&self, base: &TrainSettings) -> TrainSettings {
        TrainSettings {
            optimizer: self.optimizer,
            lr: self.lr,
            hidden: self.hidden.clone(),
            activation: self.activation.into(),
            dropout: self.dropout,
            weight_decay: self.weight_decay,
            batch_size: self.batch_size,
            encoders: self
                .encoders
                .clone()
                .unwrap_or_else(|| base.encoders.clone()),
            ..base.clone()
        }
    }

    /// One short line: `adam lr=0.0031 64-32 relu dropout=0.12 wd=1.2e-5 batch=64`.
    pub fn summary(&self) -> String {
        let optimizer = match self.optimizer {
            OptimizerChoice::Adam => "adam",
            OptimizerChoice::Sgd => "sgd",
        };
        let hidden: Vec<String> = self.hidden.iter().map(|w| w.to_string()).collect();
        let activation = serde_json::to_value(self.activation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let encoder = match &self.encoders {
            Some(e) => format!(" encoder={}", encoder_label(e)),
            None => String::new(),
        };
        format!(
            "{optimizer} lr={:.3e} {} {activation} dropout={:.2} wd={:.1e} batch={}{encoder}",
            self.lr,
            hidden.join("-"),
            self.dropout,
            self.weight_decay,
            self.batch_size
        )
    }
}

/// Encoders in the words of `train`'s flags: `gru:64`, `attention:4:32:1+mean`,
/// `text:gru`; `default` for csvnn's own.
pub fn encoder_label(e: &EncoderSettings) -> String {
    let mut parts = Vec::new();
    if let Some(rnn) = &e.rnn {
        let layers: Vec<String> = rnn
            .iter()
            .map(|l| format!("{}:{}", l.cell.name(), l.hidden))
            .collect();
        parts.push(layers.join(","));
    }
    if let Some(a) = &e.attention {
        parts.push(format!("attention:{}:{}:{}", a.heads, a.dim, a.layers));
    }
    if e.text_encoder != TextEncoder::Bag {
        let name = serde_json::to_value(e.text_encoder)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        parts.push(format!("text:{name}"));
    }
    let mut label = if parts.is_empty() {
        "default".to_string()
    } else {
        parts.join(" ")
    };
    if let Some(pool) = e.pool {
        let name = serde_json::to_value(pool)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        label += &format!("+{name}");
    }
    label
}

/// The keys a space file may hold, in the order problems are looked for.
const KEYS: [&str; 9] = [
    "lr",
    "layers",
    "widths",
    "activation",
    "dropout",
    "weight_decay",
    "batch_size",
    "optimizer",
    "encoder",
];

impl SearchSpace {
    /// Read a space file: a JSON object whose keys (each optional) replace the defaults,
    /// e.g. `{"lr": {"min": 1e-3, "max": 1e-2}, "widths": [16, 32]}`. A key that is
    /// unknown, of the wrong shape or out of range is an error naming it.
    pub fn from_file(path: &Path) -> Result<SearchSpace> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&shown, e))?;
        SearchSpace::from_json(&text)
            .map_err(|problem| Error::config(format!("{shown}: {problem}")))
    }

    /// A space from the text of a space file; the error says which key is wrong and why.
    pub fn from_json(text: &str) -> std::result::Result<SearchSpace, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or("expected a JSON object of settings to tune")?;
        if let Some(key) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown key `{key}`; expected some of {}",
                KEYS.join(", ")
            ));
        }
        let mut space = SearchSpace::default();
        for key in KEYS {
            let Some(v) = object.get(key) else { continue };
            let shape = |expected: &str| format!("`{key}`: expected {expected}");
            match key {
                "lr" | "layers" | "dropout" | "weight_decay" => {
                    let range: Range = serde_json::from_value(v.clone())
                        .map_err(|_| shape("an object {\"min\": number, \"max\": number}"))?;
                    match key {
                        "lr" => space.lr = range,
                        "layers" => space.layers = range,
                        "dropout" => space.dropout = range,
                        _ => space.weight_decay = range,
                    }
                }
                "widths" | "batch_size" => {
                    let list: Vec<usize> = serde_json::from_value(v.clone())
                        .map_err(|_| shape("a list of whole numbers"))?;
                    if key == "widths" {
                        space.widths = list;
                    } else {
                        space.batch_size = list;
                    }
                }
                "activation" => {
                    space.activation = serde_json::from_value(v.clone())
                        .map_err(|_| shape("a list of relu, leaky_relu, tanh, sigmoid"))?;
                }
                "encoder" => {
                    space.encoders = serde_json::from_value(v.clone()).map_err(|_| {
                        shape("a list of encoder objects, e.g. [{}, {\"rnn\": [{\"cell\": \"gru\", \"hidden\": 64}]}, {\"attention\": {\"heads\": 4, \"dim\": 32, \"layers\": 1}}, {\"text_encoder\": \"gru\"}]")
                    })?;
                }
                _ => {
                    space.optimizer = serde_json::from_value(v.clone())
                        .map_err(|_| shape("a list of adam, sgd"))?;
                }
            }
        }
        space.check()?;
        Ok(space)
    }

    /// Check every range; the first problem, naming its key, is the error.
    pub fn check(&self) -> std::result::Result<(), String> {
        let ordered = |key: &str, r: Range| {
            if !(r.min.is_finite() && r.max.is_finite()) {
                Err(format!("`{key}`: min and max must be finite numbers"))
            } else if r.min > r.max {
                Err(format!("`{key}`: min {} is above max {}", r.min, r.max))
            } else {
                Ok(())
            }
        };
        ordered("lr", self.lr)?;
        if self.lr.min <= 0.0 {
            return Err(format!(
                "`lr`: min {} must be above 0 (the learning rate is drawn log-uniformly)",
                self.lr.min
            ));
        }
        ordered("layers", self.layers)?;
        if self.layers.min < 1.0 || self.layers.min.fract() != 0.0 || self.layers.max.fract() != 0.0
        {
            return Err(format!(
                "`layers`: expected whole numbers of at least 1, got min {} and max {}",
                self.layers.min, self.layers.max
            ));
        }
        ordered("dropout", self.dropout)?;
        if self.dropout.min < 0.0 || self.dropout.max >= 1.0 {
            return Err(format!(
                "`dropout`: expected 0 <= min <= max < 1, got min {} and max {}",
                self.dropout.min, self.dropout.max
            ));
        }
        ordered("weight_decay", self.weight_decay)?;
        let wd = self.weight_decay;
        if wd.min < 0.0 || (wd.min == 0.0 && wd.max > 0.0) {
            return Err(format!(
                "`weight_decay`: min {} must be above 0 (it is drawn log-uniformly; use min 0 and max 0 to turn it off)",
                wd.min
            ));
        }
        let positive = |key: &str, list: &[usize]| {
            if list.is_empty() {
                Err(format!(
                    "`{key}`: the list is empty; expected at least one value"
                ))
            } else if list.contains(&0) {
                Err(format!(
                    "`{key}`: 0 is not allowed; expected whole numbers of at least 1"
                ))
            } else {
                Ok(())
            }
        };
        positive("widths", &self.widths)?;
        positive("batch_size", &self.batch_size)?;
        if self.activation.is_empty() {
            return Err("`activation`: the list is empty; expected at least one value".into());
        }
        if self.optimizer.is_empty() {
            return Err("`optimizer`: the list is empty; expected at least one value".into());
        }
        Ok(())
    }

    /// Draw one trial's settings. The draws happen in a fixed order, so a seeded RNG gives
    /// the same trials on every run.
    pub fn sample(&self, rng: &mut impl Rng) -> TrialSettings {
        let log_uniform = |rng: &mut dyn rand::RngCore, r: Range| -> f64 {
            if r.min >= r.max {
                r.min
            } else {
                rng.gen_range(r.min.ln()..=r.max.ln())
                    .exp()
                    .clamp(r.min, r.max)
            }
        };
        let optimizer = self.optimizer[rng.gen_range(0..self.optimizer.len())];
        let lr = log_uniform(rng, self.lr) as f32;
        let n_layers = rng.gen_range(self.layers.min as usize..=self.layers.max as usize);
        let hidden = (0..n_layers)
            .map(|_| self.widths[rng.gen_range(0..self.widths.len())])
            .collect();
        let activation = self.activation[rng.gen_range(0..self.activation.len())];
        let dropout = if self.dropout.min >= self.dropout.max {
            self.dropout.min
        } else {
            rng.gen_range(self.dropout.min..self.dropout.max)
        } as f32;
        let weight_decay = log_uniform(rng, self.weight_decay) as f32;
        let batch_size = self.batch_size[rng.gen_range(0..self.batch_size.len())];
        // Drawn last and only when searched, so that other studies keep their trials.
        let encoders = (!self.encoders.is_empty())
            .then(|| self.encoders[rng.gen_range(0..self.encoders.len())].clone());
        TrialSettings {
            optimizer,
            lr,
            hidden,
            activation,
            dropout,
            weight_decay,
            batch_size,
            encoders,
        }
    }

    /// This space, searching the encoders too when `base` has a series or declared text
    /// columns and neither the space nor `base` names encoders: csvnn's default, a GRU of
    /// 64 and one attention block (4 heads of 32, mean pooling) for a series; the bag and
    /// a token GRU for text.
    pub fn with_default_encoders(mut self, base: &TrainSettings) -> SearchSpace {
        if !self.encoders.is_empty() || !base.encoders.is_unset() {
            return self;
        }
        let default = EncoderSettings::new();
        if base.kinds.sequence_shape.is_some() {
            self.encoders = vec![
                default.clone(),
                EncoderSettings {
                    rnn: Some(vec![RecurrentLayer {
                        cell: Cell::Gru,
                        hidden: 64,
                    }]),
                    ..default.clone()
                },
                EncoderSettings {
                    attention: Some(AttentionLayers {
                        heads: 4,
                        dim: 32,
                        layers: 1,
                    }),
                    pool: Some(Pooling::Mean),
                    ..default
                },
            ];
        } else if !base.kinds.text.is_empty() {
            self.encoders = vec![
                default.clone(),
                EncoderSettings {
                    text_encoder: TextEncoder::Gru,
                    ..default
                },
            ];
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn a_space_file_replaces_the_keys_it_names() {
        let space = SearchSpace::from_json(r#"{"lr": {"min": 0.001, "max": 0.01}, "widths": [8]}"#)
            .unwrap();
        assert_eq!(
            space.lr,
            Range {
                min: 0.001,
                max: 0.01
            }
        );
        assert_eq!(space.widths, vec![8]);
        assert_eq!(space.batch_size, SearchSpace::default().batch_size);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let t = space.sample(&mut rng);
            assert!((0.001..=0.01).contains(&t.lr), "{}", t.lr);
            assert!(t.hidden.iter().all(|&w| w == 8));
            assert!((1..=3).contains(&t.hidden.len()));
            assert!((0.0..0.5).contains(&t.dropout));
        }
    }

    #[test]
    fn bad_ranges_name_the_key() {
        let err = |text: &str| SearchSpace::from_json(text).unwrap_err();
        assert_eq!(
            err(r#"{"lr": {"min": 0, "max": 0.1}}"#),
            "`lr`: min 0 must be above 0 (the learning rate is drawn log-uniformly)"
        );
        assert_eq!(
            err(r#"{"layers": {"min": 3, "max": 1}}"#),
            "`layers`: min 3 is above max 1"
        );
        assert_eq!(
            err(r#"{"dropout": {"min": 0, "max": 1}}"#),
            "`dropout`: expected 0 <= min <= max < 1, got min 0 and max 1"
        );
        assert_eq!(
            err(r#"{"widths": []}"#),
            "`widths`: the list is empty; expected at least one value"
        );
        assert_eq!(
            err(r#"{"activation": ["swish"]}"#),
            "`activation`: expected a list of relu, leaky_relu, tanh, sigmoid"
        );
        assert!(err(r#"{"epochs": 3}"#).starts_with("unknown key `epochs`"));
        assert_eq!(
            SearchSpace::from_json(r#"{"weight_decay": {"min": 0, "max": 0}}"#)
                .unwrap()
                .weight_decay,
            Range { min: 0.0, max: 0.0 }
        );
    }

    #[test]
    fn encoders_are_searched_for_series_and_text_only() {
        let plain = SearchSpace::default().with_default_encoders(&TrainSettings::default());
        assert!(plain.encoders.is_empty());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(plain.sample(&mut rng).encoders, None);
        let mut series = TrainSettings::default();
        series.kinds.sequence_shape = Some("25x12".parse().unwrap());
        let space = SearchSpace::default().with_default_encoders(&series);
        let labels: Vec<String> = space.encoders.iter().map(encoder_label).collect();
        assert_eq!(labels, ["default", "gru:64", "attention:4:32:1+mean"]);
        // The draws before the encoder are those of a space that does not search it.
        let (mut a, mut b) = (ChaCha8Rng::seed_from_u64(5), ChaCha8Rng::seed_from_u64(5));
        let (with, without) = (space.sample(&mut a), plain.sample(&mut b));
        assert_eq!(with.lr, without.lr);
        assert_eq!(with.hidden, without.hidden);
        assert!(with.encoders.is_some());
        assert!(with.summary().contains(" encoder="), "{}", with.summary());
        let mut text = TrainSettings::default();
        text.kinds.text = vec!["tweet".into()];
        let space = SearchSpace::default().with_default_encoders(&text);
        let labels: Vec<String> = space.encoders.iter().map(encoder_label).collect();
        assert_eq!(labels, ["default", "text:gru"]);
        // Encoders the study was given are not searched.
        series.encoders.rnn = Some(vec![RecurrentLayer {
            cell: Cell::Lstm,
            hidden: 8,
        }]);
        assert!(SearchSpace::default()
            .with_default_encoders(&series)
            .encoders
            .is_empty());
        // A space file names them as train's settings do; a bad shape says what it expects.
        let space =
            SearchSpace::from_json(r#"{"encoder": [{}, {"text_encoder": "lstm"}]}"#).unwrap();
        assert_eq!(space.encoders.len(), 2);
        let err = SearchSpace::from_json(r#"{"encoder": ["gru"]}"#).unwrap_err();
        assert!(
            err.starts_with("`encoder`: expected a list of encoder objects"),
            "{err}"
        );
    }
}

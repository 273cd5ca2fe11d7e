//! The distillation flags of `csvnn train`: a teacher model and how much to learn from it.

use std::path::PathBuf;

use clap::Args;

use super::common::parse_positive_f32;
use csvnn::train::{Bound, DistillSettings};

/// `--teacher`, `--distill-temperature`, `--distill-weight`.
#[derive(Debug, Clone, Args)]
pub struct DistillArgs {
    /// Distillation: train on this model's softened probabilities (regression: its
    /// predictions) as well as on the labels. It scores the training rows through its own
    /// pipeline, so it may differ from the student in columns and network.
    #[arg(long, value_name = "BIG.json")]
    pub teacher: Option<PathBuf>,

    /// The softmax temperature of the distillation term (default 2).
    #[arg(long, value_name = "T", requires = "teacher", allow_negative_numbers = true, value_parser = parse_positive_f32)]
    pub distill_temperature: Option<f32>,

    /// The weight of the teacher's term, from 0 to 1; the labels' term gets the rest
    /// (default 0.5).
    #[arg(long, value_name = "A", requires = "teacher", allow_negative_numbers = true, value_parser = parse_distill_weight)]
    pub distill_weight: Option<f32>,
}

/// `--distill-weight`: a number in [0, 1].
fn parse_distill_weight(value: &str) -> Result<f32, String> {
    match value.parse::<f32>() {
        Ok(v) if Bound::ZeroToOne.holds(v as f64) => Ok(v),
        _ => Err(format!("expected {}", Bound::ZeroToOne.expected())),
    }
}

impl DistillArgs {
    /// The library's distillation settings, when a teacher is given.
    pub fn to_settings(&self) -> Option<DistillSettings> {
        let teacher = self.teacher.as_ref()?;
        let mut settings = DistillSettings::new(teacher);
        if let Some(t) = self.distill_temperature {
            settings.temperature = t;
        }
        if let Some(a) = self.distill_weight {
            settings.weight = a;
        }
        Some(settings)
    }
}

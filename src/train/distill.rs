//! Distillation (Hinton et al., 2015): a student trained on a teacher model's softened
//! probabilities as well as on the labels. The teacher scores the training rows once,
//! through its own pipeline from the raw table, before training; the scores travel with
//! the rows as extra target columns, so the loop and its batches are unchanged.
//!
//! Classification: per row, `A·T²·KL(softmax(t/T) ‖ softmax(z/T)) + (1 − A)·CE(z, y)`.
//! Regression: the target becomes `A·teacher + (1 − A)·label` (standardised) under MSE.
//! Validation (loss, metric, early stopping) stays on the labels.

use std::path::PathBuf;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use serde::{Deserialize, Serialize};

use super::trainer::{Dataset, OwnedTargets};
use crate::data::RawTable;
use crate::error::{Error, Result};
use crate::model::{softmax_rows, DistillNote, Model, Predictions};
use crate::nn::{Loss, SoftmaxCrossEntropy, Targets};
use crate::preprocess::{Pipeline, TargetEncoder};

/// The default softmax temperature.
pub const DEFAULT_TEMPERATURE: f32 = 2.0;
/// The default weight of the teacher's term.
pub const DEFAULT_DISTILL_WEIGHT: f32 = 0.5;

/// Which teacher to learn from, and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillSettings {
    /// The teacher's model file.
    pub teacher: PathBuf,
    /// Softmax temperature T, above 0. Default: 2.
    pub temperature: f32,
    /// Weight A of the teacher's term, in [0, 1]. Default: 0.5.
    pub weight: f32,
}

impl DistillSettings {
    /// `teacher` with the default temperature and weight.
    pub fn new(teacher: impl Into<PathBuf>) -> Self {
        DistillSettings {
            teacher: teacher.into(),
            temperature: DEFAULT_TEMPERATURE,
            weight: DEFAULT_DISTILL_WEIGHT,
        }
    }

    /// What the student's model records of its teacher.
    pub fn note(&self) -> DistillNote {
        DistillNote {
            teacher: self.teacher.file_name().map_or_else(
                || self.teacher.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            temperature: self.temperature,
            weight: self.weight,
        }
    }
}

/// The training rows `rows` of `table` with the teacher's scores as their targets (see
/// the module docs), checked against the student's `pipeline`: same task, target and
/// classes.
pub fn distilled_dataset(
    settings: &DistillSettings,
    table: &RawTable,
    rows: &[usize],
    pipeline: &Pipeline,
    data: &Dataset,
) -> Result<Dataset> {
    let teacher = Model::load(&settings.teacher)?;
    let shown = settings.teacher.display().to_string();
    let refuse = |message: String| Error::ModelFile {
        path: shown.clone(),
        message,
    };
    if teacher.task != pipeline.task() {
        return Err(refuse(format!(
            "the teacher does {} but this run does {}",
            teacher.task,
            pipeline.task()
        )));
    }
    if teacher.pipeline.target != pipeline.target {
        return Err(refuse(format!(
            "the teacher predicts '{}' but this run's target is '{}'",
            teacher.pipeline.target, pipeline.target
        )));
    }
    let (labels, theirs) = (
        pipeline.target_encoder.labels(),
        teacher.pipeline.target_encoder.labels(),
    );
    if labels != theirs {
        return Err(refuse(format!(
            "the teacher's classes ({}) differ from the training rows' ({})",
            theirs.join(", "),
            labels.join(", ")
        )));
    }
    let x = teacher.pipeline.transform(table, Some(rows))?.x;
    let y = match (&data.y, &pipeline.target_encoder) {
        (OwnedTargets::Classes(classes), _) => {
            let logits = teacher.network_outputs(x.view());
            OwnedTargets::Values(soft_targets(logits.view(), classes, settings.temperature))
        }
        (OwnedTargets::Values(own), TargetEncoder::Regression { mean, std }) => {
            let Predictions::Values(values) = teacher.predict(x.view()) else {
                unreachable!("the teacher does regression, as checked");
            };
            let a = settings.weight;
            let mut mixed = own.clone();
            for (m, v) in mixed.iter_mut().zip(values) {
                *m = a * ((v - mean) / std) as f32 + (1.0 - a) * *m;
            }
            OwnedTargets::Values(mixed)
        }
        (OwnedTargets::Values(_), TargetEncoder::Classification { .. }) => {
            unreachable!("value targets come from a regression encoder")
        }
    };
    Ok(Dataset {
        x: data.x.clone(),
        y,
    })
}

/// (n, k + 1): the teacher's probabilities at temperature `t`, then the row's class.
fn soft_targets(logits: ArrayView2<f32>, classes: &[u32], t: f32) -> Array2<f32> {
    let probs = softmax_rows(logits.mapv(|z| z / t).view());
    let k = probs.ncols();
    Array2::from_shape_fn((probs.nrows(), k + 1), |(i, j)| {
        if j < k {
            probs[[i, j]] as f32
        } else {
            classes[i] as f32
        }
    })
}

/// The distillation loss. Its targets are the rows of `soft_targets` while training;
/// class targets (the validation rows) are scored by the cross-entropy alone.
#[derive(Debug, Clone)]
pub struct DistillLoss {
    /// The labels' loss (with the class weights, if any).
    pub ce: SoftmaxCrossEntropy,
    /// Softmax temperature T.
    pub temperature: f32,
    /// Weight A of the teacher's term.
    pub weight: f32,
}

impl DistillLoss {
    /// Loss of the batch, and its gradient into `grad` when given.
    fn compute(
        &self,
        z: ArrayView2<f32>,
        soft: ArrayView2<f32>,
        mut grad: Option<ArrayViewMut2<f32>>,
    ) -> f64 {
        let k = z.ncols();
        let (t, a) = (self.temperature as f64, self.weight as f64);
        let n = z.nrows() as f64;
        let class = |row: &ndarray::ArrayView1<f32>| row[k] as usize;
        let w = |c: usize| self.ce.class_weights.as_ref().map_or(1.0, |w| w[c] as f64);
        let total_weight: f64 = soft.axis_iter(Axis(0)).map(|r| w(class(&r))).sum();
        let mut loss = 0.0;
        for (i, (z, s)) in z
            .axis_iter(Axis(0))
            .zip(soft.axis_iter(Axis(0)))
            .enumerate()
        {
            let c = class(&s);
            let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
            // log-sum-exp at temperature T and at 1, shifted by the same maximum.
            let (mut sum_t, mut sum_1) = (0.0f64, 0.0f64);
            for &v in z {
                sum_t += ((v as f64 - max) / t).exp();
                sum_1 += (v as f64 - max).exp();
            }
            let (lse_t, lse_1) = (max / t + sum_t.ln(), max + sum_1.ln());
            let mut kl = 0.0;
            for j in 0..k {
                let q = s[j] as f64;
                if q > 0.0 {
                    kl += q * (q.ln() - (z[j] as f64 / t - lse_t));
                }
            }
            let ce = lse_1 - z[c] as f64;
            loss += a * t * t * kl / n + (1.0 - a) * w(c) * ce / total_weight;
            if let Some(g) = grad.as_mut() {
                // d/dz: A·T·(p_T − q)/n + (1 − A)·w·(p − onehot)/Σw
                for j in 0..k {
                    let p_t = ((z[j] as f64 - max) / t).exp() / sum_t;
                    let p_1 = (z[j] as f64 - max).exp() / sum_1;
                    let hot = if j == c { 1.0 } else { 0.0 };
                    g[[i, j]] = (a * t * (p_t - s[j] as f64) / n
                        + (1.0 - a) * w(c) * (p_1 - hot) / total_weight)
                        as f32;
                }
            }
        }
        loss
    }
}

impl Loss for DistillLoss {
    fn loss_and_grad(
        &self,
        output: ArrayView2<f32>,
        y: Targets,
        mut grad: ArrayViewMut2<f32>,
    ) -> f64 {
        match y {
            Targets::Values(soft) => self.compute(output, soft, Some(grad.view_mut())),
            Targets::Classes(_) => self.ce.loss_and_grad(output, y, grad),
        }
    }

    fn loss(&self, output: ArrayView2<f32>, y: Targets) -> f64 {
        match y {
            Targets::Values(soft) => self.compute(output, soft, None),
            Targets::Classes(_) => self.ce.loss(output, y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{assert_close, numeric_grad_with_step};
    use rand::{Rng, SeedableRng};

    fn batch(seed: u64) -> (Array2<f32>, Array2<f32>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let z = Array2::from_shape_simple_fn((4, 3), || rng.gen_range(-2.0..2.0f32));
        let teacher = Array2::from_shape_simple_fn((4, 3), || rng.gen_range(-3.0..3.0f32));
        let classes = [0u32, 2, 1, 2];
        (z, soft_targets(teacher.view(), &classes, 2.0))
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        for (seed, weights) in [(1, None), (2, Some(vec![1.0, 3.0, 0.5]))] {
            let (z, soft) = batch(seed);
            let loss = DistillLoss {
                ce: SoftmaxCrossEntropy {
                    class_weights: weights,
                },
                temperature: 2.0,
                weight: 0.7,
            };
            let mut grad = Array2::zeros(z.raw_dim());
            let value = loss.loss_and_grad(z.view(), Targets::Values(soft.view()), grad.view_mut());
            assert!((value - loss.loss(z.view(), Targets::Values(soft.view()))).abs() < 1e-12);
            let mut flat = z.iter().copied().collect::<Vec<_>>();
            let numeric = numeric_grad_with_step(&mut flat, 1e-3, |v| {
                let probe = Array2::from_shape_vec(z.raw_dim(), v.to_vec()).unwrap();
                loss.loss(probe.view(), Targets::Values(soft.view()))
            });
            for (i, (&a, &n)) in grad.iter().zip(&numeric).enumerate() {
                assert_close(a as f64, n, &format!("seed {seed}: logit {i}"));
            }
        }
    }

    #[test]
    fn weight_zero_is_the_cross_entropy_and_one_the_scaled_kl() {
        let (z, soft) = batch(3);
        let classes: Vec<u32> = soft.column(3).iter().map(|&c| c as u32).collect();
        let ce = SoftmaxCrossEntropy::default();
        let labels_only = DistillLoss {
            ce: ce.clone(),
            temperature: 2.0,
            weight: 0.0,
        };
        let expected = ce.loss(z.view(), Targets::Classes(&classes));
        let got = labels_only.loss(z.view(), Targets::Values(soft.view()));
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        // A student equal to the teacher has no KL term.
        let teacher_logits = soft.slice(ndarray::s![.., ..3]).mapv(|p| p.ln() * 2.0);
        let teacher_only = DistillLoss {
            ce,
            temperature: 2.0,
            weight: 1.0,
        };
        let at_teacher = teacher_only.loss(teacher_logits.view(), Targets::Values(soft.view()));
        assert!(at_teacher.abs() < 1e-6, "{at_teacher}");
        assert!(teacher_only.loss(z.view(), Targets::Values(soft.view())) > 1e-3);
    }

    #[test]
    fn validation_rows_are_scored_on_the_labels_alone() {
        let (z, _) = batch(4);
        let classes = [1u32, 0, 2, 2];
        let ce = SoftmaxCrossEntropy::default();
        let loss = DistillLoss {
            ce: ce.clone(),
            temperature: 3.0,
            weight: 0.9,
        };
        assert_eq!(
            loss.loss(z.view(), Targets::Classes(&classes)),
            ce.loss(z.view(), Targets::Classes(&classes))
        );
    }
}

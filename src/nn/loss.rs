//! Losses: value and gradient with respect to the network output, averaged over the batch.
//! Softmax lives here, fused with cross-entropy and computed through log-sum-exp.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};

use super::activation::sigmoid;

// Targets of the wrong kind for a loss (values for cross-entropy, classes for MSE), or of
// a batch size other than the output's, are a bug in the caller, never user input: the
// trainer derives the loss and the targets from the same task, and the model file is
// checked against its target encoder when loaded. So they are `debug_assert!`s, not a
// `Result` on the training hot path; in a release build a mismatched kind gives a NaN loss
// (and a zero gradient), which the trainer reports as a non-finite loss, never a panic.

/// The targets of a batch.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    /// One class index per row.
    Classes(&'a [u32]),
    /// (batch, n_outputs) target values.
    Values(ArrayView2<'a, f32>),
}

/// A loss over a batch of network outputs.
pub trait Loss {
    /// `output`: (batch, n_out). Returns the batch loss and writes d loss / d output into
    /// `grad` (batch, n_out).
    fn loss_and_grad(&self, output: ArrayView2<f32>, y: Targets, grad: ArrayViewMut2<f32>) -> f64;

    /// The batch loss alone.
    fn loss(&self, output: ArrayView2<f32>, y: Targets) -> f64;
}

/// Softmax followed by cross-entropy: `loss_i = logsumexp(z_i) - z_i[y_i]`.
/// With class weights `w` the batch loss is `Σ w[y_i] loss_i / Σ w[y_i]` (as PyTorch does).
#[derive(Debug, Clone, Default)]
pub struct SoftmaxCrossEntropy {
    /// One weight per class (`None`: all 1).
    pub class_weights: Option<Vec<f32>>,
}

impl SoftmaxCrossEntropy {
    fn weight(&self, class: usize) -> f64 {
        self.class_weights.as_ref().map_or(1.0, |w| w[class] as f64)
    }

    /// The class targets (none for value targets: see the note at the top).
    fn classes<'a>(y: Targets<'a>, batch: usize) -> Option<&'a [u32]> {
        match y {
            Targets::Classes(c) => {
                debug_assert_eq!(c.len(), batch, "one class per output row");
                Some(c)
            }
            Targets::Values(_) => {
                debug_assert!(false, "cross-entropy needs class targets");
                None
            }
        }
    }
}

/// log Σ exp(z), computed without overflow: each exp(z - max) in f32 (as
/// `loss_and_grad` computes it), summed in f64.
fn log_sum_exp(z: ndarray::ArrayView1<f32>) -> f64 {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum: f64 = z.iter().map(|&v| (v - max).exp() as f64).sum();
    max as f64 + sum.ln()
}

impl Loss for SoftmaxCrossEntropy {
    fn loss_and_grad(
        &self,
        logits: ArrayView2<f32>,
        y: Targets,
        mut grad: ArrayViewMut2<f32>,
    ) -> f64 {
        let Some(classes) = Self::classes(y, logits.nrows()) else {
            grad.fill(0.0);
            return f64::NAN;
        };
        let total_weight: f64 = classes.iter().map(|&c| self.weight(c as usize)).sum();
        let mut loss = 0.0;
        for ((z, mut g), &c) in logits
            .axis_iter(Axis(0))
            .zip(grad.axis_iter_mut(Axis(0)))
            .zip(classes)
        {
            let c = c as usize;
            // One exp per logit: g = exp(z - max) first, then scaled by w / (Σexp · Σw).
            let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0f64;
            Zip::from(&mut g).and(&z).for_each(|g, &z| {
                *g = (z - max).exp();
                sum += *g as f64;
            });
            let lse = max as f64 + sum.ln();
            let w = self.weight(c);
            loss += w * (lse - z[c] as f64);
            // d/dz = w (softmax(z) - onehot(c)) / Σw
            let scale = w / total_weight;
            let g_scale = (scale / sum) as f32;
            g.mapv_inplace(|e| e * g_scale);
            g[c] -= scale as f32;
        }
        loss / total_weight
    }

    fn loss(&self, logits: ArrayView2<f32>, y: Targets) -> f64 {
        let Some(classes) = Self::classes(y, logits.nrows()) else {
            return f64::NAN;
        };
        let mut loss = 0.0;
        let mut total_weight = 0.0;
        for (z, &c) in logits.axis_iter(Axis(0)).zip(classes) {
            let w = self.weight(c as usize);
            loss += w * (log_sum_exp(z) - z[c as usize] as f64);
            total_weight += w;
        }
        loss / total_weight
    }
}

/// Mean squared error over all outputs: Σ (o - y)² / (batch · n_out).
#[derive(Debug, Clone, Default)]
pub struct Mse;

impl Mse {
    /// The value targets (none for class targets, or for another shape than the
    /// output's: see the note at the top).
    fn values<'a>(y: Targets<'a>, output: &ArrayView2<f32>) -> Option<ArrayView2<'a, f32>> {
        match y {
            Targets::Values(v) if v.dim() == output.dim() => Some(v),
            _ => {
                debug_assert!(false, "the loss needs value targets shaped as the output");
                None
            }
        }
    }
}

impl Loss for Mse {
    fn loss_and_grad(
        &self,
        output: ArrayView2<f32>,
        y: Targets,
        mut grad: ArrayViewMut2<f32>,
    ) -> f64 {
        let Some(y) = Self::values(y, &output) else {
            grad.fill(0.0);
            return f64::NAN;
        };
        let n = output.len() as f64;
        let mut sum = 0.0;
        let scale = (2.0 / n) as f32;
        Zip::from(&mut grad)
            .and(&output)
            .and(&y)
            .for_each(|g, &o, &t| {
                let d = o - t;
                sum += (d as f64) * (d as f64);
                *g = scale * d;
            });
        sum / n
    }

    fn loss(&self, output: ArrayView2<f32>, y: Targets) -> f64 {
        let Some(y) = Self::values(y, &output) else {
            return f64::NAN;
        };
        let n = output.len() as f64;
        let mut sum = 0.0;
        Zip::from(&output).and(&y).for_each(|&o, &t| {
            let d = (o - t) as f64;
            sum += d * d;
        });
        sum / n
    }
}

/// Binary cross-entropy on logits, element-wise over (batch, n_out) targets in {0, 1}:
/// l = max(z, 0) - z·y + ln(1 + e^-|z|), which never overflows. With class weights
/// `[w0, w1]` each element counts `w[y]`; the loss is `Σ w l / Σ w`.
#[derive(Debug, Clone, Default)]
pub struct BinaryCrossEntropy {
    /// Weights of the targets 0 and 1 (`None`: both 1).
    pub class_weights: Option<[f32; 2]>,
}

impl BinaryCrossEntropy {
    fn weight(&self, y: f32) -> f64 {
        self.class_weights
            .map_or(1.0, |w| if y > 0.5 { w[1] as f64 } else { w[0] as f64 })
    }

    fn element_loss(z: f32, y: f32) -> f64 {
        let (z, y) = (z as f64, y as f64);
        z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
    }
}

impl Loss for BinaryCrossEntropy {
    fn loss_and_grad(
        &self,
        logits: ArrayView2<f32>,
        y: Targets,
        mut grad: ArrayViewMut2<f32>,
    ) -> f64 {
        let Some(y) = Mse::values(y, &logits) else {
            grad.fill(0.0);
            return f64::NAN;
        };
        let total_weight: f64 = y.iter().map(|&t| self.weight(t)).sum();
        let mut loss = 0.0;
        Zip::from(&mut grad)
            .and(&logits)
            .and(&y)
            .for_each(|g, &z, &t| {
                let w = self.weight(t);
                loss += w * Self::element_loss(z, t);
                *g = ((w / total_weight) * (sigmoid(z) - t) as f64) as f32;
            });
        loss / total_weight
    }

    fn loss(&self, logits: ArrayView2<f32>, y: Targets) -> f64 {
        let Some(y) = Mse::values(y, &logits) else {
            return f64::NAN;
        };
        let (mut loss, mut total_weight) = (0.0, 0.0);
        Zip::from(&logits).and(&y).for_each(|&z, &t| {
            let w = self.weight(t);
            loss += w * Self::element_loss(z, t);
            total_weight += w;
        });
        loss / total_weight
    }
}

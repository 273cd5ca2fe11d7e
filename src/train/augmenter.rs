//! Applying `Augment` to a training batch: `AugmentLayout` says where each transform acts
//! in a row of inputs (found once from the pipeline), `Augmenter` transforms the batch's
//! copy of the inputs in place with buffers reused from batch to batch, and
//! `mixed_loss_and_grad` is the loss of a mixup batch.
//!
//! The random draws of batch `b` of epoch `e` come from the ChaCha8 generator seeded with
//! the run's seed on its own stream `(e << 32) | b` (the shuffling uses stream 0): they
//! are derived, not stored, so a checkpoint needs no extra state, a run without
//! augmentation draws exactly what it drew before, and the transforms (done on one
//! thread) are the same for any number of threads.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, StandardNormal};

use super::augment::{Augment, AugmentItem};
use super::augment_image::{flip, rotate, shift};
use super::settings_error::SettingsError;
use crate::nn::{valid_steps, Buffer, ImageShape, Loss, Targets};
use crate::preprocess::{Feature, Pipeline};

/// Where the transforms act in a row of network inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AugmentLayout {
    /// The inputs that hold one standardised number (numeric and ordinal columns).
    pub numeric: Vec<usize>,
    /// Text blocks: the input of each block's length column, and its most tokens.
    pub text: Vec<(usize, usize)>,
    /// The image shape, and each input's value for a zero pixel (the fill of pixels
    /// from outside the image), when the rows are images.
    pub image: Option<(ImageShape, Vec<f32>)>,
}

impl AugmentLayout {
    /// The layout of `pipeline`'s inputs for `augment`; an error when a transform has
    /// nothing to act on (token dropout without a text column, noise without numbers,
    /// mixup of sequence blocks, image transforms without an image shape).
    pub fn new(
        augment: &Augment,
        pipeline: &Pipeline,
        image_shape: Option<ImageShape>,
    ) -> Result<Self, SettingsError> {
        let mut layout = AugmentLayout::default();
        if augment.is_none() {
            return Ok(layout);
        }
        let mut sequences = false;
        for (start, feature) in pipeline.blocks() {
            match feature {
                Feature::Numeric(_) | Feature::Ordinal(_) => layout.numeric.push(start),
                Feature::Text(t) => {
                    layout.text.push((start, t.width() - 1));
                    sequences = true;
                }
                Feature::Sequence(_) => sequences = true,
                Feature::Categorical(_) | Feature::Date(_) => {}
            }
        }
        let unfit = |item: &'static str, reason: &'static str| {
            Err(SettingsError::AugmentDoesNotFitData { item, reason })
        };
        if augment.find("token-dropout").is_some() && layout.text.is_empty() {
            return unfit("token-dropout", "needs a text column; the table has none");
        }
        if augment.find("noise").is_some() && layout.numeric.is_empty() {
            return unfit("noise", "needs a numeric column; the table has none");
        }
        if augment.find("mixup").is_some() && sequences {
            return unfit(
                "mixup",
                "cannot mix text columns or series; the table has one",
            );
        }
        if let Some(item) = augment.image_items().next() {
            let Some(shape) = image_shape else {
                return Err(SettingsError::AugmentNeedsImageShape { item: item.name() });
            };
            // A zero pixel standardised by its column (all columns share one scale when
            // the pipeline was fitted with the image shape).
            let fill = pipeline
                .features
                .iter()
                .map(|f| match f {
                    Feature::Numeric(n) => n.transform(Some(0.0)),
                    _ => 0.0,
                })
                .collect();
            layout.image = Some((shape, fill));
        }
        Ok(layout)
    }
}

/// Transforms the batches of a run; its buffers grow on the first batch and are reused.
pub(crate) struct Augmenter<'a> {
    augment: &'a Augment,
    layout: &'a AugmentLayout,
    seed: u64,
    /// Two images: the transform's source and destination.
    image: (Vec<f32>, Vec<f32>),
    /// The batch before mixing.
    unmixed: Buffer,
    /// Each row's mixing partner, as a row of the batch and of the dataset.
    partner: Vec<usize>,
    partner_rows: Vec<usize>,
}

impl<'a> Augmenter<'a> {
    /// An augmenter of `augment` on inputs laid out as `layout`, drawing from `seed`.
    pub fn new(augment: &'a Augment, layout: &'a AugmentLayout, seed: u64) -> Self {
        Augmenter {
            augment,
            layout,
            seed,
            image: (Vec::new(), Vec::new()),
            unmixed: Buffer::default(),
            partner: Vec::new(),
            partner_rows: Vec::new(),
        }
    }

    /// The dataset rows of the mixing partners of the last mixed batch.
    pub fn partner_rows(&self) -> &[usize] {
        &self.partner_rows
    }

    /// Transform `x`, the inputs of the dataset rows `rows` (batch `batch` of `epoch`,
    /// both 1-based), in place; returns mixup's λ when the batch was mixed (its targets
    /// are then λ·own + (1-λ)·partner's, see `partner_rows`).
    pub fn apply(
        &mut self,
        mut x: ArrayViewMut2<f32>,
        rows: &[usize],
        epoch: usize,
        batch: usize,
    ) -> Option<f32> {
        if self.augment.is_none() {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(((epoch as u64) << 32) | batch as u64);
        let mut mixup = None;
        for row in x.axis_iter_mut(Axis(0)) {
            self.augment_row(row, &mut rng);
        }
        for item in &self.augment.0 {
            if let AugmentItem::Mixup(alpha) = *item {
                mixup = Some(self.mix(x.view_mut(), rows, alpha, &mut rng));
            }
        }
        mixup
    }

    /// The transforms of one row, in the order image, noise, token dropout.
    fn augment_row(&mut self, mut row: ndarray::ArrayViewMut1<f32>, rng: &mut ChaCha8Rng) {
        if let Some((shape, fill)) = &self.layout.image {
            let (src, dst) = &mut self.image;
            src.clear();
            src.extend(row.iter().take(shape.len()));
            dst.resize(src.len(), 0.0);
            if src.len() == shape.len() && fill.len() == shape.len() {
                for item in self.augment.image_items() {
                    match *item {
                        AugmentItem::Flip if rng.gen_bool(0.5) => flip(src, dst, *shape),
                        AugmentItem::Rotate(deg) => {
                            rotate(src, dst, *shape, rng.gen_range(-deg..=deg), fill)
                        }
                        AugmentItem::Shift(n) => {
                            let n = n as isize;
                            let (dy, dx) = (rng.gen_range(-n..=n), rng.gen_range(-n..=n));
                            shift(src, dst, *shape, dy, dx, fill);
                        }
                        _ => continue,
                    }
                    std::mem::swap(src, dst);
                }
                row.iter_mut().zip(src.iter()).for_each(|(r, &v)| *r = v);
            }
        }
        for item in &self.augment.0 {
            match *item {
                AugmentItem::Noise(sigma) => {
                    for &i in &self.layout.numeric {
                        let z: f32 = rng.sample(StandardNormal);
                        row[i] += sigma * z;
                    }
                }
                AugmentItem::TokenDropout(p) => {
                    for &(start, steps) in &self.layout.text {
                        let len = valid_steps(row[start], steps);
                        for t in 0..len {
                            if rng.gen::<f32>() < p {
                                row[start + 1 + t] = 0.0;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Mix each row with a partner from a random permutation of the batch:
    /// x_i = λ x_i + (1-λ) x_partner, λ ~ Beta(α, α).
    fn mix(
        &mut self,
        mut x: ArrayViewMut2<f32>,
        rows: &[usize],
        alpha: f32,
        rng: &mut ChaCha8Rng,
    ) -> f32 {
        let lambda =
            Beta::new(alpha as f64, alpha as f64).map_or(1.0, |beta| rng.sample(beta)) as f32;
        self.partner.clear();
        self.partner.extend(0..rows.len());
        self.partner.shuffle(rng);
        self.partner_rows.clear();
        self.partner_rows
            .extend(self.partner.iter().map(|&p| rows[p]));
        self.unmixed.resize(x.nrows(), x.ncols());
        self.unmixed.view_mut().assign(&x);
        let unmixed = self.unmixed.view();
        for (i, mut row) in x.axis_iter_mut(Axis(0)).enumerate() {
            let partner = unmixed.row(self.partner[i]);
            Zip::from(&mut row)
                .and(&partner)
                .for_each(|r, &p| *r = lambda * *r + (1.0 - lambda) * p);
        }
        lambda
    }
}

/// The loss of a mixup batch: λ·loss(own targets) + (1-λ)·loss(partners' targets), and
/// its gradient into `grad` (`scratch` holds the second one). For cross-entropy this is
/// the loss of the mixed soft targets; for MSE it differs from the loss of the mixed
/// targets by a constant, so the gradient is the same.
pub(crate) fn mixed_loss_and_grad(
    loss: &dyn Loss,
    output: ArrayView2<f32>,
    own: Targets,
    partners: Targets,
    lambda: f32,
    mut grad: ArrayViewMut2<f32>,
    scratch: &mut Buffer,
) -> f64 {
    scratch.resize(output.nrows(), output.ncols());
    let a = loss.loss_and_grad(output, own, grad.view_mut());
    let b = loss.loss_and_grad(output, partners, scratch.view_mut());
    Zip::from(&mut grad)
        .and(&scratch.view())
        .for_each(|g, &s| *g = lambda * *g + (1.0 - lambda) * s);
    lambda as f64 * a + (1.0 - lambda as f64) * b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Mse, SoftmaxCrossEntropy};
    use ndarray::{array, Array2};

    fn augment(spec: &str) -> Augment {
        spec.parse().unwrap()
    }

    /// Rows of `[numeric, one-hot a, one-hot b, L, id, id, id, numeric]`.
    fn batch() -> Array2<f32> {
        array![
            [0.5, 1.0, 0.0, 2.0, 4.0, 7.0, 0.0, -1.0],
            [-0.5, 0.0, 1.0, 3.0, 5.0, 6.0, 9.0, 2.0],
            [1.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ]
    }

    fn layout() -> AugmentLayout {
        AugmentLayout {
            numeric: vec![0, 7],
            text: vec![(3, 3)],
            image: None,
        }
    }

    #[test]
    fn noise_touches_only_the_numeric_inputs_and_repeats_per_batch() {
        let (spec, layout) = (augment("noise:0.5"), layout());
        let mut a = Augmenter::new(&spec, &layout, 7);
        let mut x = batch();
        assert_eq!(a.apply(x.view_mut(), &[0, 1, 2], 1, 1), None);
        let before = batch();
        for (j, (col, was)) in x.columns().into_iter().zip(before.columns()).enumerate() {
            let changed = col.iter().zip(was).filter(|(c, w)| c != w).count();
            assert_eq!(changed, if j == 0 || j == 7 { 3 } else { 0 }, "column {j}");
        }
        // The same batch of the same epoch draws the same noise; another batch other noise.
        let mut again = batch();
        Augmenter::new(&spec, &layout, 7).apply(again.view_mut(), &[0, 1, 2], 1, 1);
        assert_eq!(again, x);
        let mut other = batch();
        Augmenter::new(&spec, &layout, 7).apply(other.view_mut(), &[0, 1, 2], 1, 2);
        assert_ne!(other, x);
    }

    #[test]
    fn token_dropout_keeps_the_length_and_only_writes_zeros_to_valid_ids() {
        let (spec, layout) = (augment("token-dropout:0.5"), layout());
        let before = batch();
        let mut dropped = 0;
        for batch_no in 1..20 {
            let mut x = batch();
            Augmenter::new(&spec, &layout, 3).apply(x.view_mut(), &[0, 1, 2], 1, batch_no);
            for (row, was) in x.rows().into_iter().zip(before.rows()) {
                let len = was[3] as usize;
                for j in 0..8 {
                    let is_valid_id = (4..4 + len).contains(&j);
                    if row[j] != was[j] {
                        assert!(is_valid_id && row[j] == 0.0, "column {j}: {}", row[j]);
                        dropped += 1;
                    }
                }
            }
        }
        // 5 valid ids a batch, 19 batches, p = 0.5.
        assert!((20..75).contains(&dropped), "{dropped} dropped");
    }

    #[test]
    fn mixup_mixes_rows_with_partners_by_a_lambda_in_the_unit_interval() {
        let (spec, layout) = (augment("mixup:0.4"), AugmentLayout::default());
        for batch_no in 1..30 {
            let mut x = batch();
            let mut a = Augmenter::new(&spec, &layout, 11);
            let lambda = a.apply(x.view_mut(), &[10, 20, 30], 2, batch_no).unwrap();
            assert!((0.0..=1.0).contains(&lambda), "{lambda}");
            let partners = a.partner_rows().to_vec();
            let mut sorted = partners.clone();
            sorted.sort();
            assert_eq!(sorted, vec![10, 20, 30]);
            let before = batch();
            for i in 0..3 {
                let p = partners[i] / 10 - 1;
                for j in 0..8 {
                    let want = lambda * before[[i, j]] + (1.0 - lambda) * before[[p, j]];
                    assert!((x[[i, j]] - want).abs() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn the_mixup_loss_is_the_loss_of_soft_targets() {
        let logits = array![[0.3f32, -1.2, 2.0], [1.0, 0.5, -0.5]];
        let (own, partners) = ([2u32, 0], [1u32, 0]);
        let lambda = 0.3f32;
        let mut grad = Array2::zeros((2, 3));
        let mut scratch = Buffer::default();
        let ce = SoftmaxCrossEntropy::default();
        let value = mixed_loss_and_grad(
            &ce,
            logits.view(),
            Targets::Classes(&own),
            Targets::Classes(&partners),
            lambda,
            grad.view_mut(),
            &mut scratch,
        );
        // Cross-entropy against soft targets t = λ onehot(own) + (1-λ) onehot(partner):
        // mean of -Σ t log softmax(z), gradient (softmax(z) - t) / batch.
        let mut want = 0.0f64;
        for i in 0..2 {
            let z = logits.row(i);
            let lse = z.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
            let mut t = [0.0f64; 3];
            t[own[i] as usize] += lambda as f64;
            t[partners[i] as usize] += 1.0 - lambda as f64;
            for k in 0..3 {
                let p = (z[k] as f64).exp() / lse.exp();
                want -= t[k] * (z[k] as f64 - lse) / 2.0;
                assert!((grad[[i, k]] as f64 - (p - t[k]) / 2.0).abs() < 1e-6);
            }
        }
        assert!((value - want).abs() < 1e-6, "{value} vs {want}");

        // MSE: the same gradient as the loss of the mixed targets.
        let out = array![[0.5f32], [-1.0]];
        let (ya, yb) = (array![[1.0f32], [0.0]], array![[-2.0f32], [3.0]]);
        let mut grad = Array2::zeros((2, 1));
        mixed_loss_and_grad(
            &Mse,
            out.view(),
            Targets::Values(ya.view()),
            Targets::Values(yb.view()),
            lambda,
            grad.view_mut(),
            &mut scratch,
        );
        let mixed = &ya * lambda + &yb * (1.0 - lambda);
        let mut want = Array2::zeros((2, 1));
        Mse.loss_and_grad(out.view(), Targets::Values(mixed.view()), want.view_mut());
        for (g, w) in grad.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6);
        }
    }

    #[test]
    fn image_transforms_fill_with_the_zero_pixel_value() {
        let shape = ImageShape::new(4, 4, 1);
        let layout = AugmentLayout {
            numeric: (0..16).collect(),
            text: Vec::new(),
            image: Some((shape, vec![-0.25; 16])),
        };
        let spec = augment("shift:3");
        let mut moved = 0;
        for batch_no in 1..10 {
            let mut x = Array2::from_elem((2, 16), 1.0f32);
            Augmenter::new(&spec, &layout, 5).apply(x.view_mut(), &[0, 1], 1, batch_no);
            assert!(x.iter().all(|&v| v == 1.0 || v == -0.25));
            moved += x.iter().filter(|&&v| v == -0.25).count();
        }
        assert!(moved > 0);
    }
}

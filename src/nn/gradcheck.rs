//! Finite-difference gradient checks for every layer, loss and a whole network.
//!
//! The layers compute in f32, so the check uses central differences with a step of 1e-2
//! (1e-3 for whole networks)
//! (the loss itself is accumulated in f64) and accepts a relative error of 1e-2 with an
//! absolute floor of 1e-3. Inputs are drawn away from ReLU's kink so that no difference
//! straddles it.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::activation::sigmoid;
use super::*;

const STEP: f32 = 1e-2;
const REL_TOL: f64 = 1e-2;
const ABS_TOL: f64 = 1e-3;

pub fn assert_close(analytic: f64, numeric: f64, what: &str) {
    let err = (analytic - numeric).abs();
    let scale = analytic.abs().max(numeric.abs());
    assert!(
        err <= ABS_TOL || err <= REL_TOL * scale,
        "{what}: analytic {analytic} vs numeric {numeric}"
    );
}

/// Central difference of `f` with respect to each entry of `values`.
pub fn numeric_grad(values: &mut [f32], f: impl FnMut(&[f32]) -> f64) -> Vec<f64> {
    numeric_grad_with_step(values, STEP, f)
}

pub fn numeric_grad_with_step(
    values: &mut [f32],
    step: f32,
    mut f: impl FnMut(&[f32]) -> f64,
) -> Vec<f64> {
    (0..values.len())
        .map(|i| {
            let keep = values[i];
            values[i] = keep + step;
            let up = f(values);
            values[i] = keep - step;
            let down = f(values);
            values[i] = keep;
            (up - down) / (2.0 * step as f64)
        })
        .collect()
}

/// Random values in ±[0.1, 1.5]: away from zero, where ReLU bends.
pub fn random_matrix(rows: usize, cols: usize, rng: &mut impl Rng) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || {
        let magnitude = rng.gen_range(0.1..1.5f32);
        if rng.gen::<bool>() {
            magnitude
        } else {
            -magnitude
        }
    })
}

/// A scalar probe of a layer's output: L = Σ r ∘ output, so dL/doutput = r.
fn probe(output: ArrayView2<f32>, r: &Array2<f32>) -> f64 {
    output
        .iter()
        .zip(r)
        .map(|(&o, &r)| o as f64 * r as f64)
        .sum()
}

/// Check d probe / d input and d probe / d params of `layer` at a random input.
pub fn check_layer(layer: AnyLayer, rows: usize, cols: usize, seed: u64, name: &str) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = random_matrix(rows, cols, &mut rng);
    check_layer_at(layer, x, &[], &mut rng, &format!("{name} seed {seed}"));
}

/// Check a sequence layer (see `sequence.rs`) on a random batch of `shape` whose rows have
/// the valid steps `lengths` (one per row): its input and parameter gradients against
/// finite differences, and that the length column gets no gradient. The length column
/// itself is not perturbed: lengths are integers.
#[allow(dead_code)] // the sequence layers' tests call it
pub fn check_sequence_layer(
    layer: AnyLayer,
    shape: SeqShape,
    lengths: &[usize],
    seed: u64,
    name: &str,
) {
    let x = random_sequences(shape, lengths, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e9_u64);
    check_layer_at(layer, x, &[0], &mut rng, &format!("{name} seed {seed}"));
}

/// A random batch of sequences of `shape` with the valid steps `lengths`; padding steps
/// hold random values too, so a layer that lets them leak fails its checks.
#[allow(dead_code)] // the sequence layers' tests call it
pub fn random_sequences(shape: SeqShape, lengths: &[usize], seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = random_matrix(lengths.len(), shape.width(), &mut rng);
    for (mut row, &length) in x.rows_mut().into_iter().zip(lengths) {
        row[0] = length as f32;
    }
    x
}

/// The check itself at the input `x`; columns in `fixed` are not perturbed, and their
/// input gradient must be zero.
fn check_layer_at(
    mut layer: AnyLayer,
    mut x: Array2<f32>,
    fixed: &[usize],
    rng: &mut ChaCha8Rng,
    name: &str,
) {
    let (rows, cols) = x.dim();
    layer.forward(x.view(), true);
    let r = random_matrix(layer.output().nrows(), layer.output().ncols(), rng);
    layer.backward(x.view(), r.view(), true);
    let grad_in = layer.grad_in().to_owned();
    assert_eq!(grad_in.dim(), (rows, cols), "{name}: input gradient shape");
    let mut analytic_params = Vec::new();
    layer.visit_params(&mut |_, g| analytic_params.extend_from_slice(g));

    let mut probe_layer = layer.clone();
    let numeric_in = numeric_grad(x.as_slice_mut().unwrap(), |xs| {
        let xv = ArrayView2::from_shape((rows, cols), xs).unwrap();
        probe_layer.forward(xv, false);
        probe(probe_layer.output(), &r)
    });
    for (i, (&a, &n)) in grad_in.iter().zip(&numeric_in).enumerate() {
        if fixed.contains(&(i % cols)) {
            assert_eq!(a, 0.0, "{name}: d/dx[{i}] of a fixed column");
            continue;
        }
        assert_close(a as f64, n, &format!("{name}: d/dx[{i}]"));
    }

    let mut params = Vec::new();
    layer.visit_params(&mut |p, _| params.extend_from_slice(p));
    let numeric_params = numeric_grad(&mut params, |ps| {
        let mut l = layer.clone();
        let mut offset = 0;
        l.visit_params(&mut |p, _| {
            p.copy_from_slice(&ps[offset..offset + p.len()]);
            offset += p.len();
        });
        l.forward(x.view(), false);
        probe(l.output(), &r)
    });
    for (i, (&a, &n)) in analytic_params.iter().zip(&numeric_params).enumerate() {
        assert_close(a as f64, n, &format!("{name}: d/dparam[{i}]"));
    }
}

#[test]
fn dense_gradients_match_finite_differences() {
    for (seed, (rows, n_in, n_out)) in [(1, 2, 3), (3, 5, 4), (7, 1, 1), (1, 8, 2)]
        .into_iter()
        .enumerate()
    {
        let mut rng = ChaCha8Rng::seed_from_u64(seed as u64 + 100);
        let dense = Dense::new(
            random_matrix(n_in, n_out, &mut rng),
            random_matrix(1, n_out, &mut rng).row(0).to_owned(),
        );
        check_layer(AnyLayer::Dense(dense), rows, n_in, seed as u64, "dense");
    }
}

#[test]
fn activation_gradients_match_finite_differences() {
    for function in [
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Tanh,
        Activation::Sigmoid,
    ] {
        for (seed, (rows, cols)) in [(3, 4), (1, 7), (6, 2)].into_iter().enumerate() {
            let layer = AnyLayer::Activation(ActivationLayer::new(function));
            check_layer(layer, rows, cols, seed as u64, &format!("{function:?}"));
        }
    }
}

#[test]
fn dropout_backward_uses_the_forward_mask_and_is_identity_at_evaluation() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x = random_matrix(50, 40, &mut rng);
    let mut dropout = Dropout::new(0.25, 9).unwrap();
    dropout.forward(x.view(), false);
    assert_eq!(dropout.output(), x.view());

    dropout.forward(x.view(), true);
    let out = dropout.output().to_owned();
    let zeroed = out.iter().filter(|&&v| v == 0.0).count() as f64 / out.len() as f64;
    assert!((zeroed - 0.25).abs() < 0.05, "zeroed fraction {zeroed}");
    for (&o, &xi) in out.iter().zip(&x) {
        assert!(o == 0.0 || (o - xi / 0.75).abs() < 1e-6);
    }
    let g = random_matrix(50, 40, &mut rng);
    dropout.backward(x.view(), g.view(), true);
    // The layer is linear in x for a fixed mask: grad_in = g ∘ (out / x).
    for ((&gi, &gx), (&o, &xi)) in g.iter().zip(dropout.grad_in()).zip(out.iter().zip(&x)) {
        assert!((gx - gi * o / xi).abs() < 1e-5);
    }
}

fn check_loss(loss: &dyn Loss, logits: &mut Array2<f32>, y: Targets, name: &str) {
    let (rows, cols) = logits.dim();
    let mut grad = Array2::zeros((rows, cols));
    let value = loss.loss_and_grad(logits.view(), y, grad.view_mut());
    assert!(
        (value - loss.loss(logits.view(), y)).abs() < 1e-9,
        "{name}: loss values differ"
    );
    let numeric = numeric_grad(logits.as_slice_mut().unwrap(), |z| {
        loss.loss(ArrayView2::from_shape((rows, cols), z).unwrap(), y)
    });
    for (i, (&a, &n)) in grad.iter().zip(&numeric).enumerate() {
        assert_close(a as f64, n, &format!("{name}: d/dz[{i}]"));
    }
}

#[test]
fn loss_gradients_match_finite_differences() {
    for seed in 0..4u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (rows, classes) = (1 + seed as usize * 2, 2 + seed as usize);
        let mut logits = random_matrix(rows, classes, &mut rng) * 3.0;
        let y: Vec<u32> = (0..rows)
            .map(|_| rng.gen_range(0..classes as u32))
            .collect();
        check_loss(
            &SoftmaxCrossEntropy::default(),
            &mut logits,
            Targets::Classes(&y),
            "ce",
        );
        let weights: Vec<f32> = (0..classes).map(|_| rng.gen_range(0.2..3.0)).collect();
        let weighted = SoftmaxCrossEntropy {
            class_weights: Some(weights),
        };
        check_loss(&weighted, &mut logits, Targets::Classes(&y), "weighted ce");

        let mut out = random_matrix(rows, 2, &mut rng);
        let target = random_matrix(rows, 2, &mut rng);
        check_loss(&Mse, &mut out, Targets::Values(target.view()), "mse");

        let mut logits = random_matrix(rows, 3, &mut rng) * 2.0;
        let labels = random_matrix(rows, 3, &mut rng).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
        let bce = BinaryCrossEntropy::default();
        check_loss(&bce, &mut logits, Targets::Values(labels.view()), "bce");
        let weighted = BinaryCrossEntropy {
            class_weights: Some([0.3, 2.5]),
        };
        check_loss(
            &weighted,
            &mut logits,
            Targets::Values(labels.view()),
            "weighted bce",
        );
    }
}

#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    let logits = ndarray::array![[1e4f32, -1e4, 0.0], [-1e4, -1e4, 1e4]];
    let mut grad = Array2::zeros((2, 3));
    let ce = SoftmaxCrossEntropy::default();
    let loss = ce.loss_and_grad(logits.view(), Targets::Classes(&[1, 2]), grad.view_mut());
    assert!(loss.is_finite() && grad.iter().all(|g| g.is_finite()));
    assert!((loss - 1e4).abs() < 1e-3, "loss {loss}"); // row 0 loses 2e4, row 1 nothing
}

#[test]
fn binary_cross_entropy_and_sigmoid_are_stable_for_huge_logits() {
    assert_eq!(sigmoid(-1e4), 0.0);
    assert_eq!(sigmoid(1e4), 1.0);
    assert!(sigmoid(-100.0) > 0.0 && sigmoid(-100.0) < 1e-40);
    let logits = ndarray::array![[1e4f32, -1e4], [-1e4, 1e4]];
    let y = ndarray::array![[1.0f32, 1.0], [0.0, 0.0]];
    let mut grad = Array2::zeros((2, 2));
    let bce = BinaryCrossEntropy::default();
    let loss = bce.loss_and_grad(logits.view(), Targets::Values(y.view()), grad.view_mut());
    assert!(grad.iter().all(|g| g.is_finite()));
    // Two elements are right with certainty (loss 0), two wrong by 1e4 each: mean 5e3.
    assert!((loss - 5e3).abs() < 1e-6, "loss {loss}");
}

#[test]
fn whole_network_gradients_match_finite_differences() {
    for (seed, activation) in [
        (0u64, Activation::Tanh),
        (1, Activation::Relu),
        (2, Activation::Sigmoid),
    ] {
        let config = MlpConfig {
            n_inputs: 4,
            hidden: vec![5, 3],
            n_outputs: 3,
            activation,
            dropout: 0.0,
        };
        let mut net = Network::mlp(&config, seed).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 50);
        // Non-zero biases: with zero biases a unit whose inputs are all zero sits exactly
        // on ReLU's kink, where no finite difference agrees with either one-sided slope.
        net.visit_params(&mut |p, _| p.iter_mut().for_each(|v| *v += rng.gen_range(-0.3..0.3)));
        let x = random_matrix(6, 4, &mut rng);
        let y: Vec<u32> = (0..6).map(|_| rng.gen_range(0..3)).collect();
        let ce = SoftmaxCrossEntropy::default();
        let mut grad = Array2::zeros((6, 3));
        let logits = net.forward(x.view(), true).to_owned();
        ce.loss_and_grad(logits.view(), Targets::Classes(&y), grad.view_mut());
        net.backward(x.view(), grad.view());
        let mut analytic = Vec::new();
        net.visit_params(&mut |_, g| analytic.extend_from_slice(g));

        let mut params = Vec::new();
        net.copy_params_into(&mut params);
        let mut probe_net = net.clone();
        // A smaller step: hidden pre-activations are not kept away from ReLU's kink.
        let numeric = numeric_grad_with_step(&mut params, 1e-3, |ps| {
            probe_net.load_params_from(ps);
            let out = probe_net.forward(x.view(), false).to_owned();
            ce.loss(out.view(), Targets::Classes(&y))
        });
        for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
            assert_close(a as f64, n, &format!("network {activation:?}: param {i}"));
        }
    }
}

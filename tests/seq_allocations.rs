//! The sequence layers (embedding, time-distributed dense, positional embedding, sequence
//! pooling) allocate nothing per batch once their buffers have grown. Its own test binary,
//! because it counts every allocation of the process (see `allocations.rs`). Checked where
//! `nn::matmul` runs its own kernel (AVX-512 or AVX2); the fallback allocates inside each product.

mod counting;

use csvnn::nn::{
    AnyLayer, Embedding, Layer, PoolMode, PositionalEmbedding, SeqShape, SequencePool, TimeDense,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STEPS: usize = 30;
const VOCAB: usize = 50;
const DIM: usize = 16;

/// Token-id batches of `rows` rows with random lengths (0..=STEPS).
fn batch(rows: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_fn((rows, 1 + STEPS), |(_, j)| {
        if j == 0 {
            rng.gen_range(0..=STEPS) as f32
        } else {
            rng.gen_range(0..VOCAB) as f32
        }
    })
}

/// Forward and backward through the whole stack, each layer's gradient of ones.
fn step(layers: &mut [AnyLayer], x: &Array2<f32>, grads: &mut [Array2<f32>]) {
    for i in 0..layers.len() {
        let (done, rest) = layers.split_at_mut(i);
        let input = done.last().map_or(x.view(), |l| l.output());
        rest[0].forward(input, true);
    }
    for i in (0..layers.len()).rev() {
        let (done, rest) = layers.split_at_mut(i);
        let input = done.last().map_or(x.view(), |l| l.output());
        let width = rest[0].output().ncols();
        let g = &mut grads[i];
        if g.dim() != (x.nrows(), width) {
            *g = Array2::ones((x.nrows(), width));
        }
        rest[0].backward(input, g.view(), i > 0);
    }
}

#[test]
fn sequence_layers_allocate_nothing_per_batch_in_steady_state() {
    if !csvnn::nn::own_kernel() {
        eprintln!("skipped: products use the allocating portable fallback (no AVX-512 or AVX2, or CSVNN_GEMM)");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut layers = vec![
        AnyLayer::Embedding(Embedding::new(VOCAB, DIM, STEPS, &mut rng).unwrap()),
        AnyLayer::PositionalEmbedding(
            PositionalEmbedding::new(SeqShape::new(STEPS, DIM), &mut rng).unwrap(),
        ),
        AnyLayer::TimeDense(TimeDense::new(SeqShape::new(STEPS, DIM), 24, &mut rng).unwrap()),
        AnyLayer::SequencePool(SequencePool::new(SeqShape::new(STEPS, 24), PoolMode::Max).unwrap()),
    ];
    let full = batch(64, &mut rng);
    // The full batch with every row at its full length: the largest every buffer gets.
    let mut longest = full.clone();
    longest.column_mut(0).fill(STEPS as f32);
    let batches: Vec<Array2<f32>> = (0..20).map(|i| batch(1 + i * 3, &mut rng)).collect();
    let mut grads: Vec<Array2<f32>> = (0..layers.len()).map(|_| Array2::zeros((0, 0))).collect();
    // Gradient matrices for each batch size, made before counting.
    let mut grads_by_batch: Vec<Vec<Array2<f32>>> = Vec::new();
    for x in &batches {
        step(&mut layers, x, &mut grads);
        grads_by_batch.push(grads.clone());
    }
    step(&mut layers, &longest, &mut grads);

    let before = counting::allocations();
    for (x, grads) in batches.iter().zip(&mut grads_by_batch) {
        step(&mut layers, x, grads);
    }
    let allocations = counting::allocations() - before;
    assert_eq!(allocations, 0, "allocations over {} batches", batches.len());
}

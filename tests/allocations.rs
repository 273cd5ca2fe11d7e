//! The training loop allocates nothing per batch in steady state: two more epochs cost a
//! few allocations per epoch (the shuffled order, the epoch's record), never one per batch.
//! Its own test binary, because it counts every allocation of the process. Checked with
//! each of the project's own kernels this CPU runs (AVX-512, AVX2), the one `CSVNN_GEMM`
//! chose first; the portable fallback allocates inside each product.

mod counting;

use csvnn::nn::{Activation, GemmKernel, MlpConfig, Network, SoftmaxCrossEntropy};
use csvnn::parallel;
use csvnn::train::{
    train, AugmentLayout, Dataset, OptimizerConfig, OwnedTargets, ScheduleConfig, TrainConfig,
    TrainState, ValidationMetric,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 4_096;
const BATCH: usize = 32;

fn data() -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = Array2::from_shape_fn((ROWS, 300), |_| rng.gen_range(-1.0f32..1.0));
    let y = (0..ROWS).map(|_| rng.gen_range(0..10u32)).collect();
    Dataset {
        x,
        y: OwnedTargets::Classes(y),
    }
}

/// Allocations made by `train` over `epochs` epochs, from a fresh network.
fn allocations_for(epochs: usize, data: &Dataset, threads: usize, augment: &str) -> usize {
    let _pool = parallel::install(threads);
    let config = TrainConfig {
        epochs,
        batch_size: BATCH,
        patience: 0,
        min_delta: 0.0,
        seed: 3,
        optimizer: OptimizerConfig::Adam {
            lr: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
        schedule: ScheduleConfig::default(),
        monitor: Default::default(),
        augment: augment.parse().unwrap_or_default(),
        // Every input is a standardised number (for the noise).
        augment_layout: AugmentLayout {
            numeric: (0..300).collect(),
            ..Default::default()
        },
    };
    // 300-512-256-10: products large enough to be split over the pool's threads.
    let network = Network::mlp(
        &MlpConfig {
            n_inputs: 300,
            hidden: vec![512, 256],
            n_outputs: 10,
            activation: Activation::Relu,
            dropout: 0.0,
        },
        3,
    )
    .expect("a valid network");
    let mut state = TrainState::new(network, &config);
    let loss = SoftmaxCrossEntropy::default();
    let before = counting::allocations();
    train(
        &mut state,
        &loss,
        data,
        None,
        ValidationMetric::Accuracy,
        &config,
        &mut (),
    )
    .expect("training runs");
    counting::allocations() - before
}

/// The kernels to check: the one `matmul` chose (from the CPU and `CSVNN_GEMM`) first,
/// then the project's other kernels this CPU runs, each selected explicitly.
fn own_kernels() -> Vec<GemmKernel> {
    let chosen = csvnn::nn::gemm_kernel();
    let others = [GemmKernel::Avx512, GemmKernel::Avx2]
        .into_iter()
        .filter(|&kernel| kernel != chosen && kernel.is_available());
    std::iter::once(chosen)
        .filter(|kernel| kernel.is_own())
        .chain(others)
        .collect()
}

#[test]
fn no_allocation_per_batch_in_steady_state() {
    let kernels = own_kernels();
    if kernels.is_empty() {
        // The fallback product (matrixmultiply) allocates a packing buffer per call.
        eprintln!("skipped: this CPU has neither AVX-512 nor AVX2 and FMA, so products use the allocating portable fallback");
        return;
    }
    let data = data();
    let batches_per_epoch = ROWS / BATCH;
    for kernel in kernels {
        assert_eq!(csvnn::nn::set_gemm_kernel(kernel), kernel);
        // Without augmentation, and with noise and mixup (their buffers are reused too).
        for (threads, augment) in [(1, ""), (2, ""), (1, "noise:0.1,mixup:0.2")] {
            let two = allocations_for(2, &data, threads, augment);
            let four = allocations_for(4, &data, threads, augment);
            let per_epoch = four.saturating_sub(two) / 2;
            assert!(
                per_epoch < batches_per_epoch / 8,
                "{kernel:?}, {threads} thread(s), augment '{augment}': {per_epoch} allocations per epoch of {batches_per_epoch} batches ({two} for 2 epochs, {four} for 4)"
            );
        }
    }
}

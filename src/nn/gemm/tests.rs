//! Each test runs every kernel this CPU has, named explicitly (not through `CSVNN_GEMM`),
//! so that the tests can run in parallel.

use super::*;
use crate::parallel;
use ndarray::{s, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |_| rng.gen_range(-1.0f32..1.0))
}

/// The kernels this CPU runs.
fn kernels() -> Vec<GemmKernel> {
    GemmKernel::ALL
        .into_iter()
        .filter(|kernel| kernel.is_available())
        .collect()
}

/// Σ_p a[i, p]·b[p, j] in f64, and Σ_p |a[i, p]·b[p, j]| to scale the tolerance.
fn reference(a: ArrayView2<f32>, b: ArrayView2<f32>) -> (Array2<f64>, Array2<f64>) {
    let (m, n) = (a.nrows(), b.ncols());
    let mut sum = Array2::zeros((m, n));
    let mut abs = Array2::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            for p in 0..a.ncols() {
                let v = a[[i, p]] as f64 * b[[p, j]] as f64;
                sum[[i, j]] += v;
                abs[[i, j]] += v.abs();
            }
        }
    }
    (sum, abs)
}

/// `kernel` with beta 0, 1 and 0.5 against the reference, on the current thread's pool.
fn check(kernel: GemmKernel, a: ArrayView2<f32>, b: ArrayView2<f32>, rng: &mut ChaCha8Rng) {
    let (m, n) = (a.nrows(), b.ncols());
    let (sum, abs) = reference(a, b);
    let c0 = random(m, n, rng);
    for beta in [0.0f32, 1.0, 0.5] {
        let mut c = c0.clone();
        matmul_with(kernel, a, b, beta, c.view_mut());
        for ((i, j), &got) in c.indexed_iter() {
            let want = sum[[i, j]] + beta as f64 * c0[[i, j]] as f64;
            let scale = abs[[i, j]] + (beta * c0[[i, j]].abs()) as f64 + 1e-30;
            let tol = 1e-6 * scale * (a.ncols() as f64).sqrt().max(1.0);
            assert!(
                (got as f64 - want).abs() <= tol,
                "{kernel:?} ({m}, {}, {n}) beta {beta} at ({i}, {j}): {got} vs {want}",
                a.ncols()
            );
        }
    }
}

/// Every tail of both kernels' blocks (rows 1..12, columns 1..32 and past) in some shape.
const SHAPES: [(usize, usize, usize); 11] = [
    (1, 1, 1),
    (7, 13, 5),
    (12, 3, 32),
    (13, 17, 33),
    (31, 1, 47),
    (64, 64, 16),
    (5, 9, 23),
    (11, 40, 9),
    (129, 785, 257),
    (128, 10, 128),
    (250, 128, 10),
];

/// Every transpose case, contiguous and strided, on one thread and on a pool of three,
/// for each kernel.
#[test]
fn matches_a_f64_reference() {
    for kernel in kernels() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for threads in [1, 3] {
            let _pool = parallel::install(threads);
            for &(m, k, n) in &SHAPES {
                let a = random(m, k, &mut rng);
                let at = random(k, m, &mut rng);
                let b = random(k, n, &mut rng);
                let bt = random(n, k, &mut rng);
                check(kernel, a.view(), b.view(), &mut rng);
                check(kernel, at.t(), b.view(), &mut rng);
                check(kernel, a.view(), bt.t(), &mut rng);
                check(kernel, at.t(), bt.t(), &mut rng);
                // Strided views: every other row and column of a larger matrix.
                let big_a = random(2 * m, 2 * k, &mut rng);
                let big_b = random(2 * k, 2 * n, &mut rng);
                let (sa, sb) = (big_a.slice(s![..;2, ..;2]), big_b.slice(s![..;2, ..;2]));
                check(kernel, sa, sb, &mut rng);
                // Row blocks of a wider matrix (a buffer's rows in use).
                let (ra, rb) = (big_a.slice(s![..m, ..k]), big_b.slice(s![..k, ..n]));
                check(kernel, ra, rb, &mut rng);
            }
        }
    }
}

/// Into a strided c (every other column), which takes the general path.
#[test]
fn writes_strided_outputs() {
    for kernel in kernels() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (a, b) = (random(9, 5, &mut rng), random(5, 6, &mut rng));
        let mut big = Array2::zeros((9, 12));
        matmul_with(kernel, a.view(), b.view(), 0.0, big.slice_mut(s![.., ..;2]));
        let (sum, _) = reference(a.view(), b.view());
        for ((i, j), &want) in sum.indexed_iter() {
            assert!((big[[i, 2 * j]] as f64 - want).abs() < 1e-5);
            assert_eq!(big[[i, 2 * j + 1]], 0.0);
        }
    }
}

/// Products of the test shapes in every layout, beta 0, 1 and 0.5, on 1, 2 and 3 threads.
fn results(kernel: GemmKernel, threads: usize) -> Vec<Array2<f32>> {
    let _pool = parallel::install(threads);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut out = Vec::new();
    for &(m, k, n) in &[
        (128, 784, 256),
        (784, 128, 256),
        (128, 128, 256),
        (97, 33, 71),
        (250, 128, 10),
    ] {
        let a = random(m, k, &mut rng);
        let at = random(k, m, &mut rng);
        let b = random(k, n, &mut rng);
        let bt = random(n, k, &mut rng);
        let c0 = random(m, n, &mut rng);
        for (a, b) in [(a.view(), b.view()), (at.t(), b.view()), (a.view(), bt.t())] {
            for beta in [0.0, 1.0, 0.5] {
                let mut c = c0.clone();
                matmul_with(kernel, a, b, beta, c.view_mut());
                out.push(c);
            }
        }
    }
    out
}

/// The thread count never changes a bit of the result, on any kernel.
#[test]
fn any_thread_count_gives_the_same_bits() {
    for kernel in kernels() {
        let one = results(kernel, 1);
        for threads in [2, 3] {
            assert!(
                one == results(kernel, threads),
                "{kernel:?}: {threads} threads differ from one"
            );
        }
    }
}

/// The AVX2 kernel computes the AVX-512 kernel's chain of multiply-adds: the same bits.
#[test]
fn avx2_gives_the_avx512_bits() {
    if !(GemmKernel::Avx512.is_available() && GemmKernel::Avx2.is_available()) {
        eprintln!("skipped: this CPU lacks AVX-512 or AVX2");
        return;
    }
    for threads in [1, 2] {
        assert!(results(GemmKernel::Avx2, threads) == results(GemmKernel::Avx512, threads));
    }
}

/// Zero-sized products: nothing to add, c scaled by beta.
#[test]
fn empty_inner_dimension() {
    for kernel in kernels() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 2));
        let mut c = Array2::from_elem((3, 2), 2.0f32);
        matmul_with(kernel, a.view(), b.view(), 1.0, c.view_mut());
        assert_eq!(c, Array2::from_elem((3, 2), 2.0));
        matmul_with(kernel, a.view(), b.view(), 0.0, c.view_mut());
        assert_eq!(c, Array2::<f32>::zeros((3, 2)));
    }
}

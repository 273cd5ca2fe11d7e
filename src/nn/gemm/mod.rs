//! `matmul`: c = a·b + beta·c for f32 matrices, a: (m, k), b: (k, n), c: (m, n), the
//! matrix product of every dense and conv layer.
//!
//! Three kernels (`GemmKernel`, chosen in `choice.rs`): on x86-64 CPUs with AVX-512 the
//! project's 12 x 32 kernel (`avx512.rs`), with AVX2 and FMA its 6 x 16 kernel
//! (`avx2.rs`); both split the output over the threads of the installed `ThreadPool` (see
//! `crate::parallel`) and share packing, blocking and the split (`plan.rs`). Elsewhere, or
//! when forced, ndarray's `general_mat_mul` on the calling thread (portable).
//!
//! The project's kernels compute a block of MR rows by NR columns of c at a time, keeping
//! the block in registers: for p = 0, 1, ..., k-1 they load row p of b's NR columns and add
//! a[i, p]·b[p, ..] to each row i. Every element of c is therefore the same chain of fused
//! multiply-adds in the same order, whatever block it falls in, which block sizes are used
//! and which thread computes it: results are bit-identical for any thread count, and the
//! same for both kernels. The sum over k is never split.
//!
//! An operand is read in place when its layout already suits the kernel: a whose rows are
//! adjacent in memory (a transposed row-major matrix, as xᵀ in dW = xᵀ·g), b whose columns
//! are (a row-major matrix). Otherwise the part a thread needs is first copied ("packed")
//! into that thread's scratch buffer, which grows to the largest product once and is then
//! reused: the steady state allocates nothing.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod choice;
#[cfg(target_arch = "x86_64")]
mod plan;
#[cfg(test)]
mod tests;

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

pub use choice::{gemm_choice, gemm_kernel, set_gemm_kernel, GemmChoice, GemmKernel, GEMM_ENV};

/// True when `matmul` runs one of the project's own kernels (AVX-512 or AVX2, see
/// `gemm_kernel`): products then allocate nothing once the scratch buffers have grown. The
/// portable fallback, ndarray's product over matrixmultiply, allocates its packing buffer
/// inside every call.
pub fn own_kernel() -> bool {
    gemm_kernel().is_own()
}

/// c = a·b + beta·c, with a: (m, k), b: (k, n), c: (m, n), on the kernel `gemm_kernel()`
/// names. With beta = 0, c is only written.
///
/// Panics when the shapes do not fit together.
pub fn matmul(a: ArrayView2<f32>, b: ArrayView2<f32>, beta: f32, c: ArrayViewMut2<f32>) {
    matmul_with(gemm_kernel(), a, b, beta, c);
}

/// `matmul` on `kernel`, or on the portable one when this CPU lacks it.
pub(crate) fn matmul_with(
    kernel: GemmKernel,
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    beta: f32,
    mut c: ArrayViewMut2<f32>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul shapes do not fit: ({m}, {k})·({k2}, {n}) into {:?}",
        c.dim()
    );
    #[cfg(target_arch = "x86_64")]
    if m > 0 && n > 0 && k > 0 {
        use plan::Plan;
        let done = match kernel {
            GemmKernel::Avx512 => {
                Plan::<avx512::Avx512>::new(&a, &b, beta, &mut c).map(|p| p.run())
            }
            GemmKernel::Avx2 => Plan::<avx2::Avx2>::new(&a, &b, beta, &mut c).map(|p| p.run()),
            GemmKernel::Portable => None,
        };
        if done.is_some() {
            return;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = kernel;
    general_mat_mul(1.0, &a, &b, beta, &mut c);
}

//! `matmul`: c = a·b + beta·c for f32 matrices, a: (m, k), b: (k, n), c: (m, n), the
//! matrix product of every dense and conv layer.
//!
//! On x86-64 CPUs with AVX-512 it runs its own kernel and splits the output over the
//! threads of the installed `ThreadPool` (see `crate::parallel`); elsewhere it is ndarray's
//! `general_mat_mul` on the calling thread.
//!
//! The AVX-512 path computes a block of MR rows by NR = 32 columns of c at a time, keeping
//! the block in registers: for p = 0, 1, ..., k-1 it loads row p of b's 32 columns and adds
//! a[i, p]·b[p, ..] to each row i. Every element of c is therefore the same chain of fused
//! multiply-adds in the same order, whatever block it falls in, which block sizes are used
//! and which thread computes it: results are bit-identical for any thread count. The sum
//! over k is never split.
//!
//! An operand is read in place when its layout already suits the kernel: a whose rows are
//! adjacent in memory (a transposed row-major matrix, as xᵀ in dW = xᵀ·g), b whose columns
//! are (a row-major matrix). Otherwise the part a thread needs is first copied ("packed")
//! into that thread's scratch buffer, which grows to the largest product once and is then
//! reused: the steady state allocates nothing.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::parallel;

/// Rows of c per kernel call.
const MR: usize = 12;
/// Columns of c per kernel call: two 16-lane vectors.
const NR: usize = 32;
/// How many steps of the sum over k ahead the kernel prefetches its operands.
const PREFETCH: usize = 24;
/// Rows of a packed at a time by one thread (ten kernel rows).
const MC: usize = 120;
/// Products with fewer multiply-adds than this, or a sum over fewer than 32 terms, run on
/// one thread: below it, handing work to a second thread costs more than it saves (dx at
/// W1-wide's output layer, 128 x 10 x 128, took 4.8 µs on two threads and 3.4 µs on one;
/// W2's 32 x 175 x 64 products made its epoch 0.35 s on two threads against 0.18 s on one).
const PARALLEL_MIN: usize = 1_000_000;

/// True when `matmul` runs its own kernel on this CPU (AVX-512): products then allocate
/// nothing once the scratch buffers have grown. The fallback, ndarray's product over
/// matrixmultiply, allocates its packing buffer inside every call.
pub fn own_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx512::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// c = a·b + beta·c, with a: (m, k), b: (k, n), c: (m, n). With beta = 0, c is only written.
///
/// Panics when the shapes do not fit together.
pub fn matmul(a: ArrayView2<f32>, b: ArrayView2<f32>, beta: f32, mut c: ArrayViewMut2<f32>) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul shapes do not fit: ({m}, {k})·({k2}, {n}) into {:?}",
        c.dim()
    );
    #[cfg(target_arch = "x86_64")]
    if m > 0 && n > 0 && k > 0 && avx512::available() {
        if let Some(plan) = avx512::Plan::new(&a, &b, beta, &mut c) {
            plan.run();
            return;
        }
    }
    general_mat_mul(1.0, &a, &b, beta, &mut c);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;
    use std::cell::RefCell;

    use super::*;

    thread_local! {
        /// Packing space of this thread; only grows.
        static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }

    pub fn available() -> bool {
        is_x86_feature_detected!("avx512f")
    }

    /// A matrix in memory: element (i, j) at `ptr + i·rs + j·cs`.
    #[derive(Clone, Copy)]
    struct Raw {
        ptr: *const f32,
        rs: usize,
        cs: usize,
    }

    impl Raw {
        fn of(view: &ArrayView2<f32>) -> Option<Raw> {
            let (rs, cs) = (view.strides()[0], view.strides()[1]);
            Some(Raw {
                ptr: view.as_ptr(),
                rs: usize::try_from(rs).ok()?,
                cs: usize::try_from(cs).ok()?,
            })
        }
    }

    /// One product, checked: shapes fit, strides are non-negative, c's rows are contiguous.
    pub struct Plan {
        m: usize,
        n: usize,
        k: usize,
        a: Raw,
        b: Raw,
        c: *mut f32,
        ldc: usize,
        beta: f32,
        /// a[i + r, p] at a + p·cs + r: read in place.
        a_direct: bool,
        /// b[p, j + s] at b + p·rs + s: read in place.
        b_direct: bool,
    }

    // SAFETY: a `Plan` is shared by the tasks of one `run`, which only read a and b and
    // write disjoint parts of c (`run` gives each task its own rows or columns); the views
    // it was made from outlive the run.
    unsafe impl Sync for Plan {}

    impl Plan {
        /// None when a layout needs the general fallback (negative strides, c's columns not
        /// adjacent).
        pub fn new(
            a: &ArrayView2<f32>,
            b: &ArrayView2<f32>,
            beta: f32,
            c: &mut ArrayViewMut2<f32>,
        ) -> Option<Plan> {
            let (m, k) = a.dim();
            let n = b.ncols();
            let (ra, rb) = (Raw::of(a)?, Raw::of(b)?);
            let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
            if n > 1 && c_cs != 1 {
                return None;
            }
            Some(Plan {
                m,
                n,
                k,
                a: ra,
                b: rb,
                c: c.as_mut_ptr(),
                ldc: usize::try_from(c_rs).ok()?,
                beta,
                a_direct: m == 1 || ra.rs == 1,
                b_direct: n == 1 || rb.cs == 1,
            })
        }

        pub fn run(&self) {
            let pool = parallel::current();
            let n_threads = match &pool {
                Some(pool) if self.m * self.n * self.k >= PARALLEL_MIN && self.k >= 32 => {
                    pool.n_threads()
                }
                _ => 1,
            };
            if n_threads == 1 {
                self.run_region(0, self.m, 0, self.n);
                return;
            }
            // Split the rows unless that makes every thread pack all of b while splitting
            // the columns would not make every thread pack all of a.
            let split_rows_cost = if self.b_direct { 0 } else { self.k * self.n };
            let split_cols_cost = if self.a_direct { 0 } else { self.m * self.k };
            let split_rows = (split_rows_cost <= split_cols_cost && self.m >= 4 * n_threads)
                || self.n < 16 * n_threads;
            let run = |t: usize| {
                if split_rows {
                    let (i0, i1) = (self.m * t / n_threads, self.m * (t + 1) / n_threads);
                    self.run_region(i0, i1, 0, self.n);
                } else {
                    let vectors = self.n.div_ceil(16);
                    let j0 = (vectors * t / n_threads * 16).min(self.n);
                    let j1 = (vectors * (t + 1) / n_threads * 16).min(self.n);
                    self.run_region(0, self.m, j0, j1);
                }
            };
            pool.expect("n_threads > 1 comes from a pool")
                .run(n_threads, &run);
        }

        /// c[i0..i1, j0..j1] on this thread.
        fn run_region(&self, i0: usize, i1: usize, j0: usize, j1: usize) {
            if i0 >= i1 || j0 >= j1 {
                return;
            }
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let k = self.k;
                let b_panels = (j1 - j0).div_ceil(NR);
                let b_len = if self.b_direct { 0 } else { b_panels * k * NR };
                let a_len = if self.a_direct {
                    0
                } else {
                    MC.min(i1 - i0).div_ceil(MR) * k * MR
                };
                // 16 extra floats to start the packed panels on a 64-byte boundary.
                let needed = b_len + a_len + 16;
                if scratch.len() < needed {
                    scratch.resize(needed, 0.0);
                }
                let align = scratch.as_ptr().align_offset(64).min(15);
                let (b_buf, a_buf) = scratch[align..align + b_len + a_len].split_at_mut(b_len);
                if !self.b_direct {
                    for (q, panel) in b_buf.chunks_exact_mut(k * NR).enumerate() {
                        let j = j0 + q * NR;
                        self.pack_b(j, NR.min(j1 - j), panel);
                    }
                }
                for ic in (i0..i1).step_by(MC) {
                    let ie = (ic + MC).min(i1);
                    if !self.a_direct {
                        for (t, panel) in a_buf.chunks_exact_mut(k * MR).enumerate() {
                            let i = ic + t * MR;
                            if i < ie {
                                self.pack_a(i, MR.min(ie - i), panel);
                            }
                        }
                    }
                    let micro = |t: usize, q: usize| {
                        let (i, j) = (ic + t * MR, j0 + q * NR);
                        let (rows, cols) = (MR.min(ie - i), NR.min(j1 - j));
                        let (a_ptr, a_step) = if self.a_direct {
                            // SAFETY: row i is inside a (i < m).
                            (unsafe { self.a.ptr.add(i * self.a.rs) }, self.a.cs)
                        } else {
                            (a_buf[t * k * MR..].as_ptr(), MR)
                        };
                        let (b_ptr, b_step) = if self.b_direct {
                            // SAFETY: column j is inside b (j < n).
                            (unsafe { self.b.ptr.add(j * self.b.cs) }, self.b.rs)
                        } else {
                            (b_buf[q * k * NR..].as_ptr(), NR)
                        };
                        // SAFETY: (i, j) is inside c.
                        let c_ptr = unsafe { self.c.add(i * self.ldc + j) };
                        // SAFETY: the kernel reads a[p·a_step + r] for r < rows, p < k and
                        // b[p·b_step + s] for s < cols, p < k, which lie inside a and b (in
                        // place) or the packed panels; it writes the rows x cols block of c
                        // at c_ptr, inside c; this thread's region is written by no other.
                        // AVX-512F was detected by `available`.
                        unsafe {
                            kernel(
                                rows, cols, k, a_ptr, a_step, b_ptr, b_step, c_ptr, self.ldc,
                                self.beta,
                            )
                        };
                    };
                    // The inner loop goes over the smaller operand again and again, so
                    // that it stays in this core's cache; the larger is read once.
                    let (a_panels, b_panels) = ((ie - ic).div_ceil(MR), b_panels);
                    if ie - ic <= j1 - j0 {
                        for q in 0..b_panels {
                            (0..a_panels).for_each(|t| micro(t, q));
                        }
                    } else {
                        for t in 0..a_panels {
                            (0..b_panels).for_each(|q| micro(t, q));
                        }
                    }
                }
            });
        }

        /// a[i..i + rows, ..] into `panel` with step MR: panel[p·MR + r] = a[i + r, p].
        fn pack_a(&self, i: usize, rows: usize, panel: &mut [f32]) {
            let Raw { ptr, rs, cs } = self.a;
            // SAFETY: rows i..i + rows (< m) of a, each k long at step cs, lie inside a.
            unsafe { pack_lines(ptr.add(i * rs), rs, cs, rows, self.k, panel, MR) }
        }

        /// b[.., j..j + cols] into `panel` with step NR: panel[p·NR + s] = b[p, j + s].
        fn pack_b(&self, j: usize, cols: usize, panel: &mut [f32]) {
            let Raw { ptr, rs, cs } = self.b;
            // SAFETY: columns j..j + cols (< n) of b, each k long at step rs, lie inside b.
            unsafe { pack_lines(ptr.add(j * cs), cs, rs, cols, self.k, panel, NR) }
        }
    }

    /// Transpose `lines` lines of `k` values into `panel`: panel[p·step + l] = src[l·ld +
    /// p·inc]. With inc = 1 (the lines contiguous) four lines by four values at a time.
    ///
    /// # Safety
    /// src[l·ld + p·inc] lies inside one buffer for l < lines, p < k.
    unsafe fn pack_lines(
        src: *const f32,
        ld: usize,
        inc: usize,
        lines: usize,
        k: usize,
        panel: &mut [f32],
        step: usize,
    ) {
        assert!(
            lines <= step && panel.len() >= k * step,
            "the panel holds the lines"
        );
        let mut l = 0;
        if inc == 1 {
            let k4 = k / 4 * 4;
            while l + 4 <= lines {
                // SAFETY: lines l..l + 4 are inside src (caller).
                let line = |d: usize| unsafe { src.add((l + d) * ld) };
                for p in (0..k4).step_by(4) {
                    // SAFETY: values p..p + 4 < k of each line are inside src (caller).
                    let [r0, r1, r2, r3] =
                        [0, 1, 2, 3].map(|d| unsafe { _mm_loadu_ps(line(d).add(p)) });
                    let (t0, t1) = (_mm_unpacklo_ps(r0, r1), _mm_unpacklo_ps(r2, r3));
                    let (t2, t3) = (_mm_unpackhi_ps(r0, r1), _mm_unpackhi_ps(r2, r3));
                    let columns = [
                        _mm_movelh_ps(t0, t1),
                        _mm_movehl_ps(t1, t0),
                        _mm_movelh_ps(t2, t3),
                        _mm_movehl_ps(t3, t2),
                    ];
                    for (d, column) in columns.into_iter().enumerate() {
                        let out = &mut panel[(p + d) * step + l..][..4];
                        // SAFETY: `out` holds four floats.
                        unsafe { _mm_storeu_ps(out.as_mut_ptr(), column) };
                    }
                }
                for p in k4..k {
                    for d in 0..4 {
                        // SAFETY: inside src (caller).
                        panel[p * step + l + d] = unsafe { *line(d).add(p) };
                    }
                }
                l += 4;
            }
        }
        for l in l..lines {
            // SAFETY: line l is inside src (caller).
            let line = unsafe { src.add(l * ld) };
            for (p, dst) in panel.iter_mut().skip(l).step_by(step).take(k).enumerate() {
                // SAFETY: as above.
                *dst = unsafe { *line.add(p * inc) };
            }
        }
    }

    /// The first `lanes` (0 to 16) lanes.
    fn mask(lanes: usize) -> __mmask16 {
        if lanes >= 16 {
            0xffff
        } else {
            (1u16 << lanes) - 1
        }
    }

    /// Dispatch to the kernel compiled for this many rows and vectors.
    ///
    /// # Safety
    /// AVX-512F is available; `rows` <= MR, 1 <= `cols` <= NR; the reads and writes of
    /// `kernel_rv` lie inside their buffers.
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel(
        rows: usize,
        cols: usize,
        k: usize,
        a: *const f32,
        a_step: usize,
        b: *const f32,
        b_step: usize,
        c: *mut f32,
        ldc: usize,
        beta: f32,
    ) {
        let masks = [mask(cols), mask(cols.saturating_sub(16))];
        macro_rules! by_rows {
            ($v:literal; $($r:literal)*) => {
                match rows {
                    // SAFETY: forwarded from the caller.
                    $($r => unsafe { kernel_rv::<$r, $v>(k, a, a_step, b, b_step, c, ldc, masks, beta) },)*
                    _ => unreachable!("rows <= MR"),
                }
            };
        }
        if cols > 16 {
            by_rows!(2; 1 2 3 4 5 6 7 8 9 10 11 12)
        } else {
            by_rows!(1; 1 2 3 4 5 6 7 8 9 10 11 12)
        }
    }

    /// c[r, s] = Σ_p a[p·a_step + r]·b[p·b_step + s] + beta·c[r·ldc + s] for r < R and the
    /// lanes s of the V vectors that `masks` selects; the sum runs p = 0, 1, ..., k-1.
    ///
    /// # Safety
    /// AVX-512F is available; the elements named above lie inside their buffers (the
    /// masked-off lanes are neither read nor written).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_rv<const R: usize, const V: usize>(
        k: usize,
        a: *const f32,
        a_step: usize,
        b: *const f32,
        b_step: usize,
        c: *mut f32,
        ldc: usize,
        masks: [__mmask16; 2],
        beta: f32,
    ) {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let (mut a, mut b) = (a, b);
        for _ in 0..k {
            // Rows of a and b read in place lie a stride apart, a pattern the hardware
            // prefetchers follow poorly when the rows are not in this core's cache yet.
            let (pa, pb) = (
                a.wrapping_add(PREFETCH * a_step),
                b.wrapping_add(PREFETCH * b_step),
            );
            _mm_prefetch::<_MM_HINT_T0>(pa as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(pb as *const i8);
            if V == 2 {
                _mm_prefetch::<_MM_HINT_T0>(pb.wrapping_add(16) as *const i8);
            }
            let mut bv = [_mm512_setzero_ps(); V];
            for (v, bv) in bv.iter_mut().enumerate() {
                // SAFETY: the selected lanes of row p of b are inside b (caller).
                *bv = unsafe { _mm512_maskz_loadu_ps(masks[v], b.add(16 * v)) };
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: a[p·a_step + r] is inside a for r < R (caller).
                let av = _mm512_set1_ps(unsafe { *a.add(r) });
                for (acc, &bv) in acc.iter_mut().zip(&bv) {
                    *acc = _mm512_fmadd_ps(av, bv, *acc);
                }
            }
            (a, b) = (a.wrapping_add(a_step), b.wrapping_add(b_step));
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, &acc) in acc.iter().enumerate() {
                // SAFETY: the selected lanes of row r of the block are inside c (caller).
                unsafe {
                    let dst = c.add(r * ldc + 16 * v);
                    let value = if beta == 0.0 {
                        acc
                    } else if beta == 1.0 {
                        _mm512_add_ps(acc, _mm512_maskz_loadu_ps(masks[v], dst))
                    } else {
                        let old = _mm512_maskz_loadu_ps(masks[v], dst);
                        _mm512_fmadd_ps(_mm512_set1_ps(beta), old, acc)
                    };
                    _mm512_mask_storeu_ps(dst, masks[v], value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| rng.gen_range(-1.0f32..1.0))
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

    /// matmul with beta 0 and 1 against the reference, on the current thread's pool.
    fn check(a: ArrayView2<f32>, b: ArrayView2<f32>, rng: &mut ChaCha8Rng) {
        let (m, n) = (a.nrows(), b.ncols());
        let (sum, abs) = reference(a, b);
        let c0 = random(m, n, rng);
        for beta in [0.0f32, 1.0, 0.5] {
            let mut c = c0.clone();
            matmul(a, b, beta, c.view_mut());
            for ((i, j), &got) in c.indexed_iter() {
                let want = sum[[i, j]] + beta as f64 * c0[[i, j]] as f64;
                let scale = abs[[i, j]] + (beta * c0[[i, j]].abs()) as f64 + 1e-30;
                let tol = 1e-6 * scale * (a.ncols() as f64).sqrt().max(1.0);
                assert!(
                    (got as f64 - want).abs() <= tol,
                    "({m}, {}, {n}) beta {beta} at ({i}, {j}): {got} vs {want}",
                    a.ncols()
                );
            }
        }
    }

    const SHAPES: [(usize, usize, usize); 9] = [
        (1, 1, 1),
        (7, 13, 5),
        (12, 3, 32),
        (13, 17, 33),
        (31, 1, 47),
        (64, 64, 16),
        (129, 785, 257),
        (128, 10, 128),
        (250, 128, 10),
    ];

    /// Every transpose case, contiguous and strided, on one thread and on a pool of three.
    #[test]
    fn matches_a_f64_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for threads in [1, 3] {
            let _pool = parallel::install(threads);
            for &(m, k, n) in &SHAPES {
                let a = random(m, k, &mut rng);
                let at = random(k, m, &mut rng);
                let b = random(k, n, &mut rng);
                let bt = random(n, k, &mut rng);
                check(a.view(), b.view(), &mut rng);
                check(at.t(), b.view(), &mut rng);
                check(a.view(), bt.t(), &mut rng);
                check(at.t(), bt.t(), &mut rng);
                // Strided views: every other row and column of a larger matrix.
                let big_a = random(2 * m, 2 * k, &mut rng);
                let big_b = random(2 * k, 2 * n, &mut rng);
                check(
                    big_a.slice(s![..;2, ..;2]),
                    big_b.slice(s![..;2, ..;2]),
                    &mut rng,
                );
                // Row blocks of a wider matrix (a buffer's rows in use).
                check(
                    big_a.slice(s![..m, ..k]),
                    big_b.slice(s![..k, ..n]),
                    &mut rng,
                );
            }
        }
    }

    /// Into a strided c (every other column), which takes the general path.
    #[test]
    fn writes_strided_outputs() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (a, b) = (random(9, 5, &mut rng), random(5, 6, &mut rng));
        let mut big = Array2::zeros((9, 12));
        matmul(a.view(), b.view(), 0.0, big.slice_mut(s![.., ..;2]));
        let (sum, _) = reference(a.view(), b.view());
        for ((i, j), &want) in sum.indexed_iter() {
            assert!((big[[i, 2 * j]] as f64 - want).abs() < 1e-5);
            assert_eq!(big[[i, 2 * j + 1]], 0.0);
        }
    }

    /// The thread count never changes a bit of the result.
    #[test]
    fn any_thread_count_gives_the_same_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for &(m, k, n) in &[
            (128, 784, 256),
            (784, 128, 256),
            (128, 128, 256),
            (97, 33, 71),
        ] {
            let a = random(m, k, &mut rng);
            let at = random(k, m, &mut rng);
            let b = random(k, n, &mut rng);
            let bt = random(n, k, &mut rng);
            for (a, b) in [(a.view(), b.view()), (at.t(), b.view()), (a.view(), bt.t())] {
                let results: Vec<Array2<f32>> = [1, 2, 3]
                    .into_iter()
                    .map(|threads| {
                        let _pool = parallel::install(threads);
                        let mut c = Array2::<f32>::zeros((m, n));
                        matmul(a, b, 0.0, c.view_mut());
                        c
                    })
                    .collect();
                assert_eq!(results[0], results[1]);
                assert_eq!(results[0], results[2]);
            }
        }
    }

    /// Zero-sized products: nothing to add, c scaled by beta.
    #[test]
    fn empty_inner_dimension() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 2));
        let mut c = Array2::from_elem((3, 2), 2.0f32);
        matmul(a.view(), b.view(), 1.0, c.view_mut());
        assert_eq!(c, Array2::from_elem((3, 2), 2.0));
        matmul(a.view(), b.view(), 0.0, c.view_mut());
        assert_eq!(c, Array2::<f32>::zeros((3, 2)));
    }
}

//! What the project's kernels share: checking a product's layout, splitting it over the
//! pool's threads, packing operands into per-thread scratch, and walking the blocks of c.
//! A kernel only supplies its block shape (`MicroKernel::MR` x `NR`) and the code that
//! computes one block.

use std::arch::x86_64::*;
use std::cell::RefCell;
use std::marker::PhantomData;

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::parallel;

/// Rows of a packed at a time by one thread (ten AVX-512 or twenty AVX2 kernel rows).
const MC: usize = 120;
/// Products with fewer multiply-adds than this, or a sum over fewer than 32 terms, run on
/// one thread: below it, handing work to a second thread costs more than it saves (dx at
/// W1-wide's output layer, 128 x 10 x 128, took 4.8 µs on two threads and 3.4 µs on one;
/// W2's 32 x 175 x 64 products made its epoch 0.35 s on two threads against 0.18 s on one).
const PARALLEL_MIN: usize = 1_000_000;

/// The longest rows of a row-major a that the kernel always reads in place instead of
/// packing (MR rows of them stay in L1).
const DIRECT_K: usize = 64;

thread_local! {
    /// Packing space of this thread; only grows.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// A register-blocked kernel: c[r, s] = Σ_p a[r·a_rs + p·a_step]·b[p·b_step + s] +
/// beta·c[r·ldc + s] for r < rows <= MR, s < cols <= NR, the sum running p = 0, 1, ...,
/// k-1 as one chain of fused multiply-adds from 0 (then + c when beta is 1,
/// fma(beta, c, sum) otherwise).
pub(super) trait MicroKernel {
    /// Rows of c per block.
    const MR: usize;
    /// Columns of c per block, a multiple of `LANES`.
    const NR: usize;
    /// Lanes of one vector: threads splitting the columns split them at multiples of it.
    const LANES: usize;

    /// True when this CPU runs the kernel.
    fn available() -> bool;

    /// One block, as the trait says.
    ///
    /// # Safety
    /// `available()` is true; 1 <= rows <= MR, 1 <= cols <= NR; a[r·a_rs + p·a_step] (r < rows,
    /// p < k) and b[p·b_step + s] (s < cols, p < k) lie inside their buffers, and the rows x
    /// cols block at c (row step ldc) inside c, written by no other thread meanwhile.
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(
        rows: usize,
        cols: usize,
        k: usize,
        a: *const f32,
        a_rs: usize,
        a_step: usize,
        b: *const f32,
        b_step: usize,
        c: *mut f32,
        ldc: usize,
        beta: f32,
    );
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
pub(super) struct Plan<K> {
    m: usize,
    n: usize,
    k: usize,
    a: Raw,
    b: Raw,
    c: *mut f32,
    ldc: usize,
    beta: f32,
    /// a[i + r, p] at a + r·rs + p·cs: read in place.
    a_direct: bool,
    /// b[p, j + s] at b + p·rs + s: read in place.
    b_direct: bool,
    kernel: PhantomData<K>,
}

// SAFETY: a `Plan` is shared by the tasks of one `run`, which only read a and b and
// write disjoint parts of c (`run` gives each task its own rows or columns); the views
// it was made from outlive the run.
unsafe impl<K> Sync for Plan<K> {}

impl<K: MicroKernel> Plan<K> {
    /// None when a layout needs the general fallback (negative strides, c's columns not
    /// adjacent) or the CPU lacks the kernel. The shapes have been checked.
    pub(super) fn new(
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        beta: f32,
        c: &mut ArrayViewMut2<f32>,
    ) -> Option<Plan<K>> {
        if !K::available() {
            return None;
        }
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
            // Read in place when a's columns are contiguous, or its rows are and either
            // short (MR rows of at most DIRECT_K values stay in L1) or read once (one
            // panel of b): packing would only copy. These are the products behind
            // attention heads and narrow layers; wide ones (W1-wide's 128 x 256) still pack.
            a_direct: m == 1 || ra.rs == 1 || (ra.cs == 1 && (k <= DIRECT_K || n <= K::NR)),
            b_direct: n == 1 || rb.cs == 1,
            kernel: PhantomData,
        })
    }

    pub(super) fn run(&self) {
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
        let lanes = K::LANES;
        let split_rows = (split_rows_cost <= split_cols_cost && self.m >= 4 * n_threads)
            || self.n < lanes * n_threads;
        let run = |t: usize| {
            if split_rows {
                let (i0, i1) = (self.m * t / n_threads, self.m * (t + 1) / n_threads);
                self.run_region(i0, i1, 0, self.n);
            } else {
                let vectors = self.n.div_ceil(lanes);
                let j0 = (vectors * t / n_threads * lanes).min(self.n);
                let j1 = (vectors * (t + 1) / n_threads * lanes).min(self.n);
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
        let (mr, nr) = (K::MR, K::NR);
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let k = self.k;
            let b_panels = (j1 - j0).div_ceil(nr);
            let b_len = if self.b_direct { 0 } else { b_panels * k * nr };
            let a_len = if self.a_direct {
                0
            } else {
                MC.min(i1 - i0).div_ceil(mr) * k * mr
            };
            // 16 extra floats to start the packed panels on a 64-byte boundary.
            let needed = b_len + a_len + 16;
            if scratch.len() < needed {
                scratch.resize(needed, 0.0);
            }
            let align = scratch.as_ptr().align_offset(64).min(15);
            let (b_buf, a_buf) = scratch[align..align + b_len + a_len].split_at_mut(b_len);
            if !self.b_direct {
                for (q, panel) in b_buf.chunks_exact_mut(k * nr).enumerate() {
                    let j = j0 + q * nr;
                    self.pack_b(j, nr.min(j1 - j), panel);
                }
            }
            for ic in (i0..i1).step_by(MC) {
                let ie = (ic + MC).min(i1);
                if !self.a_direct {
                    for (t, panel) in a_buf.chunks_exact_mut(k * mr).enumerate() {
                        let i = ic + t * mr;
                        if i < ie {
                            self.pack_a(i, mr.min(ie - i), panel);
                        }
                    }
                }
                let micro = |t: usize, q: usize| {
                    let (i, j) = (ic + t * mr, j0 + q * nr);
                    let (rows, cols) = (mr.min(ie - i), nr.min(j1 - j));
                    let (a_ptr, a_rs, a_step) = if self.a_direct {
                        // SAFETY: row i is inside a (i < m).
                        (
                            unsafe { self.a.ptr.add(i * self.a.rs) },
                            self.a.rs,
                            self.a.cs,
                        )
                    } else {
                        (a_buf[t * k * mr..].as_ptr(), 1, mr)
                    };
                    let (b_ptr, b_step) = if self.b_direct {
                        // SAFETY: column j is inside b (j < n).
                        (unsafe { self.b.ptr.add(j * self.b.cs) }, self.b.rs)
                    } else {
                        (b_buf[q * k * nr..].as_ptr(), nr)
                    };
                    // SAFETY: (i, j) is inside c.
                    let c_ptr = unsafe { self.c.add(i * self.ldc + j) };
                    // SAFETY: the kernel reads a[r·a_rs + p·a_step] for r < rows, p < k and
                    // b[p·b_step + s] for s < cols, p < k, which lie inside a and b (in
                    // place) or the packed panels; it writes the rows x cols block of c
                    // at c_ptr, inside c; this thread's region is written by no other.
                    // `new` checked that the CPU runs the kernel.
                    unsafe {
                        K::block(
                            rows, cols, k, a_ptr, a_rs, a_step, b_ptr, b_step, c_ptr, self.ldc,
                            self.beta,
                        )
                    };
                };
                // The inner loop goes over the smaller operand again and again, so
                // that it stays in this core's cache; the larger is read once.
                let (a_panels, b_panels) = ((ie - ic).div_ceil(mr), b_panels);
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
        unsafe { pack_lines(ptr.add(i * rs), rs, cs, rows, self.k, panel, K::MR) }
    }

    /// b[.., j..j + cols] into `panel` with step NR: panel[p·NR + s] = b[p, j + s].
    fn pack_b(&self, j: usize, cols: usize, panel: &mut [f32]) {
        let Raw { ptr, rs, cs } = self.b;
        // SAFETY: columns j..j + cols (< n) of b, each k long at step rs, lie inside b.
        unsafe { pack_lines(ptr.add(j * cs), cs, rs, cols, self.k, panel, K::NR) }
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

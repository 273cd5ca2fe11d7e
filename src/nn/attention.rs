//! Multi-head scaled dot-product self-attention over packed sequences: PyTorch's
//! `nn.MultiheadAttention(d_model, heads, batch_first=True)` called as self-attention with a
//! key padding mask.
//!
//! The caller packs the valid steps of every sequence of a batch into one contiguous
//! (rows, d_model) matrix, sequence after sequence (`Segments`): padding steps are not
//! there at all, so no padded key can take part and the products skip the padding's work.
//! Then
//!
//! ```text
//! [Q | K | V] = x·W_in + b_in             one product over all rows, (rows, 3·d_model)
//! P_h = softmax(Q_h·K_hᵀ / sqrt(d_head))  per sequence and head h, (L, L)
//! O   = [P_1·V_1 | .. | P_heads·V_heads]  (rows, d_model)
//! y   = O·W_out + b_out
//! ```
//!
//! The weights are stored as `Dense` layers, (n_in, n_out): W_in is the transpose of
//! PyTorch's `in_proj_weight` (3·d_model, d_model) with the columns in PyTorch's q, k, v
//! order, head h at columns h·d_head.. of each; W_out is the transpose of
//! `out_proj.weight`. The per-sequence products are split over the installed pool's
//! threads by sequence; each sequence's values do not depend on the split.

use std::ops::Range;

use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};

use super::gemm::matmul;
use super::softmax::{softmax_backward_rows, softmax_rows};
use super::{prefix_mut, Buffer, Dense, Layer};
use crate::parallel::{self, SharedMut};

/// Where each sequence of a batch lies in the packed rows: sequence b holds rows
/// `start[b]..start[b] + len[b]`, and its attention probabilities start at `probs[b]`.
#[derive(Debug, Clone, Default)]
pub struct Segments {
    /// First packed row of each sequence.
    pub start: Vec<usize>,
    /// Valid steps of each sequence.
    pub len: Vec<usize>,
    /// Offset of each sequence's (heads, L, L) probabilities.
    probs: Vec<usize>,
}

impl Segments {
    /// Lay out sequences of the valid steps `lengths` one after the other.
    pub fn set(&mut self, lengths: &[usize], heads: usize) {
        self.start.clear();
        self.len.clear();
        self.probs.clear();
        let (mut row, mut prob) = (0, 0);
        for &l in lengths {
            self.start.push(row);
            self.len.push(l);
            self.probs.push(prob);
            row += l;
            prob += heads * l * l;
        }
        self.probs.push(prob);
    }

    /// Packed rows in all.
    pub fn rows(&self) -> usize {
        self.start
            .last()
            .zip(self.len.last())
            .map_or(0, |(s, l)| s + l)
    }

    /// The packed rows of sequence `b`.
    pub fn range(&self, b: usize) -> Range<usize> {
        self.start[b]..self.start[b] + self.len[b]
    }

    fn prob_len(&self) -> usize {
        *self.probs.last().unwrap_or(&0)
    }
}

#[derive(Debug, Clone)]
/// Multi-head self-attention with its input and output projections (see the top of this
/// file). The encoder block writes its projections into the model file.
pub struct SelfAttention {
    heads: usize,
    /// W_in: (d_model, 3·d_model), b_in: (3·d_model).
    in_proj: Dense,
    /// W_out: (d_model, d_model), b_out: (d_model).
    out_proj: Dense,
    scratch: Scratch,
}

/// Buffers reused from batch to batch: they grow to the largest batch once.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// Concatenated head outputs O, (rows, d_model).
    heads_out: Buffer,
    /// The probabilities P of every sequence and head, then (in backward) dS.
    probs: Vec<f32>,
    /// d loss / d [Q | K | V], (rows, 3·d_model).
    grad_qkv: Buffer,
    /// d loss / d P and a transposed head, one (steps, steps + d_head) block per thread.
    grad_probs: Vec<f32>,
}

impl SelfAttention {
    /// Attention with `heads` heads (dividing `in_proj`'s inputs) and the projections
    /// `in_proj` (d_model -> 3·d_model) and `out_proj` (d_model -> d_model). Panics when
    /// the shapes do not fit (model files are checked before).
    pub fn new(heads: usize, in_proj: Dense, out_proj: Dense) -> Self {
        let d_model = in_proj.n_in();
        assert!(
            heads > 0 && d_model.is_multiple_of(heads),
            "heads divide d_model"
        );
        assert_eq!(in_proj.n_out(), 3 * d_model, "in_proj gives q, k and v");
        assert_eq!((out_proj.n_in(), out_proj.n_out()), (d_model, d_model));
        SelfAttention {
            heads,
            in_proj,
            out_proj,
            scratch: Scratch::default(),
        }
    }

    /// Heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// Values per step.
    pub fn d_model(&self) -> usize {
        self.in_proj.n_in()
    }

    /// The input projection: W_in (d_model, 3·d_model), b_in (3·d_model).
    pub fn in_proj(&self) -> &Dense {
        &self.in_proj
    }

    /// The output projection: W_out (d_model, d_model), b_out (d_model).
    pub fn out_proj(&self) -> &Dense {
        &self.out_proj
    }

    /// `x`: the packed rows (rows, d_model), laid out by `segments`. The result is
    /// `output()`.
    pub fn forward(&mut self, x: ArrayView2<f32>, segments: &Segments) {
        let d = self.d_model();
        self.in_proj.forward(x, true);
        let rows = x.nrows();
        let s = &mut self.scratch;
        s.heads_out.resize(rows, d);
        prefix_mut(&mut s.probs, segments.prob_len());
        let qkv = self.in_proj.output();
        let qkv = qkv.as_slice().expect("a dense output is contiguous");
        let heads_out = SharedMut::new(s.heads_out.view_mut().into_slice().expect("contiguous"));
        let probs = SharedMut::new(&mut s.probs);
        let heads = self.heads;
        for_each_sequence(segments, &|b| {
            let range = segments.range(b);
            // SAFETY: sequence b's rows and probabilities are its own: no other task
            // touches them.
            let (out, p) = unsafe {
                (
                    heads_out.range(range.start * d..range.end * d),
                    probs.range(segments.probs[b]..segments.probs[b + 1]),
                )
            };
            forward_sequence(
                &qkv[range.start * 3 * d..range.end * 3 * d],
                heads,
                d,
                out,
                p,
            );
        });
        self.out_proj.forward(self.scratch.heads_out.view(), true);
    }

    /// (rows, d_model): the result of the last `forward`.
    pub fn output(&self) -> ArrayView2<'_, f32> {
        self.out_proj.output()
    }

    /// `x` and `segments`: those of the last `forward`; `grad_out`: d loss / d output.
    /// Sets the parameter gradients and, when `need_grad_in`, `grad_in()`.
    pub fn backward(
        &mut self,
        x: ArrayView2<f32>,
        segments: &Segments,
        grad_out: ArrayView2<f32>,
        need_grad_in: bool,
    ) {
        let d = self.d_model();
        let longest = segments.len.iter().copied().max().unwrap_or(0);
        // Each part's scratch: dP (L, L) and a transposed head (d_head, L).
        let block = longest * (longest + d / self.heads);
        self.out_proj
            .backward(self.scratch.heads_out.view(), grad_out, true);
        let s = &mut self.scratch;
        let threads = parallel::current_threads();
        prefix_mut(&mut s.grad_probs, threads * block);
        s.grad_qkv.resize(x.nrows(), 3 * d);
        let qkv = self.in_proj.output();
        let qkv = qkv.as_slice().expect("a dense output is contiguous");
        let grad_heads = self.out_proj.grad_in();
        let grad_heads = grad_heads
            .as_slice()
            .expect("a dense gradient is contiguous");
        let grad_qkv = SharedMut::new(s.grad_qkv.view_mut().into_slice().expect("contiguous"));
        let probs = SharedMut::new(&mut s.probs);
        let grad_probs = SharedMut::new(&mut s.grad_probs);
        let heads = self.heads;
        for_each_part(segments.len.len(), threads, &|part, sequences| {
            // SAFETY: each part has its own block of `grad_probs`.
            let dp = unsafe { grad_probs.range(part * block..(part + 1) * block) };
            for b in sequences {
                let range = segments.range(b);
                let rows3 = range.start * 3 * d..range.end * 3 * d;
                // SAFETY: sequence b's rows and probabilities are its own.
                let (dqkv, p) = unsafe {
                    (
                        grad_qkv.range(rows3.clone()),
                        probs.range(segments.probs[b]..segments.probs[b + 1]),
                    )
                };
                let sequence = Sequence {
                    qkv: &qkv[rows3],
                    heads,
                    d,
                };
                sequence.backward(&grad_heads[range.start * d..range.end * d], p, dp, dqkv);
            }
        });
        self.in_proj
            .backward(x, self.scratch.grad_qkv.view(), need_grad_in);
    }

    /// (rows, d_model): d loss / d x from the last `backward` that asked for it.
    pub fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.in_proj.grad_in()
    }

    /// Visit W_in, b_in, W_out, b_out with their gradients.
    pub fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        self.in_proj.visit_params(visit);
        self.out_proj.visit_params(visit);
    }

    /// Trainable parameters.
    pub fn n_params(&self) -> usize {
        self.in_proj.n_params() + self.out_proj.n_params()
    }
}

/// Call `f(b)` for every sequence b, split over the installed pool's threads.
fn for_each_sequence(segments: &Segments, f: &(dyn Fn(usize) + Sync)) {
    let threads = parallel::current_threads();
    for_each_part(segments.len.len(), threads, &|_, sequences| {
        sequences.for_each(f)
    });
}

/// Call `f(part, sequences)` for `parts` consecutive runs of `0..n` on the pool's threads.
fn for_each_part(n: usize, parts: usize, f: &(dyn Fn(usize, Range<usize>) + Sync)) {
    let run = |part: usize| f(part, n * part / parts..n * (part + 1) / parts);
    match parallel::current() {
        Some(pool) if parts > 1 && n > 1 => pool.run(parts, &run),
        _ => (0..parts).for_each(run),
    }
}

/// One sequence's packed [Q | K | V] rows, (L, 3·d) row-major.
struct Sequence<'a> {
    qkv: &'a [f32],
    heads: usize,
    d: usize,
}

impl Sequence<'_> {
    fn steps(&self) -> usize {
        self.qkv.len() / (3 * self.d)
    }

    /// Head h's queries (part 0), keys (1) or values (2): (L, d_head), row stride 3·d.
    fn part(&self, which: usize, h: usize) -> ArrayView2<'_, f32> {
        let (l, dh) = (self.steps(), self.d / self.heads);
        let start = which * self.d + h * dh;
        ArrayView2::from_shape((l, dh).strides((3 * self.d, 1)), &self.qkv[start..])
            .expect("the head's columns lie inside the rows")
    }

    fn scale(&self) -> f32 {
        1.0 / ((self.d / self.heads) as f32).sqrt()
    }

    /// `grad_heads`: d loss / d O of this sequence, (L, d); `p`: (heads, L, L), the
    /// probabilities (overwritten); `dp`: scratch of at least L·(L + d_head); `dqkv`:
    /// (L, 3·d), all written.
    fn backward(&self, grad_heads: &[f32], p: &mut [f32], dp: &mut [f32], dqkv: &mut [f32]) {
        let (l, d, dh) = (self.steps(), self.d, self.d / self.heads);
        if l == 0 {
            return;
        }
        let (dp, transposed) = dp[..l * (l + dh)].split_at_mut(l * l);
        for h in 0..self.heads {
            let p = &mut p[h * l * l..(h + 1) * l * l];
            let d_o = strided(grad_heads, h * dh, (l, dh), d);
            let (q, k, v) = (self.part(0, h), self.part(1, h), self.part(2, h));
            // dVᵀ = dOᵀ·P: d_head rows of L columns use the kernel's lanes where dV = Pᵀ·dO,
            // L rows of d_head columns, would fill half of each vector (the same sums in
            // the same order, so the same bits).
            let p_view = ArrayView2::from_shape((l, l), &*p).expect("L x L");
            matmul(d_o.t(), p_view, 0.0, row_major(transposed, (dh, l)));
            put_transposed(transposed, (dh, l), dqkv, 2 * d + h * dh, 3 * d);
            // dP = dO·Vᵀ
            matmul(
                d_o,
                v.t(),
                0.0,
                ArrayViewMut2::from_shape((l, l), &mut *dp).expect("L x L"),
            );
            // dS = P ∘ (dP - Σ_j P·dP) · scale, into P's place.
            softmax_backward_rows(p, dp, l, self.scale());
            let ds = ArrayView2::from_shape((l, l), &*p).expect("L x L");
            // dQ = dS·K, dKᵀ = Qᵀ·dS (as dV)
            matmul(ds, k, 0.0, strided_mut(dqkv, h * dh, (l, dh), 3 * d));
            matmul(q.t(), ds, 0.0, row_major(transposed, (dh, l)));
            put_transposed(transposed, (dh, l), dqkv, d + h * dh, 3 * d);
        }
    }
}

/// `data` as a row-major (rows, cols) matrix.
fn row_major(data: &mut [f32], (rows, cols): (usize, usize)) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[..rows * cols]).expect("rows x cols")
}

/// Write the row-major (rows, cols) matrix `from` transposed into `to`, whose rows are
/// `stride` apart, starting at column `start`: to[j·stride + start + i] = from[i·cols + j].
fn put_transposed(
    from: &[f32],
    (rows, cols): (usize, usize),
    to: &mut [f32],
    start: usize,
    stride: usize,
) {
    for (j, row) in to.chunks_mut(stride).take(cols).enumerate() {
        // Column j of `from` by a stepping iterator: no bounds check per value.
        let column = from[j..].iter().step_by(cols);
        row[start..start + rows]
            .iter_mut()
            .zip(column)
            .for_each(|(out, &v)| *out = v);
    }
}

/// Forward pass of one sequence: `qkv` (L, 3·d) -> `out` (L, d), keeping the
/// probabilities in `p` (heads, L, L).
fn forward_sequence(qkv: &[f32], heads: usize, d: usize, out: &mut [f32], p: &mut [f32]) {
    let sequence = Sequence { qkv, heads, d };
    let (l, dh, scale) = (sequence.steps(), d / heads, sequence.scale());
    if l == 0 {
        return;
    }
    for h in 0..heads {
        let p = &mut p[h * l * l..(h + 1) * l * l];
        // S = Q·Kᵀ, then P = softmax(S · scale) row by row, in place.
        let scores = ArrayViewMut2::from_shape((l, l), &mut *p).expect("L x L");
        matmul(sequence.part(0, h), sequence.part(1, h).t(), 0.0, scores);
        softmax_rows(p, l, scale);
        let p_view = ArrayView2::from_shape((l, l), &*p).expect("L x L");
        matmul(
            p_view,
            sequence.part(2, h),
            0.0,
            strided_mut(out, h * dh, (l, dh), d),
        );
    }
}

/// The (rows, cols) matrix at `start` of `data` whose rows are `stride` apart.
fn strided(
    data: &[f32],
    start: usize,
    (rows, cols): (usize, usize),
    stride: usize,
) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, cols).strides((stride, 1)), &data[start..]).expect("inside")
}

/// The mutable (rows, cols) matrix at `start` of `data` whose rows are `stride` apart.
fn strided_mut(
    data: &mut [f32],
    start: usize,
    (rows, cols): (usize, usize),
    stride: usize,
) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, cols).strides((stride, 1)), &mut data[start..])
        .expect("inside")
}

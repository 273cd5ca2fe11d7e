//! GRU layer over a sequence block (see `sequence.rs`): (batch, 1 + T·C) in, the hidden
//! state at every valid step out, (batch, 1 + T·H), zeros at padding steps.
//!
//! PyTorch's equations and gate order, initial state zero:
//!
//! ```text
//! r = σ(x·W_ir + b_ir + h·W_hr + b_hr)
//! z = σ(x·W_iz + b_iz + h·W_hz + b_hz)
//! n = tanh(x·W_in + b_in + r ∘ (h·W_hn + b_hn))
//! h' = (1 - z) ∘ n + z ∘ h
//! ```
//!
//! Backward, with a = h·W_hn + b_hn and dh the gradient reaching h' (from the output and
//! from the step after): dn = dh(1 - z), dz = dh(h - n), dn̂ = dn(1 - n²), dr̂ = dn̂·a·r(1 - r),
//! dẑ = dz·z(1 - z); the input side sees (dr̂, dẑ, dn̂), the recurrent side (dr̂, dẑ, dn̂ ∘ r),
//! and dh_prev = dh ∘ z + (recurrent side)·W_hhᵀ.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::fast_math::{sigmoid, tanh, vectorised_fn};
use super::gemm::matmul;
use super::int8::Int8Matrix;
use super::recurrent::{mat, mat_mut, scratch, GateMajor, GateMajorInt8, Packing, RecurrentParams};
use super::recurrent_spec::RecurrentSpec;
use super::{Buffer, Layer, NetworkError, SeqShape};

/// Gates per unit: r, z, n.
const GATES: usize = 3;
/// The layer kind named in errors.
const KIND: &str = "gru";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "RecurrentSpec", try_from = "RecurrentSpec")]
/// A gated recurrent unit layer (PyTorch's `nn.GRU`, one layer, one direction).
pub struct Gru {
    params: RecurrentParams,
    packing: Packing,
    /// (N, C): the valid input steps, packed (N = the sum of the lengths).
    xs: Vec<f32>,
    /// (N, 3H): x·W_ih + b_ih, then overwritten by r, z, n.
    gates: Vec<f32>,
    /// (N, H): a = h·W_hn + b_hn, which r scales.
    hn: Vec<f32>,
    /// (N, H): the state after each packed step.
    hs: Vec<f32>,
    /// (batch, 3H): h·W_hh of one step.
    gh: Vec<f32>,
    /// (batch, H): zeros, the state before step 0.
    zeros: Vec<f32>,
    output: Buffer,
    /// (N, H): d loss / d state, from the output and then from the step after.
    dh: Vec<f32>,
    /// (N, 3H): d loss / d pre-activations on the input side and on the recurrent side.
    dgx: Vec<f32>,
    dgh: Vec<f32>,
    /// (batch, H): d loss / d state carried to the step before.
    carry: Vec<f32>,
    /// (N, H): the state before each packed step, for dW_hh.
    hprev: Vec<f32>,
    /// (N, C): d loss / d packed inputs.
    dxs: Vec<f32>,
    grad_input: Buffer,
}

impl Gru {
    /// A layer for sequences of `input` shape with `hidden` units, weights and biases from
    /// U(-1/√H, 1/√H) as PyTorch draws them.
    pub fn new(input: SeqShape, hidden: usize, rng: &mut impl Rng) -> Self {
        Gru::from_params(RecurrentParams::init(input, hidden, GATES, rng))
    }

    /// A layer from its weights in our layout: `w_ih` (C, 3H), `w_hh` (H, 3H), biases
    /// (3H), gate blocks r, z, n. Panics when the shapes disagree.
    pub fn from_weights(
        input: SeqShape,
        w_ih: Array2<f32>,
        w_hh: Array2<f32>,
        b_ih: Array1<f32>,
        b_hh: Array1<f32>,
    ) -> Self {
        assert_eq!(w_hh.ncols(), GATES * w_hh.nrows(), "w_hh must be (H, 3H)");
        Gru::from_params(RecurrentParams::new(input, w_ih, w_hh, b_ih, b_hh))
    }

    fn from_params(params: RecurrentParams) -> Self {
        Gru {
            params,
            packing: Packing::default(),
            xs: Vec::new(),
            gates: Vec::new(),
            hn: Vec::new(),
            hs: Vec::new(),
            gh: Vec::new(),
            zeros: Vec::new(),
            output: Buffer::default(),
            dh: Vec::new(),
            dgx: Vec::new(),
            dgh: Vec::new(),
            carry: Vec::new(),
            hprev: Vec::new(),
            dxs: Vec::new(),
            grad_input: Buffer::default(),
        }
    }

    /// The input: T steps of C channels.
    pub fn input_shape(&self) -> SeqShape {
        self.params.shape
    }

    /// The output: T steps of H values.
    pub fn output_shape(&self) -> SeqShape {
        self.params.output_shape()
    }

    /// H: hidden units.
    pub fn hidden(&self) -> usize {
        self.params.hidden
    }

    /// Input weights, our layout (C, 3H), gate blocks r, z, n.
    pub fn weights_ih(&self) -> &Array2<f32> {
        &self.params.w_ih
    }

    /// Recurrent weights, our layout (H, 3H), gate blocks r, z, n.
    pub fn weights_hh(&self) -> &Array2<f32> {
        &self.params.w_hh
    }

    /// Input bias (3H): b_ir, b_iz, b_in.
    pub fn bias_ih(&self) -> &Array1<f32> {
        &self.params.b_ih
    }

    /// Recurrent bias (3H): b_hr, b_hz, b_hn.
    pub fn bias_hh(&self) -> &Array1<f32> {
        &self.params.b_hh
    }

    /// The parameters in PyTorch's layout and gate order (r, z, n).
    pub fn torch_parameters(&self) -> GateMajor {
        self.params.gate_major(&[0, 1, 2])
    }

    /// The parameters in ONNX GRU's layout and gate order (z, r, h); PyTorch's equations
    /// are ONNX's with `linear_before_reset = 1`.
    pub fn onnx_parameters(&self) -> GateMajor {
        self.params.gate_major(&[1, 0, 2])
    }

    /// The int8 weights in ONNX's layout and gate order (as `onnx_parameters`), with the
    /// scale of each row, when the layer was quantized by `quantize_int8`.
    pub fn onnx_int8_parameters(&self) -> Option<GateMajorInt8> {
        self.params.gate_major_int8(&[1, 0, 2])
    }

    /// A copy for inference whose weights are quantized to int8, one scale per output
    /// column of `weights_ih` and of `weights_hh` as a one-byte code
    /// (`Int8Matrix::quantize`), and dequantized back into its f32 weights, which its
    /// forward pass reads as any layer's (weight-only: inputs and states stay f32). It
    /// has no trainable parameters (training it is refused).
    pub fn quantize_int8(&self) -> Result<Gru, NetworkError> {
        self.params.quantize_int8(KIND).map(Gru::from_params)
    }

    /// A trainable f32 copy holding the weights as they are: for a layer quantized by
    /// `quantize_int8`, the f32 layer it computes as (its int8 weights dequantized).
    pub fn dequantized(&self) -> Gru {
        Gru::from_params(self.params.without_int8())
    }

    /// The int8 weights (input, recurrent) when the layer was quantized by
    /// `quantize_int8`; `weights_ih` and `weights_hh` hold them dequantized.
    pub fn int8_weights(&self) -> Option<(&Int8Matrix, &Int8Matrix)> {
        self.params.int8_weights()
    }
}

/// One forward step over `n` rows: `gates` (n, 3H) holds x·W_ih + b_ih and receives r, z,
/// n; `gh` (n, 3H) is h·W_hh; `hn` (n, H) receives a; `prev` (n, H) is the state before,
/// `out` (n, H) the state after.
fn forward_step(
    h: usize,
    gates: &mut [f32],
    gh: &[f32],
    b_hh: &[f32],
    hn: &mut [f32],
    prev: &[f32],
    out: &mut [f32],
) {
    let rows = gates
        .chunks_exact_mut(GATES * h)
        .zip(gh.chunks_exact(GATES * h))
        .zip(hn.chunks_exact_mut(h))
        .zip(prev.chunks_exact(h).zip(out.chunks_exact_mut(h)));
    for (((g, q), a), (hp, o)) in rows {
        forward_row(g, q, b_hh, a, hp, o);
    }
}

vectorised_fn! {
    /// `forward_step` for one row: a function of its own, so that the compiler knows its
    /// slices apart and vectorises the loop without checks.
    fn forward_row(g: &mut [f32], q: &[f32], b_hh: &[f32], a: &mut [f32], hp: &[f32], o: &mut [f32]) {
        let h = o.len();
        let (g_r, g) = g.split_at_mut(h);
        let (g_z, g_n) = g.split_at_mut(h);
        // Every slice exactly h long: the loop runs without bounds checks.
        let (g_r, g_z, g_n) = (&mut g_r[..h], &mut g_z[..h], &mut g_n[..h]);
        let (q_r, q_z, q_n) = (&q[..h], &q[h..2 * h], &q[2 * h..3 * h]);
        let (b_r, b_z, b_n) = (&b_hh[..h], &b_hh[h..2 * h], &b_hh[2 * h..3 * h]);
        let (a, hp) = (&mut a[..h], &hp[..h]);
        for j in 0..h {
            let r = sigmoid(g_r[j] + q_r[j] + b_r[j]);
            let z = sigmoid(g_z[j] + q_z[j] + b_z[j]);
            let aj = q_n[j] + b_n[j];
            let n = tanh(g_n[j] + r * aj);
            (g_r[j], g_z[j], g_n[j], a[j]) = (r, z, n, aj);
            o[j] = (1.0 - z) * n + z * hp[j];
        }
    }
}

vectorised_fn! {
    /// One backward step over `n` rows: from the gates, a and the state before (as
    /// `forward_step` left them) and `dh` (n, H), the gradients of the pre-activations on
    /// the input side `dgx` and the recurrent side `dgh` (n, 3H), and dh ∘ z into `carry`
    /// (n, H).
    #[allow(clippy::too_many_arguments)]
    fn backward_step(
        h: usize,
        gates: &[f32],
        hn: &[f32],
        prev: &[f32],
        dh: &[f32],
        dgx: &mut [f32],
        dgh: &mut [f32],
        carry: &mut [f32],
    ) {
        let rows = gates
            .chunks_exact(GATES * h)
            .zip(hn.chunks_exact(h).zip(prev.chunks_exact(h)))
            .zip(dh.chunks_exact(h).zip(carry.chunks_exact_mut(h)))
            .zip(
                dgx.chunks_exact_mut(GATES * h)
                    .zip(dgh.chunks_exact_mut(GATES * h)),
            );
        for (((g, (a, hp)), (d, c)), (dx, dq)) in rows {
            let (g_r, g_z, g_n) = (&g[..h], &g[h..2 * h], &g[2 * h..3 * h]);
            let (dx_r, dx) = dx.split_at_mut(h);
            let (dx_z, dx_n) = dx.split_at_mut(h);
            let (dq_r, dq) = dq.split_at_mut(h);
            let (dq_z, dq_n) = dq.split_at_mut(h);
            let (dx_r, dx_z, dx_n) = (&mut dx_r[..h], &mut dx_z[..h], &mut dx_n[..h]);
            let (dq_r, dq_z, dq_n) = (&mut dq_r[..h], &mut dq_z[..h], &mut dq_n[..h]);
            let (a, hp, d, c) = (&a[..h], &hp[..h], &d[..h], &mut c[..h]);
            for j in 0..h {
                let (r, z, n) = (g_r[j], g_z[j], g_n[j]);
                let dn = d[j] * (1.0 - z) * (1.0 - n * n);
                let dr = dn * a[j] * r * (1.0 - r);
                let dz = d[j] * (hp[j] - n) * z * (1.0 - z);
                (dx_r[j], dx_z[j], dx_n[j]) = (dr, dz, dn);
                (dq_r[j], dq_z[j], dq_n[j]) = (dr, dz, dn * r);
                c[j] = d[j] * z;
            }
        }
    }
}

impl Layer for Gru {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        let (p, pk) = (&self.params, &mut self.packing);
        let (c, h, batch) = (p.shape.channels, p.hidden, x.nrows());
        let g3 = GATES * h;
        pk.plan(x, p.shape.steps);
        let total = pk.rows();
        let xs = scratch(&mut self.xs, total * c);
        pk.gather(x, c, xs);
        // Every step's input projection in one product: gates = xs·W_ih + b_ih.
        let gates = scratch(&mut self.gates, total * g3);
        let b_ih = p.b_ih.as_slice().expect("bias is contiguous");
        gates
            .chunks_exact_mut(g3)
            .for_each(|row| row.copy_from_slice(b_ih));
        if total > 0 {
            matmul(
                mat(xs, total, c),
                p.w_ih.view(),
                1.0,
                mat_mut(gates, total, g3),
            );
        }
        let hn = scratch(&mut self.hn, total * h);
        let hs = scratch(&mut self.hs, total * h);
        let gh = scratch(&mut self.gh, batch * g3);
        let zeros = scratch(&mut self.zeros, batch * h);
        let b_hh = p.b_hh.as_slice().expect("bias is contiguous");
        for t in 0..pk.steps() {
            let rows = pk.step_rows(t);
            let n = rows.len();
            let (before, now) = hs.split_at_mut(rows.start * h);
            let prev: &[f32] = if t == 0 {
                gh[..n * g3].fill(0.0);
                &zeros[..n * h]
            } else {
                // The first n rows of the step before are the rows still running.
                let prev = &before[pk.step_rows(t - 1).start * h..][..n * h];
                matmul(mat(prev, n, h), p.w_hh.view(), 0.0, mat_mut(gh, n, g3));
                prev
            };
            forward_step(
                h,
                &mut gates[rows.start * g3..rows.end * g3],
                &gh[..n * g3],
                b_hh,
                &mut hn[rows.start * h..rows.end * h],
                prev,
                &mut now[..n * h],
            );
        }
        self.output.resize(batch, p.output_shape().width());
        let mut out = self.output.view_mut();
        pk.scatter(hs, h, out.view_mut());
        out.column_mut(0).assign(&x.column(0));
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        let (p, pk) = (&mut self.params, &self.packing);
        let (h, batch) = (p.hidden, x.nrows());
        let g3 = GATES * h;
        let total = pk.rows();
        p.start_backward();
        let dh = scratch(&mut self.dh, total * h);
        pk.gather(grad_out, h, dh);
        let dgx = scratch(&mut self.dgx, total * g3);
        let dgh = scratch(&mut self.dgh, total * g3);
        let carry = scratch(&mut self.carry, batch * h);
        carry.fill(0.0);
        let hprev = scratch(&mut self.hprev, total * h);
        let (gates, hn, hs) = (&self.gates, &self.hn, &self.hs);
        for t in (0..pk.steps()).rev() {
            let rows = pk.step_rows(t);
            let n = rows.len();
            let (r1, r3) = (rows.start * h..rows.end * h, rows.start * g3..rows.end * g3);
            let prev = &mut hprev[r1.clone()];
            match t {
                0 => prev.fill(0.0),
                _ => prev.copy_from_slice(&hs[pk.step_rows(t - 1).start * h..][..n * h]),
            }
            let d = &mut dh[r1.clone()];
            d.iter_mut()
                .zip(&carry[..n * h])
                .for_each(|(d, &c)| *d += c);
            backward_step(
                h,
                &gates[r3.clone()],
                &hn[r1],
                prev,
                d,
                &mut dgx[r3.clone()],
                &mut dgh[r3.clone()],
                &mut carry[..n * h],
            );
            if t > 0 {
                let dq = mat(&dgh[r3], n, g3);
                matmul(dq, p.w_hh_t.view(), 1.0, mat_mut(carry, n, h));
            }
        }
        p.weight_gradients(&self.xs, hprev, dgx, dgh, total);
        if need_grad_in {
            p.input_gradient(&self.dgx, pk, &mut self.dxs, &mut self.grad_input, batch);
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut [f32], &[f32])) {
        self.params.visit(visit)
    }

    fn n_params(&self) -> usize {
        self.params.len()
    }
}

impl From<Gru> for RecurrentSpec {
    fn from(gru: Gru) -> Self {
        RecurrentSpec::of(&gru.params)
    }
}

impl TryFrom<RecurrentSpec> for Gru {
    type Error = NetworkError;

    fn try_from(spec: RecurrentSpec) -> Result<Self, NetworkError> {
        spec.into_params(GATES, KIND).map(Gru::from_params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_sequence_layer;
    use crate::nn::AnyLayer;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn gru_gradients_match_finite_differences() {
        let shape = SeqShape::new(4, 3);
        // Lengths 0, 1 and T, mixed in one batch and alone.
        let batches: [&[usize]; 4] = [&[4, 1, 0, 2, 4], &[1], &[4, 4], &[0, 3]];
        for (seed, lengths) in batches.into_iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
            let layer = AnyLayer::Gru(Gru::new(shape, 3, &mut rng));
            check_sequence_layer(layer, shape, lengths, seed as u64, "gru");
        }
    }
}

//! LSTM layer over a sequence block (see `sequence.rs`): (batch, 1 + T·C) in, the hidden
//! state at every valid step out, (batch, 1 + T·H), zeros at padding steps.
//!
//! PyTorch's equations and gate order, initial state and cell zero:
//!
//! ```text
//! i = σ(x·W_ii + b_ii + h·W_hi + b_hi)      f = σ(x·W_if + b_if + h·W_hf + b_hf)
//! g = tanh(x·W_ig + b_ig + h·W_hg + b_hg)   o = σ(x·W_io + b_io + h·W_ho + b_ho)
//! c' = f ∘ c + i ∘ g                         h' = o ∘ tanh(c')
//! ```
//!
//! Backward, with dh and dc the gradients reaching h' and c' from the output and the step
//! after: do = dh·tanh(c'), dc += dh·o(1 - tanh²(c')), di = dc·g, dg = dc·i, df = dc·c,
//! dc_prev = dc ∘ f; the pre-activations' gradients (one set: both sides see the same sum)
//! give dh_prev = (them)·W_hhᵀ.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::fast_math::{sigmoid, tanh, vectorised_fn};
use super::gemm::matmul;
use super::int8::Int8Matrix;
use super::recurrent::{mat, mat_mut, scratch, GateMajor, GateMajorInt8, Packing, RecurrentParams};
use super::recurrent_spec::RecurrentSpec;
use super::{Buffer, Layer, NetworkError, SeqShape};

/// Gates per unit: i, f, g, o.
const GATES: usize = 4;
/// The layer kind named in errors.
const KIND: &str = "lstm";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "RecurrentSpec", try_from = "RecurrentSpec")]
/// A long short-term memory layer (PyTorch's `nn.LSTM`, one layer, one direction).
pub struct Lstm {
    params: RecurrentParams,
    packing: Packing,
    /// (N, C): the valid input steps, packed (N = the sum of the lengths).
    xs: Vec<f32>,
    /// (N, 4H): x·W_ih + b_ih, plus h·W_hh, then overwritten by i, f, g, o.
    gates: Vec<f32>,
    /// (N, H): the cell after each packed step, and its tanh.
    cs: Vec<f32>,
    tcs: Vec<f32>,
    /// (N, H): the state after each packed step.
    hs: Vec<f32>,
    /// (batch, H): zeros, the state and cell before step 0.
    zeros: Vec<f32>,
    output: Buffer,
    /// (N, H): d loss / d state, from the output and then from the step after.
    dh: Vec<f32>,
    /// (N, 4H): d loss / d pre-activations.
    dg: Vec<f32>,
    /// (batch, H): d loss / d state and d loss / d cell carried to the step before.
    carry_h: Vec<f32>,
    carry_c: Vec<f32>,
    /// (N, H): the state before each packed step, for dW_hh.
    hprev: Vec<f32>,
    /// (N, C): d loss / d packed inputs.
    dxs: Vec<f32>,
    grad_input: Buffer,
}

impl Lstm {
    /// A layer for sequences of `input` shape with `hidden` units, weights and biases from
    /// U(-1/√H, 1/√H) as PyTorch draws them.
    pub fn new(input: SeqShape, hidden: usize, rng: &mut impl Rng) -> Self {
        Lstm::from_params(RecurrentParams::init(input, hidden, GATES, rng))
    }

    /// A layer from its weights in our layout: `w_ih` (C, 4H), `w_hh` (H, 4H), biases
    /// (4H), gate blocks i, f, g, o. Panics when the shapes disagree.
    pub fn from_weights(
        input: SeqShape,
        w_ih: Array2<f32>,
        w_hh: Array2<f32>,
        b_ih: Array1<f32>,
        b_hh: Array1<f32>,
    ) -> Self {
        assert_eq!(w_hh.ncols(), GATES * w_hh.nrows(), "w_hh must be (H, 4H)");
        Lstm::from_params(RecurrentParams::new(input, w_ih, w_hh, b_ih, b_hh))
    }

    fn from_params(params: RecurrentParams) -> Self {
        Lstm {
            params,
            packing: Packing::default(),
            xs: Vec::new(),
            gates: Vec::new(),
            cs: Vec::new(),
            tcs: Vec::new(),
            hs: Vec::new(),
            zeros: Vec::new(),
            output: Buffer::default(),
            dh: Vec::new(),
            dg: Vec::new(),
            carry_h: Vec::new(),
            carry_c: Vec::new(),
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

    /// Input weights, our layout (C, 4H), gate blocks i, f, g, o.
    pub fn weights_ih(&self) -> &Array2<f32> {
        &self.params.w_ih
    }

    /// Recurrent weights, our layout (H, 4H), gate blocks i, f, g, o.
    pub fn weights_hh(&self) -> &Array2<f32> {
        &self.params.w_hh
    }

    /// Input bias (4H): b_ii, b_if, b_ig, b_io.
    pub fn bias_ih(&self) -> &Array1<f32> {
        &self.params.b_ih
    }

    /// Recurrent bias (4H): b_hi, b_hf, b_hg, b_ho.
    pub fn bias_hh(&self) -> &Array1<f32> {
        &self.params.b_hh
    }

    /// The parameters in PyTorch's layout and gate order (i, f, g, o).
    pub fn torch_parameters(&self) -> GateMajor {
        self.params.gate_major(&[0, 1, 2, 3])
    }

    /// The parameters in ONNX LSTM's layout and gate order (i, o, f, c).
    pub fn onnx_parameters(&self) -> GateMajor {
        self.params.gate_major(&[0, 3, 1, 2])
    }

    /// The int8 weights in ONNX's layout and gate order (as `onnx_parameters`), with the
    /// scale of each row, when the layer was quantized by `quantize_int8`.
    pub fn onnx_int8_parameters(&self) -> Option<GateMajorInt8> {
        self.params.gate_major_int8(&[0, 3, 1, 2])
    }

    /// A copy for inference whose weights are quantized to int8, one scale per output
    /// column of `weights_ih` and of `weights_hh` as a one-byte code
    /// (`Int8Matrix::quantize`), and dequantized back into its f32 weights, which its
    /// forward pass reads as any layer's (weight-only: inputs and states stay f32). It
    /// has no trainable parameters (training it is refused).
    pub fn quantize_int8(&self) -> Result<Lstm, NetworkError> {
        self.params.quantize_int8(KIND).map(Lstm::from_params)
    }

    /// A trainable f32 copy holding the weights as they are: for a layer quantized by
    /// `quantize_int8`, the f32 layer it computes as (its int8 weights dequantized).
    pub fn dequantized(&self) -> Lstm {
        Lstm::from_params(self.params.without_int8())
    }

    /// The int8 weights (input, recurrent) when the layer was quantized by
    /// `quantize_int8`; `weights_ih` and `weights_hh` hold them dequantized.
    pub fn int8_weights(&self) -> Option<(&Int8Matrix, &Int8Matrix)> {
        self.params.int8_weights()
    }
}

/// One forward step over `n` rows: `gates` (n, 4H) holds x·W_ih + b_ih + h·W_hh and
/// receives i, f, g, o; `prev_c` (n, H) is the cell before; `c`, `tc`, `out` (n, H)
/// receive the cell, its tanh and the state after.
fn forward_step(
    h: usize,
    gates: &mut [f32],
    b_hh: &[f32],
    prev_c: &[f32],
    c: &mut [f32],
    tc: &mut [f32],
    out: &mut [f32],
) {
    let rows = gates
        .chunks_exact_mut(GATES * h)
        .zip(prev_c.chunks_exact(h).zip(c.chunks_exact_mut(h)))
        .zip(tc.chunks_exact_mut(h).zip(out.chunks_exact_mut(h)));
    for ((g, (cp, c)), (tc, o)) in rows {
        forward_row(g, b_hh, cp, c, tc, o);
    }
}

vectorised_fn! {
    /// `forward_step` for one row: a function of its own, so that the compiler knows its
    /// slices apart and vectorises the loop without checks.
    fn forward_row(g: &mut [f32], b_hh: &[f32], cp: &[f32], c: &mut [f32], tc: &mut [f32], o: &mut [f32]) {
        let h = o.len();
        let (g_i, g) = g.split_at_mut(h);
        let (g_f, g) = g.split_at_mut(h);
        let (g_g, g_o) = g.split_at_mut(h);
        // Every slice exactly h long: the loop runs without bounds checks.
        let (g_i, g_f) = (&mut g_i[..h], &mut g_f[..h]);
        let (g_g, g_o) = (&mut g_g[..h], &mut g_o[..h]);
        let (b_i, b_f) = (&b_hh[..h], &b_hh[h..2 * h]);
        let (b_g, b_o) = (&b_hh[2 * h..3 * h], &b_hh[3 * h..4 * h]);
        let (cp, c, tc) = (&cp[..h], &mut c[..h], &mut tc[..h]);
        for j in 0..h {
            let i = sigmoid(g_i[j] + b_i[j]);
            let f = sigmoid(g_f[j] + b_f[j]);
            let gg = tanh(g_g[j] + b_g[j]);
            let oo = sigmoid(g_o[j] + b_o[j]);
            (g_i[j], g_f[j], g_g[j], g_o[j]) = (i, f, gg, oo);
            let cj = f * cp[j] + i * gg;
            let t = tanh(cj);
            (c[j], tc[j], o[j]) = (cj, t, oo * t);
        }
    }
}

vectorised_fn! {
    /// One backward step over `n` rows: from the gates, the cell before and the cell's
    /// tanh (as `forward_step` left them), `dh` (n, H) and the carried d loss / d cell `dc`
    /// (n, H; it receives d loss / d cell before), the pre-activations' gradients `dg`.
    fn backward_step(
        h: usize,
        gates: &[f32],
        prev_c: &[f32],
        tc: &[f32],
        dh: &[f32],
        dc: &mut [f32],
        dg: &mut [f32],
    ) {
        let rows = gates
            .chunks_exact(GATES * h)
            .zip(prev_c.chunks_exact(h).zip(tc.chunks_exact(h)))
            .zip(dh.chunks_exact(h).zip(dc.chunks_exact_mut(h)))
            .zip(dg.chunks_exact_mut(GATES * h));
        for (((g, (cp, tc)), (d, dc)), dg) in rows {
            let (g_i, g_f) = (&g[..h], &g[h..2 * h]);
            let (g_g, g_o) = (&g[2 * h..3 * h], &g[3 * h..4 * h]);
            let (d_i, dg) = dg.split_at_mut(h);
            let (d_f, dg) = dg.split_at_mut(h);
            let (d_g, d_o) = dg.split_at_mut(h);
            let (d_i, d_f, d_g, d_o) = (&mut d_i[..h], &mut d_f[..h], &mut d_g[..h], &mut d_o[..h]);
            let (cp, tc, d, dc) = (&cp[..h], &tc[..h], &d[..h], &mut dc[..h]);
            for j in 0..h {
                let (i, f, gg, o, t) = (g_i[j], g_f[j], g_g[j], g_o[j], tc[j]);
                let dcj = dc[j] + d[j] * o * (1.0 - t * t);
                d_i[j] = dcj * gg * i * (1.0 - i);
                d_f[j] = dcj * cp[j] * f * (1.0 - f);
                d_g[j] = dcj * i * (1.0 - gg * gg);
                d_o[j] = d[j] * t * o * (1.0 - o);
                dc[j] = dcj * f;
            }
        }
    }
}

impl Layer for Lstm {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        let (p, pk) = (&self.params, &mut self.packing);
        let (c, h, batch) = (p.shape.channels, p.hidden, x.nrows());
        let g4 = GATES * h;
        pk.plan(x, p.shape.steps);
        let total = pk.rows();
        let xs = scratch(&mut self.xs, total * c);
        pk.gather(x, c, xs);
        // Every step's input projection in one product: gates = xs·W_ih + b_ih.
        let gates = scratch(&mut self.gates, total * g4);
        let b_ih = p.b_ih.as_slice().expect("bias is contiguous");
        gates
            .chunks_exact_mut(g4)
            .for_each(|row| row.copy_from_slice(b_ih));
        if total > 0 {
            matmul(
                mat(xs, total, c),
                p.w_ih.view(),
                1.0,
                mat_mut(gates, total, g4),
            );
        }
        let cs = scratch(&mut self.cs, total * h);
        let tcs = scratch(&mut self.tcs, total * h);
        let hs = scratch(&mut self.hs, total * h);
        let zeros = scratch(&mut self.zeros, batch * h);
        let b_hh = p.b_hh.as_slice().expect("bias is contiguous");
        for t in 0..pk.steps() {
            let rows = pk.step_rows(t);
            let n = rows.len();
            let (r1, r4) = (rows.start * h..rows.end * h, rows.start * g4..rows.end * g4);
            let (c_before, c_now) = cs.split_at_mut(r1.start);
            let prev_c: &[f32] = if t == 0 {
                &zeros[..n * h]
            } else {
                // The first n rows of the step before are the rows still running.
                let before = pk.step_rows(t - 1).start * h;
                let prev_h = mat(&hs[before..], n, h);
                matmul(
                    prev_h,
                    p.w_hh.view(),
                    1.0,
                    mat_mut(&mut gates[r4.clone()], n, g4),
                );
                &c_before[before..][..n * h]
            };
            forward_step(
                h,
                &mut gates[r4],
                b_hh,
                prev_c,
                &mut c_now[..n * h],
                &mut tcs[r1.clone()],
                &mut hs[r1],
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
        let g4 = GATES * h;
        let total = pk.rows();
        p.start_backward();
        let dh = scratch(&mut self.dh, total * h);
        pk.gather(grad_out, h, dh);
        let dg = scratch(&mut self.dg, total * g4);
        let carry_h = scratch(&mut self.carry_h, batch * h);
        let carry_c = scratch(&mut self.carry_c, batch * h);
        carry_h.fill(0.0);
        carry_c.fill(0.0);
        let hprev = scratch(&mut self.hprev, total * h);
        let zeros = scratch(&mut self.zeros, batch * h);
        let (gates, cs, tcs, hs) = (&self.gates, &self.cs, &self.tcs, &self.hs);
        for t in (0..pk.steps()).rev() {
            let rows = pk.step_rows(t);
            let n = rows.len();
            let (r1, r4) = (rows.start * h..rows.end * h, rows.start * g4..rows.end * g4);
            let prev_h = &mut hprev[r1.clone()];
            let prev_c = match t {
                0 => {
                    prev_h.fill(0.0);
                    &zeros[..n * h]
                }
                _ => {
                    let before = pk.step_rows(t - 1).start * h;
                    prev_h.copy_from_slice(&hs[before..][..n * h]);
                    &cs[before..][..n * h]
                }
            };
            let d = &mut dh[r1.clone()];
            d.iter_mut()
                .zip(&carry_h[..n * h])
                .for_each(|(d, &c)| *d += c);
            let dg_t = &mut dg[r4.clone()];
            backward_step(
                h,
                &gates[r4],
                prev_c,
                &tcs[r1],
                d,
                &mut carry_c[..n * h],
                dg_t,
            );
            if t > 0 {
                let dg_t = mat(dg_t, n, g4);
                matmul(dg_t, p.w_hh_t.view(), 0.0, mat_mut(carry_h, n, h));
            }
        }
        p.weight_gradients(&self.xs, hprev, dg, dg, total);
        if need_grad_in {
            p.input_gradient(&self.dg, pk, &mut self.dxs, &mut self.grad_input, batch);
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

impl From<Lstm> for RecurrentSpec {
    fn from(lstm: Lstm) -> Self {
        RecurrentSpec::of(&lstm.params)
    }
}

impl TryFrom<RecurrentSpec> for Lstm {
    type Error = NetworkError;

    fn try_from(spec: RecurrentSpec) -> Result<Self, NetworkError> {
        spec.into_params(GATES, KIND).map(Lstm::from_params)
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
    fn lstm_gradients_match_finite_differences() {
        let shape = SeqShape::new(4, 3);
        // Lengths 0, 1 and T, mixed in one batch and alone.
        let batches: [&[usize]; 4] = [&[4, 1, 0, 2, 4], &[1], &[4, 4], &[0, 3]];
        for (seed, lengths) in batches.into_iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
            let layer = AnyLayer::Lstm(Lstm::new(shape, 3, &mut rng));
            check_sequence_layer(layer, shape, lengths, seed as u64, "lstm");
        }
    }
}

//! Pooling over the valid steps of a sequence (see `sequence.rs`):
//! x: (batch, 1 + T * C) -> y: (batch, C), the last valid step, the mean of the valid
//! steps, or their maximum per channel (ties: the first step); or y: (batch, T * C), every
//! step side by side with zeros for the padding steps (`Flatten`, for a dense layer that
//! reads the series' shape). A row with no valid step gives zeros and passes no gradient.
//! Padding steps never count.

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::error::sequence_shape;
use super::{batch_lengths, Buffer, Layer, NetworkError, SeqShape};

/// How `SequencePool` reduces the valid steps; `last`, `mean` or `max` in a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolMode {
    /// The last valid step (a recurrent layer's final state).
    Last,
    /// The mean over the valid steps.
    Mean,
    /// The maximum over the valid steps, per channel.
    Max,
    /// Every step's values side by side (T x C), zeros for the padding steps.
    Flatten,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "SequencePoolSpec", try_from = "SequencePoolSpec")]
/// One vector of C values per sequence (see the top of this file).
pub struct SequencePool {
    input: SeqShape,
    mode: PoolMode,
    /// The valid steps of each row of the last forward.
    lengths: Vec<usize>,
    /// `Max`: for each output value of the last forward, the step it took. (batch * C)
    argmax: Vec<u32>,
    output: Buffer,
    grad_input: Buffer,
}

impl SequencePool {
    /// Pooling of sequences of `input` by `mode`. Errors when a size is zero or the width
    /// overflows.
    pub fn new(input: SeqShape, mode: PoolMode) -> Result<Self, NetworkError> {
        let input = sequence_shape("sequence_pool", input.steps, input.channels)?;
        if input.steps > u32::MAX as usize {
            return Err(NetworkError::SequenceShape {
                layer: "sequence_pool",
                steps: input.steps,
                channels: input.channels,
            });
        }
        Ok(SequencePool {
            input,
            mode,
            lengths: Vec::new(),
            argmax: Vec::new(),
            output: Buffer::default(),
            grad_input: Buffer::default(),
        })
    }

    /// The sequences it reads: T steps of C values.
    pub fn input_shape(&self) -> SeqShape {
        self.input
    }

    /// How it reduces the steps.
    pub fn mode(&self) -> PoolMode {
        self.mode
    }

    /// Values per row it gives: C, or T x C when it flattens.
    pub fn n_out(&self) -> usize {
        match self.mode {
            PoolMode::Flatten => self.input.steps * self.input.channels,
            _ => self.input.channels,
        }
    }
}

impl Layer for SequencePool {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        assert_eq!(x.ncols(), self.input.width(), "sequence_pool input width");
        let c = self.input.channels;
        batch_lengths(x, self.input.steps, &mut self.lengths);
        self.output.resize(x.nrows(), self.n_out());
        if self.mode == PoolMode::Max {
            self.argmax.resize(x.nrows() * c, 0);
        }
        let mut out = self.output.view_mut();
        for (b, (xr, mut y)) in x.rows().into_iter().zip(out.rows_mut()).enumerate() {
            let y = y.as_slice_mut().expect("buffer rows are contiguous");
            let length = self.lengths[b];
            let step = |t: usize| xr.slice(ndarray::s![1 + t * c..1 + (t + 1) * c]);
            if length == 0 {
                y.fill(0.0);
                continue;
            }
            match self.mode {
                PoolMode::Last => y
                    .iter_mut()
                    .zip(&step(length - 1))
                    .for_each(|(y, &v)| *y = v),
                // On a slice where the row is contiguous (from a layer's buffer, always):
                // it vectorises, ndarray's element iterator does not.
                PoolMode::Mean => match xr.as_slice() {
                    Some(row) => {
                        y.fill(0.0);
                        for step in row[1..1 + length * c].chunks_exact(c) {
                            y.iter_mut().zip(step).for_each(|(y, &v)| *y += v);
                        }
                        y.iter_mut().for_each(|y| *y /= length as f32);
                    }
                    None => {
                        y.fill(0.0);
                        for t in 0..length {
                            y.iter_mut().zip(&step(t)).for_each(|(y, &v)| *y += v);
                        }
                        y.iter_mut().for_each(|y| *y /= length as f32);
                    }
                },
                PoolMode::Flatten => {
                    // The padding is zeros in a block's layout, but an earlier layer may
                    // have written there: only the valid steps pass.
                    let valid = length * c;
                    y[..valid]
                        .iter_mut()
                        .zip(xr.slice(ndarray::s![1..1 + valid]))
                        .for_each(|(y, &v)| *y = v);
                    y[valid..].fill(0.0);
                }
                PoolMode::Max => {
                    let argmax = &mut self.argmax[b * c..(b + 1) * c];
                    y.iter_mut().zip(&step(0)).for_each(|(y, &v)| *y = v);
                    argmax.fill(0);
                    for t in 1..length {
                        for ((best, a), &v) in y.iter_mut().zip(argmax.iter_mut()).zip(&step(t)) {
                            if v > *best {
                                *best = v;
                                *a = t as u32;
                            }
                        }
                    }
                }
            }
        }
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        if !need_grad_in {
            return;
        }
        let c = self.input.channels;
        self.grad_input.resize(x.nrows(), self.input.width());
        let mut grad_in = self.grad_input.view_mut();
        grad_in.fill(0.0);
        // The lengths and argmax are those of the last forward, on this `x`.
        for (b, (g, mut gi)) in grad_out
            .axis_iter(Axis(0))
            .zip(grad_in.axis_iter_mut(Axis(0)))
            .enumerate()
        {
            let gi = gi.as_slice_mut().expect("buffer rows are contiguous");
            let length = self.lengths[b];
            if length == 0 {
                continue;
            }
            let g_slice = g.as_slice();
            let mut step = |t: usize, scale: f32| {
                let start = 1 + t * c;
                let gi = &mut gi[start..start + c];
                match g_slice {
                    Some(g) => gi.iter_mut().zip(g).for_each(|(d, &gv)| *d = gv * scale),
                    None => gi.iter_mut().zip(&g).for_each(|(d, &gv)| *d = gv * scale),
                }
            };
            match self.mode {
                PoolMode::Last => step(length - 1, 1.0),
                PoolMode::Mean => (0..length).for_each(|t| step(t, 1.0 / length as f32)),
                PoolMode::Flatten => {
                    let valid = length * c;
                    gi[1..1 + valid]
                        .iter_mut()
                        .zip(g.iter())
                        .for_each(|(d, &gv)| *d = gv);
                }
                PoolMode::Max => {
                    let argmax = &self.argmax[b * c..(b + 1) * c];
                    for (ch, (&t, &gv)) in argmax.iter().zip(&g).enumerate() {
                        gi[1 + t as usize * c + ch] = gv;
                    }
                }
            }
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }
}

/// How a sequence pooling layer is written in the model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SequencePoolSpec {
    input: SeqShape,
    mode: PoolMode,
}

impl From<SequencePool> for SequencePoolSpec {
    fn from(pool: SequencePool) -> Self {
        SequencePoolSpec {
            input: pool.input,
            mode: pool.mode,
        }
    }
}

impl TryFrom<SequencePoolSpec> for SequencePool {
    type Error = NetworkError;

    fn try_from(spec: SequencePoolSpec) -> Result<Self, NetworkError> {
        SequencePool::new(spec.input, spec.mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_sequence_layer;
    use crate::nn::AnyLayer;
    use ndarray::array;

    const MODES: [PoolMode; 4] = [
        PoolMode::Last,
        PoolMode::Mean,
        PoolMode::Max,
        PoolMode::Flatten,
    ];

    #[test]
    fn gradients_match_finite_differences() {
        for mode in MODES {
            for (seed, (steps, c, lengths)) in [
                (4, 3, vec![0, 1, 4, 2]),
                (1, 2, vec![1, 0, 1]),
                (5, 1, vec![5, 3, 1]),
            ]
            .into_iter()
            .enumerate()
            {
                let shape = SeqShape::new(steps, c);
                let layer = AnyLayer::SequencePool(SequencePool::new(shape, mode).unwrap());
                check_sequence_layer(layer, shape, &lengths, seed as u64, &format!("{mode:?}"));
            }
        }
    }

    #[test]
    fn pools_valid_steps_only_and_the_first_maximum_wins() {
        // 3 steps of 2 channels; row 0 has 2 valid steps (padding holds 9s), row 1 none.
        let x = array![
            [2.0f32, 1.0, 5.0, 3.0, 5.0, 9.0, 9.0],
            [0.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0],
        ];
        let g = array![[1.0f32, 2.0], [3.0, 4.0]];
        let cases = [
            (PoolMode::Last, [3.0, 5.0], [0.0, 0.0, 1.0, 2.0]),
            (PoolMode::Mean, [2.0, 5.0], [0.5, 1.0, 0.5, 1.0]),
            (PoolMode::Max, [3.0, 5.0], [0.0, 2.0, 1.0, 0.0]),
        ];
        for (mode, y, grad_steps) in cases {
            let mut pool = SequencePool::new(SeqShape::new(3, 2), mode).unwrap();
            pool.forward(x.view(), false);
            assert_eq!(
                pool.output(),
                array![[y[0], y[1]], [0.0, 0.0]].view(),
                "{mode:?}"
            );
            pool.backward(x.view(), g.view(), true);
            let gs = grad_steps;
            let expected = array![
                [0.0f32, gs[0], gs[1], gs[2], gs[3], 0.0, 0.0],
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            ];
            assert_eq!(pool.grad_in(), expected.view(), "{mode:?}");
        }
    }

    #[test]
    fn flatten_keeps_the_valid_steps_in_place_and_zeros_the_padding() {
        // 3 steps of 2 channels; row 0 has 2 valid steps (padding holds 9s), row 1 none.
        let x = array![
            [2.0f32, 1.0, 5.0, 3.0, 5.0, 9.0, 9.0],
            [0.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0],
        ];
        let mut pool = SequencePool::new(SeqShape::new(3, 2), PoolMode::Flatten).unwrap();
        assert_eq!(pool.n_out(), 6);
        pool.forward(x.view(), false);
        let y = array![[1.0f32, 5.0, 3.0, 5.0, 0.0, 0.0], [0.0; 6]];
        assert_eq!(pool.output(), y.view());
        let g = array![[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [7.0; 6]];
        pool.backward(x.view(), g.view(), true);
        let expected = array![
            [0.0f32, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ];
        assert_eq!(pool.grad_in(), expected.view());
    }

    #[test]
    fn round_trips_through_serde_and_refuses_a_damaged_spec() {
        for mode in MODES {
            let pool = SequencePool::new(SeqShape::new(3, 2), mode).unwrap();
            let json = serde_json::to_value(AnyLayer::SequencePool(pool)).unwrap();
            assert_eq!(json["type"], "sequence_pool");
            let AnyLayer::SequencePool(back) = serde_json::from_value(json.clone()).unwrap() else {
                panic!("not a sequence pool")
            };
            assert_eq!(
                (back.mode(), back.input_shape()),
                (mode, SeqShape::new(3, 2))
            );
            let mut damaged = json;
            damaged["input"]["channels"] = 0.into();
            let message = serde_json::from_value::<AnyLayer>(damaged)
                .unwrap_err()
                .to_string();
            assert!(message.contains("3 steps of 0 values"), "{message}");
        }
        let json = serde_json::json!({
            "type": "sequence_pool", "input": {"steps": 3, "channels": 2}, "mode": "median"
        });
        assert!(serde_json::from_value::<AnyLayer>(json).is_err());
    }

    #[test]
    fn forward_matches_pytorch() {
        use super::torch_fixture::{assert_matches, matrix, read, size};
        let f = read("sequence_pool");
        let shape = SeqShape::new(size(&f["steps"]), size(&f["channels"]));
        let x = matrix(&f["x"]);
        for (mode, key) in [
            (PoolMode::Last, "last"),
            (PoolMode::Mean, "mean"),
            (PoolMode::Max, "max"),
        ] {
            let mut pool = SequencePool::new(shape, mode).unwrap();
            pool.forward(x.view(), false);
            assert_matches(pool.output(), &matrix(&f[key]), key);
        }
    }
}

/// The PyTorch fixtures of the sequence layers (tests/fixtures/seq_layers/make.py), read
/// by the tests of this file, `embedding.rs`, `time_dense.rs` and `positional.rs`.
#[cfg(test)]
pub(crate) mod torch_fixture {
    use ndarray::{Array1, Array2};
    use serde_json::Value;

    /// The fixture `name`.json.
    pub fn read(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/seq_layers")
            .join(format!("{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// A list of rows as a matrix.
    pub fn matrix(value: &Value) -> Array2<f32> {
        let rows: Vec<Vec<f32>> = serde_json::from_value(value.clone()).unwrap();
        let cols = rows[0].len();
        Array2::from_shape_vec((rows.len(), cols), rows.concat()).unwrap()
    }

    /// A flat list as a (rows, cols) matrix.
    pub fn reshape(value: &Value, rows: usize, cols: usize) -> Array2<f32> {
        Array2::from_shape_vec((rows, cols), vector(value).to_vec()).unwrap()
    }

    /// A flat list.
    pub fn vector(value: &Value) -> Array1<f32> {
        Array1::from(serde_json::from_value::<Vec<f32>>(value.clone()).unwrap())
    }

    /// A size.
    pub fn size(value: &Value) -> usize {
        value.as_u64().unwrap() as usize
    }

    /// `got` equals PyTorch's `expected` to 1e-5 (absolute or relative).
    pub fn assert_matches(got: ndarray::ArrayView2<f32>, expected: &Array2<f32>, what: &str) {
        assert_eq!(got.dim(), expected.dim(), "{what}: shape");
        for ((i, &g), &e) in got.indexed_iter().zip(expected) {
            let err = (g - e).abs();
            assert!(
                err <= 1e-5 || err <= 1e-5 * e.abs(),
                "{what} {i:?}: {g} vs torch {e}"
            );
        }
    }
}

//! Element-wise activations. The backward pass uses only the layer's output:
//! relu' = [y > 0], leaky' = y > 0 ? 1 : alpha, tanh' = 1 - y², sigmoid' = y (1 - y).

use ndarray::{Array1, ArrayView2, Zip};
use serde::{Deserialize, Serialize};

use super::fast_math::{self, vectorised_fn};
use super::{Buffer, Layer};

/// Slope of LeakyReLU for negative inputs.
pub const LEAKY_RELU_SLOPE: f32 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// An element-wise activation function, saved by name in the model file.
pub enum Activation {
    /// max(0, x).
    Relu,
    /// x, or `LEAKY_RELU_SLOPE` * x below 0.
    LeakyRelu,
    /// The hyperbolic tangent.
    Tanh,
    /// 1 / (1 + e^-x).
    Sigmoid,
}

impl Activation {
    /// f(x).
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu => {
                if x > 0.0 {
                    x
                } else {
                    LEAKY_RELU_SLOPE * x
                }
            }
            Activation::Tanh => fast_math::tanh(x),
            Activation::Sigmoid => sigmoid(x),
        }
    }

    /// The derivative, written in terms of the output y = f(x).
    pub fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            Activation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu => {
                if y > 0.0 {
                    1.0
                } else {
                    LEAKY_RELU_SLOPE
                }
            }
            Activation::Tanh => 1.0 - y * y,
            Activation::Sigmoid => y * (1.0 - y),
        }
    }

    /// True for activations whose weights are best initialised with He's scheme.
    pub fn is_relu_like(self) -> bool {
        matches!(self, Activation::Relu | Activation::LeakyRelu)
    }
}

/// Logistic function that never overflows: exp is only taken of non-positive numbers.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
/// An activation applied element-wise to a batch: (batch, n) -> (batch, n).
pub struct ActivationLayer {
    /// The function applied.
    pub function: Activation,
    #[serde(skip)]
    output: Buffer,
    #[serde(skip)]
    grad_input: Buffer,
}

impl ActivationLayer {
    /// A layer applying `function`.
    pub fn new(function: Activation) -> Self {
        ActivationLayer {
            function,
            output: Buffer::default(),
            grad_input: Buffer::default(),
        }
    }
}

impl ActivationLayer {
    /// y = f(z + b) in one pass: the bias of the dense layer before, fused with this
    /// activation. `z`: (batch, n) without its bias; `bias`: (n).
    pub(crate) fn forward_biased(&mut self, z: ArrayView2<f32>, bias: &Array1<f32>) {
        self.output.resize(z.nrows(), z.ncols());
        let bias = bias.as_slice().expect("bias is contiguous");
        let mut out = self.output.view_mut();
        for (mut y_row, z_row) in out.rows_mut().into_iter().zip(z.rows()) {
            let (Some(y_row), Some(z_row)) = (y_row.as_slice_mut(), z_row.as_slice()) else {
                Zip::from(y_row)
                    .and(z_row)
                    .and(bias)
                    .for_each(|y, &z, &b| *y = self.function.apply(z + b));
                continue;
            };
            match self.function {
                // Written out so that the loop vectorises.
                Activation::Relu => {
                    for ((y, &z), &b) in y_row.iter_mut().zip(z_row).zip(bias) {
                        *y = (z + b).max(0.0);
                    }
                }
                Activation::Tanh => tanh_biased(y_row, z_row, bias),
                f => {
                    for ((y, &z), &b) in y_row.iter_mut().zip(z_row).zip(bias) {
                        *y = f.apply(z + b);
                    }
                }
            }
        }
    }
}

vectorised_fn! {
    /// y = tanh(z + b) over one row, in 16-lane vectors where the CPU has AVX-512.
    fn tanh_biased(y: &mut [f32], z: &[f32], bias: &[f32]) {
        for ((y, &z), &b) in y.iter_mut().zip(z).zip(bias) {
            *y = fast_math::tanh(z + b);
        }
    }
}

impl Layer for ActivationLayer {
    fn forward(&mut self, x: ArrayView2<f32>, _train: bool) {
        self.output.resize(x.nrows(), x.ncols());
        let f = self.function;
        let mut out = self.output.view_mut();
        let zip = Zip::from(&mut out).and(&x);
        match f {
            // Written out so that the loop vectorises (`apply` is a call per value).
            Activation::Relu => zip.for_each(|y, &x| *y = x.max(0.0)),
            f => zip.for_each(|y, &x| *y = f.apply(x)),
        }
    }

    fn output(&self) -> ArrayView2<'_, f32> {
        self.output.view()
    }

    fn backward(&mut self, _x: ArrayView2<f32>, grad_out: ArrayView2<f32>, need_grad_in: bool) {
        if !need_grad_in {
            return;
        }
        self.grad_input.resize(grad_out.nrows(), grad_out.ncols());
        let (mut grad_input, output) = (self.grad_input.view_mut(), self.output.view());
        let zip = Zip::from(&mut grad_input).and(&grad_out).and(&output);
        match self.function {
            // A select instead of a multiply, written out so that the loop vectorises.
            Activation::Relu => {
                zip.for_each(|gx, &g, &y| *gx = if y > 0.0 { g } else { 0.0 });
            }
            f => zip.for_each(|gx, &g, &y| *gx = g * f.derivative_from_output(y)),
        }
    }

    fn grad_in(&self) -> ArrayView2<'_, f32> {
        self.grad_input.view()
    }
}

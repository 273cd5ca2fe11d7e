//! One line per network layer for the page's architecture row: its kind and what
//! distinguishes it (`dense 64 -> 32`, `activation relu`, `dropout rate 0.2`).

use crate::nn::AnyLayer;

/// The layer's kind (`dense`, `activation`, `dropout`, `conv2d`, `max_pool2d`) and what
/// distinguishes it: `64 -> 32`, `relu`, `rate 0.2`, `6x6x1 -> 4x4x4 (kernel 3, ...)`.
///
/// The same words as `csvnn inspect` shows (src/cli/inspect.rs has its own copy today).
pub(crate) fn describe(layer: &AnyLayer) -> (&'static str, String) {
    match layer {
        AnyLayer::Dense(d) => ("dense", format!("{} -> {}", d.n_in(), d.n_out())),
        AnyLayer::Activation(a) => (
            "activation",
            serde_json::to_value(a.function)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ),
        AnyLayer::Dropout(d) => ("dropout", format!("rate {}", d.rate)),
        AnyLayer::Conv2D(c) => {
            let (i, o) = (c.input_shape(), c.output_shape());
            (
                "conv2d",
                format!(
                    "{}x{}x{} -> {}x{}x{} (kernel {}, stride {}, padding {})",
                    i.height,
                    i.width,
                    i.channels,
                    o.height,
                    o.width,
                    o.channels,
                    c.kernel(),
                    c.stride(),
                    c.padding()
                ),
            )
        }
        AnyLayer::MaxPool2D(p) => {
            let (i, o) = (p.input_shape(), p.output_shape());
            (
                "max_pool2d",
                format!(
                    "{}x{}x{} -> {}x{}x{} (size {})",
                    i.height,
                    i.width,
                    i.channels,
                    o.height,
                    o.width,
                    o.channels,
                    p.size()
                ),
            )
        }
    }
}

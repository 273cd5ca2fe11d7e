//! `Network::validate`: the checks a network read from a file passes before anything runs
//! it. Each layer's constructor (through `TryFrom` when the file is parsed) has already
//! checked the layer alone: weight and bias counts, a kernel that fits its padded image,
//! shapes whose products do not overflow. Here the layers are checked together: the
//! width each one takes is the width the one before gives, and no layer is so large that
//! running it would allocate without bound.
//!
//! The limits are far above any network csvnn trains (a CNN on 64x64x3 images gives under
//! 2^18 values per layer); they only refuse files edited by hand or damaged, which could
//! otherwise ask for terabytes.

use super::{AnyLayer, Network, NetworkError};

/// Most values per row any layer takes or gives: 2^24 (a 2048x2048x4 image, 64 MiB in f32).
pub const MAX_LAYER_WIDTH: usize = 1 << 24;
/// Most values per row of all layer outputs together, and of one conv layer's patch
/// matrix for one image: 2^26 (256 MiB in f32).
pub const MAX_ROW_VALUES: usize = 1 << 26;
/// Largest conv kernel side.
pub const MAX_KERNEL: usize = 1024;
/// Largest conv padding.
pub const MAX_PADDING: usize = 1024;

impl Network {
    /// Check the network as a whole (for one read from a file): at least one layer, each
    /// layer takes the width the one before gives, every width is positive, and the
    /// sizes are within `MAX_LAYER_WIDTH`, `MAX_ROW_VALUES`, `MAX_KERNEL` and
    /// `MAX_PADDING`. The error names the layer, counting from 1.
    pub fn validate(&self) -> Result<(), NetworkError> {
        if self.n_inputs == 0 || self.n_inputs > MAX_LAYER_WIDTH {
            return Err(NetworkError::InputWidth {
                n_inputs: self.n_inputs,
                limit: MAX_LAYER_WIDTH,
            });
        }
        if self.layers.is_empty() {
            return Err(NetworkError::NoLayers);
        }
        let mut width = self.n_inputs;
        let mut values: u64 = 0;
        for (i, layer) in self.layers.iter().enumerate() {
            let in_layer = |problem| NetworkError::InLayer {
                layer: i + 1,
                kind: layer.kind(),
                problem: Box::new(problem),
            };
            if i > 0 && matches!(layer, AnyLayer::Branches(_)) {
                return Err(in_layer(NetworkError::BranchesNotFirst));
            }
            width = check_layer(layer, width).map_err(in_layer)?;
            values = values.saturating_add(width as u64);
            if values > MAX_ROW_VALUES as u64 {
                return Err(in_layer(NetworkError::TooManyValues {
                    values,
                    limit: MAX_ROW_VALUES,
                }));
            }
        }
        Ok(())
    }
}

/// Check one layer that receives `width` values per row; returns the width it gives.
fn check_layer(layer: &AnyLayer, width: usize) -> Result<usize, NetworkError> {
    match layer {
        AnyLayer::Dense(d) if d.n_in() != width => Err(NetworkError::DenseInputs {
            n_in: d.n_in(),
            width,
        }),
        AnyLayer::DenseInt8(d) if d.n_in() != width => Err(NetworkError::DenseInputs {
            n_in: d.n_in(),
            width,
        }),
        AnyLayer::Dropout(d) if !(0.0..1.0).contains(&d.rate) => {
            Err(NetworkError::DropoutRate { rate: d.rate })
        }
        AnyLayer::Conv2D(c) => {
            below_limit("kernel", c.kernel(), MAX_KERNEL)?;
            below_limit("padding", c.padding(), MAX_PADDING)?;
            check_image_input(c.input_shape(), width)?;
            let output = c.output_shape();
            let pixels = (output.height * output.width) as u64;
            let patch = pixels.saturating_mul(c.weights().nrows() as u64);
            if patch > MAX_ROW_VALUES as u64 {
                return Err(NetworkError::PatchTooLarge {
                    values: patch,
                    limit: MAX_ROW_VALUES,
                });
            }
            check_output(output.len())
        }
        AnyLayer::MaxPool2D(p) => {
            check_image_input(p.input_shape(), width)?;
            check_output(p.output_shape().len())
        }
        AnyLayer::Branches(b) => {
            if b.n_inputs() != width {
                return Err(NetworkError::BranchInputs {
                    n_inputs: b.n_inputs(),
                    width,
                });
            }
            for encoder in b.encoders() {
                if encoder
                    .layers
                    .iter()
                    .any(|l| matches!(l, AnyLayer::Branches(_)))
                {
                    return Err(NetworkError::NestedBranches);
                }
                encoder.validate()?;
            }
            check_output(b.n_outputs())
        }
        AnyLayer::Embedding(e) => check_sequence(layer, e.input_shape(), width),
        AnyLayer::TimeDense(t) => check_sequence(layer, t.input_shape(), width),
        AnyLayer::PositionalEmbedding(p) => check_sequence(layer, p.shape(), width),
        AnyLayer::SequencePool(p) => check_sequence(layer, p.input_shape(), width),
        AnyLayer::EncoderBlock(e) => check_encoder(e, width),
        AnyLayer::Gru(g) => check_sequence_input(g.input_shape(), width, layer),
        AnyLayer::Lstm(l) => check_sequence_input(l.input_shape(), width, layer),
        _ => check_output(layer.output_width(width)),
    }
}

/// A sequence layer that reads `input` and receives `width` values: its output width, or
/// an error when the two widths differ (its constructor has checked that its own widths
/// do not overflow).
fn check_sequence(
    layer: &AnyLayer,
    input: super::SeqShape,
    width: usize,
) -> Result<usize, NetworkError> {
    if input.width() != width {
        return Err(NetworkError::SequenceInputs {
            steps: input.steps,
            channels: input.channels,
            width,
        });
    }
    check_output(layer.output_width(width))
}

/// An encoder block takes the sequence block before it, and its per-row attention
/// probabilities and feed-forward values stay within `MAX_ROW_VALUES`.
fn check_encoder(e: &super::EncoderBlock, width: usize) -> Result<usize, NetworkError> {
    let shape = e.shape();
    if shape.width() != width {
        return Err(NetworkError::EncoderInputs { shape, width });
    }
    let (t, h, f) = (shape.steps as u64, e.heads() as u64, e.feedforward() as u64);
    let values = h
        .saturating_mul(t.saturating_mul(t))
        .saturating_add(t.saturating_mul(f));
    if values > MAX_ROW_VALUES as u64 {
        return Err(NetworkError::EncoderTooLarge {
            values,
            limit: MAX_ROW_VALUES,
        });
    }
    check_output(width)
}

/// An error when `value` of `setting` is above `limit`.
fn below_limit(setting: &'static str, value: usize, limit: usize) -> Result<(), NetworkError> {
    if value > limit {
        return Err(NetworkError::AboveLimit {
            setting,
            value,
            limit,
        });
    }
    Ok(())
}

/// An error when an image layer's input is not the `width` values it receives.
fn check_image_input(input: super::ImageShape, width: usize) -> Result<(), NetworkError> {
    if input.len() != width {
        return Err(NetworkError::ImageInputs { input, width });
    }
    Ok(())
}

/// A recurrent layer's output width, or an error when its input is not the `width`
/// values it receives.
fn check_sequence_input(
    input: super::SeqShape,
    width: usize,
    layer: &AnyLayer,
) -> Result<usize, NetworkError> {
    if input.width() != width {
        return Err(NetworkError::RecurrentInputs { input, width });
    }
    check_output(layer.output_width(width))
}

/// `width` when it is a usable output width: positive and within `MAX_LAYER_WIDTH`.
fn check_output(width: usize) -> Result<usize, NetworkError> {
    match width {
        0 => Err(NetworkError::NoOutput),
        w if w > MAX_LAYER_WIDTH => Err(NetworkError::OutputTooWide {
            width: w as u64,
            limit: MAX_LAYER_WIDTH,
        }),
        w => Ok(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{
        Activation, ActivationLayer, CnnConfig, ConvSpec, Dense, Dropout, ImageShape, MlpConfig,
    };
    use ndarray::{Array1, Array2};

    fn mlp(n_inputs: usize, hidden: Vec<usize>, n_outputs: usize) -> Network {
        let config = MlpConfig {
            n_inputs,
            hidden,
            n_outputs,
            activation: Activation::Relu,
            dropout: 0.1,
        };
        Network::mlp(&config, 1).unwrap()
    }

    fn cnn() -> Network {
        let config = CnnConfig {
            image: ImageShape::new(8, 8, 1),
            conv: vec![ConvSpec::same(4, 3)],
            hidden: vec![5],
            n_outputs: 3,
            activation: Activation::Relu,
            dropout: 0.0,
        };
        Network::cnn(&config, 1).unwrap()
    }

    /// A conv layer read from JSON, as a model file holds it.
    fn conv_layer(input: [usize; 3], kernel: usize, padding: usize, filters: usize) -> AnyLayer {
        let patch = kernel * kernel * input[2];
        serde_json::from_value(serde_json::json!({
            "type": "conv2d",
            "input": {"height": input[0], "width": input[1], "channels": input[2]},
            "filters": filters, "kernel": kernel, "stride": 1, "padding": padding,
            "weights": vec![0.5f32; patch * filters], "bias": vec![0.0f32; filters],
        }))
        .unwrap()
    }

    fn dense(n_in: usize, n_out: usize) -> AnyLayer {
        AnyLayer::Dense(Dense::new(
            Array2::zeros((n_in, n_out)),
            Array1::zeros(n_out),
        ))
    }

    fn message(network: &Network) -> String {
        network.validate().unwrap_err().to_string()
    }

    #[test]
    fn built_networks_pass() {
        mlp(4, vec![8, 6], 3).validate().unwrap();
        mlp(4, vec![], 1).validate().unwrap();
        cnn().validate().unwrap();
    }

    #[test]
    fn a_dense_layer_must_take_the_width_before_it() {
        let mut network = mlp(4, vec![8], 3);
        network.layers.push(dense(4, 2));
        assert_eq!(
            message(&network),
            "layer 5 (dense): takes 4 inputs but receives 3"
        );
    }

    #[test]
    fn an_image_layer_must_take_the_width_before_it() {
        let mut network = cnn();
        network.n_inputs = 65;
        assert_eq!(
            message(&network),
            "layer 1 (conv2d): takes 8x8x1 images (64 values) but receives 65"
        );
    }

    #[test]
    fn the_output_width_follows_layers_after_the_last_dense_one() {
        let mut network = mlp(4, vec![], 4);
        network.layers.push(conv_layer([2, 2, 1], 1, 0, 3));
        network.validate().unwrap();
        assert_eq!(network.n_outputs(), 12);
    }

    #[test]
    fn widths_must_be_positive() {
        let mut network = mlp(4, vec![], 3);
        network.layers = vec![dense(4, 0)];
        assert_eq!(
            message(&network),
            "layer 1 (dense): gives 0 values per row; expected at least 1"
        );
        network.n_inputs = 0;
        assert_eq!(
            message(&network),
            format!("the network takes 0 inputs; expected 1 to {MAX_LAYER_WIDTH}")
        );
        network.n_inputs = 4;
        network.layers.clear();
        assert_eq!(
            message(&network),
            "the network has no layers; expected at least one dense layer"
        );
    }

    #[test]
    fn sizes_above_the_limits_are_refused() {
        let network = |layer| Network {
            n_inputs: 4,
            layers: vec![layer],
        };
        assert_eq!(
            message(&network(conv_layer([2, 2, 1], 1, 100_000, 1))),
            "layer 1 (conv2d): padding 100000 is above the limit of 1024"
        );
        assert_eq!(
            message(&network(conv_layer([2, 2, 1], 1, 1000, 8))),
            format!("layer 1 (conv2d): gives 32064032 values per row; expected at most {MAX_LAYER_WIDTH}")
        );
        assert_eq!(
            message(&network(conv_layer([2, 2, 1], 1025, 1024, 1))),
            "layer 1 (conv2d): kernel 1025 is above the limit of 1024"
        );
        assert_eq!(
            message(&network(conv_layer([2, 2, 1], 100, 1000, 1))),
            format!("layer 1 (conv2d): its patch matrix holds 36214090000 values per image; expected at most {MAX_ROW_VALUES}")
        );
        let wide = Network {
            n_inputs: 4,
            layers: std::iter::once(conv_layer([2, 2, 1], 1, 1000, 4))
                .chain((0..4).map(|_| AnyLayer::Activation(ActivationLayer::new(Activation::Tanh))))
                .collect(),
        };
        assert_eq!(
            message(&wide),
            format!("layer 5 (activation): the layers up to this one give 80160080 values per row in all; expected at most {MAX_ROW_VALUES}")
        );
    }

    #[test]
    fn shapes_that_overflow_are_errors_not_panics() {
        let max = usize::MAX;
        for (input, kernel, padding) in [
            ([max, 2, 1], 1, 0),
            ([1 << 40, 1 << 40, 1], 1, 0),
            ([2, 2, 1], max, 0),
            ([2, 2, 1], 1, max),
        ] {
            let conv = serde_json::from_value::<AnyLayer>(serde_json::json!({
                "type": "conv2d",
                "input": {"height": input[0], "width": input[1], "channels": input[2]},
                "filters": 1, "kernel": kernel, "stride": 1, "padding": padding,
                "weights": [0.5], "bias": [0.0],
            }));
            let message = conv.unwrap_err().to_string();
            assert!(message.contains("too large to multiply out"), "{message}");
        }
        let pool = serde_json::from_value::<AnyLayer>(serde_json::json!({
            "type": "max_pool2d",
            "input": {"height": max, "width": max, "channels": 1}, "size": 1,
        }));
        assert!(pool.unwrap_err().to_string().contains("is too large"));
    }

    #[test]
    fn a_sequence_layer_must_take_the_width_before_it() {
        use crate::nn::{Embedding, PoolMode, SeqShape, SequencePool, TimeDense};
        let shape = SeqShape::new(5, 3);
        let time_dense = TimeDense::from_weights(5, Array2::zeros((3, 4)), Array1::zeros(4));
        let embedding = Embedding::from_weights(Array2::zeros((10, 3)), 5).unwrap();
        let mut network = Network {
            n_inputs: 6,
            layers: vec![
                AnyLayer::Embedding(embedding),
                AnyLayer::TimeDense(time_dense.unwrap()),
                AnyLayer::SequencePool(
                    SequencePool::new(SeqShape::new(5, 4), PoolMode::Mean).unwrap(),
                ),
                dense(4, 2),
            ],
        };
        network.validate().unwrap();
        assert_eq!(network.n_outputs(), 2);
        network.n_inputs = 16;
        assert_eq!(
            message(&network),
            "layer 1 (embedding): takes 5 steps of 1 values (6 values with the length column) but receives 16"
        );
        network.n_inputs = 6;
        network.layers[2] =
            AnyLayer::SequencePool(SequencePool::new(shape, PoolMode::Max).unwrap());
        assert_eq!(
            message(&network),
            "layer 3 (sequence_pool): takes 5 steps of 3 values (16 values with the length column) but receives 21"
        );
    }

    #[test]
    fn a_dropout_rate_read_from_a_file_is_checked() {
        let mut network = mlp(4, vec![8], 3);
        let mut dropout = Dropout::new(0.5, 1).unwrap();
        dropout.rate = 1.5;
        network.layers[2] = AnyLayer::Dropout(dropout);
        assert_eq!(
            message(&network),
            "layer 3 (dropout): dropout rate must be in [0, 1); got 1.5"
        );
    }
}

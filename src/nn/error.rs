//! `NetworkError`: why a network, or one of its layers, cannot be built from the given
//! shapes and settings, or read back from a model file. Each variant carries the numbers
//! that did not fit.

use super::ImageShape;

/// A network or layer that cannot be built: shapes that do not fit together, a setting
/// out of range, or damaged weights in a model file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// A conv layer whose image, kernel or stride is zero.
    #[error("conv layer: image {input}, kernel {kernel} and stride {stride} must all be positive")]
    ConvNotPositive {
        /// The input image shape.
        input: ImageShape,
        /// The kernel size.
        kernel: usize,
        /// The stride.
        stride: usize,
    },

    /// A conv kernel larger than the padded image.
    #[error(
        "conv layer: a {kernel}x{kernel} kernel does not fit a {input} image with padding {padding}"
    )]
    KernelDoesNotFit {
        /// The input image shape.
        input: ImageShape,
        /// The kernel size.
        kernel: usize,
        /// The zero padding on every side.
        padding: usize,
    },

    /// Conv weights and bias whose shapes do not match the kernel and the channels.
    #[error(
        "conv layer: weights are {rows}x{cols} and bias has {bias} values; expected {patch} x c_out and c_out"
    )]
    ConvWeightShape {
        /// Rows of the weight matrix given.
        rows: usize,
        /// Columns of the weight matrix given.
        cols: usize,
        /// Values of the bias given.
        bias: usize,
        /// The rows expected: kernel * kernel * c_in.
        patch: usize,
    },

    /// Conv weights in a model file that are not kernel * kernel * c_in x filters values.
    #[error(
        "conv layer: weights do not have kernel * kernel * c_in x filters = {patch} x {filters} values"
    )]
    ConvWeightCount {
        /// kernel * kernel * c_in.
        patch: usize,
        /// The number of filters (output channels).
        filters: usize,
    },

    /// A pooling window larger than the image (or a zero window or channel count).
    #[error("max-pool layer: a {size}x{size} window does not fit a {input} image")]
    PoolDoesNotFit {
        /// The input image shape.
        input: ImageShape,
        /// The window size.
        size: usize,
    },

    /// An image with more values than a pooling layer can index.
    #[error("max-pool layer: the image {input} is too large")]
    ImageTooLarge {
        /// The input image shape.
        input: ImageShape,
    },

    /// A dense layer in a model file whose bias length is not its output count.
    #[error("dense layer: bias has {bias} values, expected n_out = {n_out}")]
    DenseBias {
        /// Values of the bias given.
        bias: usize,
        /// The layer's output count.
        n_out: usize,
    },

    /// A dense layer in a model file whose weights are not n_in x n_out values.
    #[error("dense layer: weights do not have n_in x n_out = {n_in} x {n_out} values")]
    DenseWeightCount {
        /// The layer's input count.
        n_in: usize,
        /// The layer's output count.
        n_out: usize,
    },

    /// A weight or bias in a model file that is NaN or infinite.
    #[error("{layer} layer: a weight is not a finite number")]
    NonFiniteWeight {
        /// The kind of layer: `dense` or `conv`.
        layer: &'static str,
    },

    /// A dropout rate outside [0, 1).
    #[error("dropout rate must be in [0, 1); got {rate}")]
    DropoutRate {
        /// The rate given.
        rate: f32,
    },

    /// A layer of `Network::cnn` that cannot be built (1-based `layer`).
    #[error("conv layer {layer}: {problem}")]
    InConvLayer {
        /// The conv layer, counting from 1.
        layer: usize,
        /// What is wrong with it.
        problem: Box<NetworkError>,
    },

    /// A dense layer whose input count differs from the width before it.
    #[error("layer {layer} takes {n_in} inputs but receives {width}")]
    DenseInputs {
        /// The layer's index in the network, from 0.
        layer: usize,
        /// The inputs it takes.
        n_in: usize,
        /// The width of the values before it.
        width: usize,
    },

    /// An image layer whose image size differs from the width before it.
    #[error("layer {layer} takes {input} images ({} values) but receives {width}", input.len())]
    ImageInputs {
        /// The layer's index in the network, from 0.
        layer: usize,
        /// The image shape it takes.
        input: ImageShape,
        /// The width of the values before it.
        width: usize,
    },

    /// A model whose network input count differs from its pipeline's.
    #[error("the network takes {network} inputs but the pipeline makes {pipeline}")]
    PipelineInputs {
        /// The network's inputs.
        network: usize,
        /// The pipeline's outputs.
        pipeline: usize,
    },

    /// A model whose network output count differs from its target encoder's.
    #[error("the network's outputs do not match the target")]
    TargetOutputs {
        /// The network's outputs.
        network: usize,
        /// The outputs the target encoder needs.
        target: usize,
    },
}

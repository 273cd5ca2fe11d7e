//! `NetworkError`: why a network, or one of its layers, cannot be built from the given
//! shapes and settings, or read back from a model file. Each variant carries the numbers
//! that did not fit.

use super::{ImageShape, SeqShape};

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

    /// Int8 weights in a model file that cannot be used (`compress --int8` layers).
    #[error("{layer} layer: {message}")]
    Int8Weights {
        /// The kind of layer: `dense_int8`, `conv2d`, `gru` or `lstm`.
        layer: &'static str,
        /// What is wrong and what was expected.
        message: String,
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

    /// A layer of a network read from a file that does not fit (1-based `layer`).
    #[error("layer {layer} ({kind}): {problem}")]
    InLayer {
        /// The layer, counting from 1.
        layer: usize,
        /// Its `type` in the model file: `dense`, `conv2d`, ...
        kind: &'static str,
        /// What is wrong with it.
        problem: Box<NetworkError>,
    },

    /// A dense layer whose input count differs from the width before it.
    #[error("takes {n_in} inputs but receives {width}")]
    DenseInputs {
        /// The inputs it takes.
        n_in: usize,
        /// The width of the values before it.
        width: usize,
    },

    /// An image layer whose image size differs from the width before it.
    #[error("takes {input} images ({} values) but receives {width}", input.len())]
    ImageInputs {
        /// The image shape it takes.
        input: ImageShape,
        /// The width of the values before it.
        width: usize,
    },

    /// A layer whose output has no value.
    #[error("gives 0 values per row; expected at least 1")]
    NoOutput,

    /// A layer whose output is wider than `validate::MAX_LAYER_WIDTH`.
    #[error("gives {width} values per row; expected at most {limit}")]
    OutputTooWide {
        /// Its output width (images: height * width * channels).
        width: u64,
        /// The limit.
        limit: usize,
    },

    /// A layer setting above its limit (a kernel, a padding): only a damaged or
    /// hand-edited file has one.
    #[error("{setting} {value} is above the limit of {limit}")]
    AboveLimit {
        /// The setting's name in the model file: `kernel`, `padding`.
        setting: &'static str,
        /// Its value.
        value: usize,
        /// The limit.
        limit: usize,
    },

    /// A conv layer whose patch matrix for one image (output pixels x kernel * kernel *
    /// c_in) is larger than `validate::MAX_ROW_VALUES`.
    #[error("its patch matrix holds {values} values per image; expected at most {limit}")]
    PatchTooLarge {
        /// Output pixels * kernel * kernel * c_in.
        values: u64,
        /// The limit.
        limit: usize,
    },

    /// Layers whose outputs together hold more than `validate::MAX_ROW_VALUES` values per row.
    #[error(
        "the layers up to this one give {values} values per row in all; expected at most {limit}"
    )]
    TooManyValues {
        /// The sum of the output widths so far.
        values: u64,
        /// The limit.
        limit: usize,
    },

    /// A sequence layer whose steps or channels are zero, or whose width 1 + steps x
    /// channels does not fit a `usize` (only a damaged file or a bad setting has them).
    #[error(
        "{layer} layer: {steps} steps of {channels} values must both be positive and multiply out"
    )]
    SequenceShape {
        /// The layer's `type` in the model file.
        layer: &'static str,
        /// T: steps per row.
        steps: usize,
        /// Values per step.
        channels: usize,
    },

    /// A sequence layer in a model file whose weights are not the count its sizes need.
    #[error("{layer} layer: {what} has {got} values; expected {expected}")]
    SequenceWeightCount {
        /// The layer's `type` in the model file.
        layer: &'static str,
        /// Which tensor: `weights`, `bias`, `table`.
        what: &'static str,
        /// The values given.
        got: usize,
        /// The values its sizes need.
        expected: u64,
    },

    /// An embedding without a single row (it needs at least the out-of-vocabulary id 0).
    #[error(
        "embedding layer: the vocabulary is empty; expected at least the out-of-vocabulary id 0"
    )]
    EmptyVocabulary,

    /// A sequence layer whose input differs from the width before it.
    #[error(
        "takes {steps} steps of {channels} values ({} values with the length column) but receives {width}",
        steps.saturating_mul(*channels).saturating_add(1)
    )]
    SequenceInputs {
        /// T: steps per row.
        steps: usize,
        /// Values per step.
        channels: usize,
        /// The width of the values before it.
        width: usize,
    },

    /// A network that takes no input, or more than `validate::MAX_LAYER_WIDTH`.
    #[error("the network takes {n_inputs} inputs; expected 1 to {limit}")]
    InputWidth {
        /// `n_inputs` in the file.
        n_inputs: usize,
        /// The limit.
        limit: usize,
    },

    /// A network with no layer.
    #[error("the network has no layers; expected at least one dense layer")]
    NoLayers,

    /// A block of `Branches` outside the input or overlapping the block before it.
    #[error(
        "branch {branch}: columns {start}..{end} must lie within the {n_inputs} inputs, after the branch before"
    )]
    BranchColumns {
        /// The branch, counting from 1.
        branch: usize,
        /// Its first column.
        start: usize,
        /// One past its last column.
        end: usize,
        /// The layer's input width.
        n_inputs: usize,
    },

    /// A `Branches` layer that takes another number of columns than it receives.
    #[error("branches layer: takes {n_inputs} inputs but receives {width}")]
    BranchInputs {
        /// The inputs it takes.
        n_inputs: usize,
        /// The width it receives.
        width: usize,
    },

    /// A `Branches` layer anywhere but first (its input gradient is not computed).
    #[error("a branches layer may only be the first layer")]
    BranchesNotFirst,

    /// A layer a branch's encoder may not hold (another `Branches`).
    #[error("a branch's encoder may not hold another branches layer")]
    NestedBranches,

    /// A recurrent layer in a model file with a zero size, or sizes that overflow.
    #[error("{layer} layer: {steps} steps of {channels} channels and {hidden} hidden units must all be positive and not too large")]
    RecurrentShape {
        /// The kind of layer: `gru` or `lstm`.
        layer: &'static str,
        /// T: steps per row.
        steps: usize,
        /// C: values per input step.
        channels: usize,
        /// H: hidden units.
        hidden: usize,
    },

    /// A recurrent layer in a model file with a weight or bias of the wrong length.
    #[error("{layer} layer: {what} has {got} values; expected {expected}")]
    RecurrentWeightCount {
        /// The kind of layer: `gru` or `lstm`.
        layer: &'static str,
        /// The field: `weights_ih`, `weights_hh`, `bias_ih` or `bias_hh`.
        what: &'static str,
        /// Values given.
        got: usize,
        /// Values its sizes need.
        expected: usize,
    },

    /// A recurrent layer whose input sequences are not the width before it.
    #[error("takes sequences of {} steps x {} channels ({} values with the length column) but receives {width}", input.steps, input.channels, input.width())]
    RecurrentInputs {
        /// The sequence shape it takes.
        input: SeqShape,
        /// The width of the values before it.
        width: usize,
    },

    /// A conv layer whose sizes overflow when multiplied out (only a damaged file has them).
    #[error("conv layer: a {input} image with kernel {kernel} and padding {padding} is too large to multiply out")]
    ConvTooLarge {
        /// The input image shape.
        input: ImageShape,
        /// The kernel size.
        kernel: usize,
        /// The zero padding on every side.
        padding: usize,
    },

    /// A layer norm whose weight and bias differ in length, or are empty.
    #[error(
        "layer norm: weight has {weight} values and bias {bias}; expected the same positive count"
    )]
    LayerNormShape {
        /// Values of the weight given.
        weight: usize,
        /// Values of the bias given.
        bias: usize,
    },

    /// A transformer encoder block whose sizes are zero, whose width is not divisible by
    /// its heads, or whose sizes overflow.
    #[error("transformer encoder: {steps} steps of width {d_model} with {heads} heads and feed-forward width {feedforward} is not a usable shape (every size positive, the width divisible by the heads)")]
    EncoderSizes {
        /// T: steps per row.
        steps: usize,
        /// D: values per step.
        d_model: usize,
        /// Attention heads.
        heads: usize,
        /// F: the feed-forward width.
        feedforward: usize,
    },

    /// A part of a transformer encoder block whose shape does not fit its sizes.
    #[error("transformer encoder: {part} is {}x{}; expected {}x{}", shape.0, shape.1, expected.0, expected.1)]
    EncoderPart {
        /// The part: `in_proj`, `out_proj`, `linear1`, `linear2`, `norm1`, `norm2`.
        part: &'static str,
        /// Its shape (n_in, n_out), or (1, width) for a layer norm.
        shape: (usize, usize),
        /// The shape its sizes call for.
        expected: (usize, usize),
    },

    /// A transformer encoder block whose sequence block differs from the width before it.
    #[error("takes sequences of {} steps x {} values ({} values with the length column) but receives {width}", shape.steps, shape.channels, shape.width())]
    EncoderInputs {
        /// The sequence block it takes.
        shape: super::SeqShape,
        /// The width of the values before it.
        width: usize,
    },

    /// A transformer encoder block whose attention probabilities (heads · T² per row) or
    /// feed-forward values (T · F per row) exceed `validate::MAX_ROW_VALUES`.
    #[error("its attention and feed-forward values hold {values} values per row; expected at most {limit}")]
    EncoderTooLarge {
        /// heads · T² + T · F.
        values: u64,
        /// The limit.
        limit: usize,
    },
}

/// The shape of `steps` x `channels` for a sequence `layer`, when both are positive and
/// its width 1 + steps x channels fits a `usize` (so `SeqShape::width` cannot overflow).
pub(crate) fn sequence_shape(
    layer: &'static str,
    steps: usize,
    channels: usize,
) -> Result<SeqShape, NetworkError> {
    let fits = steps
        .checked_mul(channels)
        .and_then(|values| values.checked_add(1))
        .is_some();
    if steps == 0 || channels == 0 || !fits {
        return Err(NetworkError::SequenceShape {
            layer,
            steps,
            channels,
        });
    }
    Ok(SeqShape::new(steps, channels))
}

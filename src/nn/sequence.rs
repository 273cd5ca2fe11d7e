//! How a batch of sequences travels through the 2-D `Layer` interface.
//!
//! Every layer takes and gives (batch, width) f32 matrices. A sequence block of `steps`
//! steps with `channels` values each is one row of width `1 + steps * channels`:
//!
//! ```text
//! [ valid steps L | step 0: c0 c1 .. | step 1: c0 c1 .. | .. | step T-1 ]
//! ```
//!
//! Column 0 holds L, the number of valid steps (0..=T, an integer stored as f32, exact up
//! to 2^24); the steps are time-major with the channel fastest (as an image row is pixel
//! by pixel). Steps L..T are padding: a layer writes zeros there and never lets them reach
//! a valid step (recurrent layers stop at L, attention masks them as keys, pooling skips
//! them). Column 0 is passed on unchanged by every sequence-to-sequence layer, and its
//! gradient is zero. Token ids (the input of `Embedding`) use the same layout with one
//! channel.
//!
//! Keeping the mask inside the row keeps every layer a plain `Layer`: batches can be
//! gathered, shuffled and split into parts without a side channel.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// The shape of a sequence block: `steps` steps of `channels` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqShape {
    /// T: steps per row, valid and padding.
    pub steps: usize,
    /// C: values per step.
    pub channels: usize,
}

impl SeqShape {
    /// A block of `steps` steps of `channels` values.
    pub fn new(steps: usize, channels: usize) -> Self {
        SeqShape { steps, channels }
    }

    /// Values per row: the length column and T x C values.
    pub fn width(&self) -> usize {
        1 + self.steps * self.channels
    }

    /// The column where step `t` starts.
    pub fn step_start(&self, t: usize) -> usize {
        1 + t * self.channels
    }
}

/// The valid steps a row's column 0 states, clamped to 0..=`steps` (a value that is not a
/// whole number, or is NaN, rounds down; negative is 0). Layers read lengths through this
/// one function so that a damaged value cannot index past the row.
pub fn valid_steps(length: f32, steps: usize) -> usize {
    if length.is_nan() || length <= 0.0 {
        return 0;
    }
    (length as usize).min(steps)
}

/// The valid steps of every row of a sequence batch `x`, into `lengths` (cleared first).
pub fn batch_lengths(x: ArrayView2<f32>, steps: usize, lengths: &mut Vec<usize>) {
    lengths.clear();
    lengths.extend(x.column(0).iter().map(|&l| valid_steps(l, steps)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn width_counts_the_length_column() {
        let shape = SeqShape::new(25, 12);
        assert_eq!(shape.width(), 301);
        assert_eq!(shape.step_start(0), 1);
        assert_eq!(shape.step_start(2), 25);
    }

    #[test]
    fn lengths_are_clamped_to_the_steps() {
        assert_eq!(valid_steps(3.0, 5), 3);
        assert_eq!(valid_steps(9.0, 5), 5);
        assert_eq!(valid_steps(-1.0, 5), 0);
        assert_eq!(valid_steps(f32::NAN, 5), 0);
        assert_eq!(valid_steps(2.7, 5), 2);
        let mut lengths = vec![7];
        batch_lengths(array![[2.0, 0.0], [0.0, 1.0]].view(), 4, &mut lengths);
        assert_eq!(lengths, vec![2, 0]);
    }
}

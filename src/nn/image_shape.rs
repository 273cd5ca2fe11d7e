//! `ImageShape`: the height, width and channels of the images that conv and pooling
//! layers read, one image per row, row-major H x W x C.

use serde::{Deserialize, Serialize};

/// The shape of one image: `height` x `width` x `channels`, stored row-major (the channel
/// varies fastest), as the pixel columns of a CSV row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    /// Rows of pixels.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
}

impl ImageShape {
    /// A `height` x `width` x `channels` image shape.
    pub fn new(height: usize, width: usize, channels: usize) -> Self {
        ImageShape {
            height,
            width,
            channels,
        }
    }

    /// Values per image: height * width * channels.
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Values per image, or `None` when the product overflows (a damaged file's shape).
    pub fn checked_len(&self) -> Option<usize> {
        self.height
            .checked_mul(self.width)?
            .checked_mul(self.channels)
    }

    /// True when the image holds no value.
    pub fn is_empty(&self) -> bool {
        self.height == 0 || self.width == 0 || self.channels == 0
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

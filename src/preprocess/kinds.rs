//! `KindOptions`: which columns are dates, text or one series, and how text is tokenised;
//! part of `FitOptions` (and of the training settings), all empty by default.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::date::DateFormatOption;

/// The column kinds beyond numbers and categories, as a user declares them. String columns
/// are also detected as dates (every value ISO 8601) or text (mostly distinct values of
/// several words) without being named here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KindOptions {
    /// Columns of ISO 8601 dates or date-times. Default: none (detected).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub date: Vec<String>,
    /// Date columns with their strftime-style format. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub date_formats: Vec<DateFormatOption>,
    /// Columns of free text, tokenised. Default: none (detected).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<String>,
    /// How text columns are tokenised and their vocabulary fitted.
    #[serde(default, skip_serializing_if = "TextOptions::is_default")]
    pub text_options: TextOptions,
    /// The feature columns, in file order, are one series of this shape. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_shape: Option<SequenceShape>,
}

impl KindOptions {
    /// True when nothing is declared and the text options are the defaults.
    pub fn is_default(&self) -> bool {
        *self == KindOptions::default()
    }
}

/// How text cells become token ids, and how the vocabulary is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextOptions {
    /// Most tokens per cell (unigrams, then n-grams), at least 1. Default: 200.
    pub max_tokens: usize,
    /// Fewest training occurrences of a word in the vocabulary, at least 1. Default: 2.
    pub min_count: usize,
    /// Most words in the vocabulary (the most frequent), at least 1. Default: 30,000.
    pub vocab_size: usize,
    /// Longest hashed word n-gram added after the words; 1 adds none. Default: 1.
    pub ngrams: usize,
    /// Hash buckets of the n-grams, at least 1. Default: `DEFAULT_NGRAM_BUCKETS`.
    pub ngram_buckets: usize,
}

/// The default of `TextOptions::ngram_buckets`: with 64-wide embeddings, 10,000 buckets
/// are 640,000 weights (2.6 MB as f32).
pub const DEFAULT_NGRAM_BUCKETS: usize = 10_000;

/// The most token ids a text column may have (vocabulary, out-of-vocabulary id and
/// buckets): ids travel as f32, exact up to 2^24.
pub const MAX_TOKEN_IDS: usize = 1 << 24;

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            max_tokens: 200,
            min_count: 2,
            vocab_size: 30_000,
            ngrams: 1,
            ngram_buckets: DEFAULT_NGRAM_BUCKETS,
        }
    }
}

impl TextOptions {
    /// True for the defaults.
    pub fn is_default(&self) -> bool {
        *self == TextOptions::default()
    }
}

/// The shape of a series: `steps` steps of `channels` values, stored time-major with the
/// channel fastest (the layout of `nn::sequence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceShape {
    /// T: steps per row.
    pub steps: usize,
    /// C: values per step.
    pub channels: usize,
}

impl SequenceShape {
    /// Values per row: T x C.
    pub fn len(&self) -> usize {
        self.steps * self.channels
    }

    /// True for a shape with no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for SequenceShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.steps, self.channels)
    }
}

impl FromStr for SequenceShape {
    type Err = String;

    /// Parse `TxC` (`25x12`), or `T` for one channel.
    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<Result<usize, _>> = text
            .split(['x', 'X'])
            .map(|p| p.trim().parse::<usize>())
            .collect();
        match parts.as_slice() {
            [Ok(t), Ok(c)] if *t > 0 && *c > 0 => Ok(SequenceShape {
                steps: *t,
                channels: *c,
            }),
            [Ok(t)] if *t > 0 => Ok(SequenceShape {
                steps: *t,
                channels: 1,
            }),
            _ => Err(format!(
                "'{text}' is not STEPSxCHANNELS; expected e.g. 25x12 (or 251 for one channel)"
            )),
        }
    }
}

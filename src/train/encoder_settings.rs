//! `EncoderSettings`: how sequence blocks (a text column's tokens, a series) are encoded
//! before the dense layers: recurrent layers, attention blocks, the pooling over steps,
//! and for text the encoder kind and the embedding width. Plain tables never read them.

use serde::{Deserialize, Serialize};

/// A recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// Gated recurrent unit (PyTorch's gate order r, z, n).
    Gru,
    /// Long short-term memory (gates i, f, g, o).
    Lstm,
}

impl Cell {
    /// `gru` or `lstm`.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
        }
    }
}

/// One recurrent layer: `cell` with `hidden` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurrentLayer {
    /// GRU or LSTM.
    pub cell: Cell,
    /// Hidden units, at least 1.
    pub hidden: usize,
}

/// Transformer encoder blocks: `heads` heads over a model width `dim` (divisible by
/// `heads`), `layers` blocks; the feed-forward part is `2 * dim` wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionLayers {
    /// Attention heads.
    pub heads: usize,
    /// Model width.
    pub dim: usize,
    /// Encoder blocks, at least 1.
    pub layers: usize,
}

/// How the steps of an encoded sequence become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The last valid step.
    Last,
    /// The mean over the valid steps.
    Mean,
    /// The maximum over the valid steps, per channel.
    Max,
    /// Every step side by side (T x C values), for the dense layers to read.
    Flatten,
}

/// The encoder of a text column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoder {
    /// The mean of the token embeddings (fastText's model).
    #[default]
    Bag,
    /// A GRU over the token embeddings (`rnn` layers, or one of `embedding_dim` units).
    Gru,
    /// An LSTM over the token embeddings (as `Gru`).
    Lstm,
    /// Transformer blocks over the token embeddings (`attention`, or 4 heads of
    /// `embedding_dim`, one block).
    Attention,
}

/// How sequence blocks are encoded. Default: everything chosen by the kind of block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderSettings {
    /// Recurrent layers, input first. Default: none given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rnn: Option<Vec<RecurrentLayer>>,
    /// Attention blocks. Default: none given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<AttentionLayers>,
    /// Pooling over steps. Default: the last valid step after recurrent layers, the mean
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<Pooling>,
    /// The encoder of text columns. Default: `Bag`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub text_encoder: TextEncoder,
    /// Width of the token embeddings. Default: 64.
    #[serde(
        default = "default_embedding_dim",
        skip_serializing_if = "is_default_embedding_dim"
    )]
    pub embedding_dim: usize,
}

/// The default width of token embeddings.
pub const DEFAULT_EMBEDDING_DIM: usize = 64;

fn default_embedding_dim() -> usize {
    DEFAULT_EMBEDDING_DIM
}

fn is_default_embedding_dim(dim: &usize) -> bool {
    *dim == DEFAULT_EMBEDDING_DIM
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Default for EncoderSettings {
    /// Nothing given, bag-of-embeddings text of width 64.
    fn default() -> Self {
        EncoderSettings {
            rnn: None,
            attention: None,
            pool: None,
            text_encoder: TextEncoder::Bag,
            embedding_dim: DEFAULT_EMBEDDING_DIM,
        }
    }
}

impl EncoderSettings {
    /// The defaults (as `default()`).
    pub fn new() -> Self {
        EncoderSettings::default()
    }

    /// True when nothing differs from `new()` (such settings are not written to files).
    pub fn is_unset(&self) -> bool {
        *self == EncoderSettings::new()
    }

    /// The first value out of range: (setting, value, what is expected).
    pub fn out_of_range(&self) -> Option<(&'static str, String, &'static str)> {
        if let Some(layer) = self.rnn.iter().flatten().find(|l| l.hidden == 0) {
            return Some(("rnn", format!("{}:0", layer.cell.name()), "positive widths"));
        }
        if matches!(&self.rnn, Some(layers) if layers.is_empty()) {
            return Some(("rnn", "none".to_string(), "at least one layer"));
        }
        if let Some(a) = self.attention {
            if a.heads == 0 || a.dim == 0 || a.layers == 0 {
                let value = format!("{}:{}:{}", a.heads, a.dim, a.layers);
                return Some(("attention", value, "positive heads, width and layers"));
            }
            if a.dim % a.heads != 0 {
                let value = format!("{}:{}", a.heads, a.dim);
                return Some(("attention", value, "a width divisible by the heads"));
            }
        }
        if self.embedding_dim == 0 {
            return Some(("embedding_dim", "0".to_string(), "a positive width"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_write_nothing_and_read_back() {
        let unset = EncoderSettings::new();
        assert!(unset.is_unset());
        assert_eq!(serde_json::to_string(&unset).unwrap(), "{}");
        let back: EncoderSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(back, unset);
        let set = EncoderSettings {
            rnn: Some(vec![RecurrentLayer {
                cell: Cell::Gru,
                hidden: 64,
            }]),
            pool: Some(Pooling::Last),
            text_encoder: TextEncoder::Gru,
            ..EncoderSettings::new()
        };
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(
            json,
            r#"{"rnn":[{"cell":"gru","hidden":64}],"pool":"last","text_encoder":"gru"}"#
        );
        assert_eq!(serde_json::from_str::<EncoderSettings>(&json).unwrap(), set);
    }

    #[test]
    fn ranges_are_checked() {
        let heads = EncoderSettings {
            attention: Some(AttentionLayers {
                heads: 3,
                dim: 32,
                layers: 1,
            }),
            ..EncoderSettings::new()
        };
        assert_eq!(
            heads.out_of_range(),
            Some((
                "attention",
                "3:32".to_string(),
                "a width divisible by the heads"
            ))
        );
        let zero = EncoderSettings {
            rnn: Some(vec![RecurrentLayer {
                cell: Cell::Lstm,
                hidden: 0,
            }]),
            ..EncoderSettings::new()
        };
        assert_eq!(zero.out_of_range().unwrap().1, "lstm:0");
        assert_eq!(EncoderSettings::new().out_of_range(), None);
    }
}

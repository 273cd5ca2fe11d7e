//! The flags that say how text and series blocks are encoded (`--rnn`, `--attention`,
//! `--pool`, `--text-encoder`, `--embedding-dim`), shared by train and cv.

use clap::{Args, ValueEnum};

use csvnn::train::{
    AttentionLayers, Cell, EncoderSettings, Pooling, RecurrentLayer, TextEncoder,
    DEFAULT_EMBEDDING_DIM,
};

/// Where `--help` lists these flags.
const HEADING: &str = "Text and series encoders";

#[derive(Debug, Clone, Args)]
pub struct EncoderArgs {
    /// Recurrent layers over a series or a text column's tokens, CELL:UNITS each, input
    /// first (e.g. gru:64 or lstm:64,lstm:64).
    #[arg(long, help_heading = HEADING, value_name = "gru|lstm:N[,...]", value_parser = parse_rnn)]
    pub rnn: Option<RecurrentLayers>,

    /// Transformer encoder blocks: HEADS:WIDTH[:LAYERS] (e.g. 4:32 or 4:32:2); the
    /// feed-forward part is twice WIDTH; a learned position embedding comes first.
    #[arg(long, help_heading = HEADING, value_name = "HEADS:WIDTH[:LAYERS]", value_parser = parse_attention)]
    pub attention: Option<AttentionLayers>,

    /// Pooling over the steps of an encoded sequence: last, mean, max, or flatten (every
    /// step side by side) [default: last after --rnn; flatten for a one-channel series
    /// without --rnn or --attention; mean otherwise].
    #[arg(long, help_heading = HEADING, value_enum)]
    pub pool: Option<PoolArg>,

    /// The encoder of text columns: bag (the mean of the token embeddings, fastText's
    /// model), or gru, lstm, attention over the tokens.
    #[arg(long, help_heading = HEADING, value_enum, default_value_t = TextEncoderArg::Bag)]
    pub text_encoder: TextEncoderArg,

    /// Width of the token embeddings of text columns.
    #[arg(long, help_heading = HEADING, value_name = "N", default_value_t = DEFAULT_EMBEDDING_DIM, allow_negative_numbers = true, value_parser = super::common::parse_positive_usize)]
    pub embedding_dim: usize,
}

/// `--pool` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolArg {
    Last,
    Mean,
    Max,
    Flatten,
}

/// `--text-encoder` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextEncoderArg {
    Bag,
    Gru,
    Lstm,
    Attention,
}

/// `--rnn` layers as one flag value (clap would read a bare `Vec` as repeated flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrentLayers(pub Vec<RecurrentLayer>);

fn parse_rnn(value: &str) -> Result<RecurrentLayers, String> {
    value
        .split(',')
        .map(|layer| {
            let (cell, units) = layer.split_once(':').unwrap_or((layer, ""));
            let cell = match cell.trim().to_ascii_lowercase().as_str() {
                "gru" => Some(Cell::Gru),
                "lstm" => Some(Cell::Lstm),
                _ => None,
            };
            match (cell, units.trim().parse::<usize>()) {
                (Some(cell), Ok(hidden)) if hidden > 0 => Ok(RecurrentLayer { cell, hidden }),
                _ => Err(format!(
                    "'{layer}' is not CELL:UNITS; expected e.g. gru:64 or lstm:64,lstm:32"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(RecurrentLayers)
}

fn parse_attention(value: &str) -> Result<AttentionLayers, String> {
    let numbers: Vec<Option<usize>> = value
        .split(':')
        .map(|n| n.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .collect();
    let (heads, dim, layers) = match numbers.as_slice() {
        [Some(h), Some(d)] => (*h, *d, 1),
        [Some(h), Some(d), Some(l)] => (*h, *d, *l),
        _ => {
            return Err(
                "expected HEADS:WIDTH[:LAYERS] of positive numbers, e.g. 4:32 or 4:32:2".into(),
            )
        }
    };
    if dim % heads != 0 {
        return Err(format!(
            "the width {dim} does not split into {heads} heads; expected a multiple of {heads}, e.g. {}",
            heads * dim.div_ceil(heads)
        ));
    }
    Ok(AttentionLayers { heads, dim, layers })
}

impl EncoderArgs {
    /// The library's encoder settings for these flags.
    pub fn to_settings(&self) -> EncoderSettings {
        EncoderSettings {
            rnn: self.rnn.as_ref().map(|r| r.0.clone()),
            attention: self.attention,
            pool: self.pool.map(|p| match p {
                PoolArg::Last => Pooling::Last,
                PoolArg::Mean => Pooling::Mean,
                PoolArg::Max => Pooling::Max,
                PoolArg::Flatten => Pooling::Flatten,
            }),
            text_encoder: match self.text_encoder {
                TextEncoderArg::Bag => TextEncoder::Bag,
                TextEncoderArg::Gru => TextEncoder::Gru,
                TextEncoderArg::Lstm => TextEncoder::Lstm,
                TextEncoderArg::Attention => TextEncoder::Attention,
            },
            embedding_dim: self.embedding_dim,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rnn_and_attention_values_parse_or_say_what_is_expected() {
        let layers = parse_rnn("gru:64,LSTM:32").unwrap().0;
        assert_eq!(layers[1].cell, Cell::Lstm);
        assert_eq!(layers[1].hidden, 32);
        assert_eq!(
            parse_rnn("gru").unwrap_err(),
            "'gru' is not CELL:UNITS; expected e.g. gru:64 or lstm:64,lstm:32"
        );
        assert!(parse_rnn("rnn:4").is_err());
        assert!(parse_rnn("gru:0").is_err());
        let a = parse_attention("4:32").unwrap();
        assert_eq!((a.heads, a.dim, a.layers), (4, 32, 1));
        assert_eq!(parse_attention("2:8:3").unwrap().layers, 3);
        assert_eq!(
            parse_attention("3:32").unwrap_err(),
            "the width 32 does not split into 3 heads; expected a multiple of 3, e.g. 33"
        );
        assert!(parse_attention("4").is_err());
        assert!(parse_attention("4:0").is_err());
    }
}

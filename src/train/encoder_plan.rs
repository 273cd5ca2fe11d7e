//! From `EncoderSettings` and a fitted pipeline to the encoder of each sequence block:
//! what each kind of block gets when nothing is said (a text column: the mean of its
//! token embeddings; a series of several channels: one transformer block of 4 heads over
//! 32 values per step, mean-pooled; a one-channel series: its standardised values side by
//! side, read by the dense layers, since attention over single values learns little from
//! the small tables such series come in (docs/text-dates-series.md)), and what the
//! settings change.

use super::encoder_settings::{Cell, EncoderSettings, Pooling, TextEncoder};
use crate::nn::{BlockInput, EncoderPlan, PoolMode, SeqShape, Stage};
use crate::preprocess::{Feature, Pipeline};

/// The attention of a series when no encoder is given: 4 heads over 32 values, one block.
const DEFAULT_SERIES_ATTENTION: Stage = Stage::Attention {
    heads: 4,
    dim: 32,
    layers: 1,
};

/// One plan per sequence block of `pipeline`, in column order (empty for a plain table).
pub fn encoder_plans(settings: &EncoderSettings, pipeline: &Pipeline) -> Vec<EncoderPlan> {
    pipeline
        .blocks()
        .into_iter()
        .filter_map(|(start, feature)| {
            let (input, stages) = match feature {
                Feature::Text(text) => (
                    BlockInput::Tokens {
                        vocab: text.n_ids(),
                        steps: text.options.max_tokens,
                    },
                    text_stages(settings),
                ),
                Feature::Sequence(series) => (
                    BlockInput::Series(SeqShape::new(series.shape.steps, series.shape.channels)),
                    series_stages(settings, series.shape.channels),
                ),
                _ => return None,
            };
            let pool = match settings.pool {
                Some(pool) => pool_mode(pool),
                None => match (stages.last(), feature) {
                    (Some(Stage::Gru(_) | Stage::Lstm(_)), _) => PoolMode::Last,
                    (None, Feature::Sequence(_)) => PoolMode::Flatten,
                    _ => PoolMode::Mean,
                },
            };
            Some(EncoderPlan {
                start,
                input,
                embedding_dim: settings.embedding_dim,
                stages,
                pool,
            })
        })
        .collect()
}

/// `--rnn` layers, else `--attention`; else none for a one-channel series (its values go
/// to the dense layers side by side) unless another pooling is asked for, else one
/// attention block.
fn series_stages(settings: &EncoderSettings, channels: usize) -> Vec<Stage> {
    given_stages(settings).unwrap_or_else(|| {
        let flat = channels == 1 && matches!(settings.pool, None | Some(Pooling::Flatten));
        if flat {
            Vec::new()
        } else {
            vec![DEFAULT_SERIES_ATTENTION]
        }
    })
}

/// By the text encoder; recurrent and attention encoders take their layers from the
/// settings when given, else one layer as wide as the embeddings.
fn text_stages(settings: &EncoderSettings) -> Vec<Stage> {
    let dim = settings.embedding_dim;
    match settings.text_encoder {
        TextEncoder::Bag => Vec::new(),
        TextEncoder::Gru | TextEncoder::Lstm => match &settings.rnn {
            Some(_) => given_stages(settings).unwrap_or_default(),
            None if settings.text_encoder == TextEncoder::Gru => vec![Stage::Gru(dim)],
            None => vec![Stage::Lstm(dim)],
        },
        TextEncoder::Attention => match settings.attention {
            Some(_) => given_stages(settings).unwrap_or_default(),
            None => vec![attention_stage(4, dim, 1)],
        },
    }
}

/// The recurrent layers and then the attention blocks the settings give, if any.
fn given_stages(settings: &EncoderSettings) -> Option<Vec<Stage>> {
    if settings.rnn.is_none() && settings.attention.is_none() {
        return None;
    }
    let recurrent = settings.rnn.iter().flatten().map(|l| match l.cell {
        Cell::Gru => Stage::Gru(l.hidden),
        Cell::Lstm => Stage::Lstm(l.hidden),
    });
    let attention = settings
        .attention
        .map(|a| attention_stage(a.heads, a.dim, a.layers));
    Some(recurrent.chain(attention).collect())
}

/// A plan in a few words, for the training line: `series 25x12: gru:64, last` or
/// `text (5096 ids): embedding 64, mean`.
pub fn describe_plan(plan: &EncoderPlan) -> String {
    let mut parts = Vec::new();
    let head = match plan.input {
        BlockInput::Tokens { vocab, .. } => {
            parts.push(format!("embedding {}", plan.embedding_dim));
            format!("text ({vocab} ids)")
        }
        BlockInput::Series(shape) => format!("series {}x{}", shape.steps, shape.channels),
    };
    parts.extend(plan.stages.iter().map(|stage| match *stage {
        Stage::Gru(h) => format!("gru:{h}"),
        Stage::Lstm(h) => format!("lstm:{h}"),
        Stage::Attention { heads, dim, layers } => format!("attention {heads}:{dim}:{layers}"),
    }));
    parts.push(
        match plan.pool {
            PoolMode::Last => "last",
            PoolMode::Mean => "mean",
            PoolMode::Max => "max",
            PoolMode::Flatten => "flatten",
        }
        .to_string(),
    );
    format!("{head}: {}", parts.join(", "))
}

fn attention_stage(heads: usize, dim: usize, layers: usize) -> Stage {
    Stage::Attention { heads, dim, layers }
}

fn pool_mode(pool: Pooling) -> PoolMode {
    match pool {
        Pooling::Last => PoolMode::Last,
        Pooling::Mean => PoolMode::Mean,
        Pooling::Max => PoolMode::Max,
        Pooling::Flatten => PoolMode::Flatten,
    }
}

//! Networks for rows that hold sequence blocks (a text column's token ids, a series): one
//! encoder per block (embedding, recurrent or attention stages, pooling over the steps),
//! joined with the plain columns by a `Branches` layer, then the dense head of an MLP.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    AnyLayer, Branch, Branches, Embedding, EncoderBlock, Gru, Lstm, MlpConfig, Network,
    NetworkError, PoolMode, PositionalEmbedding, SeqShape, SequencePool, TimeDense,
};

/// What a sequence block of the input row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockInput {
    /// Token ids of a text column: `steps` tokens at most, ids below `vocab`.
    Tokens {
        /// Distinct ids, the out-of-vocabulary id 0 included.
        vocab: usize,
        /// Most tokens per row.
        steps: usize,
    },
    /// A series of `steps` steps of `channels` values.
    Series(SeqShape),
}

impl BlockInput {
    /// Columns the block takes in the row (the length column included).
    pub fn width(&self) -> usize {
        match *self {
            BlockInput::Tokens { steps, .. } => SeqShape::new(steps, 1).width(),
            BlockInput::Series(shape) => shape.width(),
        }
    }

    fn steps(&self) -> usize {
        match *self {
            BlockInput::Tokens { steps, .. } => steps,
            BlockInput::Series(shape) => shape.steps,
        }
    }
}

/// One stage of an encoder, applied to every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// A GRU of this many units.
    Gru(usize),
    /// An LSTM of this many units.
    Lstm(usize),
    /// A projection to `dim` values per step (when the steps are not `dim` wide), a learned
    /// position embedding, then `layers` transformer encoder blocks of `heads` heads with
    /// a feed-forward part `2 * dim` wide.
    Attention {
        /// Attention heads; they divide `dim`.
        heads: usize,
        /// Model width.
        dim: usize,
        /// Encoder blocks.
        layers: usize,
    },
}

/// The encoder of one block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderPlan {
    /// Where the block starts in the row.
    pub start: usize,
    /// What it holds.
    pub input: BlockInput,
    /// Width of the token embeddings (token blocks only).
    pub embedding_dim: usize,
    /// The stages, input first (none: the embeddings or values are pooled directly).
    pub stages: Vec<Stage>,
    /// How the steps become one vector.
    pub pool: PoolMode,
}

impl EncoderPlan {
    /// The encoder's layers, weights drawn from `rng`.
    fn build(&self, rng: &mut ChaCha8Rng) -> Result<Network, NetworkError> {
        let steps = self.input.steps();
        let mut layers = Vec::new();
        let mut width = match self.input {
            BlockInput::Tokens { vocab, steps } => {
                let embedding = Embedding::new(vocab, self.embedding_dim, steps, rng)?;
                layers.push(AnyLayer::Embedding(embedding));
                self.embedding_dim
            }
            BlockInput::Series(shape) => shape.channels,
        };
        for stage in &self.stages {
            let input = SeqShape::new(steps, width);
            match *stage {
                Stage::Gru(hidden) => {
                    layers.push(AnyLayer::Gru(Gru::new(input, hidden, rng)));
                    width = hidden;
                }
                Stage::Lstm(hidden) => {
                    layers.push(AnyLayer::Lstm(Lstm::new(input, hidden, rng)));
                    width = hidden;
                }
                Stage::Attention {
                    heads,
                    dim,
                    layers: blocks,
                } => {
                    if width != dim {
                        layers.push(AnyLayer::TimeDense(TimeDense::new(input, dim, rng)?));
                        width = dim;
                    }
                    let shape = SeqShape::new(steps, dim);
                    layers.push(AnyLayer::PositionalEmbedding(PositionalEmbedding::new(
                        shape, rng,
                    )?));
                    for _ in 0..blocks {
                        let block = EncoderBlock::new(steps, dim, heads, 2 * dim, rng)?;
                        layers.push(AnyLayer::EncoderBlock(Box::new(block)));
                    }
                }
            }
        }
        let pool = SequencePool::new(SeqShape::new(steps, width), self.pool)?;
        layers.push(AnyLayer::SequencePool(pool));
        Ok(Network {
            n_inputs: self.input.width(),
            layers,
        })
    }
}

impl Network {
    /// A network over rows of `head.n_inputs` columns holding the sequence blocks of
    /// `encoders` (in column order, not overlapping): each block encoded, the results
    /// placed after the plain columns, then `head`'s dense layers (as `Network::mlp`
    /// builds them) over that. Weights are drawn from RNGs seeded with `seed`.
    pub fn with_encoders(
        head: &MlpConfig,
        encoders: &[EncoderPlan],
        seed: u64,
    ) -> Result<Network, NetworkError> {
        // The encoders draw from their own stream, so the head's weights are those of an
        // MLP of the same width and seed.
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ENCODER_STREAM);
        let branches = encoders
            .iter()
            .map(|plan| {
                Ok(Branch {
                    start: plan.start,
                    encoder: plan.build(&mut rng)?,
                })
            })
            .collect::<Result<Vec<_>, NetworkError>>()?;
        let branches = Branches::new(head.n_inputs, branches)?;
        let dense = Network::mlp(
            &MlpConfig {
                n_inputs: branches.n_outputs(),
                ..head.clone()
            },
            seed,
        )?;
        let mut layers = vec![AnyLayer::Branches(branches)];
        layers.extend(dense.layers);
        Ok(Network {
            n_inputs: head.n_inputs,
            layers,
        })
    }
}

/// Mixed into the seed of the encoders' RNG.
const ENCODER_STREAM: u64 = 0x656e_636f_6465_7273;

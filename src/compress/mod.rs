//! Smaller models from trained ones: magnitude pruning with fine-tuning (`prune`), and the
//! record a compressed model keeps of how it was made (`record`).

mod prune;
mod record;

pub use prune::{prune, prune_weights, PruneSettings, Scope};
pub use record::{count_zeros, CompressionRecord, PruneNote, PrunedLayer};

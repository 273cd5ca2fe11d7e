//! The training loop: seeded mini-batches reshuffled every epoch, validation after each
//! epoch, early stopping on validation loss with the best weights restored, and the
//! per-epoch history. Progress reaches the caller through `Observer`.

mod trainer;

pub use trainer::{
    argmax, evaluate, train, Dataset, EpochRecord, Observer, OptimizerConfig, OwnedTargets,
    TrainConfig, TrainOutcome, ValidationMetric,
};

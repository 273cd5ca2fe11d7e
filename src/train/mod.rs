//! The training loop: seeded mini-batches reshuffled every epoch, validation after each
//! epoch, early stopping on validation loss with the best weights restored, learning-rate
//! schedules, class weights, and the per-epoch history. Progress and checkpoints reach
//! the caller through `Observer`.

mod class_weights;
mod early_stopping;
mod schedule;
mod trainer;

pub use class_weights::balanced_class_weights;
pub use early_stopping::EarlyStopping;
pub use schedule::{PlateauConfig, PlateauState, ScheduleConfig, ScheduleKind};
pub use trainer::{
    argmax, evaluate, train, Dataset, EpochRecord, Observer, OptimizerConfig, OwnedTargets,
    TrainConfig, TrainOutcome, TrainState, ValidationMetric,
};

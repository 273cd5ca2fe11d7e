//! Training: the settings and the fit entry point (`fit`, with its stages `Source::load`,
//! `prepare` and `train_model`), cross-validation, checkpoints and the epoch log; below
//! them the loop itself: seeded mini-batches reshuffled every epoch, validation after each
//! epoch, early stopping with the best weights restored, learning-rate schedules and class
//! weights. Progress and notices reach the caller through `Observer`.

mod augment;
mod augment_image;
mod augmenter;
mod checkpoint;
mod choices;
mod class_weights;
mod cv;
mod cv_fold;
mod dataset;
mod distill;
mod divergence;
mod early_stopping;
mod encoder_plan;
mod encoder_settings;
mod epoch_log;
mod fit;
mod mask;
mod monitor;
mod notice;
mod prepare;
mod schedule;
mod settings;
mod settings_error;
mod source;
mod stream_batches;
mod stream_blocks;
mod stream_encode;
mod stream_fit;
mod stream_read;
mod stream_source;
mod trainer;

pub use augment::{Augment, AugmentItem, AUGMENT_FORMS};
pub use augmenter::AugmentLayout;
pub use checkpoint::{
    checkpoint_path, read_checkpoint, write_checkpoint, Checkpoint, CHECKPOINT_FILE,
    CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
};
pub use choices::{
    ActivationChoice, Bound, ClassWeights, ConvLayer, LossChoice, OptimizerChoice,
    SettingDifference,
};
pub use class_weights::balanced_class_weights;
pub use cv::{assign_folds, cross_validate, CvReport, MetricSummary, OrderedMetrics};
pub use cv_fold::{
    collect_folds, cross_validate_fold, cv_fingerprint, CvFold, FoldMetric, CV_FOLD_FORMAT,
    CV_FOLD_VERSION,
};
pub use distill::{
    distilled_dataset, DistillLoss, DistillSettings, DEFAULT_DISTILL_WEIGHT, DEFAULT_TEMPERATURE,
};
pub use divergence::{
    divergence, Divergence, DIVERGENCE_FACTOR, LEAST_START, RISING_EPOCHS, RISING_MARGIN,
};
pub use early_stopping::EarlyStopping;
pub use encoder_plan::encoder_plans;
pub use encoder_settings::{
    AttentionLayers, Cell, EncoderSettings, Pooling, RecurrentLayer, TextEncoder,
    DEFAULT_EMBEDDING_DIM,
};
pub use epoch_log::write_epoch_log;
pub(crate) use fit::build_network;
pub use fit::{fit, fit_table, metric_name, mlp_config, train_model, training_config};
pub use mask::WeightMask;
pub use monitor::{argmax, Monitor, Tally};
pub use notice::Notice;
pub(crate) use prepare::dataset;
pub use prepare::{prepare, Prepared, SMALL_TABLE_ROWS};
pub use schedule::{PlateauConfig, PlateauState, ScheduleConfig, ScheduleKind};
pub use settings::{TrainSettings, DEFAULT_VALIDATION_SPLIT};
pub use settings_error::SettingsError;
pub(crate) use source::rows_with_target_noticed;
pub use source::Source;
pub use stream_fit::fit_stream;
pub use stream_source::{
    plan_stream, FileStamp, RowSplit, StreamPlan, StreamSettings, DEFAULT_SHUFFLE_BUFFER,
};
pub use trainer::{
    evaluate, tally, train, train_masked, Dataset, EpochRecord, Observer, OptimizerConfig,
    OwnedTargets, TrainConfig, TrainData, TrainOutcome, TrainState, ValidationMetric,
};

mod util;

mod augment;
mod cli;
mod compress;
mod conv_cli;
mod cv;
mod cv_folds;
mod data_errors;
mod data_quality;
mod defaults;
mod distill;
mod explain;
mod export;
mod export_raw;
mod export_sequences;
mod golden_metrics;
mod kinds;
mod library;
mod model_bytes;
mod model_validation;
mod output_levels;
mod parquet;
mod prune;
mod script_output;
mod scripting;
mod sequences;
#[cfg(unix)]
mod serve;
mod shards;
mod streaming;
#[cfg(target_os = "linux")]
mod terminal;
mod threshold;
mod train_front;
mod training;
mod tune;
mod tune_plan;

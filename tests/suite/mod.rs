mod util;

mod cli;
mod conv_cli;
mod cv;
mod data_errors;
mod explain;
mod export;
mod golden_metrics;
mod library;
mod model_bytes;
mod model_validation;
mod scripting;
mod training;

mod util;

mod cli;
mod conv_cli;
mod cv;
mod data_errors;
mod data_quality;
mod explain;
mod export;
mod golden_metrics;
mod library;
mod model_bytes;
mod scripting;
mod training;

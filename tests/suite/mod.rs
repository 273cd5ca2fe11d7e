mod util;

mod cli;
mod conv_cli;
mod cv;
mod data_errors;
mod explain;
mod export;
mod golden_metrics;
mod scripting;
mod training;

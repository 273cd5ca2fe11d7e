//! The `csvnn` command line: one file per subcommand (its args struct and run function)
//! and `common.rs` for what they share. Subcommands turn arguments into library calls.

mod column_args;
mod common;
mod completions;
mod compress;
mod cv;
mod distill_args;
mod encoder_args;
mod evaluate;
mod explain;
mod export;
mod gate;
mod inspect;
mod kind_args;
mod messages;
mod notices;
mod predict;
mod preprocess;
mod progress;
pub mod render;
mod report;
mod serve;
mod settings_args;
mod train;
mod train_stream;
mod tune;
mod tune_plan;

use clap::{Parser, Subcommand};

pub use common::Ui;
pub use gate::GateMissed;

/// Train small neural networks on CSV tables.
#[derive(Debug, Parser)]
#[command(name = "csvnn", version, about, long_about = None)]
// The global flags under their own heading, so that they do not interleave with a
// subcommand's own in its --help.
#[command(next_help_heading = "Global options")]
pub struct Cli {
    /// No progress and no info lines; warnings and errors still print.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// No progress bar or epoch lines: info lines and the summary only.
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// A progress line for every epoch (also on a terminal, instead of the bar).
    #[arg(short = 'v', long, global = true, conflicts_with_all = ["quiet", "no_progress"])]
    pub verbose: bool,

    /// Worker threads for training, prediction and evaluation (default: all cores, and a
    /// training step runs on one when that measures faster). Results, trained models
    /// included, are identical for any value.
    #[arg(long, global = true, value_name = "N", allow_negative_numbers = true, value_parser = common::parse_positive_usize)]
    pub threads: Option<usize>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Profile a CSV file and optionally save a preprocessing pipeline fitted on it.
    Preprocess(preprocess::PreprocessArgs),
    /// Train a network on a CSV file and save the model.
    Train(Box<train::TrainArgs>),
    /// Score a saved model on a CSV file that has the target column.
    Evaluate(evaluate::EvaluateArgs),
    /// Write predictions of a saved model for the rows of a CSV file.
    Predict(predict::PredictArgs),
    /// K-fold cross-validation with the train settings: mean and std of every metric.
    Cv(Box<cv::CvArgs>),
    /// Show what a saved model holds: inputs, classes, architecture, training, history.
    Inspect(inspect::InspectArgs),
    /// Write an HTML report with charts: learning curves and, with test data, metrics.
    Report(report::ReportArgs),
    /// Write a completion script for a shell to stdout.
    Completions(completions::CompletionsArgs),
    /// Rank the input columns of a saved model by permutation importance.
    Explain(explain::ExplainArgs),
    /// Write a saved model as a standard ONNX graph.
    Export(export::ExportArgs),
    /// Write a smaller, faster copy of a saved model: pruned and fine-tuned, int8 weights.
    Compress(compress::CompressArgs),
    /// Search for good training settings (successive halving) and train the best.
    Tune(Box<tune::TuneArgs>),
    /// Serve a saved model's predictions over HTTP (POST /predict, GET /model, GET /health).
    Serve(serve::ServeArgs),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let ui = Ui::new(cli.quiet);
    let level = progress::Level::from_flags(cli.quiet, cli.no_progress, cli.verbose);
    let threads = cli.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    // The one place the thread count is set: reading, preprocessing, training and
    // prediction all follow the installed pool (results do not depend on it).
    let _pool = csvnn::parallel::install(threads);
    // Without `--threads`, a training step may run on one thread when that measures faster.
    let _choice = cli
        .threads
        .is_none()
        .then(csvnn::parallel::choose_step_threads);
    if let Some(warning) = notices::gemm_env_ignored(csvnn::nn::gemm_choice()) {
        ui.warn(&warning);
    }
    match cli.command {
        Command::Preprocess(args) => preprocess::run(args, &ui),
        Command::Train(args) => train::run(*args, &ui, level),
        Command::Evaluate(args) => evaluate::run(args, &ui),
        Command::Predict(args) => predict::run(args, &ui),
        Command::Cv(args) => cv::run(*args, &ui),
        Command::Inspect(args) => inspect::run(args),
        Command::Report(args) => report::run(args, &ui),
        Command::Completions(args) => completions::run(args),
        Command::Explain(args) => explain::run(args, &ui),
        Command::Export(args) => export::run(args, &ui),
        Command::Tune(args) if args.is_plan_route() => tune_plan::run(*args, &ui),
        Command::Tune(args) => tune::run(*args, &ui),
        Command::Compress(args) => compress::run(args, &ui),
        Command::Serve(args) => serve::run(args, &ui, threads),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}

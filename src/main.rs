//! The `csvnn` binary: parse arguments, run, and turn an error into one line on stderr
//! and an exit code (1 runtime, 2 usage, 3 a metric gate missed; a closed stdout pipe exits quietly with 0).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let io = match cause.downcast_ref::<csvnn::Error>() {
            Some(csvnn::Error::Io { error, .. }) => Some(error),
            _ => cause.downcast_ref::<std::io::Error>(),
        };
        io.is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let message: Vec<String> = error
                .chain()
                .map(|c| match c.downcast_ref::<csvnn::Error>() {
                    Some(e) => cli::render::render_error(e),
                    None => c.to_string(),
                })
                .collect();
            eprintln!("csvnn: error: {}", message.join(": "));
            let usage = error
                .downcast_ref::<csvnn::Error>()
                .is_some_and(csvnn::Error::is_usage);
            let gate = error.downcast_ref::<cli::GateMissed>().is_some();
            ExitCode::from(if gate {
                3
            } else if usage {
                2
            } else {
                1
            })
        }
    }
}

//! The `csvnn` binary: parse arguments, run, and turn an error into one line on stderr
//! and an exit code (1 runtime, 2 usage, 3 a metric gate missed; a closed stdout pipe exits quietly with 0).

mod allocator;
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

/// The parsed command line, or the exit code after clap's message. A usage error gets
/// the `csvnn: ` prefix of every other diagnostic and keeps clap's usage and tip lines;
/// `--help`, `--version` and the help shown when a subcommand is missing are clap's own.
fn parse_args() -> Result<cli::Cli, ExitCode> {
    cli::Cli::try_parse().map_err(|error| {
        let text = error.render().to_string();
        match text.strip_prefix("error: ") {
            Some(rest) => {
                eprint!("csvnn: error: {rest}");
                ExitCode::from(error.exit_code() as u8)
            }
            None => error.exit(),
        }
    })
}

fn main() -> ExitCode {
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
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

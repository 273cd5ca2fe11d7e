//! `csvnn cv`: K-fold cross-validation with the train settings (stratified by class for
//! classification). Each fold fits its own pipeline and network on the other folds and is
//! scored on its held-out rows; the mean and standard deviation of every metric are shown.
//! As independent jobs: --fold K runs one fold into a file, --collect prints the summary
//! of all of them, the same as the one-process run.

use std::path::PathBuf;

use clap::Args;

use super::common::{bounded_usize, write_stdout, GivenFlags, ReadingArgs, Ui};
use super::notices::UiNotices;
use super::preprocess::Format;
use super::settings_args::SettingsArgs;
use csvnn::atomic::check_writable_file;
use csvnn::metrics::metric_label;
use csvnn::train::{
    collect_folds, cross_validate, cross_validate_fold, Bound, CvFold, CvReport, Source,
};
use csvnn::Error;

#[derive(Debug, Args)]
pub struct CvArgs {
    /// Which flags were given (first: the fields below take their values out).
    #[command(flatten)]
    pub given: GivenFlags,

    /// The CSV file (gzip is recognised by its content), or `-` for stdin.
    #[arg(long, value_name = "FILE", required_unless_present = "collect")]
    pub data: Option<String>,

    #[command(flatten)]
    pub reading: ReadingArgs,

    /// The target column.
    #[arg(long, value_name = "COL", required_unless_present = "collect")]
    pub target: Option<String>,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// Number of folds (at least 2).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = parse_folds)]
    pub folds: usize,

    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Run only fold K (from 0) of the --folds and write its result to -o; --collect
    /// then prints the summary of all of them.
    #[arg(long, value_name = "K", requires = "output")]
    pub fold: Option<usize>,

    /// With --fold: the file for the fold's result (written atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE", requires = "fold")]
    pub output: Option<PathBuf>,

    /// The results of every fold of one run (written by --fold): print the summary that
    /// cv prints in one process. The flags of the run come from the files.
    #[arg(long, value_name = "FOLD", num_args = 1.., conflicts_with_all = ["data", "target", "fold"])]
    pub collect: Option<Vec<PathBuf>>,
}

fn parse_folds(value: &str) -> Result<usize, String> {
    bounded_usize(value, Bound::AtLeast(2))
}

/// The flags --collect takes besides its files (and the global ones).
const COLLECT_FLAGS: &[&str] = &[
    "collect",
    "format",
    "quiet",
    "no_progress",
    "verbose",
    "threads",
];

pub fn run(args: CvArgs, ui: &Ui) -> anyhow::Result<()> {
    if let Some(files) = &args.collect {
        return collect(&args, files);
    }
    let (Some(data), Some(target)) = (&args.data, &args.target) else {
        unreachable!("clap requires --data and --target without --collect");
    };
    if let Some(k) = args.fold.filter(|&k| k >= args.folds) {
        return Err(Error::config(format!(
            "--fold {k} is out of range: with --folds {}, K goes from 0 to {}",
            args.folds,
            args.folds - 1
        ))
        .into());
    }
    if let Some(output) = &args.output {
        check_writable_file(output)?;
    }
    let settings = args
        .settings
        .to_settings(args.reading.to_source(data), target.clone());
    let mut notices = UiNotices(ui);
    let source = Source::load(&settings, &mut notices)?;
    if let (Some(k), Some(output)) = (args.fold, &args.output) {
        let fold = cross_validate_fold(&settings, &source, args.folds, k, &mut notices)?;
        fold.write(output)?;
        ui.info(&format!(
            "wrote the result of --fold {k} (of {}) to {}; when every fold is done, print the summary with --collect",
            args.folds,
            output.display()
        ));
        return Ok(());
    }
    let report = cross_validate(&settings, &source, args.folds, &mut notices)?;
    write_stdout(&render(&report, args.format)?)?;
    Ok(())
}

/// --collect: the summary of the folds' files.
fn collect(args: &CvArgs, files: &[PathBuf]) -> anyhow::Result<()> {
    let stray: Vec<String> = args
        .given
        .0
        .iter()
        .filter(|id| !COLLECT_FLAGS.contains(&id.as_str()))
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect();
    if !stray.is_empty() {
        return Err(Error::config(format!(
            "--collect takes the run's flags from the folds' files; leave out {} (give {} to each --fold run)",
            stray.join(", "),
            if stray.len() == 1 { "it" } else { "them" }
        ))
        .into());
    }
    let folds = files
        .iter()
        .map(|f| Ok((f.display().to_string(), CvFold::read(f)?)))
        .collect::<csvnn::Result<Vec<_>>>()?;
    let report = collect_folds(&folds)?;
    write_stdout(&render(&report, args.format)?)?;
    Ok(())
}

/// The report as a table or as JSON.
fn render(report: &CvReport, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
        Format::Table => {
            let mut text = format!(
                "{}-fold cross-validation, {} rows ({})\n\n{:<20} {:>10} {:>10}\n",
                report.folds, report.rows, report.task, "metric", "mean", "std"
            );
            for (name, s) in &report.metrics.0 {
                let name = metric_label(name);
                text += &format!("{name:<20} {:>10.4} {:>10.4}\n", s.mean, s.std);
            }
            text
        }
    })
}

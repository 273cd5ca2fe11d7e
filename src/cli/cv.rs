//! `csvnn cv`: K-fold cross-validation with the train settings (stratified by class for
//! classification). Each fold fits its own pipeline and network on the other folds and is
//! scored on its held-out rows; the mean and standard deviation of every metric are shown.

use clap::Args;

use super::common::{bounded_usize, write_stdout, DataArgs, Ui};
use super::notices::UiNotices;
use super::preprocess::Format;
use super::settings_args::SettingsArgs;
use csvnn::metrics::metric_label;
use csvnn::train::{cross_validate, Bound, Source};

#[derive(Debug, Args)]
pub struct CvArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The target column.
    #[arg(long, value_name = "COL")]
    pub target: String,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// Number of folds (at least 2).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = parse_folds)]
    pub folds: usize,

    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_folds(value: &str) -> Result<usize, String> {
    bounded_usize(value, Bound::AtLeast(2))
}

pub fn run(args: CvArgs, ui: &Ui) -> anyhow::Result<()> {
    let settings = args
        .settings
        .to_settings(args.data.to_source(), args.target.clone());
    let mut notices = UiNotices(ui);
    let source = Source::load(&settings, &mut notices)?;
    let report = cross_validate(&settings, &source, args.folds, &mut notices)?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
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
    };
    write_stdout(&text)?;
    Ok(())
}

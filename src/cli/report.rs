//! `csvnn report`: one self-contained HTML file about a model (the page itself is
//! `csvnn::report::render`): read the model and the test data, score it, write the page
//! atomically.

use std::path::PathBuf;

use clap::Args;

use super::common::{parse_delimiter, read_nonempty, Ui};
use super::evaluate::score;
use csvnn::atomic::write_atomically;
use csvnn::data::CsvOptions;
use csvnn::model::Model;
use csvnn::report::{render, TestData};
use csvnn::Error;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// Test data with the target column: adds the metrics, the confusion matrix and ROC
    /// curves (classification) or predicted against actual values (regression).
    #[arg(long, value_name = "FILE")]
    pub data: Option<String>,

    /// Field delimiter of the test data: one character, or `tab`. Default: detected.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The HTML file to write (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(args: ReportArgs, ui: &Ui) -> anyhow::Result<()> {
    csvnn::atomic::check_writable_file(&args.output)?;
    let model = Model::load(&args.model)?;
    let scored = match &args.data {
        Some(path) => {
            let table = read_nonempty(
                path,
                &CsvOptions {
                    delimiter: args.delimiter,
                    skip_bad_rows: false,
                    columns: None,
                },
                ui,
            )?;
            Some((table.source.clone(), score(&model, &table, ui)?))
        }
        None => None,
    };
    let shown = args.model.display().to_string();
    let test = match &scored {
        Some((data, s)) => TestData::Scored(data, s),
        None => TestData::Missing(
            "Run <code>csvnn report --data TEST.csv</code> to add test metrics and charts.",
        ),
    };
    let html = render(&model, &shown, test)?;
    let output = args.output.display().to_string();
    write_atomically(&args.output, |out| {
        out.write_all(html.as_bytes())
            .map_err(|e| Error::io(&output, e))
    })?;
    ui.info(&format!("wrote the report to {output}"));
    Ok(())
}

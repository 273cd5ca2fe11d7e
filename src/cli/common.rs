//! What the subcommands share: the data-reading flags, diagnostics on stderr, and
//! value parsers for flags that are wrong whatever the data.

use std::io::Write;

use clap::Args;

use csvnn::data::{CsvOptions, CsvSource, RawTable};
use csvnn::error::one_line;
use csvnn::preprocess::{NonFiniteValues, Pipeline, UnknownCategories};
use csvnn::train::Bound;
use csvnn::Error;

/// `--augment`: the spec's own parser (the message names no flag; clap adds it).
pub fn parse_augment(value: &str) -> Result<csvnn::train::Augment, String> {
    value.parse()
}

/// Diagnostics on stderr: `csvnn: ...` info lines (not with --quiet) and warnings.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub quiet: bool,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Ui { quiet }
    }

    pub fn info(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "csvnn: {}", one_line(message));
        }
    }

    pub fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "csvnn: warning: {}", one_line(message));
    }
}

/// The input CSV and how to read it.
#[derive(Debug, Clone, Args, serde::Serialize, serde::Deserialize)]
pub struct DataArgs {
    /// The CSV file (gzip is recognised by its content), or `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub data: String,

    #[command(flatten)]
    #[serde(flatten)]
    pub reading: ReadingArgs,
}

/// How to read an input CSV: the flags besides its path.
#[derive(Debug, Clone, Args, serde::Serialize, serde::Deserialize)]
pub struct ReadingArgs {
    /// Field delimiter: one character, or `tab`. Default: detected from the header line
    /// among `,` `;` and tab.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// Cell values that mean "missing", replacing the default list NA,N/A,NaN,nan,null
    /// (an empty cell is always missing).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub na_values: Option<Vec<String>>,

    /// Skip rows whose number of fields differs from the header's, with a warning naming
    /// each line (without it such a row is an error).
    #[arg(long)]
    pub skip_bad_rows: bool,
}

impl ReadingArgs {
    /// The library's description of the input `path` read this way.
    pub fn to_source(&self, path: &str) -> CsvSource {
        CsvSource {
            path: path.to_string(),
            delimiter: self.delimiter,
            na_values: self.na_values.clone(),
            skip_bad_rows: self.skip_bad_rows,
        }
    }
}

impl DataArgs {
    /// The library's description of this input.
    pub fn to_source(&self) -> CsvSource {
        self.reading.to_source(&self.data)
    }

    /// Read the file, refusing one without data rows.
    pub fn read(&self, ui: &Ui) -> Result<RawTable, Error> {
        read_nonempty(&self.data, &self.to_source().csv_options(), ui)
    }
}

/// The flags given on the command line, by their argument ids (the field names), as
/// opposed to those left at their defaults. Flatten it FIRST into an args struct: the
/// fields after it take their values out of the matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GivenFlags(pub Vec<String>);

impl GivenFlags {
    /// Whether the flag with the argument id `id` was given.
    pub fn has(&self, id: &str) -> bool {
        self.0.iter().any(|given| given == id)
    }
}

impl clap::FromArgMatches for GivenFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(GivenFlags(
            matches
                .ids()
                .filter(|id| {
                    matches.value_source(id.as_str())
                        == Some(clap::parser::ValueSource::CommandLine)
                })
                .map(|id| id.to_string())
                .collect(),
        ))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for GivenFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd
    }
}

/// Most skipped rows named one warning each; the rest are summed up in one line.
const SKIPPED_SHOWN: usize = 20;

/// Warn about the rows of `table` that `--skip-bad-rows` left out.
pub fn warn_skipped_rows(ui: &Ui, table: &RawTable) {
    let n_fields = table.headers.len();
    for skipped in table.skipped.iter().take(SKIPPED_SHOWN) {
        ui.warn(&format!(
            "{}: line {}: {n_fields} fields expected (as in the header), {} found; row skipped (--skip-bad-rows)",
            table.source, skipped.line, skipped.fields
        ));
    }
    if table.skipped.len() > SKIPPED_SHOWN {
        let rest: Vec<u64> = table.skipped[SKIPPED_SHOWN..]
            .iter()
            .map(|s| s.line)
            .collect();
        ui.warn(&format!(
            "{}: {} more rows with a wrong number of fields skipped (--skip-bad-rows): lines {}",
            table.source,
            rest.len(),
            line_list(&rest)
        ));
    }
}

/// Read a file with data rows, warning about the rows `--skip-bad-rows` left out.
pub fn read_nonempty(path: &str, options: &CsvOptions, ui: &Ui) -> Result<RawTable, Error> {
    let table = csvnn::data::read_nonempty(path, options)?;
    warn_skipped_rows(ui, &table);
    Ok(table)
}

/// Warn about input columns a model ignores.
pub fn warn_unused_columns(ui: &Ui, pipeline: &Pipeline, table: &RawTable) {
    warn_unused(ui, &table.source, &pipeline.unused_columns(table));
}

/// Warn about the input columns `unused` of `source`.
pub fn warn_unused(ui: &Ui, source: &str, unused: &[&str]) {
    if !unused.is_empty() {
        ui.warn(&format!(
            "{source}: ignoring columns the model does not use: {}",
            unused.join(", ")
        ));
    }
}

/// Warn about categories that were not seen in training (encoded as all zeros).
pub fn warn_unknown_categories(ui: &Ui, source: &str, unknown: &[UnknownCategories]) {
    for u in unknown {
        ui.warn(&format!(
            "{source}: column '{}': {} value(s) not seen in training (first '{}' on line {}); encoded {}",
            u.column,
            u.count,
            u.first_value,
            u.first_line,
            u.encoded_as()
        ));
    }
}

/// Warn about numeric cells that were infinite or out of range (encoded as missing).
pub fn warn_non_finite(ui: &Ui, source: &str, non_finite: &[NonFiniteValues]) {
    for n in non_finite {
        ui.warn(&format!(
            "{source}: column '{}': {} infinite or out-of-range value(s) (first '{}' on line {}) treated as missing",
            n.column, n.count, n.first_value, n.first_line
        ));
    }
}

/// The lines listed in a message, shortened after a few.
pub fn line_list(lines: &[u64]) -> String {
    const SHOWN: usize = 10;
    let mut text = lines
        .iter()
        .take(SHOWN)
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if lines.len() > SHOWN {
        text += &format!(" and {} more", lines.len() - SHOWN);
    }
    text
}

pub fn parse_delimiter(value: &str) -> Result<u8, String> {
    match value {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        v if v.len() == 1 && v.is_ascii() => Ok(v.as_bytes()[0]),
        _ => Err("expected one ASCII character or `tab`".to_string()),
    }
}

/// A flag value parsed and checked against the library's range for its setting, so that
/// the flag and `TrainSettings::check` accept the same values.
fn bounded<T: std::str::FromStr + Copy + Into<f64>>(
    value: &str,
    bound: Bound,
) -> Result<T, String> {
    match value.parse::<T>() {
        Ok(v) if bound.holds(v.into()) => Ok(v),
        _ => Err(format!("expected {}", bound.expected())),
    }
}

/// A whole number checked against `bound`.
pub fn bounded_usize(value: &str, bound: Bound) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if bound.holds(n as f64) => Ok(n),
        _ => Err(format!("expected {}", bound.expected())),
    }
}

/// A whole number of at least 0 (`--patience`, `--warmup-epochs`).
pub fn parse_usize(value: &str) -> Result<usize, String> {
    bounded_usize(value, Bound::AtLeast(0))
}

/// A seed: a whole number from 0 to 2^64 - 1.
pub fn parse_seed(value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .map_err(|_| format!("expected a whole number from 0 to {}", u64::MAX))
}

pub fn parse_positive_usize(value: &str) -> Result<usize, String> {
    bounded_usize(value, Bound::AtLeast(1))
}

/// `--max-categories`: at least 2 (one kept category and the "other" input).
pub fn parse_max_categories(value: &str) -> Result<usize, String> {
    bounded_usize(value, Bound::AtLeast(2))
}

pub fn parse_positive_f32(value: &str) -> Result<f32, String> {
    bounded(value, Bound::Positive)
}

pub fn parse_non_negative_f32(value: &str) -> Result<f32, String> {
    bounded(value, Bound::NonNegative)
}

pub fn parse_non_negative_f64(value: &str) -> Result<f64, String> {
    bounded(value, Bound::NonNegative)
}

/// A fraction in [0, 1).
pub fn parse_fraction(value: &str) -> Result<f64, String> {
    bounded(value, Bound::Fraction)
}

/// A fraction in [0, 1), as f32 (momentum, dropout).
pub fn parse_fraction_f32(value: &str) -> Result<f32, String> {
    bounded(value, Bound::Fraction)
}

/// A factor in (0, 1].
pub fn parse_unit_interval(value: &str) -> Result<f64, String> {
    bounded(value, Bound::UnitInterval)
}

/// Hidden layer widths as one flag value (clap would read a bare `Vec` as repeated flags).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HiddenLayers(pub Vec<usize>);

/// `--hidden 64,32` or `--hidden none`.
pub fn parse_hidden(value: &str) -> Result<HiddenLayers, String> {
    parse_widths(value).map(HiddenLayers)
}

fn parse_widths(value: &str) -> Result<Vec<usize>, String> {
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "'{w}' is not a layer width; expected positive whole numbers separated by commas, or `none`"
            )),
        })
        .collect()
}

/// Write text to stdout; a closed pipe surfaces as an I/O error that `main` turns into a
/// quiet exit.
pub fn write_stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("<stdout>", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_checked() {
        assert_eq!(parse_hidden("64,32"), Ok(HiddenLayers(vec![64, 32])));
        assert_eq!(parse_hidden("none"), Ok(HiddenLayers(vec![])));
        assert!(parse_hidden("64,0").is_err());
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert!(parse_delimiter(";;").is_err());
        assert!(parse_fraction("1").is_err());
        assert!(parse_positive_f32("0").is_err());
        assert!(parse_positive_usize("0").is_err());
    }
}

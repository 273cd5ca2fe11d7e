//! `FitWarning`: what `Pipeline::fit` repaired or dropped, for the user to hear about.
//! Its `Display` says it in the library's words; the binary renders the settings it
//! names as flags.

use std::fmt;

use crate::error::Setting;
use crate::number_text::readable;

/// Something `Pipeline::fit` repaired or dropped in a column of the training rows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FitWarning {
    /// A column with no value in the training rows: dropped.
    EmptyColumn {
        /// The file, as shown in messages.
        file: String,
        /// The column's name.
        column: String,
    },
    /// Infinite or out-of-range numbers in a numeric column: treated as missing.
    NonFinite {
        /// The file, as shown in messages.
        file: String,
        /// The column's name.
        column: String,
        /// How many cells.
        count: usize,
    },
    /// Numbers of magnitude above `HUGE_VALUE` (1e15) in a numeric column: used as they
    /// are, but most likely mistakes.
    HugeValues {
        /// The file, as shown in messages.
        file: String,
        /// The column's name.
        column: String,
        /// How many cells.
        count: usize,
        /// The first such cell, as the file has it.
        first_value: String,
        /// Its line.
        first_line: u64,
    },
    /// Values of an ordinal column that are not among its levels: treated as missing.
    UnknownLevels {
        /// The file, as shown in messages.
        file: String,
        /// The column's name.
        column: String,
        /// The levels given, lowest first.
        levels: Vec<String>,
        /// How many cells.
        count: usize,
        /// The first such cell, as the file has it.
        first_value: String,
        /// Its line.
        first_line: u64,
    },
    /// A categorical column of nearly all distinct values, like an identifier.
    Identifier {
        /// The file, as shown in messages.
        file: String,
        /// The column's name.
        column: String,
        /// Distinct values in the training rows.
        distinct: usize,
        /// Rows with a value.
        present: usize,
    },
    /// A string column detected as text (mostly distinct values of several words): a
    /// notice rather than a warning (`is_info`).
    TextColumn {
        /// The file, as shown in messages.
        file: String,
        /// The column's name.
        column: String,
        /// Distinct values in the training rows.
        distinct: usize,
        /// Rows with a value.
        present: usize,
        /// Words per value on average.
        mean_words: f64,
        /// Words in the fitted vocabulary.
        vocab_size: usize,
    },
    /// A categorical column with more values than `FitOptions::max_categories`: the
    /// rarest share one input.
    TooManyCategories {
        /// The file, as shown in messages.
        file: String,
        /// The column's name.
        column: String,
        /// Distinct values in the training rows.
        distinct: usize,
        /// The setting's value.
        max_categories: usize,
        /// The values sharing the one "other" input.
        folded: usize,
        /// The rows holding them.
        folded_rows: u64,
    },
}

impl FitWarning {
    /// True for what is news rather than a problem (a column detected as text).
    pub fn is_info(&self) -> bool {
        matches!(self, FitWarning::TextColumn { .. })
    }
}

impl fmt::Display for FitWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitWarning::EmptyColumn { file, column } => write!(
                f,
                "{file}: column '{column}' has no value in the training rows; it is dropped"
            ),
            FitWarning::NonFinite {
                file,
                column,
                count,
            } => write!(
                f,
                "{file}: column '{column}': {count} infinite or out-of-range values are treated as missing"
            ),
            FitWarning::HugeValues {
                file,
                column,
                count,
                first_value,
                first_line,
            } => {
                let value = first_value
                    .parse::<f64>()
                    .map_or_else(|_| first_value.clone(), readable);
                write!(
                    f,
                    "{file}: line {first_line}: column '{column}': {value} is beyond 1e15 in magnitude, most likely a mistake ({count} such values in the training rows); it is used as it is, and standardising squashes the column's other values together"
                )
            }
            FitWarning::UnknownLevels {
                file,
                column,
                levels,
                count,
                first_value,
                first_line,
            } => write!(
                f,
                "{file}: line {first_line}: column '{column}': '{first_value}' is not one of the levels given ({}); {count} such values in the training rows are treated as missing",
                levels.join(" < ")
            ),
            FitWarning::Identifier {
                file,
                column,
                distinct,
                present,
            } => write!(
                f,
                "{file}: column '{column}' has {distinct} distinct values in {present} rows, like an identifier; it will not help predict new rows (leave it out with the {} setting)",
                Setting::Drop
            ),
            FitWarning::TextColumn {
                file,
                column,
                distinct,
                present,
                mean_words,
                vocab_size,
            } => write!(
                f,
                "{file}: column '{column}' is read as text ({distinct} distinct values in {present} rows, {mean_words:.1} words on average; a vocabulary of {vocab_size} words); add it to the {} setting to one-hot it instead",
                Setting::Categorical
            ),
            FitWarning::TooManyCategories {
                file,
                column,
                distinct,
                max_categories,
                folded,
                folded_rows,
            } => write!(
                f,
                "{file}: column '{column}' has {distinct} distinct values, more than the {} setting {max_categories}; the {folded} rarest ({folded_rows} rows) share one input",
                Setting::MaxCategories
            ),
        }
    }
}

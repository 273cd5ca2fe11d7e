//! The library's one error type: every variant carries what a user needs to find the
//! problem (file, line, column, value) and says what was expected.

use std::fmt;
use std::path::Path;

/// Where in an input file something went wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file as the user named it (`-` is shown as `<stdin>`).
    pub path: String,
    /// 1-based line number in the file, when it is known.
    pub line: Option<u64>,
    /// The column's header name, when it is known.
    pub column: Option<String>,
}

impl Location {
    /// The whole file `path`, with no line or column.
    pub fn file(path: &str) -> Self {
        Location {
            path: path.to_string(),
            line: None,
            column: None,
        }
    }

    /// This location at 1-based `line`.
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// This location in the column named `column`.
    pub fn column(mut self, column: &str) -> Self {
        self.column = Some(column.to_string());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(line) = self.line {
            write!(f, ": line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ": column '{column}'")?;
        }
        Ok(())
    }
}

/// A library setting, named in errors and hints in the library's words; the binary
/// renders each as its command-line flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// `CsvOptions::delimiter`.
    Delimiter,
    /// `CsvOptions::skip_bad_rows`.
    SkipBadRows,
    /// `CsvOptions::columns`.
    Columns,
    /// `FitOptions::na_values`.
    NaValues,
    /// `FitOptions::drop`.
    Drop,
    /// `FitOptions::categorical`.
    Categorical,
    /// `FitOptions::max_categories`.
    MaxCategories,
    /// `FitOptions::ordinal`.
    Ordinal,
    /// `KindOptions::date`.
    Date,
    /// `KindOptions::date_formats`.
    DateFormat,
    /// `KindOptions::text`.
    Text,
    /// `KindOptions::sequence_shape`.
    SequenceShape,
    /// The learning rate of the optimizer.
    LearningRate,
    /// `ExplainConfig::repeats`.
    Repeats,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::Delimiter => "`delimiter`",
            Setting::SkipBadRows => "`skip_bad_rows`",
            Setting::Columns => "`columns`",
            Setting::NaValues => "`na_values`",
            Setting::Drop => "`drop`",
            Setting::Categorical => "`categorical`",
            Setting::MaxCategories => "`max_categories`",
            Setting::Ordinal => "`ordinal`",
            Setting::Date => "`date`",
            Setting::DateFormat => "`date_formats`",
            Setting::Text => "`text`",
            Setting::SequenceShape => "`sequence_shape`",
            Setting::LearningRate => "`learning_rate`",
            Setting::Repeats => "`repeats`",
        })
    }
}

/// What a user can change to get past a data error, carried beside its message. The
/// library's `Display` says it with the library's settings; the binary renders it with
/// its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// The header is one name holding another delimiter character: set the delimiter.
    Delimiter {
        /// The header's one name (control characters escaped).
        header: String,
        /// The delimiter character it holds.
        delimiter: char,
    },
    /// The header is one name and no delimiter was given: another delimiter may fit.
    AnotherDelimiter,
    /// Rows of the wrong width can be skipped with `skip_bad_rows`.
    SkipBadRows,
    /// A row of an input without a header line (a shard) that holds a stray quote or a
    /// line break: the shard was probably cut inside a quoted field.
    CutInsideRecord,
    /// A column of numbers written with thousands separators or a decimal comma: clean
    /// them (reading them as categories would lose that they are numbers).
    CleanNumbers {
        /// The column's name.
        column: String,
    },
    /// A number column with a few other values: mark them missing, or read the column
    /// as categories.
    NaValuesOrCategorical {
        /// The column's name.
        column: String,
    },
    /// A date column with a value that is not an ISO 8601 date: give the column's format,
    /// mark missing values, or read the column as categories.
    DateFormat {
        /// The column's name.
        column: String,
    },
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::Delimiter { header, delimiter } => write!(
                f,
                "the header is one column '{header}'; is the file delimited by {}? set the {} setting to {}",
                delimiter_words(*delimiter),
                Setting::Delimiter,
                delimiter_value(*delimiter)
            ),
            Hint::AnotherDelimiter => write!(
                f,
                "is the file delimited by another character? set the {} setting",
                Setting::Delimiter
            ),
            Hint::SkipBadRows => write!(
                f,
                "set the {} setting to skip such rows",
                Setting::SkipBadRows
            ),
            Hint::CutInsideRecord => f.write_str(
                "was the input cut inside a quoted field? a shard must start and end at a record's end, which is not always a line's end",
            ),
            Hint::CleanNumbers { column } => write!(
                f,
                "clean the numbers of column '{column}' first: no thousands separators, a point for decimals"
            ),
            Hint::NaValuesOrCategorical { column } => write!(
                f,
                "mark missing values with the {} setting, or treat the column as categories by adding '{column}' to the {} setting",
                Setting::NaValues,
                Setting::Categorical
            ),
            Hint::DateFormat { column } => write!(
                f,
                "give the column's format with the {} setting ('{column}=%d/%m/%Y'), mark missing values with the {} setting, or add '{column}' to the {} setting",
                Setting::DateFormat,
                Setting::NaValues,
                Setting::Categorical
            ),
        }
    }
}

/// A delimiter as a message names it: `tabs` or the character quoted.
pub fn delimiter_words(delimiter: char) -> String {
    if delimiter == '\t' {
        "tabs".to_string()
    } else {
        format!("'{delimiter}'")
    }
}

/// A delimiter as a setting's value is written: `tab` or the character quoted.
pub fn delimiter_value(delimiter: char) -> String {
    if delimiter == '\t' {
        "tab".to_string()
    } else {
        format!("'{delimiter}'")
    }
}

/// ` (did you mean 'name'?)`, or nothing.
pub fn did_you_mean(closest: Option<&str>) -> String {
    closest.map_or(String::new(), |c| format!(" (did you mean '{c}'?)"))
}

/// The name of `names` closest to `given` (ignoring case), when it is close enough to be
/// a typo of it: at most one edit per three characters, at least one, and fewer than the
/// name has characters (`z` is no typo of `a`).
pub fn closest_name<'a>(given: &str, names: &'a [String]) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    let length = given.chars().count();
    let allowed = (length / 3).max(1).min(length.saturating_sub(1));
    names
        .iter()
        .map(|name| (edit_distance(&given_lower, &name.to_lowercase()), name))
        .filter(|&(d, _)| d <= allowed)
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name.as_str())
}

/// Levenshtein distance: single-character insertions, deletions and substitutions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// ` (hint)`, or nothing: the end of a message that may carry a hint.
fn hint_suffix(hint: &Option<Hint>) -> String {
    hint.as_ref().map_or(String::new(), |h| format!(" ({h})"))
}

/// The library's one error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened, read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file as the user named it.
        path: String,
        /// What the system said.
        error: std::io::Error,
    },

    /// The data in a file is not what was expected.
    #[error("{location}: {message}{}", hint_suffix(.hint))]
    Data {
        /// Where in the file.
        location: Location,
        /// What is wrong and what was expected (one line).
        message: String,
        /// What the user can change to get past it.
        hint: Option<Hint>,
    },

    /// A file given as a preprocessor that is not one.
    #[error("{path}: not a csvnn preprocessor (expected \"format\": \"csvnn-preprocessor\"; save one with `preprocess::save_preprocessor`)")]
    NotAPreprocessor {
        /// The file as the user named it.
        path: String,
    },

    /// A model or preprocessor file that cannot be used.
    #[error("{path}: {message}")]
    ModelFile {
        /// The file as the user named it.
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// A model (or checkpoint) whose network does not fit together or with its pipeline,
    /// or whose sizes are beyond the limits: a file edited by hand or damaged.
    #[error("{path}: invalid model: {problem}")]
    InvalidModel {
        /// The file as the user named it.
        path: String,
        /// What was found and what was expected (boxed: it is large and rare).
        problem: Box<crate::model_check::ModelProblem>,
    },

    /// A setting that is wrong whatever the data (the binary exits with 2 for these).
    #[error("{0}")]
    Config(String),

    /// Training produced something unusable.
    #[error("{0}")]
    Training(String),

    /// Training settings that cannot work, alone or with the data.
    #[error(transparent)]
    Settings(#[from] crate::train::SettingsError),

    /// A network that cannot be built from its settings (the binary exits with 2).
    #[error(transparent)]
    Network(#[from] crate::nn::NetworkError),

    /// A setting out of its range, whatever the data (the binary exits with 2).
    #[error("the {setting} setting {problem}")]
    BadSetting {
        /// The setting.
        setting: Setting,
        /// What is wrong with its value, e.g. "must be at least 1".
        problem: String,
    },

    /// A setting names a column that the file does not have.
    #[error(
        "{path}: the {setting} setting names the column '{column}', which does not exist{}; the columns are: {}{}",
        did_you_mean(closest_name(column, columns)),
        columns.join(", "),
        hint_suffix(.hint)
    )]
    UnknownColumn {
        /// The file as the user named it.
        path: String,
        /// The setting that names the column.
        setting: Setting,
        /// The name given (control characters escaped).
        column: String,
        /// The columns the file has (control characters escaped).
        columns: Vec<String>,
        /// What the user can change to get past it.
        hint: Option<Hint>,
    },

    /// A column named by two settings that exclude each other (or twice by one).
    #[error("the {setting} setting names the column '{column}', {}", if setting == other { "twice".to_string() } else { format!("which the {other} setting names too; a column can be in only one of them") })]
    ColumnInTwoSettings {
        /// The column (control characters escaped).
        column: String,
        /// The setting met second.
        setting: Setting,
        /// The setting that names it already (`setting` itself when it names it twice).
        other: Setting,
    },

    /// The training loss became infinite or NaN: the learning rate is probably too high.
    #[error(
        "the training loss became {loss} at epoch {epoch}, batch {batch}; try a lower {}",
        Setting::LearningRate
    )]
    Diverged {
        /// The batch loss.
        loss: f64,
        /// The epoch, from 1.
        epoch: usize,
        /// The batch in the epoch, from 1.
        batch: usize,
    },

    /// The training loss stayed finite but diverged (see `train::divergence`): the
    /// learning rate is probably too high.
    #[error("{}; try a lower {}", how.describe(*epoch, *loss, *reference), Setting::LearningRate)]
    LossDiverged {
        /// Which rule saw it.
        how: crate::train::Divergence,
        /// The epoch, from 1.
        epoch: usize,
        /// The epoch's mean training loss.
        loss: f64,
        /// What it was judged against: the starting level, or the first epoch's loss.
        reference: f64,
    },
}

impl Error {
    /// `problem` as the error of the model (or checkpoint) file `path`.
    pub fn invalid_model(path: &Path, problem: crate::model_check::ModelProblem) -> Error {
        Error::InvalidModel {
            path: path.display().to_string(),
            problem: Box::new(problem),
        }
    }

    /// An I/O error on the file `path`.
    pub fn io(path: &str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            error: source,
        }
    }

    /// A data error; control characters from the file (a line break inside a quoted
    /// value, say) are escaped so that the message stays one line.
    pub fn data(mut location: Location, message: impl Into<String>) -> Self {
        location.column = location.column.map(|c| one_line(&c));
        Error::Data {
            location,
            message: one_line(&message.into()),
            hint: None,
        }
    }

    /// This error with `hint` (for a data error or an unknown column; others are kept
    /// as they are).
    pub fn with_hint(mut self, hint: Option<Hint>) -> Self {
        if let Error::Data { hint: h, .. } | Error::UnknownColumn { hint: h, .. } = &mut self {
            *h = hint;
        }
        self
    }

    /// The error for `setting` naming `column`, which is not among `columns` of the file
    /// `path`.
    pub fn unknown_column(path: &str, setting: Setting, column: &str, columns: &[String]) -> Self {
        Error::UnknownColumn {
            path: path.to_string(),
            setting,
            column: one_line(column),
            columns: columns.iter().map(|c| one_line(c)).collect(),
            hint: None,
        }
    }

    /// A setting that is wrong whatever the data.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// True for errors in how the program was called rather than in the data.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Config(_)
            | Error::Network(_)
            | Error::BadSetting { .. }
            | Error::ColumnInTwoSettings { .. } => true,
            Error::Settings(e) => e.is_usage(),
            _ => false,
        }
    }
}

/// `text` with control characters escaped (`\n`, `\t`, `\u{1b}`), for one-line messages.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_name_finds_typos_only() {
        let names: Vec<String> = ["survived", "age", "Fare"].map(String::from).to_vec();
        assert_eq!(closest_name("survivd", &names), Some("survived"));
        assert_eq!(closest_name("fare", &names), Some("Fare"));
        assert_eq!(closest_name("aeg", &names), None);
        assert_eq!(closest_name("ag", &names), Some("age"));
        assert_eq!(closest_name("price", &names), None);
        let letters: Vec<String> = ["a", "b"].map(String::from).to_vec();
        assert_eq!(closest_name("z", &letters), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

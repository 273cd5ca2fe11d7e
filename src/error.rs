//! The library's one error type: every variant carries what a user needs to find the
//! problem (file, line, column, value) and says what was expected.

use std::fmt;

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
    pub fn file(path: &str) -> Self {
        Location {
            path: path.to_string(),
            line: None,
            column: None,
        }
    }

    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

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

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened, read or written.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },

    /// The data in a file is not what was expected.
    #[error("{location}: {message}")]
    Data { location: Location, message: String },

    /// A model or preprocessor file that cannot be used.
    #[error("{path}: {message}")]
    ModelFile { path: String, message: String },

    /// A setting that is wrong whatever the data (the binary exits with 2 for these).
    #[error("{0}")]
    Config(String),

    /// Training produced something unusable (a non-finite loss, say).
    #[error("{0}")]
    Training(String),

    /// Training settings that cannot work, alone or with the data.
    #[error(transparent)]
    Settings(#[from] crate::train::SettingsError),
}

impl Error {
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
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// True for errors in how the program was called rather than in the data.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Config(_) => true,
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

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The command line's words for what the library reports: errors, hints and fit warnings
//! name the flags that set the library's settings (`--delimiter`, `--drop`, ...).

use csvnn::error::{closest_name, delimiter_value, delimiter_words, did_you_mean, Hint, Setting};
use csvnn::preprocess::{ClassificationDoubt, FitWarning, Task};
use csvnn::Error;

/// The flag that sets `setting`.
pub fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::Delimiter => "--delimiter",
        Setting::SkipBadRows => "--skip-bad-rows",
        Setting::Columns => "--columns",
        Setting::NaValues => "--na-values",
        Setting::Drop => "--drop",
        Setting::Categorical => "--categorical",
        Setting::MaxCategories => "--max-categories",
        Setting::Ordinal => "--ordinal",
        Setting::Date => "--date",
        Setting::DateFormat => "--date-format",
        Setting::Text => "--text",
        Setting::SequenceShape => "--sequence-shape",
        Setting::LearningRate => "--lr",
        Setting::Repeats => "--repeats",
        _ => "an option",
    }
}

/// A hint in the command line's words.
pub fn render_hint(hint: &Hint) -> String {
    match hint {
        Hint::Delimiter { header, delimiter } => format!(
            "the header is one column '{header}'; is the file delimited by {}? try --delimiter {}",
            delimiter_words(*delimiter),
            delimiter_value(*delimiter)
        ),
        Hint::AnotherDelimiter => {
            "is the file delimited by another character? try --delimiter".to_string()
        }
        Hint::SkipBadRows => "use --skip-bad-rows to skip such rows".to_string(),
        Hint::NaValuesOrCategorical { column } => format!(
            "mark missing values with --na-values, or treat the column as categories with --categorical {column}"
        ),
        Hint::DateFormat { column } => format!(
            "give its format with --date-format '{column}=%d/%m/%Y', mark missing values with --na-values, or treat the column as categories with --categorical {column}"
        ),
        other => other.to_string(),
    }
}

/// ` (hint)` in the command line's words, or nothing.
fn hint_suffix(hint: &Option<Hint>) -> String {
    hint.as_ref()
        .map_or(String::new(), |h| format!(" ({})", render_hint(h)))
}

/// A library error in the command line's words: as its `Display`, with flags for the
/// settings it names.
pub fn render_error(error: &Error) -> String {
    match error {
        Error::Data {
            location,
            message,
            hint,
        } => format!("{location}: {message}{}", hint_suffix(hint)),
        Error::BadSetting { setting, problem } => format!("{} {problem}", flag(*setting)),
        Error::UnknownColumn {
            path,
            setting,
            column,
            columns,
            hint,
        } => format!(
            "{path}: {} names the column '{column}', which does not exist{}; the columns are: {}{}",
            flag(*setting),
            did_you_mean(closest_name(column, columns)),
            columns.join(", "),
            hint_suffix(hint)
        ),
        Error::ColumnInTwoSettings {
            column,
            setting,
            other,
        } if setting == other => format!("{} names the column '{column}' twice", flag(*setting)),
        Error::ColumnInTwoSettings {
            column,
            setting,
            other,
        } => format!(
            "{} names the column '{column}', which {} names too; give it to only one of them",
            flag(*setting),
            flag(*other)
        ),
        Error::Diverged { loss, epoch, batch } => format!(
            "the training loss became {loss} at epoch {epoch}, batch {batch}; try a lower {}",
            flag(Setting::LearningRate)
        ),
        Error::LossDiverged {
            how,
            epoch,
            loss,
            reference,
        } => format!(
            "{}; try a lower {}",
            how.describe(*epoch, *loss, *reference),
            flag(Setting::LearningRate)
        ),
        Error::Settings(e) => super::messages::render_settings_error(e),
        Error::NotAPreprocessor { path } => format!(
            "{path}: not a csvnn preprocessor (expected \"format\": \"csvnn-preprocessor\"; write one with `csvnn preprocess -o`)"
        ),
        other => other.to_string(),
    }
}

/// The info line of the task chosen; one inferred where the other task fits the target too
/// says how to override it.
pub fn render_task_chosen(task: Task, reason: &str, overridable: bool) -> String {
    let other = match task {
        Task::Classification => Task::Regression,
        Task::Regression => Task::Classification,
    };
    if overridable {
        format!("task: {task} ({reason}); use --task {other} to override")
    } else {
        format!("task: {task} ({reason})")
    }
}

/// The warning that a numeric target taken as classes may be a number to predict.
pub fn render_task_doubt(doubt: &ClassificationDoubt) -> String {
    format!(
        "{}: the numeric target '{}' was taken as class labels: {}; if it is a number to predict, use --task regression",
        doubt.file,
        doubt.target,
        doubt.symptoms()
    )
}

/// A warning of `Pipeline::fit` in the command line's words.
pub fn render_warning(warning: &FitWarning) -> String {
    match warning {
        FitWarning::Identifier {
            file,
            column,
            distinct,
            present,
        } => format!(
            "{file}: column '{column}' has {distinct} distinct values in {present} rows, like an identifier; it will not help predict new rows (leave it out with {} {column})",
            flag(Setting::Drop)
        ),
        FitWarning::TooManyCategories {
            file,
            column,
            distinct,
            max_categories,
            folded,
            folded_rows,
        } => format!(
            "{file}: column '{column}' has {distinct} distinct values, more than {} {max_categories}; the {folded} rarest ({folded_rows} rows) share one input",
            flag(Setting::MaxCategories)
        ),
        FitWarning::TextColumn {
            file,
            column,
            distinct,
            present,
            mean_words,
            vocab_size,
        } => format!(
            "{file}: column '{column}' is read as text ({distinct} distinct values in {present} rows, {mean_words:.1} words on average; a vocabulary of {vocab_size} words); use {} {column} to one-hot it instead, or {} {column}",
            flag(Setting::Categorical),
            flag(Setting::Drop)
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csvnn::Location;

    #[test]
    fn hints_name_flags() {
        let error = Error::data(Location::file("t.csv").line(5), "2 fields expected")
            .with_hint(Some(Hint::SkipBadRows));
        assert_eq!(
            render_error(&error),
            "t.csv: line 5: 2 fields expected (use --skip-bad-rows to skip such rows)"
        );
        assert!(!error.to_string().contains("--"), "{error}");
        let hint = Hint::Delimiter {
            header: "a\tb".into(),
            delimiter: '\t',
        };
        assert_eq!(
            render_hint(&hint),
            "the header is one column 'a\tb'; is the file delimited by tabs? try --delimiter tab"
        );
        let error = Error::unknown_column("t.csv", Setting::Drop, "z", &["a".into(), "b".into()]);
        assert_eq!(
            render_error(&error),
            "t.csv: --drop names the column 'z', which does not exist; the columns are: a, b"
        );
    }
}

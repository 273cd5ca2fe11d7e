//! `TaskChoice`: the task as a user sets it (or leaves to the data), and the choice made
//! from the target's values.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::target::{infer_task, Task};
use crate::data::RawTable;
use crate::error::{Error, Location, Result};

/// The task to train for: given, or inferred from the target's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskChoice {
    /// Classification for a non-numeric target or integers that look like class labels
    /// (see `infer_task`), else regression.
    #[default]
    Auto,
    /// Classification whatever the values.
    Classification,
    /// Regression whatever the values (they must be numbers).
    Regression,
}

impl TaskChoice {
    /// The task given, if it is not left to the data.
    pub fn given(self) -> Option<Task> {
        match self {
            TaskChoice::Auto => None,
            TaskChoice::Classification => Some(Task::Classification),
            TaskChoice::Regression => Some(Task::Regression),
        }
    }
}

/// The reason recorded in the model (`training.task_reason`) when the task was given.
/// Its wording predates the library and stays, so that model files keep their bytes.
pub const GIVEN_REASON: &str = "given by --task";

/// The task for the target column `target` of `table` over `rows` (those with a target
/// value): given, or inferred from the values; with the reason.
pub fn choose_task(
    choice: TaskChoice,
    table: &RawTable,
    target: usize,
    rows: &[usize],
) -> Result<(Task, String)> {
    let column = &table.columns[target];
    if rows.is_empty() {
        return Err(Error::data(
            Location::file(&table.source).column(&table.headers[target]),
            "the target has no values; expected at least one row with a target",
        ));
    }
    match choice.given() {
        Some(task) => Ok((task, GIVEN_REASON.to_string())),
        None => Ok(infer_task(rows.iter().map(|&r| column.text_at(r)))),
    }
}

/// A numeric target taken as classes although the classes look degenerate: a class with
/// one row, or more classes than a fifth of the rows. It may be a number to predict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationDoubt {
    /// The file, as shown in messages.
    pub file: String,
    /// The target column's name.
    pub target: String,
    /// Distinct target values (classes).
    pub classes: usize,
    /// Rows with a target.
    pub rows: usize,
    /// Classes that hold a single row.
    pub single_row_classes: usize,
}

/// True when the target column `target` of `table` holds a number in each of `rows`.
pub fn target_is_numeric(table: &RawTable, target: usize, rows: &[usize]) -> bool {
    let column = &table.columns[target];
    rows.iter().all(|&row| {
        column.stored_number(row).is_some() || column.text_at(row).parse::<f64>().is_ok()
    })
}

/// Doubt about classifying the target column `target` of `table` over `rows`: only for
/// targets whose values are all numbers, when a class has one row or the classes are
/// more than a fifth of the rows.
pub fn classification_doubt(
    table: &RawTable,
    target: usize,
    rows: &[usize],
) -> Option<ClassificationDoubt> {
    if !target_is_numeric(table, target, rows) {
        return None;
    }
    let column = &table.columns[target];
    // Classes by their text, as the target encoder makes them.
    let mut counts: HashMap<_, usize> = HashMap::new();
    for &row in rows {
        *counts.entry(column.text_at(row)).or_default() += 1;
    }
    let classes = counts.len();
    let single_row_classes = counts.values().filter(|&&n| n == 1).count();
    let doubtful = single_row_classes > 0 || classes * 5 > rows.len();
    doubtful.then(|| ClassificationDoubt {
        file: table.source.clone(),
        target: table.headers[target].clone(),
        classes,
        rows: rows.len(),
        single_row_classes,
    })
}

impl ClassificationDoubt {
    /// What looks wrong: `13 classes in 15 rows, 12 of them with one row`.
    pub fn symptoms(&self) -> String {
        let mut text = format!("{} classes in {} rows", self.classes, self.rows);
        if self.single_row_classes > 0 {
            text += &format!(", {} of them with one row", self.single_row_classes);
        }
        text
    }
}

impl fmt::Display for ClassificationDoubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the numeric target '{}' was taken as class labels: {}; if it is a number to predict, set the task to regression",
            self.file,
            self.target,
            self.symptoms()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table_from, CsvOptions};

    fn doubt_of(targets: &[&str]) -> Option<ClassificationDoubt> {
        let text = format!("y\n{}\n", targets.join("\n"));
        let table =
            read_table_from(std::io::Cursor::new(text), "t.csv", &CsvOptions::default()).unwrap();
        let rows: Vec<usize> = (0..table.n_rows()).collect();
        classification_doubt(&table, 0, &rows)
    }

    #[test]
    fn doubt_for_single_row_classes_or_many_classes() {
        let doubt = doubt_of(&["1", "1", "2", "2", "3", "3", "3", "4", "4", "4", "5"]).unwrap();
        assert_eq!(
            (doubt.classes, doubt.rows, doubt.single_row_classes),
            (5, 11, 1)
        );
        assert_eq!(
            doubt.symptoms(),
            "5 classes in 11 rows, 1 of them with one row"
        );
        let many = ["1", "1", "2", "2", "3", "3"];
        assert_eq!(doubt_of(&many).unwrap().symptoms(), "3 classes in 6 rows");
        let fine = ["0", "1", "0", "1", "0", "1", "0", "1", "0", "1"];
        assert_eq!(doubt_of(&fine), None);
        // Labels that are words are classes whatever their counts.
        assert_eq!(doubt_of(&["a", "b", "c"]), None);
    }
}

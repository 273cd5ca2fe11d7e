//! `TaskChoice`: the task as a user sets it (or leaves to the data), and the choice made
//! from the target's values.

use serde::{Deserialize, Serialize};

use super::target::{infer_task, Task};
use crate::data::RawTable;
use crate::error::{Error, Location, Result};

/// The task to train for: given, or inferred from the target's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskChoice {
    /// Classification for a non-numeric target or one of at most 20 distinct integers,
    /// else regression.
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

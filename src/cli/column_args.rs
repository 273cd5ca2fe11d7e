//! The flags that say what the columns are and what the task is (`ColumnArgs`), shared by
//! `preprocess`, `train`, `cv` and `tune`.

use clap::{Args, ValueEnum};

use super::common::parse_max_categories;
use super::kind_args::KindArgs;
use csvnn::preprocess::{OrdinalLevels, TaskChoice, DEFAULT_MAX_CATEGORIES};
use csvnn::train::TrainSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    Auto,
    Classification,
    Regression,
}

impl From<TaskArg> for TaskChoice {
    fn from(task: TaskArg) -> Self {
        match task {
            TaskArg::Auto => TaskChoice::Auto,
            TaskArg::Classification => TaskChoice::Classification,
            TaskArg::Regression => TaskChoice::Regression,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ColumnArgs {
    /// Identifier columns to leave out (naming a column that does not exist is an error).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub drop: Vec<String>,

    /// Columns to treat as categorical even when their values are numbers.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub categorical: Vec<String>,

    /// An ordered categorical column and its levels, lowest first, encoded as one number;
    /// repeat for more columns (quote levels with spaces).
    #[arg(long, value_name = "COL=LOW<...<HIGH")]
    pub ordinal: Vec<OrdinalLevels>,

    #[command(flatten)]
    pub kinds: KindArgs,

    /// Most one-hot inputs per categorical column; the rarest values beyond it share one
    /// "other" input.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CATEGORIES, allow_negative_numbers = true, value_parser = parse_max_categories)]
    pub max_categories: usize,

    /// The task; auto: classification for a non-numeric target or for integers that look
    /// like class labels (at most 20 distinct values, at most half the rows, no wide gaps),
    /// else regression.
    #[arg(long, value_enum, default_value_t = TaskArg::Auto)]
    pub task: TaskArg,
}

impl ColumnArgs {
    /// `settings` with these columns and this task.
    pub fn apply(&self, settings: TrainSettings) -> TrainSettings {
        TrainSettings {
            drop: self.drop.clone(),
            categorical: self.categorical.clone(),
            ordinal: self.ordinal.clone(),
            kinds: self.kinds.to_options(),
            max_categories: self.max_categories,
            task: self.task.into(),
            ..settings
        }
    }
}

//! `Source`: the training table read, its rows with a target, and the task chosen for it;
//! the first stage of a fit (`prepare` and `train_model` follow).

use std::collections::HashMap;

use super::choices::LossChoice;
use super::notice::Notice;
use super::settings::TrainSettings;
use super::settings_error::SettingsError;
use super::trainer::Observer;
use crate::data::{NaValues, RawTable};
use crate::error::Result;
use crate::preprocess::{
    choose_task, classification_doubt, load_preprocessor, rows_with_target, target_index,
    target_is_numeric, Pipeline, Task, TaskChoice,
};

/// The training file read, its rows with a target, and the task.
#[derive(Debug)]
pub struct Source {
    /// The training table.
    pub table: RawTable,
    /// The pipeline to use as it is, when the settings name a preprocessor file.
    pub preprocessor: Option<Pipeline>,
    /// Index of the target column.
    pub target: usize,
    /// Rows whose target is present.
    pub rows: Vec<usize>,
    /// The task.
    pub task: Task,
    /// Why the task was chosen (recorded in the model).
    pub task_reason: String,
}

impl Source {
    /// Read `settings.data` and choose the task.
    pub fn load(settings: &TrainSettings, observer: &mut dyn Observer) -> Result<Source> {
        settings.check()?;
        let table = settings.data.read()?;
        observer.notice(Notice::Read { table: &table });
        Source::from_table(table, settings, observer)
    }

    /// Choose the task for a table already read (`settings.data` only says how to read
    /// missing values).
    pub fn from_table(
        table: RawTable,
        settings: &TrainSettings,
        observer: &mut dyn Observer,
    ) -> Result<Source> {
        settings.check()?;
        let preprocessor = settings
            .preprocessor
            .as_deref()
            .map(load_preprocessor)
            .transpose()?;
        if let Some(p) = &preprocessor {
            if p.target != settings.target {
                return Err(SettingsError::TargetDiffersFromPreprocessor {
                    given: settings.target.clone(),
                    fitted: p.target.clone(),
                }
                .into());
            }
        }
        let na = preprocessor
            .as_ref()
            .map_or_else(|| settings.data.na_values(), |p| p.na_values.clone());
        let target = target_index(&table, &settings.target)?;
        let rows = rows_with_target_noticed(&table, target, &na, true, observer);
        let (task, task_reason) = match &preprocessor {
            Some(p) => {
                if let Some(given) = settings.task.given().filter(|&t| t != p.task()) {
                    return Err(SettingsError::TaskContradictsPreprocessor {
                        given,
                        fitted: p.task(),
                    }
                    .into());
                }
                (p.task(), "taken from the preprocessor".to_string())
            }
            None => choose_task(settings.task, &table, target, &rows)?,
        };
        let inferred = preprocessor.is_none() && settings.task == TaskChoice::Auto;
        let overridable =
            inferred && (task == Task::Regression || target_is_numeric(&table, target, &rows));
        observer.notice(Notice::TaskChosen {
            task,
            reason: &task_reason,
            overridable,
        });
        if overridable && task == Task::Classification {
            if let Some(doubt) = classification_doubt(&table, target, &rows) {
                observer.notice(Notice::TaskDoubt(&doubt));
            }
        }
        check_loss_fits(settings.loss, task)?;
        if task == Task::Regression && settings.class_weight.is_some() {
            return Err(SettingsError::ClassWeightsNeedClassification.into());
        }
        Ok(Source {
            table,
            preprocessor,
            target,
            rows,
            task,
            task_reason,
        })
    }

    /// Class index of each of `rows`' target label (in order of first appearance), for
    /// stratifying.
    pub fn label_groups(&self, rows: &[usize]) -> Vec<usize> {
        let column = &self.table.columns[self.target];
        let mut ids = HashMap::new();
        rows.iter()
            .map(|&r| {
                let next = ids.len();
                *ids.entry(column.text_at(r)).or_insert(next)
            })
            .collect()
    }
}

fn check_loss_fits(loss: LossChoice, task: Task) -> Result<(), SettingsError> {
    match (task, loss) {
        (Task::Classification, LossChoice::Auto | LossChoice::CrossEntropy)
        | (Task::Regression, LossChoice::Auto | LossChoice::Mse) => Ok(()),
        _ => Err(SettingsError::LossDoesNotFitTask { loss, task }),
    }
}

/// The rows of `table` whose target column `target` holds a value; the others are told
/// to `observer` (left out of training when `training`, else of scoring).
pub(crate) fn rows_with_target_noticed(
    table: &RawTable,
    target: usize,
    na: &NaValues,
    training: bool,
    observer: &mut dyn Observer,
) -> Vec<usize> {
    let (rows, missing) = rows_with_target(table, target, na);
    if !missing.is_empty() {
        observer.notice(Notice::MissingTargets {
            source: &table.source,
            lines: &missing,
            training,
        });
    }
    rows
}

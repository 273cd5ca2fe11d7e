//! The library's notices as `csvnn:` lines on stderr, and the observers of the commands
//! that train: `UiNotices` renders notices only; `RunObserver` adds per-epoch progress, the
//! `--log` file and the checkpoints.

use std::path::Path;
use std::time::Instant;

use super::common::{
    line_list, warn_non_finite, warn_skipped_rows, warn_unknown_categories, warn_unused, Ui,
};
use super::progress::{Level, Progress};
use super::render::{render_task_chosen, render_task_doubt, render_warning};
use csvnn::nn::{GemmChoice, GemmKernel, GEMM_ENV};
use csvnn::number_text::{agree, rows};
use csvnn::preprocess::{Pipeline, Task};
use csvnn::train::{
    metric_name, write_checkpoint, write_epoch_log, EpochRecord, Notice, Observer, StreamSettings,
    TrainSettings, TrainState, SMALL_TABLE_ROWS,
};
use csvnn::Error;

/// The warning for a `CSVNN_GEMM` value the library could not follow, if any.
pub fn gemm_env_ignored(choice: &GemmChoice) -> Option<String> {
    let value = choice.ignored.as_deref()?;
    let using = choice.kernel.name();
    Some(match GemmKernel::from_name(value) {
        Some(kernel) => format!(
            "{GEMM_ENV}={value}: this CPU cannot run the {} kernel; using {using}",
            kernel.name()
        ),
        None => format!(
            "{GEMM_ENV}={value} is not a kernel (avx512, avx2, portable or auto); using {using}"
        ),
    })
}

/// Show `notice` as warnings or info lines.
pub fn render_notice(ui: &Ui, notice: Notice<'_>) {
    match notice {
        Notice::Read { table } => warn_skipped_rows(ui, table),
        Notice::MissingTargets {
            source,
            lines,
            training,
        } => ui.warn(&format!(
            "{source}: {} {} no target value and {} {} (lines {})",
            rows(lines.len()),
            agree(lines.len(), "has", "have"),
            agree(lines.len(), "is", "are"),
            if training { "left out" } else { "not scored" },
            line_list(lines)
        )),
        Notice::SmallTableWhole { rows: n } => ui.info(&format!(
            "{}: fewer than {SMALL_TABLE_ROWS}, so all of them train and none is held out for validation (a 10% split is too small to choose an epoch by); --validation-split 0.1 holds rows out anyway",
            rows(n)
        )),
        Notice::TaskChosen {
            task,
            reason,
            overridable,
        } => ui.info(&render_task_chosen(task, reason, overridable)),
        Notice::TaskDoubt(doubt) => ui.warn(&render_task_doubt(doubt)),
        Notice::PipelineWarning(warning) if warning.is_info() => ui.info(&render_warning(warning)),
        Notice::PipelineWarning(warning) => ui.warn(&render_warning(warning)),
        Notice::UnusedColumns { source, columns } => warn_unused(ui, source, columns),
        Notice::UnknownCategories { source, unknown } => {
            warn_unknown_categories(ui, source, unknown)
        }
        Notice::NonFinite { source, values } => warn_non_finite(ui, source, values),
        Notice::TrainingStarted {
            shape,
            n_params,
            rows_train,
            rows_validation,
        } => ui.info(&format!(
            "training a {shape} network ({n_params} parameters) on {}{}",
            rows(rows_train),
            rows_validation.map_or(String::new(), |n| format!(", validating on {}", rows(n)))
        )),
        Notice::BestEpochKept {
            monitor,
            epochs_run,
            best_epoch,
            stopped_early,
        } => ui.info(&format!(
            "{} after {epochs_run} epochs; kept the weights of epoch {best_epoch} ({} validation {})",
            if stopped_early {
                "stopped early"
            } else {
                "finished"
            },
            if monitor.higher_is_better() { "highest" } else { "lowest" },
            monitor.name()
        )),
        Notice::Validation {
            loss,
            metric,
            value,
        } => ui.info(&validation_line(loss, metric, value)),
        Notice::FoldDone {
            fold,
            folds,
            test_rows,
            headline,
        } => ui.info(&format!(
            "fold {}/{folds}: {test_rows} test rows, {}",
            fold + 1,
            headline.map_or(String::new(), |(k, v)| format!("{k} {v:.4}"))
        )),
        _ => {}
    }
}

/// What the regression summary's numbers are: the loss is on the standardised target,
/// the RMSE in the target's own units.
const REGRESSION_UNITS: &str =
    "regression: losses are the MSE of the standardised target; rmse is in the target's units";

/// The final validation line; a regression's loss and RMSE are in different units, so
/// each says which.
fn validation_line(loss: f64, metric: &str, value: f64) -> String {
    if metric == metric_name(Task::Regression) {
        format!(
            "validation: loss {loss:.6} (MSE of the standardised target), \
             rmse {value:.6} (target units)"
        )
    } else {
        format!("validation: loss {loss:.6}, {metric} {value:.6}")
    }
}

/// Renders notices and nothing else.
pub struct UiNotices<'a>(pub &'a Ui);

impl Observer for UiNotices<'_> {
    fn notice(&mut self, notice: Notice<'_>) {
        render_notice(self.0, notice);
    }
}

/// Where a training run writes besides the model.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFiles<'a> {
    /// `--log`: the epoch log.
    pub log: Option<&'a Path>,
    /// `--checkpoint-dir` (or `--resume`): the checkpoint's directory.
    pub checkpoint_dir: Option<&'a Path>,
}

/// Observes the training loop for the command line: notices, progress, per-epoch seconds,
/// the --log file and the checkpoints.
pub struct RunObserver<'a> {
    pub progress: Progress,
    level: Level,
    ui: &'a Ui,
    settings: &'a TrainSettings,
    pipeline: &'a Pipeline,
    files: RunFiles<'a>,
    seconds: Vec<f64>,
    epoch_start: Instant,
    /// How a streamed run reads its rows, recorded in its checkpoints.
    pub streaming: Option<StreamSettings>,
}

impl<'a> RunObserver<'a> {
    /// `seconds`: the epochs' times so far (a resumed run's); `level`: how much to show.
    pub fn new(
        ui: &'a Ui,
        level: Level,
        settings: &'a TrainSettings,
        pipeline: &'a Pipeline,
        files: RunFiles<'a>,
        seconds: Vec<f64>,
    ) -> Self {
        RunObserver {
            progress: Progress::new(level, metric_name(pipeline.task()))
                .with_monitor(settings.monitor.name()),
            level,
            ui,
            settings,
            pipeline,
            files,
            seconds,
            epoch_start: Instant::now(),
            streaming: None,
        }
    }
}

impl Observer for RunObserver<'_> {
    fn notice(&mut self, notice: Notice<'_>) {
        let legend = matches!(notice, Notice::TrainingStarted { .. })
            && self.pipeline.task() == Task::Regression
            && matches!(self.level, Level::Normal | Level::Verbose);
        let ui = self.ui;
        self.progress.suspend(|| render_notice(ui, notice));
        if legend {
            ui.info(REGRESSION_UNITS);
        }
    }

    fn epoch_started(&mut self, epoch: usize, n_epochs: usize, n_batches: usize) {
        self.epoch_start = Instant::now();
        self.progress.epoch_started(epoch, n_epochs, n_batches);
    }

    fn batch_done(&mut self, batch: usize, n_batches: usize, running_loss: f64) {
        self.progress.batch_done(batch, n_batches, running_loss);
    }

    fn epoch_done(
        &mut self,
        record: &EpochRecord,
        n_epochs: usize,
        state: &TrainState,
    ) -> Result<(), Error> {
        let seconds = self.epoch_start.elapsed().as_secs_f64();
        self.seconds.push(seconds);
        let last = state.stopped_early || record.epoch == n_epochs;
        self.progress.epoch_done(record, n_epochs, seconds, last);
        if let Some(path) = self.files.log {
            write_epoch_log(path, &state.history, &self.seconds)?;
        }
        if let Some(dir) = self.files.checkpoint_dir {
            write_checkpoint(
                dir,
                self.settings,
                self.pipeline,
                &self.seconds,
                self.streaming.as_ref(),
                state,
            )?;
        }
        Ok(())
    }
}

//! `csvnn train`: check where it writes, take the settings from the flags (or from the
//! checkpoint with `--resume`), fit the pipeline on the training rows, train the network,
//! save the model.

use std::path::{Path, PathBuf};

use clap::Args;

use super::common::{GivenFlags, ReadingArgs, Ui};
use super::distill_args::DistillArgs;
use super::notices::{RunFiles, RunObserver, UiNotices};
use super::progress::Level;
pub use super::settings_args::SettingsArgs;
use csvnn::atomic::{check_writable_dir, check_writable_file};
use csvnn::data::CsvSource;
use csvnn::train::{
    checkpoint_path, prepare, read_checkpoint, train_model, Checkpoint, SettingsError, Source,
    TrainSettings,
};
use csvnn::Error;

/// `csvnn train`: the data, the settings, and where the model, checkpoints and log go.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Which flags were given (first: the fields below take their values out).
    #[command(flatten)]
    pub given: GivenFlags,

    /// The CSV file (gzip is recognised by its content), or `-` for stdin; with --resume,
    /// the checkpointed run's.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub data: Option<String>,

    #[command(flatten)]
    pub reading: ReadingArgs,

    /// The target column; with --resume, the checkpointed run's.
    #[arg(long, value_name = "COL", required_unless_present = "resume")]
    pub target: Option<String>,

    #[command(flatten)]
    pub settings: SettingsArgs,

    #[command(flatten)]
    pub distill: DistillArgs,

    /// Where to save the model (written atomically).
    #[arg(short = 'o', long = "output", value_name = "MODEL")]
    pub output: PathBuf,

    /// Write a checkpoint here after every epoch (atomically), to continue with --resume.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,

    /// Continue the run checkpointed in DIR with its flags (those given must match, but
    /// for -o, --log, --checkpoint-dir and --epochs); start it there if DIR has no
    /// checkpoint yet.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,

    /// Write one CSV row per epoch here: epoch, train_loss, val_loss, val_metric, lr, seconds.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    #[command(flatten)]
    pub stream: super::train_stream::StreamArgs,
}

/// The settings' fields that may differ from the checkpoint's when resuming.
const MAY_DIFFER_ON_RESUME: &[&str] = &["epochs"];

impl TrainArgs {
    /// The settings of a new run: every flag as given or defaulted.
    fn new_settings(&self, no_checkpoint_in: Option<&Path>) -> Result<TrainSettings, Error> {
        match (&self.data, &self.target) {
            (Some(data), Some(target)) => Ok(TrainSettings {
                distill: self.distill.to_settings(),
                ..self
                    .settings
                    .to_settings(self.reading.to_source(data), target.clone())
            }),
            _ => Err(Error::config(format!(
                "{}: no checkpoint yet, so this starts a new run, which needs --data and --target",
                no_checkpoint_in.map_or(String::new(), |dir| checkpoint_path(dir)
                    .display()
                    .to_string())
            ))),
        }
    }

    /// The settings of the run checkpointed with `then`: the checkpoint's, with --epochs
    /// if given; any other flag given must agree with the checkpoint.
    fn resumed_settings(&self, then: &TrainSettings) -> Result<TrainSettings, SettingsError> {
        let given = |id: &str| self.given.has(id);
        let data = CsvSource {
            path: self.data.clone().unwrap_or_else(|| then.data.path.clone()),
            delimiter: if given("delimiter") {
                self.reading.delimiter
            } else {
                then.data.delimiter
            },
            na_values: if given("na_values") {
                self.reading.na_values.clone()
            } else {
                then.data.na_values.clone()
            },
            skip_bad_rows: self.reading.skip_bad_rows || then.data.skip_bad_rows,
        };
        let target = self.target.clone().unwrap_or_else(|| then.target.clone());
        let now = self.settings.to_settings(data, target);
        let differences: Vec<_> = now
            .differences(then)
            .into_iter()
            .filter(|d| {
                !MAY_DIFFER_ON_RESUME.contains(&d.setting.as_str())
                    && (d.setting == "data" || given(&d.setting))
            })
            .collect();
        if !differences.is_empty() {
            return Err(SettingsError::ResumeSettingsDiffer { differences });
        }
        Ok(TrainSettings {
            data: now.data,
            target: now.target,
            epochs: if given("epochs") {
                now.epochs
            } else {
                then.epochs
            },
            ..then.clone()
        })
    }

    /// Check that the model, the log and the checkpoints can be written, before any work.
    fn check_outputs(&self) -> Result<(), Error> {
        check_writable_file(&self.output)?;
        if let Some(log) = &self.log {
            check_writable_file(log)?;
        }
        for dir in [&self.checkpoint_dir, &self.resume].into_iter().flatten() {
            check_writable_dir(dir)?;
        }
        Ok(())
    }
}

/// The checkpoint in `dir`, or `None` when it has none yet.
fn checkpoint_if_any(dir: &Path) -> Result<Option<Checkpoint>, Error> {
    if checkpoint_path(dir).exists() {
        read_checkpoint(dir).map(Some)
    } else {
        Ok(None)
    }
}

pub fn run(args: TrainArgs, ui: &Ui, level: Level) -> anyhow::Result<()> {
    args.check_outputs()?;
    let checkpoint = match args.resume.as_deref() {
        Some(dir) => checkpoint_if_any(dir)?,
        None => None,
    };
    let settings = match &checkpoint {
        Some(c) => {
            let settings = args.resumed_settings(&c.settings).map_err(Error::from)?;
            if settings.epochs < c.epochs_done {
                return Err(Error::from(SettingsError::EpochsBelowCheckpoint {
                    epochs: settings.epochs,
                    epochs_done: c.epochs_done,
                })
                .into());
            }
            settings
        }
        None => args.new_settings(args.resume.as_deref())?,
    };
    if let (Some(dir), None) = (&args.resume, &checkpoint) {
        ui.info(&format!(
            "no checkpoint in {} yet; starting the run",
            dir.display()
        ));
    }
    let streaming = super::train_stream::stream_settings(&args.stream, checkpoint.as_ref())
        .map_err(Error::from)?;
    if let Some(stream) = streaming {
        return super::train_stream::run(&args, settings, stream, checkpoint, ui, level);
    }
    super::train_stream::suggest_streaming(ui, &settings.data.path);
    let mut notices = UiNotices(ui);
    let source = Source::load(&settings, &mut notices)?;
    let prepared = prepare(&settings, &source, &source.rows, &mut notices)?;
    if prepared.validation.is_none() && !settings.monitor.is_loss() {
        ui.warn(&format!(
            "--monitor {} has no effect without validation rows (--validation-split 0 and no --validation); every epoch runs and the last one's weights are kept",
            settings.monitor.name()
        ));
    }
    let (state, seconds) = match checkpoint {
        Some(c) => {
            let epochs_done = c.epochs_done;
            let resumed = c.resume(&prepared.pipeline, &source.table.source)?;
            ui.info(&format!("resuming after epoch {epochs_done}"));
            (Some(resumed.0), resumed.1)
        }
        None => (None, Vec::new()),
    };
    let files = RunFiles {
        log: args.log.as_deref(),
        checkpoint_dir: args.checkpoint_dir.as_deref().or(args.resume.as_deref()),
    };
    let mut observer = RunObserver::new(ui, level, &settings, &prepared.pipeline, files, seconds);
    let model = train_model(&settings, &source, &prepared, state, &mut observer);
    observer.progress.finish();
    let model = model?;
    model.save(&args.output)?;
    ui.info(&format!("saved the model to {}", args.output.display()));
    Ok(())
}

//! `csvnn train --streaming`: the flags, the run (a first pass fits the preprocessing,
//! then each epoch reads the file again), and the info line that suggests the flag when a
//! file looks too big to read whole.

use clap::Args;

use super::common::{parse_positive_usize, Ui};
use super::notices::{RunFiles, RunObserver, UiNotices};
use super::progress::Level;
use super::train::TrainArgs;
use csvnn::data::memory_shortfall;
use csvnn::train::{
    fit_stream, plan_stream, Checkpoint, SettingDifference, SettingsError, StreamSettings,
    TrainSettings,
};

/// The streaming flags of `csvnn train`.
#[derive(Debug, Clone, Args)]
pub struct StreamArgs {
    /// Read the data in chunks, once per epoch, in bounded memory, for files too large to
    /// hold (not stdin); see docs/streaming.md.
    #[arg(long)]
    pub streaming: bool,

    /// Rows of the seeded shuffle buffer of --streaming (default 65536).
    #[arg(long, value_name = "N", requires = "streaming", value_parser = parse_positive_usize)]
    pub shuffle_buffer: Option<usize>,
}

/// Say, as an info line, when `path` looks too big to read whole.
pub fn suggest_streaming(ui: &Ui, path: &str) {
    if let Some(short) = memory_shortfall(path) {
        ui.info(&format!(
            "{path} looks too big to read whole (about {:.1} GB needed, {:.1} GB available); --streaming reads it in chunks with bounded memory",
            short.needed as f64 / 1e9,
            short.available as f64 / 1e9
        ));
    }
}

/// How the run reads its rows: `None` to read the table whole. A resumed run reads them
/// as its checkpoint records (`--streaming` may be left out); a flag that disagrees with
/// the checkpoint is refused.
pub fn stream_settings(
    args: &StreamArgs,
    checkpoint: Option<&Checkpoint>,
) -> Result<Option<StreamSettings>, SettingsError> {
    let differs = |setting: &str, now: String, then: String| {
        Err(SettingsError::ResumeSettingsDiffer {
            differences: vec![SettingDifference {
                setting: setting.to_string(),
                now,
                then,
            }],
        })
    };
    match checkpoint {
        None => Ok(args.streaming.then(|| StreamSettings {
            shuffle_buffer: args
                .shuffle_buffer
                .unwrap_or(StreamSettings::default().shuffle_buffer),
            ..StreamSettings::default()
        })),
        Some(Checkpoint {
            streaming: Some(then),
            ..
        }) => match args.shuffle_buffer {
            Some(now) if now != then.shuffle_buffer => differs(
                "shuffle_buffer",
                now.to_string(),
                then.shuffle_buffer.to_string(),
            ),
            _ => Ok(Some(*then)),
        },
        Some(_) if args.streaming => differs("streaming", "true".into(), "false".into()),
        Some(_) => Ok(None),
    }
}

/// Train with `--streaming` (reading as `stream` says), from `checkpoint` when resuming.
pub fn run(
    args: &TrainArgs,
    settings: TrainSettings,
    stream: StreamSettings,
    checkpoint: Option<Checkpoint>,
    ui: &Ui,
    level: Level,
) -> anyhow::Result<()> {
    let plan = plan_stream(&settings, &stream, &mut UiNotices(ui))?;
    ui.info(&format!(
        "first pass: {} training rows, {} validation rows held out",
        plan.rows_train, plan.rows_validation
    ));
    let (state, seconds) = match checkpoint {
        Some(c) => {
            let epochs_done = c.epochs_done;
            let resumed = c.resume(&plan.pipeline, &plan.path)?;
            ui.info(&format!("resuming after epoch {epochs_done}"));
            (Some(resumed.0), resumed.1)
        }
        None => (None, Vec::new()),
    };
    let files = RunFiles {
        log: args.log.as_deref(),
        checkpoint_dir: args.checkpoint_dir.as_deref().or(args.resume.as_deref()),
    };
    let mut observer = RunObserver::new(ui, level, &settings, &plan.pipeline, files, seconds);
    observer.streaming = Some(stream);
    let model = fit_stream(&settings, &plan, state, &mut observer);
    observer.progress.finish();
    let model = model?;
    model.save(&args.output)?;
    ui.info(&format!("saved the model to {}", args.output.display()));
    Ok(())
}

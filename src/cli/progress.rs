//! Training progress on stderr, by output level: an indicatif bar fitted to the terminal's
//! width (epoch i/N, ETA, running loss, last validation metric, batch) when stderr is a
//! terminal; otherwise a plain line every few epochs, or every epoch with `--verbose`;
//! nothing with `--no-progress` or `--quiet`. The bar is cleared when training ends, so
//! the summary lines that follow stay intact.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use csvnn::train::EpochRecord;

/// How much a command shows on stderr besides its warnings and errors (`-q`,
/// `--no-progress`, the default, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Warnings and errors only.
    Quiet,
    /// Info lines and the summary, no progress.
    Summary,
    /// A bar on a terminal, a line every few epochs otherwise.
    Normal,
    /// A line for every epoch.
    Verbose,
}

impl Level {
    /// The level the global flags ask for; `--quiet` wins over `--no-progress`.
    pub fn from_flags(quiet: bool, no_progress: bool, verbose: bool) -> Self {
        match (quiet, no_progress, verbose) {
            (true, _, _) => Level::Quiet,
            (_, true, _) => Level::Summary,
            (_, _, true) => Level::Verbose,
            _ => Level::Normal,
        }
    }
}

/// At the default level, about this many epoch lines per run when stderr is not a terminal.
const LINES_PER_RUN: usize = 10;

/// ...and at least one line this often, so a slow run still shows it is alive.
const LINE_AT_LEAST_EVERY: Duration = Duration::from_secs(10);

/// The width the bar is laid out for when the terminal does not say its own.
const FALLBACK_WIDTH: usize = 80;

/// What a training run shows on stderr as it goes.
pub struct Progress {
    metric_name: &'static str,
    /// The monitored value's name, when the lines show it (see `with_monitor`).
    monitor_name: Option<&'static str>,
    mode: Mode,
}

enum Mode {
    /// Nothing (`--quiet`, `--no-progress`, or after the bar was cleared).
    Off,
    /// Plain `csvnn: epoch ...` lines.
    Lines {
        every_epoch: bool,
        last_line: Option<Instant>,
    },
    /// The bar, made at the first epoch (it needs the run's length).
    Bar {
        bar: Option<ProgressBar>,
        last_metric: String,
    },
}

impl Progress {
    /// Progress at `level` for a run whose validation metric is `metric_name`.
    pub fn new(level: Level, metric_name: &'static str) -> Self {
        let mode = match level {
            Level::Quiet | Level::Summary => Mode::Off,
            Level::Verbose => Mode::Lines {
                every_epoch: true,
                last_line: None,
            },
            Level::Normal if std::io::stderr().is_terminal() => Mode::Bar {
                bar: None,
                last_metric: String::new(),
            },
            Level::Normal => Mode::Lines {
                every_epoch: false,
                last_line: None,
            },
        };
        Progress {
            metric_name,
            monitor_name: None,
            mode,
        }
    }

    /// Show the monitored validation value too (under `monitor_name`), when it is neither
    /// the loss nor the metric the lines already show.
    pub fn with_monitor(mut self, monitor_name: &'static str) -> Self {
        if monitor_name != "loss" && monitor_name != self.metric_name {
            self.monitor_name = Some(monitor_name);
        }
        self
    }

    /// End the progress display: clears the bar. Safe to call more than once, and called on
    /// every way out of training (its end, early stopping, an error).
    pub fn finish(&mut self) {
        if let Mode::Bar { bar: Some(bar), .. } = &self.mode {
            bar.finish_and_clear();
        }
        if matches!(self.mode, Mode::Bar { .. }) {
            self.mode = Mode::Off;
        }
    }

    /// Run `write` (which prints to stderr) with the bar out of the way.
    pub fn suspend(&self, write: impl FnOnce()) {
        match &self.mode {
            Mode::Bar { bar: Some(bar), .. } => bar.suspend(write),
            _ => write(),
        }
    }

    /// Before the first batch of `epoch`.
    pub fn epoch_started(&mut self, epoch: usize, n_epochs: usize, n_batches: usize) {
        if let Mode::Bar { bar, .. } = &mut self.mode {
            let bar = bar.get_or_insert_with(|| new_bar(epoch, n_epochs, n_batches));
            bar.set_prefix(format!("{epoch}/{n_epochs}"));
        }
    }

    /// After each batch's update.
    pub fn batch_done(&mut self, batch: usize, n_batches: usize, running_loss: f64) {
        if let Mode::Bar {
            bar: Some(bar),
            last_metric,
        } = &self.mode
        {
            bar.inc(1);
            // Formatting allocates: refresh the text now and then, not every batch.
            if batch % 32 == 1 || batch == n_batches {
                bar.set_message(format!(
                    "loss {running_loss:.4}{last_metric} batch {batch}/{n_batches}"
                ));
            }
        }
    }

    /// After each epoch; `last`: training ends after it (its last epoch, or early stopping).
    pub fn epoch_done(&mut self, record: &EpochRecord, n_epochs: usize, seconds: f64, last: bool) {
        let (metric_name, monitor_name) = (self.metric_name, self.monitor_name);
        match &mut self.mode {
            Mode::Off => {}
            Mode::Lines {
                every_epoch,
                last_line,
            } => {
                let due = last_line.is_none_or(|at| at.elapsed() >= LINE_AT_LEAST_EVERY)
                    || record
                        .epoch
                        .is_multiple_of(n_epochs.div_ceil(LINES_PER_RUN));
                if *every_epoch || last || due {
                    eprintln!(
                        "csvnn: {}",
                        epoch_line(record, n_epochs, (metric_name, monitor_name), seconds)
                    );
                    *last_line = Some(Instant::now());
                }
            }
            Mode::Bar { last_metric, .. } => {
                if let Some(m) = record.val_metric {
                    *last_metric = format!(" val_{metric_name} {m:.4}");
                }
            }
        }
        if last {
            self.finish();
        }
    }
}

/// A bar that spans the whole run (so the ETA covers it) and starts where a resumed run
/// starts, laid out for the terminal's width: the bar itself shrinks and then goes, and
/// the message (loss, metric, batch) is cut at the right edge rather than wrapped.
fn new_bar(epoch: usize, n_epochs: usize, n_batches: usize) -> ProgressBar {
    let bar = ProgressBar::new((n_epochs * n_batches) as u64);
    bar.set_prefix(format!("{epoch}/{n_epochs}"));
    let width = console::Term::stderr()
        .size_checked()
        .map_or(FALLBACK_WIDTH, |(_, columns)| columns as usize);
    bar.set_style(
        ProgressStyle::with_template(&template(width, n_epochs))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_position(((epoch - 1) * n_batches) as u64);
    bar
}

/// The bar's template for a terminal `width` columns wide.
fn template(width: usize, n_epochs: usize) -> String {
    // "epoch N/N [" + "] ETA 59m " around the bar; the message wants 28 columns for the
    // loss and the metric ("loss 0.0739 val_rmse 2.1988"), the batch comes last.
    let around = "epoch  [] ETA 59m ".len() + 2 * n_epochs.to_string().len() + 1;
    let bar_width = width.saturating_sub(around + 28).min(30);
    if bar_width >= 5 {
        format!("epoch {{prefix}} [{{bar:{bar_width}}}] ETA {{eta}} {{wide_msg}}")
    } else {
        "epoch {prefix} ETA {eta} {wide_msg}".to_string()
    }
}

/// `names`: the metric's, and the monitored value's when it is shown.
fn epoch_line(
    record: &EpochRecord,
    n_epochs: usize,
    names: (&str, Option<&str>),
    seconds: f64,
) -> String {
    let (metric_name, monitor_name) = names;
    let mut line = format!(
        "epoch {}/{n_epochs}  train_loss {:.6}",
        record.epoch, record.train_loss
    );
    if let Some(v) = record.val_loss {
        line += &format!("  val_loss {v:.6}");
    }
    if let Some(m) = record.val_metric {
        line += &format!("  val_{metric_name} {m:.6}");
    }
    if let (Some(name), Some(v)) = (monitor_name, record.monitored) {
        line += &format!("  val_{name} {v:.6}");
    }
    line += &format!("  lr {:.3e}  {seconds:.3}s", record.lr);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shrinks_then_goes_in_narrow_terminals() {
        assert_eq!(
            template(120, 200),
            "epoch {prefix} [{bar:30}] ETA {eta} {wide_msg}"
        );
        assert_eq!(
            template(60, 200),
            "epoch {prefix} [{bar:7}] ETA {eta} {wide_msg}"
        );
        assert_eq!(template(55, 200), "epoch {prefix} ETA {eta} {wide_msg}");
    }

    #[test]
    fn quiet_wins_over_the_other_levels() {
        assert_eq!(Level::from_flags(true, true, false), Level::Quiet);
        assert_eq!(Level::from_flags(false, true, false), Level::Summary);
        assert_eq!(Level::from_flags(false, false, true), Level::Verbose);
        assert_eq!(Level::from_flags(false, false, false), Level::Normal);
    }
}

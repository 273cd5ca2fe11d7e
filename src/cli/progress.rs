//! Training progress on stderr: an indicatif bar when stderr is a terminal, one plain line
//! per epoch otherwise, nothing with --quiet.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use csvnn::train::{EpochRecord, Observer};

pub enum Progress {
    Quiet,
    Lines {
        metric_name: &'static str,
        /// When the current epoch started: its seconds end the line (never in the model).
        started: Option<Instant>,
    },
    Bar {
        bar: ProgressBar,
        metric_name: &'static str,
        last_metric: String,
    },
}

impl Progress {
    pub fn new(quiet: bool, metric_name: &'static str) -> Self {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Bar {
                bar: ProgressBar::hidden(),
                metric_name,
                last_metric: String::new(),
            }
        } else {
            Progress::Lines {
                metric_name,
                started: None,
            }
        }
    }

    pub fn finish(&mut self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}

fn epoch_line(record: &EpochRecord, n_epochs: usize, metric_name: &str) -> String {
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
    line
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, n_epochs: usize, n_batches: usize) {
        if let Progress::Lines { started, .. } = self {
            *started = Some(Instant::now());
        }
        if let Progress::Bar {
            bar, last_metric, ..
        } = self
        {
            if epoch == 1 {
                *bar = ProgressBar::new((n_epochs * n_batches) as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} epoch {prefix} [{bar:30}] {msg} ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            bar.set_prefix(format!("{epoch}/{n_epochs}"));
            let _ = last_metric;
        }
    }

    fn batch_done(&mut self, _batch: usize, running_loss: f64) {
        if let Progress::Bar {
            bar, last_metric, ..
        } = self
        {
            bar.inc(1);
            bar.set_message(format!("loss {running_loss:.4}{last_metric}"));
        }
    }

    fn epoch_done(&mut self, record: &EpochRecord, n_epochs: usize) {
        match self {
            Progress::Quiet => {}
            Progress::Lines {
                metric_name,
                started,
            } => {
                let seconds = started.map_or(0.0, |t| t.elapsed().as_secs_f64());
                eprintln!(
                    "csvnn: {}  {seconds:.3}s",
                    epoch_line(record, n_epochs, metric_name)
                );
            }
            Progress::Bar {
                bar,
                metric_name,
                last_metric,
            } => {
                if let Some(m) = record.val_metric {
                    *last_metric = format!("  val_{metric_name} {m:.4}");
                }
                if record.epoch == n_epochs {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

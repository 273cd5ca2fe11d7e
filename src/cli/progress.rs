//! Training progress on stderr: an indicatif bar (epoch i/N, batch, running loss, last
//! validation metric, ETA) when stderr is a terminal, one plain line per epoch otherwise,
//! nothing with --quiet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use csvnn::train::EpochRecord;

pub enum Progress {
    Quiet,
    Lines {
        metric_name: &'static str,
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
            Progress::Lines { metric_name }
        }
    }

    pub fn finish(&mut self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }

    pub fn epoch_started(&mut self, epoch: usize, n_epochs: usize, n_batches: usize) {
        if let Progress::Bar { bar, .. } = self {
            if bar.is_hidden() {
                // The bar spans the whole run (so the ETA covers it) and starts where a
                // resumed run starts.
                *bar = ProgressBar::new((n_epochs * n_batches) as u64);
                bar.set_style(
                    ProgressStyle::with_template("epoch {prefix} [{bar:25}] {msg} ETA {eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_position(((epoch - 1) * n_batches) as u64);
            }
            bar.set_prefix(format!("{epoch}/{n_epochs}"));
        }
    }

    pub fn batch_done(&mut self, batch: usize, n_batches: usize, running_loss: f64) {
        if let Progress::Bar {
            bar, last_metric, ..
        } = self
        {
            bar.inc(1);
            // Formatting allocates: refresh the text now and then, not every batch.
            if batch % 32 == 1 || batch == n_batches {
                bar.set_message(format!(
                    "batch {batch}/{n_batches} loss {running_loss:.4}{last_metric}"
                ));
            }
        }
    }

    pub fn epoch_done(&mut self, record: &EpochRecord, n_epochs: usize, seconds: f64) {
        match self {
            Progress::Quiet => {}
            Progress::Lines { metric_name } => {
                eprintln!(
                    "csvnn: {}",
                    epoch_line(record, n_epochs, metric_name, seconds)
                );
            }
            Progress::Bar {
                metric_name,
                last_metric,
                ..
            } => {
                if let Some(m) = record.val_metric {
                    *last_metric = format!("  val_{metric_name} {m:.4}");
                }
            }
        }
    }
}

fn epoch_line(record: &EpochRecord, n_epochs: usize, metric_name: &str, seconds: f64) -> String {
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
    line += &format!("  lr {:.3e}  {seconds:.3}s", record.lr);
    line
}

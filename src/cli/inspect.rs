//! `csvnn inspect`: what a saved model holds, for people (a table) or scripts (JSON):
//! task, input columns with their fitted statistics, classes, architecture with parameter
//! counts, training settings, a summary of the history and the validation metrics.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::common::write_stdout;
use super::preprocess::Format;
use clap::Args;
use csvnn::inspect::{Input, Inspection};
use csvnn::model::Model;
use csvnn::number_text::{fixed_or_exponent, readable};
use csvnn::preprocess::Task;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file written by `csvnn train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// How to print; json keys are stable for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// A number for people: 4 decimals (with an exponent when huge or tiny: `1.2e300`), or
/// "-" when absent.
fn num(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => fixed_or_exponent(v, 4),
        Some(v) => v.to_string(),
        None => "-".to_string(),
    }
}

/// Categories shown per column before "... and N more".
const SHOWN_CATEGORIES: usize = 6;

/// A plain-text summary for people (may change between versions).
fn to_table(inspection: &Inspection) -> String {
    {
        let mut out = String::new();
        let t = inspection.training;
        let _ = writeln!(
            out,
            "{}: csvnn model (format {}, written by csvnn {})",
            inspection.model, inspection.format_version, inspection.csvnn_version
        );
        let _ = writeln!(out, "task:     {} ({})", inspection.task, t.task_reason);
        let _ = writeln!(out, "target:   {}", inspection.target);
        if let Some(classes) = inspection.classes {
            let _ = writeln!(out, "classes:  {} ({})", classes.join(", "), classes.len());
        }
        if let Some(s) = &inspection.target_scaling {
            let _ = writeln!(
                out,
                "target scaling: mean {}, std {}",
                num(Some(s.mean)),
                num(Some(s.std))
            );
        }

        let _ = writeln!(out, "\ninput columns ({}):", inspection.inputs.len());
        let width = inspection
            .inputs
            .iter()
            .map(|i| match i {
                Input::Numeric { name, .. }
                | Input::Categorical { name, .. }
                | Input::Ordinal { name, .. }
                | Input::Date { name, .. }
                | Input::Sequence { name, .. }
                | Input::Text { name, .. } => name.chars().count(),
            })
            .max()
            .unwrap_or(0)
            .max(6);
        for input in &inspection.inputs {
            match input {
                Input::Numeric {
                    name,
                    impute,
                    mean,
                    std,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  numeric      mean {}  std {}  missing -> {}",
                        num(Some(*mean)),
                        num(Some(*std)),
                        num(Some(*impute))
                    );
                }
                Input::Ordinal {
                    name,
                    levels,
                    impute,
                    mean,
                    std,
                    ..
                } => {
                    let shown: Vec<String> = levels
                        .iter()
                        .map(|l| format!("{} ({})", l.value, l.count))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  ordinal      {} levels: {}  mean {}  std {}  missing -> {}",
                        levels.len(),
                        shown.join(" < "),
                        num(Some(*mean)),
                        num(Some(*std)),
                        num(Some(*impute))
                    );
                }
                Input::Date {
                    name,
                    format,
                    parts,
                    range,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  date         {} .. {}  format {}  inputs: {}",
                        range[0],
                        range[1],
                        format.unwrap_or("ISO 8601"),
                        parts.join(" ")
                    );
                }
                Input::Text {
                    name,
                    vocab_size,
                    options,
                    top_words,
                    ..
                } => {
                    let ngrams = if options.ngrams > 1 {
                        format!(
                            ", {}-grams in {} buckets",
                            options.ngrams, options.ngram_buckets
                        )
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  text         {vocab_size} words (min count {}), max {} tokens{ngrams}; top: {}",
                        options.min_count,
                        options.max_tokens,
                        top_words.join(" ")
                    );
                }
                Input::Sequence {
                    name,
                    steps,
                    channels,
                    network_inputs,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  sequence     {steps} steps x {channels} channels ({network_inputs} inputs with the length), scaled per channel"
                    );
                }
                Input::Categorical {
                    name,
                    impute,
                    categories,
                    ..
                } => {
                    let mut shown: Vec<String> = categories
                        .iter()
                        .take(SHOWN_CATEGORIES)
                        .map(|c| format!("{} ({})", c.value, c.count))
                        .collect();
                    if categories.len() > SHOWN_CATEGORIES {
                        shown.push(format!(
                            "... and {} more",
                            categories.len() - SHOWN_CATEGORIES
                        ));
                    }
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  categorical  {} categories: {}  missing -> {impute}",
                        categories.len(),
                        shown.join(", ")
                    );
                }
            }
        }
        if !inspection.dropped.is_empty() {
            let _ = writeln!(out, "  dropped: {}", inspection.dropped.join(", "));
        }

        let a = &inspection.architecture;
        let _ = writeln!(
            out,
            "\narchitecture: {} inputs -> {} outputs, {} parameters ({} bytes, {:.1}% zeros)",
            a.n_inputs,
            a.n_outputs,
            a.params,
            a.param_bytes,
            100.0 * a.sparsity
        );
        if let Some(n) = inspection
            .compression
            .as_ref()
            .and_then(|c| c.record.int8.as_ref())
        {
            let _ = writeln!(
                out,
                "compressed: int8 weights in {} layers ({} -> {} bytes); weights {}; inputs {}{}{}",
                n.layers_int8,
                n.f32_weight_bytes,
                n.int8_weight_bytes,
                n.weights,
                n.activations,
                if n.products.is_empty() {
                    String::new()
                } else {
                    format!("; products: {}", n.products.join(", "))
                },
                if n.layers_f32.is_empty() {
                    String::new()
                } else {
                    format!("; kept f32: {}", n.layers_f32.join(", "))
                }
            );
        }
        for (i, layer) in a.layers.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:>2}  {:<10}  {:<14}  {:>8} params",
                i + 1,
                layer.kind,
                layer.detail,
                layer.params
            );
            // A branches layer's encoders, block by block, indented under it.
            for (b, encoder) in layer.encoders.iter().enumerate() {
                for (j, inner) in encoder.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "      {:<7}  {:<20}  {:<14}  {:>8} params",
                        format!("{}.{}.{}", i + 1, b + 1, j + 1),
                        inner.kind,
                        inner.detail,
                        inner.params
                    );
                }
            }
        }

        let c = &t.config;
        let optimizer = serde_json::to_value(c.optimizer)
            .map(|v| compact(&v))
            .unwrap_or_default();
        let _ = writeln!(out, "\ntraining:");
        let _ = writeln!(out, "  loss {}, optimizer {optimizer}", t.loss);
        let monitor = if c.monitor.is_loss() {
            String::new()
        } else {
            format!(" (monitor {})", c.monitor.name())
        };
        let _ = writeln!(
            out,
            "  epochs {}, batch size {}, patience {}{monitor}, seed {}, dropout {}",
            c.epochs, c.batch_size, c.patience, c.seed, t.dropout
        );
        let _ = writeln!(
            out,
            "  rows: {} training, {} validation (split {})",
            t.rows_train, t.rows_validation, t.validation_split
        );
        let stop = if t.stopped_early {
            "stopped early"
        } else {
            "ran to the end"
        };
        let best = t
            .best_epoch
            .map(|e| format!(", weights of epoch {e} kept"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {} epochs run, {stop}{best}", t.epochs_run);

        let metric = match inspection.task {
            Task::Classification => "val accuracy",
            Task::Regression => "val rmse",
        };
        let h = &inspection.history;
        let _ = writeln!(out, "\nhistory ({} epochs):", h.epochs);
        let _ = writeln!(
            out,
            "  {:<6}  {:>6}  {:>10}  {:>10}  {:>12}",
            "", "epoch", "train loss", "val loss", metric
        );
        for (what, record) in [("first", h.first), ("best", h.best), ("last", h.last)] {
            if let Some(r) = record {
                let _ = writeln!(
                    out,
                    "  {what:<6}  {:>6}  {:>10}  {:>10}  {:>12}",
                    r.epoch,
                    num(Some(r.train_loss)),
                    num(r.val_loss),
                    num(r.val_metric)
                );
            }
        }

        let _ = write!(out, "\nvalidation metrics: ");
        match inspection.validation_metrics {
            Some(v) => {
                let mut parts = vec![format!("loss {}", num(Some(v.loss)))];
                if let Some(a) = v.accuracy {
                    parts.push(format!("accuracy {}", num(Some(a))));
                }
                if let Some(r) = v.rmse {
                    // The loss and the RMSE are in different units: say which is which.
                    parts[0] += " (MSE of the standardised target)";
                    parts.push(format!("rmse {} (target units)", num(Some(r))));
                }
                let _ = writeln!(out, "{}", parts.join(", "));
            }
            None if inspection.compression.is_some() => {
                let _ = writeln!(
                    out,
                    "none (the weights changed after training; score them with evaluate)"
                );
            }
            None => {
                let _ = writeln!(out, "none (trained without validation rows)");
            }
        }
        if let Some(c) = &inspection.compression {
            let _ = writeln!(out, "\ncompression:");
            let _ = writeln!(
                out,
                "  nonzero parameters {} of {}; dense and convolution weights {:.1}% zero",
                c.nonzero_params,
                inspection.architecture.params,
                c.sparsity * 100.0
            );
            if let Some(p) = &c.record.pruned {
                let _ = writeln!(
                    out,
                    "  pruned: magnitude, sparsity {} asked ({} threshold), fine-tuned {} epochs on {} ({} rows)",
                    p.sparsity, p.threshold, p.fine_tune_epochs, p.data, p.rows
                );
                let layers: Vec<String> = (p.layers.iter())
                    .map(|l| format!("layer {} {:.1}%", l.layer + 1, l.sparsity() * 100.0))
                    .collect();
                let _ = writeln!(out, "  per layer: {}", layers.join(", "));
            }
        }
        out
    }
}

/// `{"name":"adam","lr":0.001}` as `adam (lr 0.001, ...)`; numbers are the optimizer's
/// f32 settings, shown as f32 (0.9, not 0.8999999761581421).
fn compact(value: &serde_json::Value) -> String {
    let Some(object) = value.as_object() else {
        return value.to_string();
    };
    let name = object
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("?")
        .to_string();
    let settings: Vec<String> = object
        .iter()
        .filter(|(k, _)| k.as_str() != "name")
        .map(|(k, v)| match v.as_f64() {
            // Settings are f32 in the model: their shortest f32 form (`eps 1e-8`, `lr 0.001`).
            Some(f) => format!("{k} {}", readable(f as f32)),
            None => format!("{k} {v}"),
        })
        .collect();
    format!("{name} ({})", settings.join(", "))
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let inspection = Inspection::of(&model, args.model.display().to_string());
    let file_bytes = std::fs::metadata(&args.model).map(|m| m.len()).ok();
    let text = match args.format {
        Format::Table => {
            let table = to_table(&inspection);
            match file_bytes {
                // The size after the first line, which names the file.
                Some(b) => table.replacen('\n', &format!("\nsize:     {b} bytes\n"), 1),
                None => table,
            }
        }
        Format::Json => serde_json::to_string_pretty(&inspection)? + "\n",
    };
    write_stdout(&text)?;
    Ok(())
}

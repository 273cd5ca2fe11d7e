//! `csvnn cv`: K-fold cross-validation with the train settings (stratified by class for
//! classification). Each fold fits its own pipeline and network on the other folds and is
//! scored on its held-out rows; the mean and standard deviation of every metric are shown.

use clap::Args;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::common::{write_stdout, Ui};
use super::fit::{fit, label_groups, load_source, prepare, Source};
use super::preprocess::Format;
use super::train::TrainSettings;
use csvnn::metrics::{
    classification_report, regression_report, CLASSIFICATION_KEYS, REGRESSION_KEYS,
};
use csvnn::model::Predictions;
use csvnn::nn::threads;
use csvnn::preprocess::{EncodedTargets, Task};
use csvnn::{Error, Location};

#[derive(Debug, Args)]
pub struct CvArgs {
    #[command(flatten)]
    pub settings: TrainSettings,

    /// Number of folds (at least 2).
    #[arg(long, default_value_t = 5, value_parser = parse_folds)]
    pub folds: usize,

    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_folds(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(k) if k >= 2 => Ok(k),
        _ => Err("expected a whole number of at least 2".to_string()),
    }
}

/// Assign each of `rows` to a fold: rows are shuffled (within each class when stratified)
/// and dealt out in turn, so folds differ in size by at most one row per class.
fn assign_folds(source: &Source, k: usize, seed: u64) -> Vec<Vec<usize>> {
    let rows = &source.rows;
    let groups = match source.task {
        Task::Classification => label_groups(&source.table, source.target, rows),
        Task::Regression => vec![0; rows.len()],
    };
    let n_groups = groups.iter().max().map_or(0, |&g| g + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (&row, &g) in rows.iter().zip(&groups) {
        members[g].push(row);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC0FF_EE00);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for mut group in members {
        group.shuffle(&mut rng);
        for row in group {
            folds[next % k].push(row);
            next += 1;
        }
    }
    for fold in &mut folds {
        fold.sort_unstable();
    }
    folds
}

#[derive(Debug, Serialize)]
struct MetricSummary {
    mean: f64,
    /// Population standard deviation over the folds (numpy's default, ddof = 0).
    std: f64,
    folds: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct CvReport {
    task: String,
    folds: usize,
    rows: usize,
    metrics: OrderedMetrics,
}

/// Metric name -> summary, serialized as a JSON object in the reports' order.
#[derive(Debug)]
struct OrderedMetrics(Vec<(String, MetricSummary)>);

impl Serialize for OrderedMetrics {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, summary) in &self.0 {
            map.serialize_entry(name, summary)?;
        }
        map.end()
    }
}

/// The headline metrics of a report, in order (a metric undefined on a fold is NaN).
fn numeric_metrics(report: &serde_json::Value, task: Task) -> Vec<(String, f64)> {
    let names: &[&str] = match task {
        Task::Classification => CLASSIFICATION_KEYS,
        Task::Regression => REGRESSION_KEYS,
    };
    names
        .iter()
        .map(|&name| (name.to_string(), report[name].as_f64().unwrap_or(f64::NAN)))
        .collect()
}

pub fn run(args: CvArgs, ui: &Ui, threads: usize) -> anyhow::Result<()> {
    let settings = &args.settings;
    let source = load_source(settings, ui)?;
    if source.rows.len() < args.folds {
        return Err(Error::data(
            Location::file(&source.table.source),
            format!(
                "{} rows with a target are too few for --folds {}",
                source.rows.len(),
                args.folds
            ),
        )
        .into());
    }
    let folds = assign_folds(&source, args.folds, settings.seed);
    let _threads = threads::install(threads);
    let inner_ui = Ui::new(true);
    let mut per_fold: Vec<Vec<(String, f64)>> = Vec::new();
    for (i, test_rows) in folds.iter().enumerate() {
        let pool: Vec<usize> = folds
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .flat_map(|(_, f)| f.iter().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let prepared = prepare(settings, &source, &pool, &inner_ui)?;
        // No per-epoch progress: cross-validation reports one line per fold.
        let model = fit(settings, &source, &prepared, None, &mut (), &inner_ui)?;
        let transformed = model.pipeline.transform(&source.table, Some(test_rows))?;
        let targets = model.pipeline.encode_targets(&source.table, test_rows);
        let report = match (model.predict(transformed.x.view(), threads), targets) {
            (Predictions::Classes { probs, .. }, Ok(EncodedTargets::Classes(classes))) => {
                let y: Vec<usize> = classes.iter().map(|&c| c as usize).collect();
                serde_json::to_value(classification_report(
                    model.pipeline.target_encoder.labels(),
                    &y,
                    probs.view(),
                ))?
            }
            (Predictions::Values(values), Ok(EncodedTargets::Values { raw, .. })) => {
                serde_json::to_value(regression_report(&raw, &values))?
            }
            // A label only in the held-out fold: the fold's model cannot score it.
            (_, Err(e)) => return Err(e.into()),
            _ => unreachable!("predictions and targets come from one encoder"),
        };
        let metrics = numeric_metrics(&report, source.task);
        let headline = metrics
            .first()
            .map_or(String::new(), |(k, v)| format!("{k} {v:.4}"));
        ui.info(&format!(
            "fold {}/{}: {} test rows, {headline}",
            i + 1,
            args.folds,
            test_rows.len()
        ));
        per_fold.push(metrics);
    }

    let names: Vec<String> = per_fold[0].iter().map(|(k, _)| k.clone()).collect();
    let metrics = names
        .iter()
        .enumerate()
        .map(|(m, name)| {
            let values: Vec<f64> = per_fold.iter().map(|f| f[m].1).collect();
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                / values.len() as f64)
                .sqrt();
            (
                name.clone(),
                MetricSummary {
                    mean,
                    std,
                    folds: values,
                },
            )
        })
        .collect();
    let report = CvReport {
        task: source.task.to_string(),
        folds: args.folds,
        rows: source.rows.len(),
        metrics: OrderedMetrics(metrics),
    };
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => {
            let mut text = format!(
                "{}-fold cross-validation, {} rows ({})\n\n{:<20} {:>10} {:>10}\n",
                report.folds, report.rows, report.task, "metric", "mean", "std"
            );
            for (name, s) in &report.metrics.0 {
                text += &format!("{name:<20} {:>10.4} {:>10.4}\n", s.mean, s.std);
            }
            text
        }
    };
    write_stdout(&text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use csvnn::data::{Column, RawTable};

    #[test]
    fn folds_are_stratified_and_partition_the_rows() {
        let mut column = Column::default();
        for i in 0..100 {
            column.push(if i % 10 == 0 { "rare" } else { "common" });
        }
        let table = RawTable {
            source: "t.csv".into(),
            headers: vec!["y".into()],
            columns: vec![column],
            lines: (2..102).collect(),
            skipped: Vec::new(),
        };
        let source = Source {
            table,
            preprocessor: None,
            target: 0,
            rows: (0..100).collect(),
            task: Task::Classification,
            task_reason: String::new(),
        };
        let folds = assign_folds(&source, 5, 1);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        for fold in &folds {
            assert_eq!(fold.len(), 20);
            assert_eq!(fold.iter().filter(|&&r| r % 10 == 0).count(), 2);
        }
        assert_eq!(assign_folds(&source, 5, 1), folds);
    }
}

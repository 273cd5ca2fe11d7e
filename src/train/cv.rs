//! K-fold cross-validation with training settings: folds stratified by class for
//! classification; each fold fits its own pipeline and network on the other folds and is
//! scored on its held-out rows; every metric is summarised by its mean and std.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::fit::train_model;
use super::notice::Notice;
use super::prepare::prepare;
use super::settings::TrainSettings;
use super::settings_error::SettingsError;
use super::source::Source;
use super::trainer::{EpochRecord, Observer, TrainState};
use crate::error::Result;
use crate::metrics::{
    classification_report, regression_report, CLASSIFICATION_KEYS, REGRESSION_KEYS,
};
use crate::model::Predictions;
use crate::preprocess::{EncodedTargets, Task};

/// One metric over the folds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Mean over the folds.
    pub mean: f64,
    /// Population standard deviation over the folds (numpy's default, ddof = 0).
    pub std: f64,
    /// Each fold's value, in fold order.
    pub folds: Vec<f64>,
}

/// The result of cross-validation (`cv --format json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvReport {
    /// `classification` or `regression`.
    pub task: String,
    /// Number of folds.
    pub folds: usize,
    /// Rows with a target.
    pub rows: usize,
    /// Metric name -> summary, in the metric reports' order.
    pub metrics: OrderedMetrics,
}

/// Metric name -> summary, serialized as a JSON object in the reports' order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedMetrics(pub Vec<(String, MetricSummary)>);

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

/// Assign each of the source's rows to one of `k` folds: rows are shuffled (within each
/// class when stratified) and dealt out in turn, so folds differ in size by at most one row
/// per class. Each fold's rows are sorted.
pub fn assign_folds(source: &Source, k: usize, seed: u64) -> Vec<Vec<usize>> {
    let rows = &source.rows;
    let groups = match source.task {
        Task::Classification => source.label_groups(rows),
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

/// Passes on what a fold's run finds in the data, but not its progress or summaries
/// (cross-validation reports one line per fold).
struct FoldObserver<'a>(&'a mut dyn Observer);

impl Observer for FoldObserver<'_> {
    fn notice(&mut self, notice: Notice<'_>) {
        if notice.is_about_data() {
            self.0.notice(notice);
        }
    }
    fn epoch_done(&mut self, _: &EpochRecord, _: usize, _: &TrainState) -> Result<()> {
        Ok(())
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

/// Cross-validate `settings` over `k` folds of the rows of `source`. Each fold is announced with `Notice::FoldDone`.
pub fn cross_validate(
    settings: &TrainSettings,
    source: &Source,
    k: usize,
    observer: &mut dyn Observer,
) -> Result<CvReport> {
    let folds = checked_folds(settings, source, k)?;
    let per_fold = (0..k)
        .map(|i| fold_metrics(settings, source, &folds, i, observer))
        .collect::<Result<Vec<_>>>()?;
    Ok(summary(
        source.task.to_string(),
        k,
        source.rows.len(),
        &per_fold,
    ))
}

/// The rows of each of `k` folds, after checking that there are enough rows.
pub(super) fn checked_folds(
    settings: &TrainSettings,
    source: &Source,
    k: usize,
) -> Result<Vec<Vec<usize>>> {
    if source.rows.len() < k {
        return Err(SettingsError::TooFewRowsForFolds {
            file: source.table.source.clone(),
            rows: source.rows.len(),
            folds: k,
        }
        .into());
    }
    Ok(assign_folds(source, k, settings.seed))
}

/// Train on every fold but fold `i` of `folds` and score fold `i`: its headline metrics
/// in order (announced with `Notice::FoldDone`).
pub(super) fn fold_metrics(
    settings: &TrainSettings,
    source: &Source,
    folds: &[Vec<usize>],
    i: usize,
    observer: &mut dyn Observer,
) -> Result<Vec<(String, f64)>> {
    let test_rows = &folds[i];
    let pool: Vec<usize> = folds
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .flat_map(|(_, f)| f.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut fold_observer = FoldObserver(&mut *observer);
    let prepared = prepare(settings, source, &pool, &mut fold_observer)?;
    let model = train_model(settings, source, &prepared, None, &mut fold_observer)?;
    let transformed = model.pipeline.transform(&source.table, Some(test_rows))?;
    // A label only in the held-out fold: the fold's model cannot score it.
    let targets = model.pipeline.encode_targets(&source.table, test_rows)?;
    let report = match (model.predict(transformed.x.view()), targets) {
        (Predictions::Classes { probs, .. }, EncodedTargets::Classes(classes)) => {
            let y: Vec<usize> = classes.iter().map(|&c| c as usize).collect();
            serde_json::to_value(classification_report(
                model.pipeline.target_encoder.labels(),
                &y,
                probs.view(),
            ))
        }
        (Predictions::Values(values), EncodedTargets::Values { raw, .. }) => {
            serde_json::to_value(regression_report(&raw, &values))
        }
        _ => unreachable!("predictions and targets come from one encoder"),
    }
    .unwrap_or_default();
    let metrics = numeric_metrics(&report, source.task);
    observer.notice(Notice::FoldDone {
        fold: i,
        folds: folds.len(),
        test_rows: test_rows.len(),
        headline: metrics.first().map(|(name, v)| (name.as_str(), *v)),
    });
    Ok(metrics)
}

/// The report of `k` folds over `rows` rows: the mean and standard deviation of each
/// metric of `per_fold` (every fold's metrics in the same order).
pub(super) fn summary(
    task: String,
    k: usize,
    rows: usize,
    per_fold: &[Vec<(String, f64)>],
) -> CvReport {
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
    CvReport {
        task,
        folds: k,
        rows,
        metrics: OrderedMetrics(metrics),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Column, RawTable};

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

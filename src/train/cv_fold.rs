//! Cross-validation as independent jobs: `cross_validate_fold` trains and scores one fold
//! into a `CvFold` (a versioned file), `collect_folds` makes the report of all of them,
//! the same report `cross_validate` makes in one process. A fold names its run by a
//! fingerprint of the data, the settings and the number of folds, so that folds of
//! different runs are not mixed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cv::{checked_folds, fold_metrics, summary, CvReport};
use super::settings::TrainSettings;
use super::source::Source;
use super::trainer::Observer;
use crate::data::RawTable;
use crate::error::{Error, Result};
use crate::versioned::{read_versioned, FileKind};

/// The `format` of a fold's file.
pub const CV_FOLD_FORMAT: &str = "csvnn-cv-fold";
/// The newest layout of a fold's file.
pub const CV_FOLD_VERSION: u32 = 1;

/// How a fold's file is recognised and its problems worded.
const CV_FOLD_FILE: FileKind = FileKind {
    format: CV_FOLD_FORMAT,
    version: CV_FOLD_VERSION,
    invalid_json: "not a valid cv fold file: ",
    wrong_kind: |path| Error::ModelFile {
        path,
        message: "not a csvnn cv fold (expected \"format\": \"csvnn-cv-fold\")".to_string(),
    },
    noun: "cv fold",
    newer_advice: "; upgrade csvnn",
    damaged: "the cv fold file is damaged: ",
};

/// What one fold of a cross-validation gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvFold {
    /// Always `"csvnn-cv-fold"`.
    pub format: String,
    /// The file's layout, `CV_FOLD_VERSION`.
    pub format_version: u32,
    /// The run (`cv_fingerprint`): the data, the settings and the number of folds.
    pub fingerprint: String,
    /// This fold, from 0.
    pub fold: usize,
    /// The number of folds of the run.
    pub folds: usize,
    /// `classification` or `regression`.
    pub task: String,
    /// Rows with a target (in all folds).
    pub rows: usize,
    /// Rows of this fold, held out and scored.
    pub test_rows: usize,
    /// The headline metrics of the fold, in the report's order.
    pub metrics: Vec<FoldMetric>,
}

/// One metric of a fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldMetric {
    /// The metric's name, e.g. `accuracy`.
    pub name: String,
    /// Its value; written as a number, or as `"NaN"`, `"inf"` or `"-inf"`.
    #[serde(with = "float_or_text")]
    pub value: f64,
}

impl CvFold {
    /// Read the fold at `path`; a file that is not one names the file.
    pub fn read(path: &Path) -> Result<CvFold> {
        read_versioned(path, &CV_FOLD_FILE)
    }

    /// Write the fold to `path` (atomically, pretty-printed).
    pub fn write(&self, path: &Path) -> Result<()> {
        let shown = path.display().to_string();
        let mut text =
            serde_json::to_string_pretty(self).map_err(|e| Error::io(&shown, e.into()))?;
        text.push('\n');
        crate::atomic::write_atomically(path, |out| {
            out.write_all(text.as_bytes())
                .map_err(|e| Error::io(&shown, e))
        })
    }
}

/// A 16-digit hex fingerprint of a cross-validation run: the settings (but for the data
/// file's path, which may differ between machines), the number of folds and the table's
/// names and cells.
pub fn cv_fingerprint(settings: &TrainSettings, table: &RawTable, k: usize) -> String {
    let mut settings = settings.clone();
    settings.data.path.clear();
    let mut hash = Fnv::default();
    hash.add(
        serde_json::to_string(&settings)
            .unwrap_or_default()
            .as_bytes(),
    );
    hash.add(&(k as u64).to_le_bytes());
    for name in &table.headers {
        hash.add(name.as_bytes());
        hash.add(b"\x1f");
    }
    for column in &table.columns {
        for row in 0..column.len() {
            hash.add(column.text_at(row).as_bytes());
            hash.add(b"\x1f");
        }
        hash.add(b"\x1e");
    }
    format!("{:016x}", hash.0)
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Train and score fold `fold` (from 0) of the `k` folds `cross_validate` would make:
/// the same model and the same numbers as that fold of the one-process run.
pub fn cross_validate_fold(
    settings: &TrainSettings,
    source: &Source,
    k: usize,
    fold: usize,
    observer: &mut dyn Observer,
) -> Result<CvFold> {
    if fold >= k {
        return Err(Error::config(format!(
            "fold {fold} is out of range: with {k} folds, a fold goes from 0 to {}",
            k.saturating_sub(1)
        )));
    }
    let folds = checked_folds(settings, source, k)?;
    let metrics = fold_metrics(settings, source, &folds, fold, observer)?;
    Ok(CvFold {
        format: CV_FOLD_FORMAT.to_string(),
        format_version: CV_FOLD_VERSION,
        fingerprint: cv_fingerprint(settings, &source.table, k),
        fold,
        folds: k,
        task: source.task.to_string(),
        rows: source.rows.len(),
        test_rows: folds[fold].len(),
        metrics: metrics
            .into_iter()
            .map(|(name, value)| FoldMetric { name, value })
            .collect(),
    })
}

/// The report of a run from its folds (each with the name of its file), which must be
/// of one run and hold every fold once: the report `cross_validate` gives.
pub fn collect_folds(folds: &[(String, CvFold)]) -> Result<CvReport> {
    let Some((first_file, first)) = folds.first() else {
        return Err(Error::config(
            "no folds to collect; expected every fold of a run",
        ));
    };
    let k = first.folds;
    let mut by_fold: Vec<Option<&(String, CvFold)>> = vec![None; k];
    for named @ (file, fold) in folds {
        if fold.fold >= fold.folds {
            return Err(Error::ModelFile {
                path: file.clone(),
                message: format!(
                    "fold {} of {} folds; expected a fold from 0 to {}",
                    fold.fold,
                    fold.folds,
                    fold.folds.saturating_sub(1)
                ),
            });
        }
        if fold.folds != k {
            return Err(Error::config(format!(
                "{file}: fold {} of {} folds, but {first_file} is a fold of {k}; expected the folds of one run",
                fold.fold, fold.folds
            )));
        }
        let names = |f: &CvFold| f.metrics.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        if fold.fingerprint != first.fingerprint
            || (fold.task.as_str(), fold.rows) != (first.task.as_str(), first.rows)
            || names(fold) != names(first)
        {
            return Err(Error::config(format!(
                "{file}: a fold of another run (fingerprint {}; {first_file} has {}); expected the folds of one run: the same data, settings and number of folds",
                fold.fingerprint, first.fingerprint
            )));
        }
        match by_fold[fold.fold] {
            Some((earlier, _)) => {
                return Err(Error::config(format!(
                    "{earlier} and {file} are both fold {} of the run; expected each fold once",
                    fold.fold
                )))
            }
            None => by_fold[fold.fold] = Some(named),
        }
    }
    let missing: Vec<String> = by_fold
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::config(format!(
            "no result for {} {} of the run's {k} folds; run {} and collect again",
            if missing.len() == 1 { "fold" } else { "folds" },
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" },
        )));
    }
    let per_fold: Vec<Vec<(String, f64)>> = by_fold
        .into_iter()
        .flatten()
        .map(|(_, f)| {
            f.metrics
                .iter()
                .map(|m| (m.name.clone(), m.value))
                .collect()
        })
        .collect();
    Ok(summary(first.task.clone(), k, first.rows, &per_fold))
}

/// An `f64` as a JSON number, or as text when it is not finite (JSON has no NaN), so that
/// every value reads back to the same bits' number.
mod float_or_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_nan() {
            serializer.serialize_str("NaN")
        } else if value.is_infinite() {
            serializer.serialize_str(if *value > 0.0 { "inf" } else { "-inf" })
        } else {
            serializer.serialize_f64(*value)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum FloatOrText {
        Float(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        match FloatOrText::deserialize(deserializer)? {
            FloatOrText::Float(v) => Ok(v),
            FloatOrText::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!(
                    "the value '{other}'; expected a number, \"NaN\", \"inf\" or \"-inf\""
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Column;

    fn fold(i: usize, k: usize, fingerprint: &str, accuracy: f64) -> (String, CvFold) {
        (
            format!("f{i}.json"),
            CvFold {
                format: CV_FOLD_FORMAT.to_string(),
                format_version: CV_FOLD_VERSION,
                fingerprint: fingerprint.to_string(),
                fold: i,
                folds: k,
                task: "classification".to_string(),
                rows: 10,
                test_rows: 10 / k,
                metrics: vec![
                    FoldMetric {
                        name: "accuracy".to_string(),
                        value: accuracy,
                    },
                    FoldMetric {
                        name: "roc_auc".to_string(),
                        value: f64::NAN,
                    },
                ],
            },
        )
    }

    #[test]
    fn collecting_checks_the_run_and_summarises_in_fold_order() {
        let folds = [fold(1, 2, "a", 0.5), fold(0, 2, "a", 1.0)];
        let report = collect_folds(&folds).unwrap();
        assert_eq!(report.metrics.0[0].1.folds, [1.0, 0.5]);
        assert_eq!(report.metrics.0[0].1.mean, 0.75);
        assert_eq!(report.metrics.0[0].1.std, 0.25);
        assert!(report.metrics.0[1].1.mean.is_nan());
        let err = |folds: &[(String, CvFold)]| collect_folds(folds).unwrap_err().to_string();
        assert_eq!(
            err(&[fold(0, 2, "a", 1.0), fold(1, 2, "b", 1.0)]),
            "f1.json: a fold of another run (fingerprint b; f0.json has a); expected the folds of one run: the same data, settings and number of folds"
        );
        assert_eq!(
            err(&[fold(0, 2, "a", 1.0), fold(1, 3, "a", 1.0)]),
            "f1.json: fold 1 of 3 folds, but f0.json is a fold of 2; expected the folds of one run"
        );
        let mut again = fold(0, 3, "a", 1.0);
        again.0 = "g0.json".into();
        assert_eq!(
            err(&[fold(0, 3, "a", 1.0), again]),
            "f0.json and g0.json are both fold 0 of the run; expected each fold once"
        );
        assert_eq!(
            err(&[fold(1, 4, "a", 1.0)]),
            "no result for folds 0, 2, 3 of the run's 4 folds; run them and collect again"
        );
        assert_eq!(
            err(&[fold(2, 2, "a", 1.0)]),
            "f2.json: fold 2 of 2 folds; expected a fold from 0 to 1"
        );
    }

    #[test]
    fn a_fold_reads_back_to_the_same_bits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        let (_, mut written) = fold(0, 2, "a", 0.1 + 0.2);
        written.metrics[1].value = f64::NEG_INFINITY;
        written.write(&path).unwrap();
        assert_eq!(CvFold::read(&path).unwrap(), written);
        written.metrics[1].value = f64::NAN;
        written.write(&path).unwrap();
        assert!(CvFold::read(&path).unwrap().metrics[1].value.is_nan());
    }

    #[test]
    fn the_fingerprint_follows_data_settings_and_folds_but_not_the_path() {
        let table = |last: &str| {
            let mut column = Column::default();
            for v in ["1", "2", last] {
                column.push(v);
            }
            RawTable {
                source: "t.csv".into(),
                headers: vec!["y".into()],
                columns: vec![column],
                lines: vec![2, 3, 4],
                skipped: Vec::new(),
            }
        };
        let settings = TrainSettings::new("here/t.csv", "y");
        let base = cv_fingerprint(&settings, &table("3"), 5);
        assert_eq!(base.len(), 16);
        let moved = TrainSettings::new("there/t.csv", "y");
        assert_eq!(cv_fingerprint(&moved, &table("3"), 5), base);
        assert_ne!(cv_fingerprint(&settings, &table("4"), 5), base);
        assert_ne!(cv_fingerprint(&settings, &table("3"), 4), base);
        let other = TrainSettings {
            epochs: 3,
            ..settings.clone()
        };
        assert_ne!(cv_fingerprint(&other, &table("3"), 5), base);
    }
}

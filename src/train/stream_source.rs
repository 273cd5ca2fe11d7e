//! `plan_stream`: the first pass of a streamed fit. The first chunk of rows chooses the
//! task and the column kinds (the in-memory fit on those rows); one pass over the whole
//! file then fits the preprocessing from running statistics on the training rows
//! (`RunningFit`) and counts the rows. The validation rows are fixed by `RowSplit`, so
//! every later pass picks the same ones.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::notice::Notice;
use super::settings::TrainSettings;
use super::settings_error::SettingsError;
use super::source::Source;
use super::stream_read::with_chunks;
use super::trainer::Observer;
use crate::data::{Column, CsvOptions, RawTable, TableChunks};
use crate::error::{Error, Location, Result};
use crate::preprocess::{FitOptions, Pipeline, RunningFit, Task};

/// How a streamed fit reads and holds rows (recorded in its checkpoints, since the
/// rows it reads decide its batches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSettings {
    /// Rows of the seeded shuffle buffer (at least 1).
    pub shuffle_buffer: usize,
    /// Rows read per chunk.
    pub chunk_rows: usize,
    /// Most bytes of encoded validation rows held; beyond, a seeded sample of the
    /// validation rows is evaluated.
    pub validation_bytes: usize,
    /// Categorical columns count exactly up to this many distinct values.
    pub category_limit: usize,
}

/// The default shuffle buffer, in rows.
pub const DEFAULT_SHUFFLE_BUFFER: usize = 65_536;

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            shuffle_buffer: DEFAULT_SHUFFLE_BUFFER,
            chunk_rows: 8192,
            validation_bytes: 64 << 20,
            category_limit: 100_000,
        }
    }
}

/// A file's size and modification time, to see it change between passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    /// The stamp of `path` now.
    pub fn of(path: &str) -> Result<FileStamp> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        Ok(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }

    /// An error when `path` no longer has this stamp.
    pub fn check(&self, path: &str) -> Result<()> {
        if FileStamp::of(path)? != *self {
            return Err(Error::data(
                Location::file(path),
                "the file changed since the first pass (its size or modification time differs); a streamed run reads it once per epoch, so it must stay as it was",
            ));
        }
        Ok(())
    }
}

/// splitmix64: a well-mixed 64-bit hash of `x`.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A hash in [0, 1).
pub(crate) fn unit(seed: u64, x: u64) -> f64 {
    (mix(mix(seed) ^ x) >> 11) as f64 / (1u64 << 53) as f64
}

/// Which streamed rows are validation rows. Regression: row `r` (counting rows with a
/// target, from 0) when `unit(seed, r) < fraction`. Classification, stratified: the
/// `k`-th row of a class when `floor((k + 1) f + u) > floor(k f + u)`, `u` a seeded
/// offset per class, so each class holds out `floor` or `ceil` of `f` times its rows,
/// spread evenly through the file. The counters restart with each pass.
#[derive(Debug, Clone)]
pub struct RowSplit {
    fraction: f64,
    seed: u64,
    stratified: bool,
    per_class: HashMap<String, (u64, f64)>,
}

impl RowSplit {
    /// A split holding out `fraction` of the rows.
    pub fn new(fraction: f64, seed: u64, task: Task) -> Self {
        RowSplit {
            fraction,
            seed,
            stratified: task == Task::Classification,
            per_class: HashMap::new(),
        }
    }

    /// Start a new pass.
    pub fn restart(&mut self) {
        self.per_class.clear();
    }

    /// Whether row `row` with target `label` is a validation row (rows in file order).
    pub fn is_validation(&mut self, row: u64, label: &str) -> bool {
        if self.fraction <= 0.0 {
            return false;
        }
        if !self.stratified {
            return unit(self.seed, row) < self.fraction;
        }
        let seed = self.seed;
        let entry = match self.per_class.get_mut(label) {
            Some(entry) => entry,
            None => {
                let offset = unit(
                    seed ^ 0x5354_5241_5449_4659,
                    crate::preprocess::fnv1a(label.bytes()),
                );
                self.per_class
                    .entry(label.to_string())
                    .or_insert((0, offset))
            }
        };
        let (k, u) = (entry.0 as f64, entry.1);
        entry.0 += 1;
        ((k + 1.0) * self.fraction + u).floor() > (k * self.fraction + u).floor()
    }
}

/// Everything the epochs of a streamed fit need from the first pass.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// The file.
    pub path: String,
    /// How it is read.
    pub options: CsvOptions,
    /// Its stamp at the first pass.
    pub stamp: FileStamp,
    /// The preprocessing fitted on the training rows.
    pub pipeline: Pipeline,
    /// The task and why it was chosen.
    pub task: Task,
    /// Why the task was chosen.
    pub task_reason: String,
    /// Training rows.
    pub rows_train: usize,
    /// Rows held out for validation.
    pub rows_validation: usize,
    /// The share of the held-out rows evaluated after each epoch (1 unless they would
    /// exceed `StreamSettings::validation_bytes`).
    pub validation_share: f64,
    /// The validation split.
    pub split: RowSplit,
    /// The reading settings.
    pub stream: StreamSettings,
}

/// The texts of a numeric target's few distinct cells, formatted once: formatting a
/// float to its digits per row cost a tenth of a streamed epoch.
#[derive(Debug, Default)]
pub(crate) struct LabelTexts(Vec<((u64, u8), String)>);

/// Distinct texts kept; a target with more (a regression's) is formatted per cell.
const LABEL_TEXTS: usize = 64;

impl LabelTexts {
    /// The trimmed text of `row` of `column`, as `Column::text_at`.
    fn text<'a>(&'a mut self, column: &'a Column, row: usize) -> Cow<'a, str> {
        let Some(key) = column.number_key(row) else {
            return column.text_at(row);
        };
        if let Some(i) = self.0.iter().position(|(k, _)| *k == key) {
            return Cow::Borrowed(&self.0[i].1);
        }
        let text = column.text_at(row);
        if self.0.len() == LABEL_TEXTS {
            return text;
        }
        self.0.push((key, text.into_owned()));
        Cow::Borrowed(&self.0[self.0.len() - 1].1)
    }
}

/// Call `visit(row, row_number, is_validation, label)` for each row with a target of
/// `chunk`; `next` counts rows with a target across chunks.
pub(crate) fn visit_rows(
    chunk: &RawTable,
    pipeline_target: &str,
    na: &crate::data::NaValues,
    split: &mut RowSplit,
    (next, labels): (&mut u64, &mut LabelTexts),
    mut visit: impl FnMut(usize, u64, bool, &str) -> Result<()>,
) -> Result<()> {
    let target = chunk
        .column_index(pipeline_target)
        .ok_or_else(|| Error::data(Location::file(&chunk.source), "the target column is gone"))?;
    let column = &chunk.columns[target];
    for row in 0..chunk.n_rows() {
        let label = labels.text(column, row);
        if na.is_missing(&label) {
            continue;
        }
        let number = *next;
        let is_validation = split.is_validation(number, &label);
        *next += 1;
        visit(row, number, is_validation, &label)?;
    }
    Ok(())
}

/// Settings a streamed fit refuses, for now: an error naming the first.
fn refuse_unsupported(settings: &TrainSettings) -> Result<()> {
    let what = if settings.data.path == "-" {
        return Err(Error::config(
            "a streamed run reads its data once per epoch, so it cannot read stdin; expected a file (save the input to one first)",
        ));
    } else if settings.validation.is_some() {
        Some("a separate validation file")
    } else if settings.preprocessor.is_some() {
        Some("a given preprocessor")
    } else if !settings.augment.is_none() {
        Some("augmentation")
    } else if settings.image_shape.is_some() || settings.conv.is_some() {
        Some("image tables and convolution layers")
    } else if settings.class_weight.is_some() {
        Some("class weights")
    } else if !settings.encoders.is_unset() {
        Some("sequence encoders")
    } else if settings.distill.is_some() {
        Some("distillation from a teacher")
    } else {
        None
    };
    match what {
        Some(what) => Err(Error::config(format!(
            "{what} is not supported with streaming yet; expected numeric, categorical or ordinal columns and the default validation split"
        ))),
        None => Ok(()),
    }
}

/// Passes notices about the task on, and nothing about the sample's rows.
struct TaskNotices<'a>(&'a mut dyn Observer);

impl Observer for TaskNotices<'_> {
    fn notice(&mut self, notice: Notice<'_>) {
        if matches!(notice, Notice::TaskChosen { .. } | Notice::TaskDoubt(_)) {
            self.0.notice(notice);
        }
    }
}

/// The first pass over `settings.data` (see the module docs).
pub fn plan_stream(
    settings: &TrainSettings,
    stream: &StreamSettings,
    observer: &mut dyn Observer,
) -> Result<StreamPlan> {
    settings.check()?;
    refuse_unsupported(settings)?;
    let path = settings.data.path.clone();
    let options = settings.data.csv_options();
    let stamp = FileStamp::of(&path)?;
    let mut chunks = TableChunks::open(&path, &options, stream.chunk_rows)?;
    let first = chunks.next_chunk()?.ok_or_else(|| {
        Error::data(
            Location::file(&path),
            "the file has a header but no data rows; expected at least one row",
        )
    })?;
    drop(chunks);
    let sample = Source::from_table(first, settings, &mut TaskNotices(observer))?;
    let fit_options = FitOptions {
        target: settings.target.clone(),
        drop: settings.drop.clone(),
        categorical: settings.categorical.clone(),
        ordinal: settings.ordinal.clone(),
        na_values: settings.data.na_values(),
        max_categories: settings.max_categories,
        kinds: settings.kinds.clone(),
    };
    let (template, _) = Pipeline::fit(&sample.table, &sample.rows, sample.task, &fit_options)?;
    let mut fit = RunningFit::new(
        &template,
        &sample.table.headers,
        settings.max_categories,
        stream.category_limit,
    )?;
    let mut split = RowSplit::new(settings.validation_split, settings.seed, sample.task);
    let (mut next, mut rows_validation) = (0u64, 0usize);
    let mut train_rows = Vec::with_capacity(stream.chunk_rows);
    let mut labels = LabelTexts::default();
    with_chunks(&path, &options, stream.chunk_rows, |next_chunk| {
        while let Some(chunk) = next_chunk()? {
            train_rows.clear();
            visit_rows(
                &chunk,
                &settings.target,
                &template.na_values,
                &mut split,
                (&mut next, &mut labels),
                |row, _, is_validation, _| {
                    if is_validation {
                        rows_validation += 1;
                    } else {
                        train_rows.push(row);
                    }
                    Ok(())
                },
            )?;
            fit.add_rows(&chunk, &train_rows)?;
        }
        Ok(())
    })?;
    stamp.check(&path)?;
    let rows_train = fit.rows() as usize;
    if settings.validation_split > 0.0 && (rows_train == 0 || rows_validation == 0) {
        return Err(SettingsError::TooFewRowsForSplit {
            file: path,
            rows: next as usize,
            fraction: settings.validation_split,
        }
        .into());
    }
    let pipeline = fit.finish(&path)?;
    if sample.task == Task::Classification && pipeline.target_encoder.labels().len() < 2 {
        return Err(Error::data(
            Location::file(&path).column(&settings.target),
            "the target has fewer than two classes in the training rows; expected at least two",
        ));
    }
    let row_bytes = 4 * (pipeline.n_inputs() + 1);
    let cap = (stream.validation_bytes / row_bytes).max(1) as f64;
    let validation_share = if rows_validation == 0 {
        1.0
    } else {
        (cap / rows_validation as f64).min(1.0)
    };
    split.restart();
    Ok(StreamPlan {
        path,
        options,
        stamp,
        pipeline,
        task: sample.task,
        task_reason: sample.task_reason,
        rows_train,
        rows_validation,
        validation_share,
        split,
        stream: *stream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_holds_out_the_fraction_of_each_class() {
        let mut split = RowSplit::new(0.1, 42, Task::Classification);
        let (mut a, mut b) = (0, 0);
        for row in 0..10_000u64 {
            let label = if row % 10 == 0 { "rare" } else { "common" };
            if split.is_validation(row, label) {
                if label == "rare" {
                    a += 1;
                } else {
                    b += 1;
                }
            }
        }
        assert_eq!((a, b), (100, 900));
    }

    #[test]
    fn the_split_is_the_same_every_pass_and_follows_the_seed() {
        let pass = |split: &mut RowSplit| {
            split.restart();
            (0..2000u64)
                .map(|r| split.is_validation(r, if r % 3 == 0 { "a" } else { "b" }))
                .collect::<Vec<_>>()
        };
        for task in [Task::Classification, Task::Regression] {
            let mut split = RowSplit::new(0.2, 7, task);
            let first = pass(&mut split);
            assert_eq!(first, pass(&mut split));
            let held = first.iter().filter(|&&v| v).count();
            assert!((300..=500).contains(&held), "{held}");
            assert_ne!(first, pass(&mut RowSplit::new(0.2, 8, task)));
        }
    }

    #[test]
    fn a_changed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let path = path.to_str().unwrap();
        let stamp = FileStamp::of(path).unwrap();
        stamp.check(path).unwrap();
        std::fs::write(path, "a,b\n1,2\n3,4\n").unwrap();
        let error = stamp.check(path).unwrap_err().to_string();
        assert!(
            error.contains("the file changed since the first pass"),
            "{error}"
        );
    }
}

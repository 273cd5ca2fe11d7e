//! Fitting text columns: declared ones, and string columns of mostly distinct values of
//! several words (with a notice saying so).

use std::collections::HashSet;

use super::column_fit::ColumnFit;
use super::kinds::{TextOptions, MAX_TOKEN_IDS};
use super::pipeline::Feature;
use super::text::TextColumn;
use super::tokenizer::tokenize;
use super::warning::FitWarning;
use crate::data::{NaValues, RawTable};
use crate::error::{Error, Result, Setting};

/// A column is detected as text from this many present values...
const TEXT_MIN_VALUES: usize = 20;
/// ... when at least this share of them are distinct ...
const TEXT_DISTINCT_SHARE: f64 = 0.5;
/// ... and they hold at least this many words on average (names and labels hold fewer).
const TEXT_MIN_MEAN_WORDS: f64 = 4.0;

/// Check that the token ids fit in an f32 exactly (vocabulary, the out-of-vocabulary id
/// and the n-gram buckets).
pub(crate) fn check_text_options(options: &TextOptions) -> Result<()> {
    let buckets = if options.ngrams > 1 {
        options.ngram_buckets
    } else {
        0
    };
    let ids = options.vocab_size.saturating_add(buckets).saturating_add(1);
    if ids > MAX_TOKEN_IDS {
        return Err(Error::BadSetting {
            setting: Setting::Text,
            problem: format!(
                "gives {ids} token ids (vocabulary size, n-gram buckets and the out-of-vocabulary id); at most {MAX_TOKEN_IDS} fit (ids travel as f32)"
            ),
        });
    }
    Ok(())
}

/// The present training cells of column `index`.
fn present_cells<'a>(
    table: &'a RawTable,
    rows: &[usize],
    index: usize,
    na: &NaValues,
) -> Vec<std::borrow::Cow<'a, str>> {
    let column = &table.columns[index];
    rows.iter()
        .map(|&row| column.text_at(row))
        .filter(|cell| !na.is_missing(cell))
        .collect()
}

/// Fit column `index` as text on `rows` (any column may be declared text; numbers are
/// read as their text). No present value: dropped, as an empty column.
pub(crate) fn fit_text_column(
    table: &RawTable,
    rows: &[usize],
    index: usize,
    options: &TextOptions,
    na: &NaValues,
) -> ColumnFit {
    let cells = present_cells(table, rows, index, na);
    if cells.is_empty() {
        return ColumnFit::empty(table, index);
    }
    let name = &table.headers[index];
    let fitted = TextColumn::fit(name, *options, cells.iter().map(|c| &**c));
    ColumnFit::Feature(Feature::Text(fitted), Vec::new())
}

/// A string column of at least `TEXT_MIN_VALUES` present values, mostly distinct and of
/// several words each on average, is text: fitted, with a notice (`Some`).
pub(crate) fn detect_text(
    table: &RawTable,
    rows: &[usize],
    index: usize,
    options: &TextOptions,
    na: &NaValues,
) -> Option<ColumnFit> {
    let cells = present_cells(table, rows, index, na);
    let present = cells.len();
    if present < TEXT_MIN_VALUES {
        return None;
    }
    let distinct = cells.iter().collect::<HashSet<_>>().len();
    if (distinct as f64) < TEXT_DISTINCT_SHARE * present as f64 {
        return None;
    }
    let words: usize = cells.iter().map(|c| tokenize(c).len()).sum();
    let mean_words = words as f64 / present as f64;
    if mean_words < TEXT_MIN_MEAN_WORDS {
        return None;
    }
    let name = &table.headers[index];
    let fitted = TextColumn::fit(name, *options, cells.iter().map(|c| &**c));
    let notice = FitWarning::TextColumn {
        file: table.source.clone(),
        column: name.clone(),
        distinct,
        present,
        mean_words,
        vocab_size: fitted.vocab_size(),
    };
    Some(ColumnFit::Feature(Feature::Text(fitted), vec![notice]))
}

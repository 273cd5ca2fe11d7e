//! A text column: each cell tokenised (`tokenizer`), its words mapped to ids of a
//! vocabulary fitted on the training rows, optionally followed by hashed word n-grams, and
//! encoded as a one-channel sequence block (`nn::sequence`): `[L, ids..., 0 padding]`,
//! at most `max_tokens` ids. Id 0 is the out-of-vocabulary word, ids 1..=V the words, and
//! n-gram ids start after them: V + 1 + bucket. A cell that is empty, missing or without a
//! token becomes L = 1 with the out-of-vocabulary id, so every row has a step.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::kinds::TextOptions;
use super::tokenizer::{ngram_bucket, tokenize};

/// A fitted text column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextColumn {
    /// The column's name.
    pub name: String,
    /// How cells are tokenised and how the vocabulary was fitted.
    pub options: TextOptions,
    /// The words, most frequent first (ties by the word): word i has id i + 1.
    pub vocabulary: Vec<String>,
    /// Word -> id, built on first use.
    #[serde(skip)]
    ids: OnceLock<HashMap<String, u32>>,
}

impl PartialEq for TextColumn {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.options, &self.vocabulary)
            == (&other.name, &other.options, &other.vocabulary)
    }
}

impl TextColumn {
    /// Fit the vocabulary on the present training cells: the words seen at least
    /// `min_count` times in the first `max_tokens` words of a cell, the `vocab_size` most
    /// frequent kept, ties broken by the word (byte order) so the fit is deterministic.
    pub fn fit<'a>(name: &str, options: TextOptions, cells: impl Iterator<Item = &'a str>) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for cell in cells {
            for word in tokenize(cell).into_iter().take(options.max_tokens) {
                *counts.entry(word).or_default() += 1;
            }
        }
        let mut kept: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|&(_, n)| n >= options.min_count)
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        kept.truncate(options.vocab_size);
        TextColumn {
            name: name.to_string(),
            options,
            vocabulary: kept.into_iter().map(|(w, _)| w).collect(),
            ids: OnceLock::new(),
        }
    }

    /// V: the words of the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocabulary.len()
    }

    /// Token ids a network must embed: the out-of-vocabulary id, V words, and the n-gram
    /// buckets when there are n-grams.
    pub fn n_ids(&self) -> usize {
        let buckets = if self.options.ngrams > 1 {
            self.options.ngram_buckets
        } else {
            0
        };
        1 + self.vocab_size() + buckets
    }

    /// Network inputs: the length column and `max_tokens` ids.
    pub fn width(&self) -> usize {
        1 + self.options.max_tokens
    }

    /// The id of a word: 1..=V, or 0 out of the vocabulary.
    pub fn word_id(&self, word: &str) -> u32 {
        let ids = self.ids.get_or_init(|| {
            (1u32..)
                .zip(&self.vocabulary)
                .map(|(id, w)| (w.clone(), id))
                .collect()
        });
        ids.get(word).copied().unwrap_or(0)
    }

    /// The ids of a cell (`None`: missing): its first `max_tokens` words, then its word
    /// n-grams of 2..=`ngrams` words (all bigrams, then all trigrams, ...) while there is
    /// room; one out-of-vocabulary id for a cell without a word.
    pub fn ids(&self, cell: Option<&str>) -> Vec<u32> {
        let max = self.options.max_tokens;
        let mut words = cell.map(tokenize).unwrap_or_default();
        words.truncate(max);
        let mut ids: Vec<u32> = words.iter().map(|w| self.word_id(w)).collect();
        let first_ngram = (self.vocab_size() + 1) as u32;
        for n in 2..=self.options.ngrams {
            for window in words.windows(n) {
                if ids.len() == max {
                    break;
                }
                ids.push(first_ngram + ngram_bucket(window, self.options.ngram_buckets) as u32);
            }
        }
        if ids.is_empty() {
            ids.push(0);
        }
        ids
    }

    /// Write a cell's block into `out` (`width()` values, zeros on entry).
    pub fn transform(&self, cell: Option<&str>, out: &mut [f32]) {
        let ids = self.ids(cell);
        out[0] = ids.len() as f32;
        for (o, &id) in out[1..].iter_mut().zip(&ids) {
            *o = id as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::tokenizer::fnv1a;

    fn options(max_tokens: usize, min_count: usize, vocab_size: usize) -> TextOptions {
        TextOptions {
            max_tokens,
            min_count,
            vocab_size,
            ..TextOptions::default()
        }
    }

    #[test]
    fn vocabulary_keeps_frequent_words_ties_by_the_word() {
        let cells = ["b a c", "a b d", "c e", "a", "e"];
        let col = TextColumn::fit("t", options(200, 2, 100), cells.into_iter());
        // a 3, then b c e 2 each (by the word); d once, below min_count.
        assert_eq!(col.vocabulary, ["a", "b", "c", "e"]);
        let col = TextColumn::fit("t", options(200, 2, 2), cells.into_iter());
        assert_eq!(col.vocabulary, ["a", "b"]);
        let col = TextColumn::fit("t", options(200, 1, 100), cells.into_iter());
        assert_eq!(col.vocabulary, ["a", "b", "c", "e", "d"]);
        // Only the first max_tokens words of a cell count.
        let col = TextColumn::fit("t", options(1, 1, 100), cells.into_iter());
        assert_eq!(col.vocabulary, ["a", "b", "c", "e"]);
    }

    #[test]
    fn cells_become_blocks_of_ids() {
        let col = TextColumn::fit("t", options(4, 1, 100), ["x y"].into_iter());
        assert_eq!(col.ids(Some("Y, x! zz")), [2, 1, 0]);
        assert_eq!(col.ids(Some("x x x x x x")), [1, 1, 1, 1]);
        assert_eq!(col.ids(Some("  ...")), [0]);
        assert_eq!(col.ids(None), [0]);
        let mut out = [0f32; 5];
        col.transform(Some("y zz"), &mut out);
        assert_eq!(out, [2.0, 2.0, 0.0, 0.0, 0.0]);
        assert_eq!((col.vocab_size(), col.n_ids(), col.width()), (2, 3, 5));
    }

    #[test]
    fn ngrams_follow_the_words_within_the_budget() {
        let opts = TextOptions {
            max_tokens: 5,
            min_count: 1,
            vocab_size: 100,
            ngrams: 3,
            ngram_buckets: 1000,
        };
        let col = TextColumn::fit("t", opts, ["new york city"].into_iter());
        // V = 3 (city, new, york by the word): n-gram ids from 4. Fixed values computed
        // apart (Python): FNV-1a("new york") = 0xa361ce1f22a20d88, 872 modulo 1000;
        // FNV-1a("york city") = 0x67056e8f4992a8a5, 573.
        assert_eq!(fnv1a(*b"new york"), 0xa361ce1f22a20d88);
        assert_eq!(col.ids(Some("New York city")), [2, 3, 1, 4 + 872, 4 + 573]);
        assert_eq!(col.n_ids(), 1 + 3 + 1000);
    }
}

//! A categorical column: missing values imputed with the most frequent training value,
//! then one-hot encoded over the training vocabulary; an unseen value encodes as zeros.
//! Beyond `max_categories` the rarest values share one last "other" input, which unseen
//! values then use too.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// A fitted categorical column: imputed and one-hot encoded.
pub struct CategoricalColumn {
    /// The column's name.
    pub name: String,
    /// The value that replaces a missing cell (the most frequent training value).
    pub impute: String,
    /// The vocabulary in byte order; one network input per entry.
    pub categories: Vec<String>,
    /// How often each category occurred in the training rows.
    pub counts: Vec<u64>,
    /// The rarest categories folded into one last input (`--max-categories`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<OtherCategories>,
}

/// The categories that share the "other" input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherCategories {
    /// How many distinct training values were folded.
    pub n_categories: usize,
    /// How many training rows held one of them.
    pub count: u64,
}

/// Where a value goes in a column's one-hot inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A category of the vocabulary (or the imputed value of a missing cell).
    Known(usize),
    /// A value not in the vocabulary, sent to the "other" input.
    Other(usize),
    /// A value not seen in training and no "other" input: all zeros.
    Unknown,
}

impl CategoricalColumn {
    /// `values`: the non-missing training values. At most `max_categories` inputs: when
    /// there are more distinct values, the `max_categories - 1` most frequent (ties to the
    /// first in byte order) keep their own input and the rest share the last one.
    pub fn fit<'a>(
        name: &str,
        values: impl Iterator<Item = impl Into<Cow<'a, str>>>,
        max_categories: usize,
    ) -> Self {
        let mut counts: HashMap<Cow<'a, str>, u64> = HashMap::new();
        for v in values {
            *counts.entry(v.into()).or_default() += 1;
        }
        let entries = counts.into_iter().map(|(v, c)| (v.into_owned(), c));
        Self::from_counts(name, entries.collect(), max_categories, 0)
    }

    /// `fit` from counts already made: `entries` holds distinct values and their counts;
    /// `uncounted` rows held values that a bounded summary did not keep (a streamed fit),
    /// which then share the "other" input with the rarest values.
    pub fn from_counts(
        name: &str,
        mut entries: Vec<(String, u64)>,
        max_categories: usize,
        uncounted: u64,
    ) -> Self {
        let mut other = None;
        if entries.len() > max_categories.max(2) - usize::from(uncounted > 0) {
            let keep = max_categories.max(2) - 1;
            entries.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let folded = entries.split_off(keep.min(entries.len()));
            other = Some(OtherCategories {
                n_categories: folded.len(),
                count: folded.iter().map(|&(_, c)| c).sum(),
            });
        }
        if uncounted > 0 {
            let o = other.get_or_insert(OtherCategories {
                n_categories: 0,
                count: 0,
            });
            // At least one value beyond those counted; how many is unknown.
            o.n_categories += 1;
            o.count += uncounted;
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let impute = entries
            .iter()
            .fold(None::<(&str, u64)>, |best, (v, c)| match best {
                Some((_, bc)) if bc >= *c => best,
                _ => Some((v, *c)),
            })
            .map(|(v, _)| v.to_string())
            .unwrap_or_default();
        CategoricalColumn {
            name: name.to_string(),
            impute,
            categories: entries.iter().map(|(v, _)| v.clone()).collect(),
            counts: entries.iter().map(|&(_, c)| c).collect(),
            other,
        }
    }

    /// Network inputs: one per category, and one for the "other" values.
    pub fn width(&self) -> usize {
        self.categories.len() + usize::from(self.other.is_some())
    }

    /// Where a value (`None` for a missing cell, which is imputed) is encoded.
    pub fn slot(&self, value: Option<&str>) -> Slot {
        match (self.position(value), &self.other) {
            (Some(p), _) => Slot::Known(p),
            (None, Some(_)) => Slot::Other(self.categories.len()),
            (None, None) => Slot::Unknown,
        }
    }

    /// The one-hot position of a value (`None` imputes); `None` for an unseen value.
    pub fn position(&self, value: Option<&str>) -> Option<usize> {
        let v = value.unwrap_or(&self.impute);
        self.categories.binary_search_by(|c| c.as_str().cmp(v)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_in_byte_order_and_most_frequent_imputed() {
        let col = CategoricalColumn::fit("c", ["b", "a", "b", "C"].into_iter(), 1000);
        assert_eq!(col.categories, ["C", "a", "b"]);
        assert_eq!(col.impute, "b");
        assert_eq!(col.position(Some("a")), Some(1));
        assert_eq!(col.position(None), Some(2));
        assert_eq!(col.position(Some("z")), None);
    }

    #[test]
    fn ties_impute_the_first_in_byte_order() {
        let col = CategoricalColumn::fit("c", ["y", "x"].into_iter(), 1000);
        assert_eq!(col.impute, "x");
    }

    #[test]
    fn rarest_categories_share_one_input() {
        let values = ["a", "a", "a", "b", "b", "c", "d", "e", "e"];
        let col = CategoricalColumn::fit("c", values.into_iter(), 3);
        assert_eq!(col.categories, ["a", "b"]);
        assert_eq!(col.width(), 3);
        assert_eq!(
            col.other,
            Some(OtherCategories {
                n_categories: 3,
                count: 4
            })
        );
        assert_eq!(col.slot(Some("b")), Slot::Known(1));
        assert_eq!(col.slot(Some("d")), Slot::Other(2));
        assert_eq!(col.slot(Some("never")), Slot::Other(2));
        assert_eq!(col.slot(None), Slot::Known(0));
        let col = CategoricalColumn::fit("c", values.into_iter(), 5);
        assert_eq!((col.width(), &col.other), (5, &None));
        assert_eq!(col.slot(Some("never")), Slot::Unknown);
    }
}

//! A categorical column: missing values imputed with the most frequent training value,
//! then one-hot encoded over the training vocabulary; an unseen value encodes as zeros.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalColumn {
    pub name: String,
    /// The value that replaces a missing cell (the most frequent training value).
    pub impute: String,
    /// The vocabulary in byte order; one network input per entry.
    pub categories: Vec<String>,
    /// How often each category occurred in the training rows.
    pub counts: Vec<u64>,
}

impl CategoricalColumn {
    /// `values`: the non-missing training values.
    pub fn fit<'a>(name: &str, values: impl Iterator<Item = &'a str>) -> Self {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for v in values {
            *counts.entry(v).or_default() += 1;
        }
        let mut entries: Vec<(&str, u64)> = counts.into_iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // Most frequent; ties go to the first in byte order (as scikit-learn's imputer).
        let impute = entries
            .iter()
            .fold(None::<(&str, u64)>, |best, &(v, c)| match best {
                Some((_, bc)) if bc >= c => best,
                _ => Some((v, c)),
            })
            .map(|(v, _)| v.to_string())
            .unwrap_or_default();
        CategoricalColumn {
            name: name.to_string(),
            impute,
            categories: entries.iter().map(|(v, _)| v.to_string()).collect(),
            counts: entries.iter().map(|&(_, c)| c).collect(),
        }
    }

    pub fn width(&self) -> usize {
        self.categories.len()
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
        let col = CategoricalColumn::fit("c", ["b", "a", "b", "C"].into_iter());
        assert_eq!(col.categories, ["C", "a", "b"]);
        assert_eq!(col.impute, "b");
        assert_eq!(col.position(Some("a")), Some(1));
        assert_eq!(col.position(None), Some(2));
        assert_eq!(col.position(Some("z")), None);
    }

    #[test]
    fn ties_impute_the_first_in_byte_order() {
        let col = CategoricalColumn::fit("c", ["y", "x"].into_iter());
        assert_eq!(col.impute, "x");
    }
}

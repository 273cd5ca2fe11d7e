//! An ordinal column: categories with an order (`Fair<Good<Ideal`), encoded as one number,
//! the level's index standardised like a numeric column. A missing cell is imputed with
//! the training mean of the indices (0 after standardising), as numeric columns are; a
//! value that is not one of the levels is treated as missing, with a warning.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::numeric::mean_and_std;

/// An ordinal column and its levels, lowest first, as a user gives them: `COL=low<mid<high`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdinalLevels {
    /// The column's name.
    pub column: String,
    /// The levels, lowest first; at least two, none empty, no two the same.
    pub levels: Vec<String>,
}

/// An example of the `COL=low<mid<high` form, for messages.
const EXAMPLE: &str = "cut=Fair<Good<Very Good<Ideal";

impl FromStr for OrdinalLevels {
    type Err = String;

    /// Parse `COL=low<mid<high`: the column before the first `=`, the levels after it
    /// separated by `<`, kept exactly as written (spaces included).
    fn from_str(text: &str) -> Result<Self, String> {
        let Some((column, levels)) = text.split_once('=') else {
            return Err(format!(
                "'{text}' has no '='; expected COL=LEVEL<LEVEL..., e.g. '{EXAMPLE}'"
            ));
        };
        if column.is_empty() {
            return Err(format!(
                "'{text}' has no column name before '='; expected COL=LEVEL<LEVEL..., e.g. '{EXAMPLE}'"
            ));
        }
        let levels: Vec<String> = levels.split('<').map(str::to_string).collect();
        if let Some(position) = levels.iter().position(String::is_empty) {
            return Err(format!(
                "level {} of column '{column}' is empty (a '<' at an end or two in a row); expected LEVEL<LEVEL..., e.g. '{EXAMPLE}'",
                position + 1
            ));
        }
        if levels.len() < 2 {
            return Err(format!(
                "column '{column}' has the one level '{}'; expected at least two, lowest first, separated by '<'",
                levels[0]
            ));
        }
        for (i, level) in levels.iter().enumerate() {
            if levels[..i].contains(level) {
                return Err(format!(
                    "the level '{level}' of column '{column}' is given twice; expected each level once"
                ));
            }
        }
        Ok(OrdinalLevels {
            column: column.to_string(),
            levels,
        })
    }
}

/// A fitted ordinal column: the level's index, imputed and standardised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrdinalColumn {
    /// The column's name.
    pub name: String,
    /// The levels, lowest first: level i is the number i before standardising.
    pub levels: Vec<String>,
    /// How often each level occurred in the training rows.
    pub counts: Vec<u64>,
    /// The index that replaces a missing cell or an unknown value (the training mean).
    pub impute: f64,
    /// The training mean of the indices.
    pub mean: f64,
    /// Their population standard deviation; 1 when all rows hold one level.
    pub std: f64,
}

impl OrdinalColumn {
    /// Fit on the present training values (`values`); those not among `given.levels` are
    /// left out, as missing.
    pub fn fit<'a>(given: &OrdinalLevels, values: impl Iterator<Item = &'a str>) -> Self {
        let mut counts = vec![0u64; given.levels.len()];
        let mut indices = Vec::new();
        for value in values {
            if let Some(i) = given.levels.iter().position(|l| l == value) {
                counts[i] += 1;
                indices.push(i as f64);
            }
        }
        let (mean, std) = mean_and_std(&indices);
        OrdinalColumn {
            name: given.column.clone(),
            levels: given.levels.clone(),
            counts,
            impute: mean,
            mean,
            std,
        }
    }

    /// The index of `value` among the levels; `None` for a value that is not one.
    pub fn index(&self, value: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == value)
    }

    /// The network input for a cell's level index (`None`: missing or unknown, imputed).
    pub fn transform(&self, index: Option<usize>) -> f32 {
        let v = index.map_or(self.impute, |i| i as f64);
        ((v - self.mean) / self.std) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OrdinalLevels, String> {
        text.parse()
    }

    #[test]
    fn levels_parse_exactly_as_written() {
        let given = parse("cut=Fair<Very Good<Ideal").unwrap();
        assert_eq!(given.column, "cut");
        assert_eq!(given.levels, ["Fair", "Very Good", "Ideal"]);
        let given = parse("a=b=c<d").unwrap();
        assert_eq!(
            (given.column.as_str(), given.levels[0].as_str()),
            ("a", "b=c")
        );
    }

    #[test]
    fn malformed_levels_are_refused_with_the_reason() {
        assert_eq!(
            parse("cut").unwrap_err(),
            "'cut' has no '='; expected COL=LEVEL<LEVEL..., e.g. 'cut=Fair<Good<Very Good<Ideal'"
        );
        assert_eq!(
            parse("=a<b").unwrap_err(),
            "'=a<b' has no column name before '='; expected COL=LEVEL<LEVEL..., e.g. 'cut=Fair<Good<Very Good<Ideal'"
        );
        assert_eq!(
            parse("cut=Fair<<Ideal").unwrap_err(),
            "level 2 of column 'cut' is empty (a '<' at an end or two in a row); expected LEVEL<LEVEL..., e.g. 'cut=Fair<Good<Very Good<Ideal'"
        );
        assert_eq!(
            parse("cut=Fair").unwrap_err(),
            "column 'cut' has the one level 'Fair'; expected at least two, lowest first, separated by '<'"
        );
        assert_eq!(
            parse("cut=Fair<Good<Fair").unwrap_err(),
            "the level 'Fair' of column 'cut' is given twice; expected each level once"
        );
    }

    #[test]
    fn index_standardised_and_unknown_imputed() {
        let given = parse("g=low<mid<high").unwrap();
        let col = OrdinalColumn::fit(&given, ["low", "high", "mid", "high", "odd"].into_iter());
        assert_eq!(col.counts, [1, 1, 2]);
        assert_eq!(col.mean, 1.25);
        assert_eq!(col.transform(None), 0.0);
        assert_eq!(col.index("odd"), None);
        let high = ((2.0 - 1.25) / col.std) as f32;
        assert_eq!(col.transform(col.index("high")), high);
    }
}

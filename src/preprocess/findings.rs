//! What `Pipeline::transform` could not encode: counts of cells with their first example,
//! summed over the parts of the rows encoded in parallel.

/// Values of a categorical column not seen in training (encoded as all zeros; a column
/// with an "other" input encodes them there and does not report them), or of an ordinal
/// column not among its levels (encoded as missing).
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownCategories {
    /// The column's name.
    pub column: String,
    /// An ordinal column's: the values are encoded as missing, not as all zeros.
    pub as_missing: bool,
    /// How many cells.
    pub count: usize,
    /// The first such cell's value.
    pub first_value: String,
    /// The line of the first such cell.
    pub first_line: u64,
}

/// Cells of a numeric column that were infinite, beyond f64 ("1e400"), or so far from
/// the training values that they cannot be standardised into an f32: imputed as missing.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFiniteValues {
    /// The column's name.
    pub column: String,
    /// How many cells.
    pub count: usize,
    /// The first such cell's value.
    pub first_value: String,
    /// The line of the first such cell.
    pub first_line: u64,
}

/// A count of cells with their first example, found in consecutive parts of the rows.
pub(crate) trait Finding {
    /// Count `later`, found after `self` in row order, in `self`.
    fn add(&mut self, later: Self);
}

impl UnknownCategories {
    /// How the values were encoded: `as all zeros`, or `as missing` (ordinal columns).
    pub fn encoded_as(&self) -> &'static str {
        if self.as_missing {
            "as missing"
        } else {
            "as all zeros"
        }
    }
}

impl Finding for NonFiniteValues {
    fn add(&mut self, later: Self) {
        self.count += later.count;
    }
}

impl Finding for UnknownCategories {
    fn add(&mut self, later: Self) {
        self.count += later.count;
    }
}

/// Add `part`, found after `total` in row order, to `total`.
pub(crate) fn merge_finding<T: Finding>(total: &mut Option<T>, part: Option<T>) {
    match (total.as_mut(), part) {
        (Some(total), Some(part)) => total.add(part),
        (None, part) => *total = part,
        (_, None) => {}
    }
}

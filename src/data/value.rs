//! What a single cell holds: missing, a number, or text.

/// The tokens that mean "missing" (an empty cell is always missing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NaValues(pub Vec<String>);

impl Default for NaValues {
    fn default() -> Self {
        NaValues(
            ["NA", "N/A", "NaN", "nan", "null"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
    }
}

impl NaValues {
    pub fn is_missing(&self, cell: &str) -> bool {
        cell.is_empty() || self.0.iter().any(|na| na == cell)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Missing,
    Number(f64),
    /// A number that overflows f64 or is infinite ("inf", "1e400").
    NonFinite,
    Text(&'a str),
}

/// Classify a trimmed cell.
pub fn parse_cell<'a>(cell: &'a str, na: &NaValues) -> Cell<'a> {
    if na.is_missing(cell) {
        return Cell::Missing;
    }
    match fast_float_like(cell) {
        Some(v) if v.is_finite() => Cell::Number(v),
        Some(v) if v.is_nan() => Cell::Missing,
        Some(_) => Cell::NonFinite,
        None => Cell::Text(cell),
    }
}

/// Rust's float parser, restricted to what people write as numbers in CSV files
/// (it would also accept "infinity" and "NaN" spelled in any case).
fn fast_float_like(cell: &str) -> Option<f64> {
    let first = cell.as_bytes()[0];
    let looks_numeric = first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.');
    let is_inf_word = cell.eq_ignore_ascii_case("inf") || cell.eq_ignore_ascii_case("infinity");
    if !looks_numeric && !is_inf_word {
        return None;
    }
    cell.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_classified() {
        let na = NaValues::default();
        assert_eq!(parse_cell("", &na), Cell::Missing);
        assert_eq!(parse_cell("NA", &na), Cell::Missing);
        assert_eq!(parse_cell("null", &na), Cell::Missing);
        assert_eq!(parse_cell("1.5", &na), Cell::Number(1.5));
        assert_eq!(parse_cell("-2e3", &na), Cell::Number(-2000.0));
        assert_eq!(parse_cell("1e400", &na), Cell::NonFinite);
        assert_eq!(parse_cell("-inf", &na), Cell::NonFinite);
        assert_eq!(parse_cell("Infinity", &na), Cell::NonFinite);
        assert_eq!(parse_cell("3,750", &na), Cell::Text("3,750"));
        assert_eq!(parse_cell("abc", &na), Cell::Text("abc"));
    }
}

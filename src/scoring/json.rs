//! Numbers as `predict` writes them for scripts: JSON numbers in the shortest form that reads
//! back to the same f64 (`csvnn::number_text::round_trip`), and kept input cells in JSON
//! with the type they were read as.

use crate::data::plain_number;
use crate::number_text::round_trip;

/// `x` as a JSON number in its shortest form; `null` when it is not finite.
pub fn json_number(x: f64) -> String {
    if x.is_finite() {
        round_trip(x)
    } else {
        "null".to_string()
    }
}

/// A JSON string holding `text`.
pub fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A kept input cell as a JSON value: a number when the cell is a plain finite number as
/// csvnn reads one (its text verbatim when that is already a JSON number, `1e5` or
/// `-0.5`; else the shortest form of its value, `+3` -> `3`, `.5` -> `0.5`); any other
/// cell, missing ones included, as a string of its text.
pub fn json_cell(text: &str) -> String {
    match plain_number(text) {
        Some(_) if is_json_number(text) => text.to_string(),
        Some(value) => round_trip(value),
        None => json_string(text),
    }
}

/// True when `text` is a number in JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let digits = |s: &str| -> usize { s.bytes().take_while(u8::is_ascii_digit).count() };
    let mut rest = text.strip_prefix('-').unwrap_or(text);
    let int = digits(rest);
    if int == 0 || (int > 1 && rest.starts_with('0')) {
        return false;
    }
    rest = &rest[int..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = digits(fraction);
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    if let Some(exponent) = rest.strip_prefix(['e', 'E']) {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        let n = digits(exponent);
        return n > 0 && n == exponent.len();
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_form_reads_back_and_takes_an_exponent_only_when_shorter() {
        let cases = [
            (7.446310952084105e-9, "7.446310952084105e-9"),
            (0.0051092989367080115, "0.0051092989367080115"),
            (0.25, "0.25"),
            (0.5, "0.5"),
            (1.0, "1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (123456.0, "123456"),
            (1e21, "1e21"),
            (1.5e-5, "1.5e-5"),
            (0.00015, "1.5e-4"),
            (0.0015, "0.0015"),
            (-2.5e-7, "-2.5e-7"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        ];
        for (x, text) in cases {
            assert_eq!(round_trip(x), text);
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), x.to_bits());
        }
        assert_eq!(round_trip(f64::NAN), "NaN");
        assert_eq!(json_number(f64::INFINITY), "null");
        assert_eq!(json_number(7.446310952084105e-9), "7.446310952084105e-9");
    }

    #[test]
    fn kept_cells_keep_their_type() {
        let cases = [
            ("847.0541480477701", "847.0541480477701"),
            ("-3", "-3"),
            ("1e5", "1e5"),
            ("2.5E-3", "2.5E-3"),
            ("+3", "3"),
            (".5", "0.5"),
            ("5.", "5"),
            ("007", "7"),
            ("No", "\"No\""),
            ("", "\"\""),
            ("NA", "\"NA\""),
            ("inf", "\"inf\""),
            ("1e400", "\"1e400\""),
            ("3,5", "\"3,5\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ];
        for (cell, json) in cases {
            assert_eq!(json_cell(cell), json, "{cell:?}");
            let parsed: serde_json::Value = serde_json::from_str(&json_cell(cell)).unwrap();
            assert_eq!(parsed.is_number(), !json.starts_with('"'), "{cell:?}");
        }
    }
}

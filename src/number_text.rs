//! Numbers as text, for two readers. People (`inspect`, the `preprocess` table, warnings):
//! fixed decimals or the shortest form for everyday magnitudes, an exponent (`1.2e300`)
//! for huge or tiny ones, so that a stray 1e300 prints as 5 characters, not 301. Programs
//! (`predict`'s output): the shortest text that reads back to the same f64, with an
//! exponent wherever that is shorter.

/// Magnitudes from which a number is printed with an exponent.
const HUGE: f64 = 1e15;
/// Magnitudes (above 0) below which a number is printed with an exponent.
const TINY: f64 = 1e-4;

/// True when `x` prints better with an exponent.
fn wants_exponent(x: f64) -> bool {
    x.is_finite() && x != 0.0 && (x.abs() >= HUGE || x.abs() < TINY)
}

/// `x` with `decimals` decimals (`12.3457`); huge or tiny numbers with an exponent and at
/// most that many decimals (`1.2e300`, `3.5e-7`).
pub fn fixed_or_exponent(x: f64, decimals: usize) -> String {
    if wants_exponent(x) {
        let text = format!("{x:.decimals$e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        format!("{mantissa}e{exponent}")
    } else {
        format!("{x:.decimals$}")
    }
}

/// The shortest text that reads back as `x` (`0.1`, `1234.5`), with an exponent for huge
/// or tiny numbers (`1e300`): for people.
/// An `f32` prints as the shortest text that reads back to it (`eps 1e-8`, `lr 0.001`).
pub fn readable<T: std::fmt::Display + std::fmt::LowerExp + Copy + Into<f64>>(x: T) -> String {
    if wants_exponent(x.into()) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// The shortest text that reads back to exactly `x`, with an exponent whenever that is
/// shorter (`7.446310952084105e-9`, not `0.000000007446310952084105`; `0.25`, not
/// `2.5e-1`): for programs. Non-finite values as Rust writes them (`NaN`, `inf`, `-inf`).
/// For an `f32`, the shortest text that reads back to that `f32` (`1e-8`).
pub fn round_trip<T: std::fmt::Display + std::fmt::LowerExp>(x: T) -> String {
    let plain = x.to_string();
    // Non-finite values read the same both ways (`NaN`, `inf`), so the plain form stays.
    let exponent = format!("{x:e}");
    if exponent.len() < plain.len() {
        exponent
    } else {
        plain
    }
}

/// A count of rows in words that agree with it: `1 row`, `2 rows`.
pub fn rows(n: usize) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}

/// `singular` for one, `plural` for any other count (`has`/`have`, `is`/`are`).
pub fn agree(n: usize, singular: &'static str, plural: &'static str) -> &'static str {
    if n == 1 {
        singular
    } else {
        plural
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyday_numbers_keep_their_form() {
        assert_eq!(fixed_or_exponent(12.345678, 4), "12.3457");
        assert_eq!(fixed_or_exponent(0.0, 4), "0.0000");
        assert_eq!(fixed_or_exponent(-3.0, 4), "-3.0000");
        assert_eq!(readable(1234.5), "1234.5");
        assert_eq!(readable(0.0), "0");
        assert_eq!(readable(f64::NAN), "NaN");
    }

    #[test]
    fn round_trip_takes_the_shorter_form_for_either_width() {
        assert_eq!(round_trip(1e-8_f32), "1e-8");
        assert_eq!(readable(1e-8_f32), "1e-8");
        assert_eq!(readable(0.001_f32), "0.001");
        assert_eq!(round_trip(0.001_f32), "1e-3");
        assert_eq!(round_trip(1e-8_f64), "1e-8");
        assert_eq!(round_trip(f64::NAN), "NaN");
        assert_eq!(round_trip(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn huge_and_tiny_numbers_get_an_exponent() {
        assert_eq!(fixed_or_exponent(1.2e300, 4), "1.2e300");
        assert_eq!(fixed_or_exponent(-1e300, 4), "-1e300");
        assert_eq!(fixed_or_exponent(1.23456789e20, 4), "1.2346e20");
        assert_eq!(fixed_or_exponent(3.5e-7, 4), "3.5e-7");
        assert_eq!(readable(1e300), "1e300");
        assert_eq!(readable(-2.5e-9), "-2.5e-9");
        assert_eq!(fixed_or_exponent(f64::INFINITY, 4), "inf");
    }
}

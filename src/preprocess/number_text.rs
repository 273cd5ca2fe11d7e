//! Numbers as people read them: fixed decimals or the shortest form for everyday
//! magnitudes, an exponent (`1.2e300`) for huge or tiny ones, so that a stray 1e300 prints
//! as 5 characters, not 301.

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
/// or tiny numbers (`1e300`).
pub fn shortest(x: f64) -> String {
    if wants_exponent(x) {
        format!("{x:e}")
    } else {
        x.to_string()
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
        assert_eq!(shortest(1234.5), "1234.5");
        assert_eq!(shortest(0.0), "0");
        assert_eq!(shortest(f64::NAN), "NaN");
    }

    #[test]
    fn huge_and_tiny_numbers_get_an_exponent() {
        assert_eq!(fixed_or_exponent(1.2e300, 4), "1.2e300");
        assert_eq!(fixed_or_exponent(-1e300, 4), "-1e300");
        assert_eq!(fixed_or_exponent(1.23456789e20, 4), "1.2346e20");
        assert_eq!(fixed_or_exponent(3.5e-7, 4), "3.5e-7");
        assert_eq!(shortest(1e300), "1e300");
        assert_eq!(shortest(-2.5e-9), "-2.5e-9");
        assert_eq!(fixed_or_exponent(f64::INFINITY, 4), "inf");
    }
}

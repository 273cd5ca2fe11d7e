//! Dates, times of day and timestamps (counts since the Unix epoch or midnight, as
//! Parquet stores them) written as ISO 8601 text, the way a CSV export writes them.

use std::fmt::Write;

/// A unit of time: how many of it make a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn per_second(self) -> i64 {
        match self {
            Unit::Millis => 1_000,
            Unit::Micros => 1_000_000,
            Unit::Nanos => 1_000_000_000,
        }
    }

    /// Digits of a fraction of a second in this unit.
    fn digits(self) -> usize {
        match self {
            Unit::Millis => 3,
            Unit::Micros => 6,
            Unit::Nanos => 9,
        }
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` for `days` since 1970-01-01 (a sign and more digits outside 0..=9999).
pub(crate) fn write_date(days: i64, out: &mut String) {
    let (year, month, day) = civil_from_days(days);
    let _ = if (0..=9999).contains(&year) {
        write!(out, "{year:04}-{month:02}-{day:02}")
    } else {
        write!(out, "{year:+05}-{month:02}-{day:02}")
    };
}

/// `HH:MM:SS`, with the fraction of a second when it is not zero, for `count` units since
/// midnight.
pub(crate) fn write_time(count: i64, unit: Unit, out: &mut String) {
    let per_second = unit.per_second();
    let seconds = count.div_euclid(per_second);
    let fraction = count.rem_euclid(per_second);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        seconds.div_euclid(3600),
        seconds.rem_euclid(3600) / 60,
        seconds.rem_euclid(60)
    );
    if fraction != 0 {
        let _ = write!(out, ".{fraction:0width$}", width = unit.digits());
        while out.ends_with('0') {
            out.pop();
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]`, and `Z` when `utc`, for `count` units since the
/// epoch.
pub(crate) fn write_timestamp(count: i64, unit: Unit, utc: bool, out: &mut String) {
    let per_day = unit.per_second() * 86_400;
    write_date(count.div_euclid(per_day), out);
    out.push('T');
    write_time(count.rem_euclid(per_day), unit, out);
    if utc {
        out.push('Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(days: i64) -> String {
        let mut s = String::new();
        write_date(days, &mut s);
        s
    }

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(59), "1970-03-01");
        assert_eq!(date(11_016), "2000-02-29");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(date(-719_528), "0000-01-01");
        assert_eq!(date(2_932_897), "+10000-01-01");
    }

    #[test]
    fn times_and_timestamps_keep_their_fraction() {
        let mut s = String::new();
        write_time(3_723_500, Unit::Millis, &mut s);
        assert_eq!(s, "01:02:03.5");
        s.clear();
        write_timestamp(-1, Unit::Micros, true, &mut s);
        assert_eq!(s, "1969-12-31T23:59:59.999999Z");
        s.clear();
        write_timestamp(1_700_000_000_000_000_123, Unit::Nanos, false, &mut s);
        assert_eq!(s, "2023-11-14T22:13:20.000000123");
    }
}

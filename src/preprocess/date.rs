//! A date column: each cell parsed as a date (ISO 8601, or a given strftime-style format)
//! and encoded as a fixed block of inputs: the year with its elapsed fraction,
//! standardised, then sine/cosine pairs of the month, the day of the week, the day of the
//! year and, when the column has times, the hour. A missing cell takes each input's
//! training mean, as a numeric column does (the year input is then 0).

use std::f64::consts::TAU;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::date_format::DateFormat;
use super::date_parse::{parse_iso, DateProblem, DateTime};
use super::numeric::mean_and_std;

/// A date column given a format, as a user writes it: `COL=FMT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateFormatOption {
    /// The column's name.
    pub column: String,
    /// The format, strftime-style (`DateFormat`).
    #[serde(with = "format_text")]
    pub format: DateFormat,
}

impl FromStr for DateFormatOption {
    type Err = String;

    /// Parse `COL=FMT`: the column before the first `=`, the format after it.
    fn from_str(text: &str) -> Result<Self, String> {
        let Some((column, format)) = text.split_once('=') else {
            return Err(format!(
                "'{text}' has no '='; expected COL=FORMAT, e.g. 'day=%d/%m/%Y'"
            ));
        };
        if column.is_empty() {
            return Err(format!(
                "'{text}' has no column name before '='; expected COL=FORMAT, e.g. 'day=%d/%m/%Y'"
            ));
        }
        Ok(DateFormatOption {
            column: column.to_string(),
            format: format.parse()?,
        })
    }
}

/// A `DateFormat` saved as the text it was written as.
mod format_text {
    use super::DateFormat;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(format: &DateFormat, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(format.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateFormat, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The names of a date column's inputs, in order: 7, or 9 with times.
const PARTS: [&str; 9] = [
    "year",
    "month_sin",
    "month_cos",
    "weekday_sin",
    "weekday_cos",
    "yearday_sin",
    "yearday_cos",
    "hour_sin",
    "hour_cos",
];

/// A fitted date column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateColumn {
    /// The column's name.
    pub name: String,
    /// The format of its cells; `None`: ISO 8601.
    #[serde(default, with = "optional_format")]
    pub format: Option<DateFormat>,
    /// Some training value had a time of day: the hour is encoded too.
    pub has_time: bool,
    /// The training mean of the fractional year.
    pub year_mean: f64,
    /// Its population standard deviation; 1 when constant.
    pub year_std: f64,
    /// What a missing cell becomes: each input's training mean (the year's is 0).
    pub impute: Vec<f64>,
    /// The earliest training date, ISO 8601.
    pub min: String,
    /// The latest training date, ISO 8601.
    pub max: String,
}

/// An optional `DateFormat` saved as its text, or null.
mod optional_format {
    use super::DateFormat;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(format: &Option<DateFormat>, s: S) -> Result<S::Ok, S::Error> {
        match format {
            Some(f) => s.serialize_some(f.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateFormat>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| t.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A sine/cosine pair of `value` on a cycle of `period`.
fn cycle(value: f64, period: f64) -> [f64; 2] {
    let angle = TAU * value / period;
    [angle.sin(), angle.cos()]
}

/// The inputs of a date before the year is standardised: fractional year, then the pairs.
fn raw_parts(date: &DateTime) -> [f64; 9] {
    let days_in_year = if super::date_parse::is_leap(date.year) {
        366.0
    } else {
        365.0
    };
    let [ms, mc] = cycle(f64::from(date.month - 1), 12.0);
    let [ws, wc] = cycle(f64::from(date.weekday()), 7.0);
    let [ys, yc] = cycle(f64::from(date.day_of_year() - 1), days_in_year);
    let [hs, hc] = cycle(date.hour_of_day(), 24.0);
    [date.fractional_year(), ms, mc, ws, wc, ys, yc, hs, hc]
}

impl DateColumn {
    /// Parse a cell with the column's format (ISO 8601 when it has none).
    pub fn parse(&self, text: &str) -> Result<DateTime, DateProblem> {
        parse_date(self.format.as_ref(), text)
    }

    /// Fit on the parsed training dates (missing cells left out).
    pub fn fit(name: &str, format: Option<DateFormat>, dates: &[DateTime]) -> Self {
        let has_time = dates.iter().any(|d| d.has_time);
        let years: Vec<f64> = dates.iter().map(DateTime::fractional_year).collect();
        let (year_mean, year_std) = mean_and_std(&years);
        let width = if has_time { 9 } else { 7 };
        let mut impute = vec![0.0; width];
        for date in dates {
            for (sum, v) in impute.iter_mut().zip(raw_parts(date)).skip(1) {
                *sum += v;
            }
        }
        for sum in &mut impute[1..] {
            *sum /= dates.len().max(1) as f64;
        }
        let key = |d: &&DateTime| (d.year, d.month, d.day, d.hour, d.minute);
        let shown = |d: Option<&DateTime>| d.map_or(String::new(), DateTime::iso);
        DateColumn {
            name: name.to_string(),
            format,
            has_time,
            year_mean,
            year_std,
            impute,
            min: shown(dates.iter().min_by_key(key)),
            max: shown(dates.iter().max_by_key(key)),
        }
    }

    /// Network inputs: 9 with times, 7 without.
    pub fn width(&self) -> usize {
        self.impute.len()
    }

    /// The names of the inputs, in order (`year`, `month_sin`, ...).
    pub fn parts(&self) -> &'static [&'static str] {
        &PARTS[..self.width()]
    }

    /// Write the inputs of a cell into `out` (`width()` values; `None`: missing).
    pub fn transform(&self, date: Option<&DateTime>, out: &mut [f32]) {
        match date {
            Some(date) => {
                let mut parts = raw_parts(date);
                parts[0] = (parts[0] - self.year_mean) / self.year_std;
                for (o, v) in out.iter_mut().zip(parts) {
                    *o = v as f32;
                }
            }
            None => {
                for (o, &v) in out.iter_mut().zip(&self.impute) {
                    *o = v as f32;
                }
            }
        }
    }
}

/// Parse `text` with `format`, or as ISO 8601 without one.
pub(crate) fn parse_date(format: Option<&DateFormat>, text: &str) -> Result<DateTime, DateProblem> {
    match format {
        Some(format) => format.parse(text),
        None => parse_iso(text),
    }
}

/// The message for a cell that is not a date: what was expected, and why an absurd one is
/// not a date.
pub(crate) fn date_error_message(
    text: &str,
    format: Option<&DateFormat>,
    problem: &DateProblem,
) -> String {
    match problem {
        DateProblem::Absurd(reason) => format!("'{text}' is not a date: {reason}"),
        DateProblem::NotADate => match format {
            Some(f) => format!("'{text}' is not a date in the format '{f}'"),
            None => format!(
                "'{text}' is not a date; expected ISO 8601, like 2016-03-01 or 2016-03-01T12:30:00Z"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_year_and_cycles() {
        let dates: Vec<DateTime> = ["2016-01-04T06:00Z", "2018-01-04T18:00Z"]
            .iter()
            .map(|t| parse_iso(t).unwrap())
            .collect();
        let col = DateColumn::fit("d", None, &dates);
        assert!(col.has_time);
        assert_eq!(col.width(), 9);
        assert_eq!(col.min, "2016-01-04T06:00:00Z");
        assert_eq!(col.max, "2018-01-04T18:00:00Z");
        let mut out = [0f32; 9];
        col.transform(Some(&dates[0]), &mut out);
        // Two years apart: standardised to -1 and +1 (up to the hours' fractions).
        assert!((out[0] + 1.0).abs() < 1e-3, "{out:?}");
        // January: angle 0. A Monday: angle 0. Day 4 of 366. 06:00: a quarter turn.
        assert_eq!((out[1], out[2]), (0.0, 1.0));
        assert_eq!((out[3], out[4]), (0.0, 1.0));
        let doy = (TAU * 3.0 / 366.0) as f32;
        assert!((out[5] - doy.sin()).abs() < 1e-6 && (out[6] - doy.cos()).abs() < 1e-6);
        assert!((out[7] - 1.0).abs() < 1e-6 && out[8].abs() < 1e-6);
        // Missing: each input's training mean; 06:00 and 18:00 average to sin 0, cos 0.
        col.transform(None, &mut out);
        assert_eq!(out[0], 0.0);
        assert_eq!((out[1], out[2]), (0.0, 1.0));
        assert!(out[7].abs() < 1e-6 && out[8].abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn dates_without_times_have_seven_inputs() {
        let dates = [parse_iso("2016-03-01").unwrap()];
        let col = DateColumn::fit("d", None, &dates);
        assert_eq!(col.parts(), &PARTS[..7]);
        assert_eq!(col.year_std, 1.0);
    }

    #[test]
    fn format_options_parse_and_save_as_text() {
        let given: DateFormatOption = "day=%d/%m/%Y".parse().unwrap();
        assert_eq!(given.column, "day");
        assert_eq!(
            serde_json::to_string(&given).unwrap(),
            r#"{"column":"day","format":"%d/%m/%Y"}"#
        );
        assert_eq!(
            "day".parse::<DateFormatOption>().unwrap_err(),
            "'day' has no '='; expected COL=FORMAT, e.g. 'day=%d/%m/%Y'"
        );
        assert!("day=%d/%m"
            .parse::<DateFormatOption>()
            .unwrap_err()
            .contains("has no year"));
    }
}

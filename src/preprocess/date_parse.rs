//! Dates as text: ISO 8601 dates and date-times parsed into a calendar `DateTime` (UTC when
//! the text has an offset), and the calendar arithmetic. Written here rather than taken
//! from a date crate: what a CSV column needs fits in two files (formats: `date_format.rs`).

/// A calendar date with a time of day, in UTC when the text gave an offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateTime {
    /// 1..=9999.
    pub year: i32,
    /// 1..=12.
    pub month: u32,
    /// 1..=the month's days.
    pub day: u32,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..61 (a leap second reads as 60), with its fraction.
    pub second: f64,
    /// The text had a time of day (a date alone is midnight).
    pub has_time: bool,
}

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateProblem {
    /// The text does not have the form of a date at all.
    NotADate,
    /// The text has the form of a date but names none (`2016-02-30`, month 13): the reason.
    Absurd(String),
}

pub(crate) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Whether `year` is a leap year of the Gregorian calendar.
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` of `year`.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the date (negative before it); proleptic Gregorian calendar
/// (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

impl DateTime {
    /// Day of the week, Monday = 0 .. Sunday = 6.
    pub fn weekday(&self) -> u32 {
        (days_from_civil(self.year, self.month, self.day) + 3).rem_euclid(7) as u32
    }

    /// Day of the year, 1..=366.
    pub fn day_of_year(&self) -> u32 {
        (days_from_civil(self.year, self.month, self.day) - days_from_civil(self.year, 1, 1) + 1)
            as u32
    }

    /// The year with the elapsed part of it as a fraction (2016-07-02 is about 2016.5).
    pub fn fractional_year(&self) -> f64 {
        let days = if is_leap(self.year) { 366.0 } else { 365.0 };
        let elapsed = f64::from(self.day_of_year() - 1) + self.hour_of_day() / 24.0;
        f64::from(self.year) + elapsed / days
    }

    /// The hour with minutes and seconds as a fraction, 0..24.
    pub fn hour_of_day(&self) -> f64 {
        f64::from(self.hour) + f64::from(self.minute) / 60.0 + self.second / 3600.0
    }

    /// Check the fields name a real moment: year 1..=9999, the month's days, a clock time.
    pub(crate) fn check(self) -> Result<DateTime, DateProblem> {
        let absurd = |reason: String| Err(DateProblem::Absurd(reason));
        if !(1..=9999).contains(&self.year) {
            return absurd(format!("the year {} is outside 1..9999", self.year));
        }
        if !(1..=12).contains(&self.month) {
            return absurd(format!("there is no month {}", self.month));
        }
        let days = days_in_month(self.year, self.month);
        if self.day == 0 || self.day > days {
            let name = MONTHS[self.month as usize - 1];
            let mut name = name.to_string();
            name[..1].make_ascii_uppercase();
            return absurd(format!(
                "{name} {} has {days} days, not {}",
                self.year, self.day
            ));
        }
        if self.hour > 23 || self.minute > 59 || !(0.0..61.0).contains(&self.second) {
            return absurd(format!(
                "{:02}:{:02}:{:02} is not a time of day",
                self.hour, self.minute, self.second as u32
            ));
        }
        Ok(self)
    }

    /// This moment `minutes` earlier (an offset of +01:00 is 60 minutes ahead of UTC).
    pub(crate) fn minus_minutes(self, minutes: i64) -> DateTime {
        let total = days_from_civil(self.year, self.month, self.day) * 1440
            + i64::from(self.hour) * 60
            + i64::from(self.minute)
            - minutes;
        let (year, month, day) = civil_from_days(total.div_euclid(1440));
        let in_day = total.rem_euclid(1440);
        DateTime {
            year,
            month,
            day,
            hour: (in_day / 60) as u32,
            minute: (in_day % 60) as u32,
            ..self
        }
    }

    /// ISO 8601, as `2016-03-01` or `2016-03-01T12:30:00Z`.
    pub fn iso(&self) -> String {
        let date = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        if self.has_time {
            format!(
                "{date}T{:02}:{:02}:{:02}Z",
                self.hour, self.minute, self.second as u32
            )
        } else {
            date
        }
    }
}

/// A cursor over the bytes of a date's text.
pub(crate) struct Cursor<'a> {
    pub(crate) text: &'a [u8],
    pub(crate) at: usize,
}

impl Cursor<'_> {
    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    /// Between `min` and `max` ASCII digits as a number.
    pub(crate) fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.at;
        while self.at - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        if self.at - start < min {
            return None;
        }
        let digits = std::str::from_utf8(&self.text[start..self.at]).ok()?;
        digits.parse().ok()
    }

    /// A decimal fraction's digits (after the point) as a fraction of one.
    pub(crate) fn fraction(&mut self) -> Option<f64> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.text[start..self.at]).ok()?;
        (!digits.is_empty()).then(|| format!("0.{digits}").parse().ok())?
    }

    /// `Z`, `±HH:MM`, `±HHMM` or `±HH` as minutes ahead of UTC.
    pub(crate) fn offset(&mut self) -> Result<i64, DateProblem> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Ok(0);
        }
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(DateProblem::NotADate),
        };
        self.at += 1;
        let hours = self.number(2, 2).ok_or(DateProblem::NotADate)?;
        let minutes = if self.eat(b':') {
            self.number(2, 2).ok_or(DateProblem::NotADate)?
        } else {
            self.number(2, 2).unwrap_or(0)
        };
        if hours > 23 || minutes > 59 {
            return Err(DateProblem::Absurd(format!(
                "the offset {hours:02}:{minutes:02} is beyond 23:59"
            )));
        }
        Ok(sign * i64::from(hours * 60 + minutes))
    }

    pub(crate) fn done(&self) -> bool {
        self.at == self.text.len()
    }
}

/// Parse an ISO 8601 date (`2016-03-01`) or date-time (`2016-03-01T12:30`,
/// `2016-03-01T12:30:00.5Z`, `2016-03-01 12:30:00+01:00`); a date-time with an offset is
/// converted to UTC. Surrounding spaces are ignored.
pub fn parse_iso(text: &str) -> Result<DateTime, DateProblem> {
    let mut c = Cursor {
        text: text.trim().as_bytes(),
        at: 0,
    };
    let not = DateProblem::NotADate;
    let year = c.number(4, 4).ok_or(not.clone())? as i32;
    if !c.eat(b'-') {
        return Err(not);
    }
    let month = c.number(2, 2).ok_or(not.clone())?;
    if !c.eat(b'-') {
        return Err(not);
    }
    let day = c.number(2, 2).ok_or(not.clone())?;
    let mut date = DateTime {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0.0,
        has_time: false,
    };
    if c.done() {
        return date.check();
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return Err(not);
    }
    date.has_time = true;
    date.hour = c.number(2, 2).ok_or(not.clone())?;
    if !c.eat(b':') {
        return Err(not);
    }
    date.minute = c.number(2, 2).ok_or(not.clone())?;
    if c.eat(b':') {
        date.second = f64::from(c.number(2, 2).ok_or(not.clone())?);
        if c.eat(b'.') || c.eat(b',') {
            date.second += c.fraction().ok_or(not.clone())?;
        }
    }
    let offset = if c.done() { 0 } else { c.offset()? };
    if !c.done() {
        return Err(not);
    }
    let date = date.check()?;
    if offset == 0 {
        return Ok(date);
    }
    date.minus_minutes(offset).check()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A date-time from its parts (shared with `date_format.rs`'s tests).
    pub(crate) fn date(
        y: i32,
        mo: u32,
        d: u32,
        h: u32,
        mi: u32,
        s: f64,
        has_time: bool,
    ) -> DateTime {
        DateTime {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            has_time,
        }
    }

    #[test]
    fn iso_dates_and_date_times_parse() {
        assert_eq!(
            parse_iso("2016-03-01"),
            Ok(date(2016, 3, 1, 0, 0, 0.0, false))
        );
        assert_eq!(
            parse_iso("2016-03-01T12:30:00Z"),
            Ok(date(2016, 3, 1, 12, 30, 0.0, true))
        );
        assert_eq!(
            parse_iso("2016-03-01 12:30"),
            Ok(date(2016, 3, 1, 12, 30, 0.0, true))
        );
        assert_eq!(
            parse_iso(" 2016-03-01T12:30:15.25 "),
            Ok(date(2016, 3, 1, 12, 30, 15.25, true))
        );
        // Offsets convert to UTC, across a day and a year.
        assert_eq!(
            parse_iso("2016-03-01T12:30:00+01:00"),
            Ok(date(2016, 3, 1, 11, 30, 0.0, true))
        );
        assert_eq!(
            parse_iso("2016-01-01T01:00:00+0230"),
            Ok(date(2015, 12, 31, 22, 30, 0.0, true))
        );
        assert_eq!(
            parse_iso("2016-02-29T23:00-05"),
            Ok(date(2016, 3, 1, 4, 0, 0.0, true))
        );
    }

    #[test]
    fn other_texts_are_not_dates_and_absurd_dates_say_why() {
        for text in [
            "",
            "2016",
            "2016-3-1",
            "2016/03/01",
            "20160301",
            "x2016-03-01",
            "2016-03-01T",
            "2016-03-01T12",
            "2016-03-01T12:30Q",
        ] {
            assert_eq!(parse_iso(text), Err(DateProblem::NotADate), "{text}");
        }
        let absurd = |t: &str| match parse_iso(t) {
            Err(DateProblem::Absurd(reason)) => reason,
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(absurd("2016-02-30"), "February 2016 has 29 days, not 30");
        assert_eq!(absurd("2015-02-29"), "February 2015 has 28 days, not 29");
        assert_eq!(absurd("2016-13-01"), "there is no month 13");
        assert_eq!(absurd("0000-01-01"), "the year 0 is outside 1..9999");
        assert_eq!(absurd("2016-01-01T24:00"), "24:00:00 is not a time of day");
        assert_eq!(
            absurd("0001-01-01T00:00+01:00"),
            "the year 0 is outside 1..9999"
        );
    }

    #[test]
    fn calendar_arithmetic_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2016-03-01 was a Tuesday; 2024-12-31 is day 366 of a leap year.
        assert_eq!(parse_iso("2016-03-01").unwrap().weekday(), 1);
        assert_eq!(parse_iso("2024-12-31").unwrap().day_of_year(), 366);
        let mid = parse_iso("2015-07-02T12:00Z").unwrap();
        assert!((mid.fractional_year() - 2015.5).abs() < 1e-12);
    }
}

//! Strftime-style date formats (`%d/%m/%Y`): parsed once from the user's text, then used to
//! parse cells into a `DateTime`.

use std::fmt;
use std::str::FromStr;

use super::date_parse::{Cursor, DateProblem, DateTime, MONTHS};

/// One piece of a strftime-style format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Literal(char),
    /// Any run of spaces (a space in the format).
    Spaces,
    Year,
    ShortYear,
    Month,
    MonthName,
    Day,
    Hour,
    Hour12,
    AmPm,
    Minute,
    Second,
    Fraction,
    Offset,
}

/// A strftime-style date format: `%Y` year, `%y` two-digit year (69..99 are 19xx, 00..68
/// 20xx), `%m` month, `%b`/`%B` month name (English, any case; abbreviated or full),
/// `%d`/`%e` day, `%H` hour 0..23, `%I` hour 1..12 with `%p` AM/PM, `%M` minute, `%S`
/// second, `%f` fraction digits, `%z` offset (`Z`, `+01:00`, `+0100`), `%T` = `%H:%M:%S`,
/// `%F` = `%Y-%m-%d`, `%%` a percent sign; a space matches any run of spaces, any other
/// character itself. Numbers may omit their leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    text: String,
    pieces: Vec<Piece>,
}

/// The directives a `DateFormat` knows, for messages.
const DIRECTIVES: &str = "%Y %y %m %b %B %d %e %H %I %p %M %S %f %z %T %F %%";

impl FromStr for DateFormat {
    type Err = String;

    /// Parse a format; it must give a year, a month and a day, and `%I` needs `%p`.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut chars = text.chars();
        while let Some(ch) = chars.next() {
            if ch != '%' {
                pieces.push(if ch == ' ' {
                    Piece::Spaces
                } else {
                    Piece::Literal(ch)
                });
                continue;
            }
            let directive = chars.next();
            let expanded: &[Piece] = match directive {
                Some('Y') => &[Piece::Year],
                Some('y') => &[Piece::ShortYear],
                Some('m') => &[Piece::Month],
                Some('b' | 'B' | 'h') => &[Piece::MonthName],
                Some('d' | 'e') => &[Piece::Day],
                Some('H') => &[Piece::Hour],
                Some('I') => &[Piece::Hour12],
                Some('p') => &[Piece::AmPm],
                Some('M') => &[Piece::Minute],
                Some('S') => &[Piece::Second],
                Some('f') => &[Piece::Fraction],
                Some('z') => &[Piece::Offset],
                Some('T') => &[
                    Piece::Hour,
                    Piece::Literal(':'),
                    Piece::Minute,
                    Piece::Literal(':'),
                    Piece::Second,
                ],
                Some('F') => &[
                    Piece::Year,
                    Piece::Literal('-'),
                    Piece::Month,
                    Piece::Literal('-'),
                    Piece::Day,
                ],
                Some('%') => &[Piece::Literal('%')],
                Some(other) => {
                    return Err(format!(
                    "'%{other}' in '{text}' is not a directive csvnn knows; expected {DIRECTIVES}"
                ))
                }
                None => {
                    return Err(format!(
                        "'{text}' ends with a lone '%'; write '%%' for a percent sign"
                    ))
                }
            };
            pieces.extend_from_slice(expanded);
        }
        let has = |p: &[Piece]| pieces.iter().any(|x| p.contains(x));
        let missing = [
            ("year (%Y or %y)", has(&[Piece::Year, Piece::ShortYear])),
            ("month (%m or %b)", has(&[Piece::Month, Piece::MonthName])),
            ("day (%d)", has(&[Piece::Day])),
        ];
        if let Some((what, _)) = missing.iter().find(|(_, found)| !found) {
            return Err(format!(
                "'{text}' has no {what}; a date format needs a year, a month and a day"
            ));
        }
        if has(&[Piece::Hour12]) != has(&[Piece::AmPm]) {
            return Err(format!(
                "'{text}' has only one of %I and %p; a 12-hour clock needs both"
            ));
        }
        Ok(DateFormat {
            text: text.to_string(),
            pieces,
        })
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl DateFormat {
    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Parse `text` (surrounding spaces ignored) with this format; a date-time with an
    /// offset is converted to UTC.
    pub fn parse(&self, text: &str) -> Result<DateTime, DateProblem> {
        let not = DateProblem::NotADate;
        let mut c = Cursor {
            text: text.trim().as_bytes(),
            at: 0,
        };
        let mut date = DateTime {
            year: 0,
            month: 0,
            day: 0,
            hour: 0,
            minute: 0,
            second: 0.0,
            has_time: false,
        };
        let (mut pm, mut offset) = (None, 0);
        for &piece in &self.pieces {
            match piece {
                Piece::Literal(ch) => {
                    let mut buf = [0; 4];
                    for &b in ch.encode_utf8(&mut buf).as_bytes() {
                        if !c.eat(b) {
                            return Err(not);
                        }
                    }
                }
                Piece::Spaces => {
                    if !c.eat(b' ') {
                        return Err(not);
                    }
                    while c.eat(b' ') {}
                }
                Piece::Year => date.year = c.number(4, 4).ok_or(not.clone())? as i32,
                Piece::ShortYear => {
                    let y = c.number(2, 2).ok_or(not.clone())? as i32;
                    date.year = if y >= 69 { 1900 + y } else { 2000 + y };
                }
                Piece::Month => date.month = c.number(1, 2).ok_or(not.clone())?,
                Piece::MonthName => date.month = month_name(&mut c).ok_or(not.clone())?,
                Piece::Day => {
                    while c.eat(b' ') {}
                    date.day = c.number(1, 2).ok_or(not.clone())?;
                }
                Piece::Hour | Piece::Hour12 => {
                    date.hour = c.number(1, 2).ok_or(not.clone())?;
                    date.has_time = true;
                }
                Piece::AmPm => {
                    let rest = &c.text[c.at..];
                    let word = rest.get(..2).map(|w| w.to_ascii_lowercase());
                    pm = match word.as_deref() {
                        Some(b"am") => Some(false),
                        Some(b"pm") => Some(true),
                        _ => return Err(not),
                    };
                    c.at += 2;
                }
                Piece::Minute => date.minute = c.number(1, 2).ok_or(not.clone())?,
                Piece::Second => date.second = f64::from(c.number(1, 2).ok_or(not.clone())?),
                Piece::Fraction => date.second += c.fraction().ok_or(not.clone())?,
                Piece::Offset => offset = c.offset()?,
            }
        }
        if !c.done() {
            return Err(not);
        }
        if let Some(pm) = pm {
            if !(1..=12).contains(&date.hour) {
                return Err(DateProblem::Absurd(format!(
                    "the hour {} is not on a 12-hour clock",
                    date.hour
                )));
            }
            date.hour = date.hour % 12 + if pm { 12 } else { 0 };
        }
        let date = date.check()?;
        if offset == 0 {
            return Ok(date);
        }
        date.minus_minutes(offset).check()
    }
}

/// An English month name, full or abbreviated to three letters, any case.
fn month_name(c: &mut Cursor) -> Option<u32> {
    let rest = &c.text[c.at..];
    let letters = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let word = std::str::from_utf8(&rest[..letters]).ok()?.to_lowercase();
    let index = MONTHS.iter().position(|m| {
        word.len() >= 3 && (*m == word || (word.len() == 3 && m.starts_with(&word)))
    })?;
    c.at += letters;
    Some(index as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::date_parse::tests::date;

    #[test]
    fn formats_parse_their_directives() {
        let f: DateFormat = "%d/%m/%Y".parse().unwrap();
        assert_eq!(f.parse("1/3/2016"), Ok(date(2016, 3, 1, 0, 0, 0.0, false)));
        assert_eq!(f.parse("2016-03-01"), Err(DateProblem::NotADate));
        let f: DateFormat = "%b %d %y %I:%M %p".parse().unwrap();
        assert_eq!(
            f.parse("MAR 01 16 12:05 am"),
            Ok(date(2016, 3, 1, 0, 5, 0.0, true))
        );
        assert_eq!(
            f.parse("Sep 9 99 1:00 PM"),
            Ok(date(1999, 9, 9, 13, 0, 0.0, true))
        );
        let f: DateFormat = "%B %e, %Y %T%z".parse().unwrap();
        assert_eq!(
            f.parse("march  1, 2016 12:30:00+0100"),
            Ok(date(2016, 3, 1, 11, 30, 0.0, true))
        );
        let f: DateFormat = "%F %H:%M:%S.%f".parse().unwrap();
        assert_eq!(
            f.parse("2016-03-01 12:30:00.125"),
            Ok(date(2016, 3, 1, 12, 30, 0.125, true))
        );
        let f: DateFormat = "%Y%m%d".parse().unwrap();
        assert_eq!(f.parse("20160301"), Ok(date(2016, 3, 1, 0, 0, 0.0, false)));
        assert_eq!(
            f.parse("20160230"),
            Err(DateProblem::Absurd(
                "February 2016 has 29 days, not 30".into()
            ))
        );
    }

    #[test]
    fn bad_formats_are_refused_with_the_reason() {
        let err = |t: &str| t.parse::<DateFormat>().unwrap_err();
        assert_eq!(
            err("%d/%m/%Q"),
            "'%Q' in '%d/%m/%Q' is not a directive csvnn knows; expected %Y %y %m %b %B %d %e %H %I %p %M %S %f %z %T %F %%"
        );
        assert_eq!(
            err("%d/%m"),
            "'%d/%m' has no year (%Y or %y); a date format needs a year, a month and a day"
        );
        assert_eq!(
            err("%Y-%m-%d %"),
            "'%Y-%m-%d %' ends with a lone '%'; write '%%' for a percent sign"
        );
        assert_eq!(
            err("%Y-%m-%d %I:%M"),
            "'%Y-%m-%d %I:%M' has only one of %I and %p; a 12-hour clock needs both"
        );
    }
}

//! `add_date_parts`: a date given as Unix seconds (double (N, 1), NaN for missing) turned
//! into csvnn's encoded parts (`preprocess::date`): the fractional year standardised, then
//! sine/cosine pairs of the month, the day of the week, the day of the year and, when the
//! column has times, the hour. NaN stays NaN in every part, so that the slot imputation
//! that follows gives each part its training mean, as csvnn does for a missing cell.
//!
//! The calendar is Howard Hinnant's `civil_from_days` / `days_from_civil` (proleptic
//! Gregorian, as `preprocess::date_parse`), in double precision with `Floor` for the
//! integer divisions: every intermediate is an integer far below 2^53, so each is exact.

use std::f64::consts::TAU;

use super::builder::{int, Builder};
use crate::preprocess::DateColumn;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Add the nodes from `seconds` to the date's parts, double (N, width); returns its name.
pub(super) fn add_date_parts(b: &mut Builder, date: &DateColumn, seconds: &str) -> String {
    let by_day = b.with_const("Div", seconds, SECONDS_PER_DAY);
    let days = b.node("Floor", &[&by_day], vec![], None);
    let day_start = b.with_const("Mul", &days, SECONDS_PER_DAY);
    let in_day = b.node("Sub", &[seconds, &day_start], vec![], None);
    let hour = b.with_const("Div", &in_day, 3600.0);

    // civil_from_days: the year and month of `days`.
    let z = b.with_const("Add", &days, 719_468.0);
    let era = floor_div(b, &z, 146_097.0);
    let era_days = b.with_const("Mul", &era, 146_097.0);
    let doe = b.node("Sub", &[&z, &era_days], vec![], None);
    let a = floor_div(b, &doe, 1460.0);
    let c = floor_div(b, &doe, 36_524.0);
    let d = floor_div(b, &doe, 146_096.0);
    let t = b.node("Sub", &[&doe, &a], vec![], None);
    let t = b.node("Add", &[&t, &c], vec![], None);
    let t = b.node("Sub", &[&t, &d], vec![], None);
    let yoe = floor_div(b, &t, 365.0);
    let doy = {
        let y365 = b.with_const("Mul", &yoe, 365.0);
        let y4 = floor_div(b, &yoe, 4.0);
        let y100 = floor_div(b, &yoe, 100.0);
        let start = b.node("Add", &[&y365, &y4], vec![], None);
        let start = b.node("Sub", &[&start, &y100], vec![], None);
        b.node("Sub", &[&doe, &start], vec![], None)
    };
    let mp = {
        let t = b.with_const("Mul", &doy, 5.0);
        let t = b.with_const("Add", &t, 2.0);
        floor_div(b, &t, 153.0)
    };
    // March-based month mp: 0..9 are March..December, 10 and 11 January and February.
    let ten = b.const_doubles(&[10.0]);
    let early = b.node("Less", &[&mp, &ten], vec![], None);
    let month_if_early = b.with_const("Add", &mp, 2.0);
    let month_if_late = b.with_const("Sub", &mp, 10.0);
    let month0 = b.node(
        "Where",
        &[&early, &month_if_early, &month_if_late],
        vec![],
        None,
    );
    let era_years = b.with_const("Mul", &era, 400.0);
    let march_year = b.node("Add", &[&yoe, &era_years], vec![], None);
    let zero = b.const_doubles(&[0.0]);
    let one = b.const_doubles(&[1.0]);
    let carry = b.node("Where", &[&early, &zero, &one], vec![], None);
    let year = b.node("Add", &[&march_year, &carry], vec![], None);

    // The day of the year from 0, and the year's length.
    let previous = b.with_const("Sub", &year, 1.0);
    let jan1 = january_first(b, &previous);
    let next_jan1 = january_first(b, &year);
    let yday0 = b.node("Sub", &[&days, &jan1], vec![], None);
    let days_in_year = b.node("Sub", &[&next_jan1, &jan1], vec![], None);
    // Monday is 0: 1970-01-01 was a Thursday.
    let shifted = b.with_const("Add", &days, 3.0);
    let weeks = floor_div(b, &shifted, 7.0);
    let week_days = b.with_const("Mul", &weeks, 7.0);
    let weekday = b.node("Sub", &[&shifted, &week_days], vec![], None);

    // fractional_year = year + (yday0 + hour / 24) / days_in_year, then standardised.
    let fraction = b.with_const("Div", &hour, 24.0);
    let elapsed = b.node("Add", &[&yday0, &fraction], vec![], None);
    let elapsed = b.node("Div", &[&elapsed, &days_in_year], vec![], None);
    let fractional = b.node("Add", &[&year, &elapsed], vec![], None);
    let centred = b.with_const("Sub", &fractional, date.year_mean);
    let mut parts = vec![b.with_const("Div", &centred, date.year_std)];
    let twelve = b.const_doubles(&[12.0]);
    let seven = b.const_doubles(&[7.0]);
    let mut cycles = vec![(month0, twelve), (weekday, seven), (yday0, days_in_year)];
    if date.has_time {
        let day = b.const_doubles(&[24.0]);
        cycles.push((hour, day));
    }
    for (value, period) in cycles {
        // TAU * value / period, as csvnn's `cycle` computes the angle.
        let angle = b.with_const("Mul", &value, TAU);
        let angle = b.node("Div", &[&angle, &period], vec![], None);
        parts.push(b.node("Sin", &[&angle], vec![], None));
        parts.push(b.node("Cos", &[&angle], vec![], None));
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    b.node("Concat", &parts, vec![int("axis", 1)], None)
}

/// floor(value / divisor).
fn floor_div(b: &mut Builder, value: &str, divisor: f64) -> String {
    let q = b.with_const("Div", value, divisor);
    b.node("Floor", &[&q], vec![], None)
}

/// days_from_civil(y + 1, 1, 1) for `y` (the year before): the day number of 1 January of
/// the year after `y`, counted from 1970-01-01.
fn january_first(b: &mut Builder, y: &str) -> String {
    let era = floor_div(b, y, 400.0);
    let era_years = b.with_const("Mul", &era, 400.0);
    let yoe = b.node("Sub", &[y, &era_years], vec![], None);
    let y365 = b.with_const("Mul", &yoe, 365.0);
    let y4 = floor_div(b, &yoe, 4.0);
    let y100 = floor_div(b, &yoe, 100.0);
    let doe = b.node("Add", &[&y365, &y4], vec![], None);
    let doe = b.node("Sub", &[&doe, &y100], vec![], None);
    // 306: the March-based day of the year of 1 January.
    let doe = b.with_const("Add", &doe, 306.0);
    let era_days = b.with_const("Mul", &era, 146_097.0);
    let days = b.node("Add", &[&era_days, &doe], vec![], None);
    b.with_const("Sub", &days, 719_468.0)
}

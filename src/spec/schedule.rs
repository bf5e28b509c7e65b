//! `CronSchedule`: a CronJob's `schedule`, checked the way the CronJob
//! controller reads it (robfig/cron's standard parser): five fields
//! (minute, hour, day of month, month, day of week) of numbers, names,
//! ranges, steps and lists, or one of the `@hourly`-style macros. A time
//! zone prefix (`TZ=`, `CRON_TZ=`) is refused as the API server refuses it:
//! the CronJob has `timeZone` for that.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A validated cron schedule, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule(String);

impl CronSchedule {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const MACROS: &[&str] = &["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One of the five fields: its name, its range and the names it accepts
/// (the first name stands for `min`).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[] },
    Field { name: "hour", min: 0, max: 23, names: &[] },
    Field { name: "day of month", min: 1, max: 31, names: &[] },
    Field { name: "month", min: 1, max: 12, names: MONTHS },
    // 7 is Sunday too, as in robfig/cron.
    Field { name: "day of week", min: 0, max: 7, names: DAYS },
];

const SHAPE: &str = "a schedule is five fields (minute hour day-of-month month day-of-week, e.g. `30 2 * * *`) \
                     or a macro (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`)";

impl FromStr for CronSchedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let trimmed = s.trim();
        if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") {
            return Err(format!("schedule `{s}` sets a time zone: the CronJob's time zone is `job.timeZone`"));
        }
        if let Some(m) = trimmed.strip_prefix('@') {
            return if MACROS.contains(&trimmed) {
                Ok(CronSchedule(s.to_owned()))
            } else if m.starts_with("every") {
                Err(format!("schedule `{s}`: `@every` is not supported by the CronJob controller; {SHAPE}"))
            } else {
                Err(format!("schedule `{s}` is not a known macro; {SHAPE}"))
            };
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("schedule `{s}` has {} fields: {SHAPE}", fields.len()));
        }
        for (text, field) in fields.iter().zip(&FIELDS) {
            check_field(text, field).map_err(|why| format!("schedule `{s}`: {} `{text}` {why}", field.name))?;
        }
        Ok(CronSchedule(s.to_owned()))
    }
}

fn check_field(text: &str, f: &Field) -> Result<(), String> {
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, step)) => (r, Some(step)),
            None => (item, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(n) if n > 0 => {}
                _ => return Err(format!("has the step `{step}`: a step is a whole number above 0")),
            }
        }
        if range == "*" || (range == "?" && f.names == DAYS) || (range == "?" && f.name == "day of month") {
            continue;
        }
        let (low, high) = match range.split_once('-') {
            Some((l, h)) => (value(l, f)?, Some(value(h, f)?)),
            None => (value(range, f)?, None),
        };
        if let Some(high) = high {
            if high < low {
                return Err(format!("has the range `{range}`, which ends before it starts"));
            }
        }
    }
    Ok(())
}

fn value(text: &str, f: &Field) -> Result<u32, String> {
    if let Some(i) = f.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(f.min + u32::try_from(i).unwrap_or(0));
    }
    match text.parse::<u32>() {
        Ok(n) if (f.min..=f.max).contains(&n) => Ok(n),
        Ok(n) => Err(format!("has {n}, outside {}-{}", f.min, f.max)),
        Err(_) if f.names.is_empty() => Err(format!("has `{text}`, which is not a number from {} to {}", f.min, f.max)),
        Err(_) => Err(format!(
            "has `{text}`, which is neither a number from {} to {} nor one of {}",
            f.min,
            f.max,
            f.names.join(", ")
        )),
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CronSchedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_cronjob_controller_accepts() {
        for s in [
            "30 2 * * *",
            "*/15 * * * *",
            "0 0 1 jan *",
            "0 3 * * MON-FRI",
            "0 0,12 1-15/2 * 7",
            "0 0 ? * sun",
            "@daily",
            "@hourly",
            "@midnight",
            "@annually",
        ] {
            assert!(s.parse::<CronSchedule>().is_ok(), "{s}");
        }
    }

    #[test]
    fn refuses_the_wrong_shape_with_the_reason() {
        let cases = [
            ("* * * *", "has 4 fields"),
            ("0 0 * * * *", "has 6 fields"),
            ("60 * * * *", "minute `60` has 60, outside 0-59"),
            ("0 24 * * *", "hour `24` has 24, outside 0-23"),
            ("0 0 0 * *", "day of month `0` has 0, outside 1-31"),
            ("0 0 * 13 *", "month `13` has 13, outside 1-12"),
            ("0 0 * foo *", "neither a number from 1 to 12 nor one of jan"),
            ("*/0 * * * *", "step `0`"),
            ("0 5-2 * * *", "ends before it starts"),
            ("@every 1h", "`@every` is not supported"),
            ("@often", "not a known macro"),
            ("CRON_TZ=UTC 0 0 * * *", "`job.timeZone`"),
            ("", "has 0 fields"),
        ];
        for (s, want) in cases {
            let err = s.parse::<CronSchedule>().unwrap_err();
            assert!(err.contains(want), "{s}: {err}");
        }
    }
}

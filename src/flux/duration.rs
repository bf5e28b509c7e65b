//! Go-style durations (`90s`, `5m`, `1h30m`, `250ms`), as Flux writes its
//! intervals: parsed for flags and configuration files, and written back
//! (`1h2m3s`) for messages that say how long something lasted.

use std::time::Duration;

/// Parses `90s`, `5m`, `1h30m`, `2m30.5s` (Go's duration units h, m, s, ms).
/// Zero is refused: every caller means a positive time.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (write e.g. `90s`, `5m` or `1h30m`)");
    let total = parse_seconds(s).ok_or_else(bad)?;
    if total <= 0.0 {
        return Err(format!("`{s}` is no time at all (write a positive duration, e.g. `90s` or `5m`)"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// As [`parse_duration`], but `0s` (or `0`) is allowed and means zero:
/// for settings where zero switches something off.
pub fn parse_duration_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let total =
        parse_seconds(s).ok_or_else(|| format!("`{s}` is not a duration (write e.g. `0s`, `90s`, `5m` or `1h30m`)"))?;
    Ok(Duration::from_secs_f64(total))
}

fn parse_seconds(s: &str) -> Option<f64> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(digits);
        let value: f64 = number.parse().ok()?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += value * scale;
        rest = tail;
    }
    (total.is_finite() && total < 1e9).then_some(total)
}

/// Writes a duration the way Go prints one, to the second: `1h2m3s`, `5m0s`,
/// `42s`; under a second `0s` (or `250ms`, to the millisecond).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        let ms = d.subsec_millis();
        return if ms == 0 { "0s".to_owned() } else { format!("{ms}ms") };
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "5", "m", "5x", "-1s", "0s", "1e3s", "1..2s", "9999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zero_is_allowed_where_it_switches_off() {
        assert_eq!(parse_duration_or_zero("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration_or_zero("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration_or_zero("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration_or_zero("-1s").is_err());
        assert!(parse_duration_or_zero("soon").is_err());
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(format_duration(Duration::from_secs(3723)), "1h2m3s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_duration(Duration::from_secs(42)), "42s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}

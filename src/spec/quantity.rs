//! `Quantity`: a Kubernetes resource quantity (`500m`, `1.5Gi`, `2e3`),
//! checked when the spec is read instead of when the API server refuses it.
//! `nanos` reads any quantity string (also those of raw objects) into a
//! comparable number, for the API server's value rules (`render::validation`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(String);

impl Quantity {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value in units of 10^-9 (see `nanos`).
    pub fn nanos(&self) -> i128 {
        nanos(&self.0).unwrap_or_default()
    }
}

/// A quantity's value in units of 10^-9 (`1` is 1e9, `500m` is 5e8, `1Ki`
/// is 1.024e12), or `None` if `s` is not a quantity. Finer digits round
/// up, as the API server does (apimachinery `resource.ParseQuantity`); values
/// beyond the range saturate, which keeps their order for comparisons.
pub fn nanos(s: &str) -> Option<i128> {
    if !is_quantity(s) {
        return None;
    }
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
    let (number, suffix) = body.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let (ten, two): (i64, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        e => (e.get(1..)?.parse::<i64>().unwrap_or(if e.contains('-') { i64::MIN } else { i64::MAX }), 0),
    };
    let saturated = if negative { i128::MIN } else { i128::MAX };
    let mut mantissa: i128 = 0;
    for d in int.bytes().chain(frac.bytes()) {
        let Some(m) = mantissa.checked_mul(10).and_then(|m| m.checked_add(i128::from(d - b'0'))) else {
            return Some(saturated);
        };
        mantissa = m;
    }
    let Some(m) = mantissa.checked_mul(1i128 << two) else { return Some(saturated) };
    let scale = ten.saturating_add(9).saturating_sub(frac.len() as i64);
    let magnitude = if scale >= 0 {
        match u32::try_from(scale).ok().and_then(|s| 10i128.checked_pow(s)).and_then(|p| m.checked_mul(p)) {
            Some(v) => v,
            None if m == 0 => 0,
            None => return Some(saturated),
        }
    } else {
        match u32::try_from(-scale).ok().and_then(|s| 10i128.checked_pow(s)) {
            // Round up (towards +infinity), as the API server rounds to nano units.
            Some(p) => m / p + i128::from(!negative && m % p != 0),
            None => i128::from(!negative && m != 0),
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

const SUFFIXES: &[&str] = &["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E", ""];

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |x: &str| x.bytes().all(|c| c.is_ascii_digit());
    match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
    }
}

fn is_quantity(s: &str) -> bool {
    if SUFFIXES.iter().any(|suffix| s.strip_suffix(suffix).is_some_and(is_number)) {
        return true;
    }
    match s.find(['e', 'E']) {
        Some(i) => {
            let (num, exp) = (&s[..i], &s[i + 1..]);
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            is_number(num) && !exp.is_empty() && exp.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

impl FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if is_quantity(s) {
            // apimachinery pkg/api/validation ValidateNonnegativeQuantity: no resource is negative.
            if nanos(s).is_some_and(|n| n < 0) {
                return Err(format!("invalid quantity `{s}`: must be greater than or equal to 0"));
            }
            Ok(Quantity(s.to_owned()))
        } else {
            Err(format!(
                "invalid quantity `{s}`: a quantity is a number with an optional suffix (`m`, `k`, `M`, `G`, `Ki`, `Mi`, `Gi`, ...) or exponent, e.g. `500m`, `256Mi`, `1.5`"
            ))
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Nix writes whole numbers as JSON numbers; accept those as quantities.
        let s = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a quantity (a string such as `256Mi`, or a number), found {}",
                    crate::spec::problem::json_type(&other)
                )))
            }
        };
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["1", "500m", "1.5Gi", "0.5", ".5", "1e3", "2E-2", "+1k", "100Mi", "1Ei", "3."] {
            assert!(ok.parse::<Quantity>().is_ok(), "{ok}");
        }
        for bad in ["", "Mi", "1.5.5", "1GB", "1 Gi", "e3", "1e", "abc", ".", "-1", "-0.5Gi", "-1m"] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad}");
        }
        assert!("-0".parse::<Quantity>().is_ok());
    }

    #[test]
    fn values_compare_across_suffixes() {
        const G: i128 = 1_000_000_000;
        for (q, want) in [
            ("1", G),
            ("500m", G / 2),
            ("0.5", G / 2),
            (".5", G / 2),
            ("1000m", G),
            ("1k", 1000 * G),
            ("1e3", 1000 * G),
            ("2E-2", G / 50),
            ("1Ki", 1024 * G),
            ("1.5Gi", 1_610_612_736 * G),
            ("1Gi", 1_073_741_824 * G),
            ("1073741824", 1_073_741_824 * G),
            ("-1", -G),
            ("+1", G),
            ("1n", 1),
            ("0.1n", 1),
            ("-0.1n", 0),
            ("0", 0),
            ("0e999", 0),
            ("1e999", i128::MAX),
            ("-1e999", i128::MIN),
            ("1e-999", 1),
        ] {
            assert_eq!(nanos(q), Some(want), "{q}");
        }
        assert_eq!(nanos("1GB"), None);
        assert!(nanos("999m") < nanos("1") && nanos("1") < nanos("1001m"));
        assert!(nanos("1G") < nanos("1Gi"));
    }
}

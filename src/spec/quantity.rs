//! `Quantity`: a Kubernetes resource quantity (`500m`, `1.5Gi`, `2e3`),
//! checked when the spec is read instead of when the API server refuses it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(String);

impl Quantity {
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
        for bad in ["", "Mi", "1.5.5", "1GB", "1 Gi", "e3", "1e", "abc", "."] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad}");
        }
    }
}

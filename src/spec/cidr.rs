//! `Cidr`: an IPv4 or IPv6 address range in CIDR notation, as NetworkPolicy
//! `ipBlock`s take it. Only the canonical form is accepted (no bits set
//! after the prefix), so what the user wrote is what the cluster applies.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn bits(addr: IpAddr) -> (u128, u8) {
        match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    /// The mask of the first `prefix` bits of an address `width` bits wide.
    fn mask(prefix: u8, width: u8) -> u128 {
        let all = if width == 32 { u128::from(u32::MAX) } else { u128::MAX };
        match u32::from(width - prefix) {
            128 => 0,
            host => all & !((1u128 << host) - 1),
        }
    }

    /// Whether `other` lies inside this range and is smaller (a strict
    /// subset, as the API server requires of `except`).
    pub fn strictly_contains(&self, other: &Cidr) -> bool {
        let ((a, width), (b, other_width)) = (Self::bits(self.addr), Self::bits(other.addr));
        width == other_width && other.prefix > self.prefix && (b & Self::mask(self.prefix, width)) == a
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: String| format!("invalid CIDR `{s}`: {why}");
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| bad("expected an address, `/` and a prefix length, like `192.168.1.0/24`".into()))?;
        let addr: IpAddr = addr.parse().map_err(|_| bad(format!("`{addr}` is not an IP address")))?;
        let width = Self::bits(addr).1;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= width && !prefix.starts_with('+') && (prefix == "0" || !prefix.starts_with('0')))
            .ok_or_else(|| bad(format!("the prefix length is 0 to {width}")))?;
        let bits = Self::bits(addr).0;
        let network = bits & Self::mask(prefix, width);
        if network != bits {
            let network = match addr {
                IpAddr::V4(_) => IpAddr::from(u32::try_from(network).unwrap_or_default().to_be_bytes()),
                IpAddr::V6(_) => IpAddr::from(network.to_be_bytes()),
            };
            return Err(bad(format!("bits are set after the prefix: the range is `{network}/{prefix}`")));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ranges_parse_and_print_back() {
        for ok in ["0.0.0.0/0", "192.168.1.0/24", "10.0.0.1/32", "::/0", "fd00::/8", "2001:db8::1/128"] {
            assert_eq!(ok.parse::<Cidr>().unwrap().to_string(), ok);
        }
    }

    #[test]
    fn bad_ranges_say_why() {
        let cases = [
            ("192.168.1.0", "expected an address, `/` and a prefix length"),
            ("192.168.1.0/33", "the prefix length is 0 to 32"),
            ("192.168.1.0/024", "the prefix length is 0 to 32"),
            ("fd00::/129", "the prefix length is 0 to 128"),
            ("192.168.1.1/24", "bits are set after the prefix: the range is `192.168.1.0/24`"),
            ("fd00::1/8", "the range is `fd00::/8`"),
            ("home/24", "`home` is not an IP address"),
            ("", "expected an address"),
        ];
        for (text, why) in cases {
            let err = text.parse::<Cidr>().unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn strict_containment() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        assert!(c("192.168.0.0/16").strictly_contains(&c("192.168.1.0/24")));
        assert!(c("0.0.0.0/0").strictly_contains(&c("10.0.0.0/8")));
        assert!(!c("192.168.1.0/24").strictly_contains(&c("192.168.1.0/24")));
        assert!(!c("192.168.1.0/24").strictly_contains(&c("192.168.0.0/16")));
        assert!(!c("192.168.1.0/24").strictly_contains(&c("10.0.0.0/25")));
        assert!(!c("0.0.0.0/0").strictly_contains(&c("fd00::/8")));
        assert!(c("::/0").strictly_contains(&c("fd00::/8")));
    }
}

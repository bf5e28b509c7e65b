//! Nix's base32: the alphabet `0-9a-z` without `e o u t`, read from the
//! last character to the first, five bits each, least significant first.
//! It is how Nix prints store path hashes and `nix-hash --base32` output.

use super::store_path::NIX_BASE32_ALPHABET;

/// The length of the base32 form of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    (n * 8).div_ceil(5)
}

pub fn encode(bytes: &[u8]) -> String {
    let len = encoded_len(bytes.len());
    let mut out = String::with_capacity(len);
    for n in (0..len).rev() {
        let bit = n * 5;
        let (i, j) = (bit / 8, bit % 8);
        let low = u16::from(bytes[i]) >> j;
        let high = if i + 1 < bytes.len() { u16::from(bytes[i + 1]) << (8 - j) } else { 0 };
        out.push(NIX_BASE32_ALPHABET[usize::from((low | high) & 0x1f)] as char);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("`{0}` is not a Nix base32 character (the alphabet is `0-9a-z` without `e`, `o`, `u`, `t`)")]
    Character(char),
    #[error("a base32 string of {0} characters does not encode whole bytes")]
    Length(usize),
    #[error("the base32 string has bits set beyond its last byte")]
    Padding,
}

/// Decodes `s` into bytes; the length must be one `encode` produces.
pub fn decode(s: &str) -> Result<Vec<u8>, DecodeError> {
    if let Some(c) = s.chars().find(|c| !super::store_path::is_nix_base32(*c)) {
        return Err(DecodeError::Character(c));
    }
    let chars = s.as_bytes();
    let n = chars.len() * 5 / 8;
    if encoded_len(n) != chars.len() {
        return Err(DecodeError::Length(chars.len()));
    }
    let mut out = vec![0u8; n];
    for (pos, &c) in chars.iter().rev().enumerate() {
        // Every character is in the alphabet (checked above).
        let digit = NIX_BASE32_ALPHABET.iter().position(|&a| a == c).unwrap_or(0) as u16;
        let bit = pos * 5;
        let (i, j) = (bit / 8, bit % 8);
        let shifted = digit << j;
        out[i] |= (shifted & 0xff) as u8;
        let carry = (shifted >> 8) as u8;
        if i + 1 < n {
            out[i + 1] |= carry;
        } else if carry != 0 {
            return Err(DecodeError::Padding);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // sha256 of the empty string, as `nix-hash --type sha256 --flat --base32 /dev/null` prints it.
        let empty = [
            0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae,
            0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
        ];
        assert_eq!(encode(&empty), "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73");
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&[0x1f]), "0z");
        assert_eq!(decode("0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73").unwrap(), empty);
    }

    #[test]
    fn decode_rejects_bad_input() {
        assert_eq!(decode("e0"), Err(DecodeError::Character('e')));
        assert_eq!(decode("000"), Err(DecodeError::Length(3)));
        assert_eq!(decode("0ä"), Err(DecodeError::Character('ä')));
        assert_eq!(decode("z0"), Err(DecodeError::Padding));
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes, "{len}");
        }
    }
}

//! `StorePath`: a path in `/nix/store` that cannot hold an invalid value.
//!
//! A store path is `/nix/store/` + 32 characters of Nix base32 (a 160-bit
//! digest) + `-` + a name of 1 to 211 characters from `[A-Za-z0-9+\-._?=]`
//! that does not start with `.`. nix-snapshotter image references embed one.

use std::fmt;
use std::str::FromStr;

pub const STORE_DIR: &str = "/nix/store";
/// Nix's base32 alphabet (no `e`, `o`, `u`, `t`).
pub const NIX_BASE32_ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Whether `c` is a digit of `NIX_BASE32_ALPHABET` (every digit and lower
/// letter but `e`, `o`, `t` and `u`), without scanning it.
pub fn is_nix_base32(c: char) -> bool {
    matches!(c, '0'..='9' | 'a'..='z') && !matches!(c, 'e' | 'o' | 't' | 'u')
}
const HASH_LEN: usize = 32;
const MAX_NAME_LEN: usize = 211;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorePath {
    hash: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorePathError {
    #[error("`{0}` is not in the Nix store: a store path starts with `/nix/store/`")]
    NotInStore(String),
    #[error("`{path}` has a hash part of {len} characters: a store path has 32 characters of Nix base32, then `-`, then a name")]
    HashLength { path: String, len: usize },
    #[error("`{path}` has `{ch}` in its hash part: Nix base32 uses only `0-9` and `a-z` without `e`, `o`, `u`, `t`")]
    HashCharacter { path: String, ch: char },
    #[error("`{0}` has no name after the hash: a store path is `/nix/store/<hash>-<name>`")]
    MissingName(String),
    #[error("`{path}` has a name of {len} characters: at most 211 are allowed")]
    NameTooLong { path: String, len: usize },
    #[error("`{path}` has `{ch}` in its name: names use only letters, digits and `+-._?=`")]
    NameCharacter { path: String, ch: char },
    #[error("`{0}` has a name starting with `.`, which Nix does not allow")]
    NameDot(String),
    #[error("`{0}` names a file inside a store path: nix-snapshotter needs the store path itself")]
    Subpath(String),
}

impl StorePath {
    /// The 32-character base32 hash part.
    pub fn hash_part(&self) -> &str {
        &self.hash
    }

    /// The name after the hash, e.g. `nix-image-web.tar`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the path exists in this machine's store. (A path that exists
    /// is registered in every store nixflux targets; Nix never leaves
    /// unregistered paths behind in `/nix/store` for long.)
    pub fn is_present(&self) -> bool {
        std::fs::symlink_metadata(self.to_string()).is_ok()
    }

    /// The path, for file system calls.
    pub fn to_path_buf(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(self.to_string())
    }

    /// The base name `<hash>-<name>`.
    pub fn base_name(&self) -> String {
        format!("{}-{}", self.hash, self.name)
    }
}

impl FromStr for StorePath {
    type Err = StorePathError;

    fn from_str(s: &str) -> Result<Self, StorePathError> {
        let rest = s
            .strip_prefix(STORE_DIR)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| StorePathError::NotInStore(s.to_owned()))?;
        if rest.contains('/') {
            return Err(StorePathError::Subpath(s.to_owned()));
        }
        let (hash, name) = match rest.split_once('-') {
            Some(parts) => parts,
            None if rest.len() == HASH_LEN => return Err(StorePathError::MissingName(s.to_owned())),
            None => return Err(StorePathError::HashLength { path: s.to_owned(), len: rest.chars().count() }),
        };
        if hash.len() != HASH_LEN {
            return Err(StorePathError::HashLength { path: s.to_owned(), len: hash.chars().count() });
        }
        if let Some(ch) = hash.chars().find(|c| !is_nix_base32(*c)) {
            return Err(StorePathError::HashCharacter { path: s.to_owned(), ch });
        }
        if name.is_empty() {
            return Err(StorePathError::MissingName(s.to_owned()));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(StorePathError::NameTooLong { path: s.to_owned(), len: name.len() });
        }
        if let Some(ch) =
            name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_' | '?' | '=')))
        {
            return Err(StorePathError::NameCharacter { path: s.to_owned(), ch });
        }
        if name.starts_with('.') {
            return Err(StorePathError::NameDot(s.to_owned()));
        }
        Ok(StorePath { hash: hash.to_owned(), name: name.to_owned() })
    }
}

impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{STORE_DIR}/{}-{}", self.hash, self.name)
    }
}

serde_via_str!(StorePath);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_digits_are_the_alphabet() {
        let digits: Vec<u8> = (0..=255u8).filter(|b| is_nix_base32(char::from(*b))).collect();
        assert_eq!(digits, NIX_BASE32_ALPHABET);
        assert!(!is_nix_base32('é'));
    }

    const GOOD: &str = "/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-nix-image-web.tar";

    #[test]
    fn parses_and_displays() {
        let p: StorePath = GOOD.parse().unwrap();
        assert_eq!(p.hash_part(), "0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz");
        assert_eq!(p.name(), "nix-image-web.tar");
        assert_eq!(p.to_string(), GOOD);
    }

    #[test]
    fn rejects_each_way_of_being_wrong() {
        type IsExpected = fn(&StorePathError) -> bool;
        let cases: &[(&str, IsExpected)] = &[
            ("/usr/bin/x", |e| matches!(e, StorePathError::NotInStore(_))),
            ("/nix/store/abc-x", |e| matches!(e, StorePathError::HashLength { len: 3, .. })),
            ("/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfe-x", |e| {
                matches!(e, StorePathError::HashCharacter { ch: 'e', .. })
            }),
            ("/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz", |e| matches!(e, StorePathError::MissingName(_))),
            ("/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-", |e| matches!(e, StorePathError::MissingName(_))),
            ("/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-a b", |e| {
                matches!(e, StorePathError::NameCharacter { ch: ' ', .. })
            }),
            ("/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-.x", |e| matches!(e, StorePathError::NameDot(_))),
            ("/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-x/bin", |e| matches!(e, StorePathError::Subpath(_))),
        ];
        for (input, is_expected) in cases {
            let err = input.parse::<StorePath>().unwrap_err();
            assert!(is_expected(&err), "{input}: {err:?}");
        }
        let long = format!("/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-{}", "a".repeat(212));
        assert!(matches!(long.parse::<StorePath>(), Err(StorePathError::NameTooLong { .. })));
    }
}

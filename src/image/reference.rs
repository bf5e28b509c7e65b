//! `ImageRef`: an image reference as a pod spec carries it, parsed into its
//! parts so that pinning can be decided on structure, not on string shape.
//!
//! Two forms exist:
//! - nix-snapshotter: `nix:0` + a store path, optionally `:tag`
//!   (`nix:0/nix/store/<hash>-nix-image-web.tar`). The store path is content
//!   addressed, so these are always pinned.
//! - registry references, following the Docker reference grammar:
//!   `[host[:port]/]path[:tag][@algorithm:hex]`. Pinned only with a digest.

use std::fmt;
use std::str::FromStr;

use crate::nix::store_path::{StorePath, StorePathError};

pub const NIX_SCHEME: &str = "nix:0";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageRef {
    Nix { path: StorePath, tag: Option<String> },
    Registry { domain: Option<String>, path: String, tag: Option<String>, digest: Option<Digest> },
}

/// `algorithm:hex`, e.g. `sha256:` and 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    pub algorithm: String,
    pub hex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error("the image reference is empty")]
    Empty,
    #[error("`{reference}` has white space or a control character: image references have none")]
    Whitespace { reference: String },
    #[error("`{reference}` is not a nix-snapshotter reference: {source}")]
    StorePath { reference: String, source: StorePathError },
    #[error("`{reference}` has an empty tag after `:`")]
    EmptyTag { reference: String },
    #[error("`{reference}` has an invalid tag `{tag}`: a tag is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`")]
    Tag { reference: String, tag: String },
    #[error("`{reference}` has an invalid digest `{digest}`: {why}")]
    Digest { reference: String, digest: String, why: &'static str },
    #[error("`{reference}` has an invalid registry host `{domain}`: a host is DNS labels separated by `.`, optionally `:port`")]
    Domain { reference: String, domain: String },
    #[error("`{reference}` has an invalid path component `{component}`: components are lowercase letters and digits, joined by `.`, `_`, `__` or `-`")]
    PathComponent { reference: String, component: String },
    #[error("`{reference}` has uppercase letters in its repository name; repository names are lowercase")]
    Uppercase { reference: String },
    #[error("`{reference}` has a name of {len} characters: at most 255 are allowed")]
    NameTooLong { reference: String, len: usize },
}

impl ImageRef {
    /// Pinned means the reference names exactly one image content: a Nix
    /// store path, or a registry reference with a digest.
    pub fn is_pinned(&self) -> bool {
        match self {
            ImageRef::Nix { .. } => true,
            ImageRef::Registry { digest, .. } => digest.is_some(),
        }
    }

    pub fn store_path(&self) -> Option<&StorePath> {
        match self {
            ImageRef::Nix { path, .. } => Some(path),
            ImageRef::Registry { .. } => None,
        }
    }
}

fn is_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A path component: `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_hexdigit() || c == b':');
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

fn parse_digest(reference: &str, d: &str) -> Result<Digest, ImageRefError> {
    let err = |why| ImageRefError::Digest { reference: reference.to_owned(), digest: d.to_owned(), why };
    let (algorithm, hex) =
        d.split_once(':').ok_or_else(|| err("a digest is `algorithm:hex`, e.g. `sha256:` and 64 hex digits"))?;
    let algo_ok = !algorithm.is_empty()
        && algorithm.as_bytes()[0].is_ascii_lowercase()
        && algorithm
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'+' | b'.' | b'_' | b'-'));
    if !algo_ok {
        return Err(err("the algorithm is lowercase letters and digits, e.g. `sha256`"));
    }
    if !hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) || hex.is_empty() {
        return Err(err("the hex part is lowercase hex digits"));
    }
    match algorithm {
        "sha256" if hex.len() != 64 => return Err(err("a sha256 digest has exactly 64 hex digits")),
        "sha512" if hex.len() != 128 => return Err(err("a sha512 digest has exactly 128 hex digits")),
        _ if hex.len() < 32 => return Err(err("the hex part has at least 32 digits")),
        _ => {}
    }
    Ok(Digest { algorithm: algorithm.to_owned(), hex: hex.to_owned() })
}

impl FromStr for ImageRef {
    type Err = ImageRefError;

    fn from_str(s: &str) -> Result<Self, ImageRefError> {
        let reference = s.to_owned();
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ImageRefError::Whitespace { reference });
        }
        if let Some(rest) = s.strip_prefix(NIX_SCHEME) {
            // A store path name has no `:`, so a `:` after it starts the tag.
            let (path, tag) = match rest.split_once(':') {
                Some((p, t)) => (p, Some(t)),
                None => (rest, None),
            };
            let path = path
                .parse::<StorePath>()
                .map_err(|source| ImageRefError::StorePath { reference: reference.clone(), source })?;
            if let Some(t) = tag {
                if t.is_empty() {
                    return Err(ImageRefError::EmptyTag { reference });
                }
                if !is_tag(t) {
                    return Err(ImageRefError::Tag { reference, tag: t.to_owned() });
                }
            }
            return Ok(ImageRef::Nix { path, tag: tag.map(str::to_owned) });
        }

        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(parse_digest(s, d)?)),
            None => (s, None),
        };
        // The tag is after the last `:` that follows the last `/`.
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (&name_tag[..last_slash + i], Some(&name_tag[last_slash + i + 1..])),
            None => (name_tag, None),
        };
        if let Some(t) = tag {
            if t.is_empty() {
                return Err(ImageRefError::EmptyTag { reference });
            }
            if !is_tag(t) {
                return Err(ImageRefError::Tag { reference, tag: t.to_owned() });
            }
        }
        if name.len() > MAX_NAME_LEN {
            return Err(ImageRefError::NameTooLong { reference, len: name.len() });
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') => {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        if let Some(d) = domain {
            if !is_domain(d) {
                return Err(ImageRefError::Domain { reference, domain: d.to_owned() });
            }
        }
        for component in path.split('/') {
            if !is_path_component(component) {
                if component.bytes().any(|c| c.is_ascii_uppercase())
                    && is_path_component(&component.to_ascii_lowercase())
                {
                    return Err(ImageRefError::Uppercase { reference });
                }
                return Err(ImageRefError::PathComponent { reference, component: component.to_owned() });
            }
        }
        Ok(ImageRef::Registry {
            domain: domain.map(str::to_owned),
            path: path.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Nix { path, tag } => {
                write!(f, "{NIX_SCHEME}{path}")?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                Ok(())
            }
            ImageRef::Registry { domain, path, tag, digest } => {
                if let Some(d) = domain {
                    write!(f, "{d}/")?;
                }
                f.write_str(path)?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                if let Some(d) = digest {
                    write!(f, "@{}:{}", d.algorithm, d.hex)?;
                }
                Ok(())
            }
        }
    }
}

serde_via_str!(ImageRef);

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const NIX: &str = "nix:0/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-nix-image-web.tar";

    #[test]
    fn valid_references_round_trip() {
        let cases = [
            (NIX.to_owned(), true),
            (format!("{NIX}:v1"), true),
            ("nginx".to_owned(), false),
            ("nginx:1.27".to_owned(), false),
            (format!("nginx@{SHA}"), true),
            (format!("nginx:1.27@{SHA}"), true),
            ("ghcr.io/immich-app/immich-server:v1.120.0".to_owned(), false),
            (format!("ghcr.io/immich-app/immich-server@{SHA}"), true),
            ("localhost:5000/team/app:dev".to_owned(), false),
            ("localhost/app".to_owned(), false),
            ("registry.example.org:443/a/b/c".to_owned(), false),
            ("[::1]:5000/app".to_owned(), false),
            ("library/a__b".to_owned(), false),
            ("a-----b.c_d".to_owned(), false),
            ("docker.io/library/nginx:latest".to_owned(), false),
            ("app:_tag".to_owned(), false),
        ];
        for (input, pinned) in cases {
            let r: ImageRef = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.to_string(), input);
            assert_eq!(r.is_pinned(), pinned, "{input}");
        }
    }

    #[test]
    fn registry_parts() {
        let r: ImageRef = "localhost:5000/team/app:dev".parse().unwrap();
        assert_eq!(
            r,
            ImageRef::Registry {
                domain: Some("localhost:5000".into()),
                path: "team/app".into(),
                tag: Some("dev".into()),
                digest: None
            }
        );
        let r: ImageRef = format!("{NIX}:v2").parse().unwrap();
        assert_eq!(r.store_path().map(|p| p.name()), Some("nix-image-web.tar"));
    }

    #[test]
    fn invalid_references_say_why() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("nginx latest", "white space"),
            ("nix:0/usr/bin/x", "not a nix-snapshotter reference"),
            ("nix:0/nix/store/short-x", "hash part of 5 characters"),
            ("nix:0/nix/store/0c0ai3dkvq2wnbh4nc3fzvnxl7ijsbfz-web.tar:", "empty tag"),
            ("nginx:", "empty tag"),
            ("nginx:-x", "invalid tag `-x`"),
            ("nginx:a/b", "invalid registry host `nginx:a`"),
            ("nginx@sha256:abc", "exactly 64 hex digits"),
            ("nginx@sha256", "`algorithm:hex`"),
            ("nginx@SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "algorithm is lowercase"),
            ("nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "lowercase hex"),
            ("Nginx", "uppercase"),
            ("ghcr.io/Immich/server", "uppercase"),
            ("-bad.example.com/x", "invalid registry host"),
            ("example.com:port/x", "invalid registry host"),
            ("a//b", "invalid path component ``"),
            ("a/b/", "invalid path component ``"),
            ("a..b", "invalid path component `a..b`"),
            ("a_-b", "invalid path component"),
            ("ex.com/", "invalid path component ``"),
        ];
        for (input, needle) in cases {
            let err = input.parse::<ImageRef>().unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: `{err}` lacks `{needle}`");
        }
        let long = format!("a/{}", "b".repeat(260));
        assert!(matches!(long.parse::<ImageRef>(), Err(ImageRefError::NameTooLong { .. })));
    }
}

//! `TargetUrl`: where to publish, as the user writes it (`s3://BUCKET/PREFIX`,
//! `dir:///PATH` or a plain path), validated: bucket names as S3 allows
//! them, prefix segments that cannot climb out of the prefix.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where to publish: `s3://BUCKET[/PREFIX]`, `dir:///PATH` or a plain path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetUrl {
    S3 { bucket: String, prefix: String },
    Dir { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetUrlError {
    #[error("`{0}` has no bucket: write `s3://BUCKET` or `s3://BUCKET/PREFIX`")]
    NoBucket(String),
    #[error("`{url}`: `{bucket}` is not a valid bucket name (3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit)")]
    Bucket { url: String, bucket: String },
    #[error("`{url}`: the prefix segment `{segment}` is not allowed (segments are non-empty, not `.` or `..`, and use letters, digits and `._-`)")]
    Prefix { url: String, segment: String },
    #[error("`{0}`: unsupported scheme; use `s3://BUCKET/PREFIX`, `dir:///PATH` or a plain directory path")]
    Scheme(String),
    #[error("`{0}`: a `dir://` URL takes an absolute path (`dir:///srv/bundles`)")]
    DirNotAbsolute(String),
    /// `s3:/bucket/x`, `dir:/srv/b`: a scheme without `//`, which would
    /// otherwise be taken as a local directory named `s3:`.
    #[error("`{url}`: `{scheme}:` must be followed by `//` (`{scheme}://...`)")]
    MissingSlashes { url: String, scheme: &'static str },
}

fn valid_bucket(b: &str) -> bool {
    let bytes = b.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !b.contains("..")
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

impl FromStr for TargetUrl {
    type Err = TargetUrlError;

    fn from_str(url: &str) -> std::result::Result<Self, TargetUrlError> {
        for scheme in ["s3", "dir"] {
            let lower = url.to_ascii_lowercase();
            if lower.starts_with(&format!("{scheme}:")) && !url.starts_with(&format!("{scheme}://")) {
                return Err(TargetUrlError::MissingSlashes { url: url.to_owned(), scheme });
            }
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(TargetUrlError::NoBucket(url.to_owned()));
            }
            if !valid_bucket(bucket) {
                return Err(TargetUrlError::Bucket { url: url.to_owned(), bucket: bucket.to_owned() });
            }
            let mut normalized = String::new();
            for segment in prefix.split('/').filter(|s| !s.is_empty()) {
                if !valid_segment(segment) {
                    return Err(TargetUrlError::Prefix { url: url.to_owned(), segment: segment.to_owned() });
                }
                normalized.push_str(segment);
                normalized.push('/');
            }
            if prefix.split('/').any(|s| s == ".." || s == ".") {
                return Err(TargetUrlError::Prefix { url: url.to_owned(), segment: "..".into() });
            }
            return Ok(TargetUrl::S3 { bucket: bucket.to_owned(), prefix: normalized });
        }
        if let Some(path) = url.strip_prefix("dir://") {
            if !path.starts_with('/') {
                return Err(TargetUrlError::DirNotAbsolute(url.to_owned()));
            }
            return Ok(TargetUrl::Dir { path: PathBuf::from(path) });
        }
        if url.contains("://") {
            return Err(TargetUrlError::Scheme(url.to_owned()));
        }
        Ok(TargetUrl::Dir { path: PathBuf::from(url) })
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            TargetUrl::Dir { path } if path.is_absolute() => write!(f, "dir://{}", path.display()),
            TargetUrl::Dir { path } => write!(f, "`{}`", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            "s3://flux/home".parse::<TargetUrl>().unwrap(),
            TargetUrl::S3 { bucket: "flux".into(), prefix: "home/".into() }
        );
        assert_eq!(
            "s3://flux/a/b/".parse::<TargetUrl>().unwrap(),
            TargetUrl::S3 { bucket: "flux".into(), prefix: "a/b/".into() }
        );
        assert_eq!(
            "s3://flux".parse::<TargetUrl>().unwrap(),
            TargetUrl::S3 { bucket: "flux".into(), prefix: "".into() }
        );
        assert_eq!("dir:///srv/b".parse::<TargetUrl>().unwrap(), TargetUrl::Dir { path: "/srv/b".into() });
        assert_eq!("out/b".parse::<TargetUrl>().unwrap(), TargetUrl::Dir { path: "out/b".into() });
        for bad in [
            "s3:/flux/x",
            "s3:flux",
            "S3://flux",
            "dir:/srv/b",
            "dir:srv",
            "s3:",
            "s3://",
            "s3://Flux/x",
            "s3://fl/x",
            "s3://flux/../x",
            "s3://flux/a b",
            "http://x",
            "dir://rel",
        ] {
            assert!(bad.parse::<TargetUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_scheme_without_two_slashes_is_refused_not_a_directory() {
        for (url, scheme) in [("s3:/flux/home", "s3"), ("s3:flux", "s3"), ("dir:/srv/b", "dir"), ("DIR:/srv", "dir")] {
            assert_eq!(
                url.parse::<TargetUrl>(),
                Err(TargetUrlError::MissingSlashes { url: url.into(), scheme }),
                "{url}"
            );
        }
        // A path that only contains the letters is still a path.
        assert_eq!("./s3:x".parse::<TargetUrl>().unwrap(), TargetUrl::Dir { path: "./s3:x".into() });
        assert_eq!("s3data".parse::<TargetUrl>().unwrap(), TargetUrl::Dir { path: "s3data".into() });
    }
}

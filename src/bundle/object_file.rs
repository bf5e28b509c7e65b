//! `ObjectFile`: the key of an object file in a bundle or a target,
//! `objects/<sha256 hex>.yaml`, validated wherever it is read (`bundle.json`,
//! generation records, the pointer), so that a path taken from a file can
//! never name anything outside `objects/` (`../x`, `/etc/hostname`).

use std::fmt;
use std::str::FromStr;

use super::digest::sha256_hex;

/// The directory of object files, in a bundle and in a target.
pub const OBJECTS_DIR: &str = "objects";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectFile(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a content-addressed object file name (`objects/<sha256>.yaml`)")]
pub struct ObjectFileError(String);

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

impl ObjectFile {
    /// The file holding content whose sha256 is `sha` (64 lowercase hex digits).
    pub fn of_sha256(sha: &str) -> Result<ObjectFile, ObjectFileError> {
        format!("{OBJECTS_DIR}/{sha}.yaml").parse()
    }

    /// The file for `content`, and the content's sha256 in hex.
    pub fn for_content(content: &[u8]) -> (ObjectFile, String) {
        let sha = sha256_hex(content);
        (ObjectFile::of_hash(&sha), sha)
    }

    /// The file for content whose sha256 `sha256_hex` gave as `sha`.
    pub(crate) fn of_hash(sha: &str) -> ObjectFile {
        ObjectFile(format!("{OBJECTS_DIR}/{sha}.yaml"))
    }

    /// The sha256 its name says its content has.
    pub fn sha256(&self) -> &str {
        &self.0[OBJECTS_DIR.len() + 1..self.0.len() - ".yaml".len()]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ObjectFile {
    type Err = ObjectFileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let sha = s.strip_prefix(OBJECTS_DIR).and_then(|r| r.strip_prefix('/')).and_then(|r| r.strip_suffix(".yaml"));
        match sha {
            Some(sha) if is_sha256_hex(sha) => Ok(ObjectFile(s.to_owned())),
            _ => Err(ObjectFileError(s.to_owned())),
        }
    }
}

impl fmt::Display for ObjectFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ObjectFile {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

serde_via_str!(ObjectFile);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_object_files_parse() {
        let sha = "a".repeat(64);
        let f: ObjectFile = format!("objects/{sha}.yaml").parse().unwrap();
        assert_eq!(f.sha256(), sha);
        assert_eq!(ObjectFile::of_sha256(&sha).unwrap(), f);
        for bad in [
            "../x".to_owned(),
            "/etc/hostname".to_owned(),
            format!("objects/../{sha}.yaml"),
            format!("objects/{sha}.yml"),
            format!("objects/{}.yaml", "A".repeat(64)),
            format!("/objects/{sha}.yaml"),
            format!("objects//{sha}.yaml"),
            "kustomization.yaml".to_owned(),
        ] {
            assert!(bad.parse::<ObjectFile>().is_err(), "{bad}");
        }
    }
}

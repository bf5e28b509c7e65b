//! Reading a bundle directory back (what `publish` and `diff` take), with
//! its integrity checked: every file `bundle.json` names must exist and hash
//! to its name, and `kustomization.yaml` must list exactly those files.
//! A bundle that fails is refused before anything is published.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{
    sha256_hex, Bundle, BundleFile, BundleIndex, IndexFile, IndexObject, ObjectFile, Sha256Digest, INDEX_FILE,
    KUSTOMIZATION_FILE,
};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a nixflux bundle index: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{path}` uses bundle format {found}; this nixflux reads format {}", super::index::FORMAT_VERSION)]
    Format { path: PathBuf, found: u32 },
    #[error("bundle `{bundle}` is damaged: {why}")]
    Damaged { bundle: PathBuf, why: String },
    #[error("`{}` is not a bundle: {why}", dir.display())]
    NotABundle { dir: PathBuf, why: &'static str },
}

/// Reads `bundle.json` of the bundle at `dir`; a directory that does not
/// exist, or holds no `bundle.json`, is not a bundle (the user's input).
fn read_index_file(dir: &Path) -> Result<Vec<u8>, ReadError> {
    fs::read(dir.join(INDEX_FILE)).map_err(|source| not_read(dir, source))
}

/// Refuses a `dir` that `read_index_file` would refuse for want of a
/// `bundle.json`, without reading it.
pub fn check_is_bundle(dir: &Path) -> Result<(), ReadError> {
    fs::metadata(dir.join(INDEX_FILE)).map(drop).map_err(|source| not_read(dir, source))
}

fn not_read(dir: &Path, source: std::io::Error) -> ReadError {
    match source.kind() {
        std::io::ErrorKind::NotFound if !dir.exists() => {
            ReadError::NotABundle { dir: dir.to_owned(), why: "it does not exist" }
        }
        std::io::ErrorKind::NotFound if dir.join(super::index::LAYERS_FILE).is_file() => ReadError::NotABundle {
            dir: dir.to_owned(),
            why: "it is a layered bundle (`layers.json`): only `publish` takes it whole; give one layer's directory `DIR/<layer>` (with `--to` at `<prefix><layer>`)",
        },
        std::io::ErrorKind::NotFound => ReadError::NotABundle { dir: dir.to_owned(), why: "it has no `bundle.json`" },
        _ => ReadError::Io { path: dir.join(INDEX_FILE), source },
    }
}

/// Reads only `bundle.json` of the bundle at `dir` (checked as a whole by `Bundle::read`).
pub fn read_index(dir: &Path) -> Result<BundleIndex, ReadError> {
    let index_path = dir.join(INDEX_FILE);
    let bytes = read_index_file(dir)?;
    parse_index(&index_path, &bytes)
}

/// Reads only the digest from the bundle's `bundle.json`.
pub fn read_digest(dir: &Path) -> Result<Sha256Digest, ReadError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Digest {
        format_version: u32,
        digest: Sha256Digest,
    }
    let index_path = dir.join(INDEX_FILE);
    let text = read_index_file(dir)?;
    let d: Digest =
        serde_json::from_slice(&text).map_err(|source| ReadError::Index { path: index_path.clone(), source })?;
    if d.format_version != super::index::FORMAT_VERSION {
        return Err(ReadError::Format { path: index_path, found: d.format_version });
    }
    Ok(d.digest)
}

fn parse_index(index_path: &Path, bytes: &[u8]) -> Result<BundleIndex, ReadError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Version {
        format_version: u32,
    }
    let wrong_version = |found: u32| ReadError::Format { path: index_path.to_owned(), found };
    // Valid UTF-8 (any index nixflux writes) is parsed as it is; other
    // bytes are read lossily, so that the error still names a line.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    match serde_json::from_str::<BundleIndex>(&text) {
        Ok(index) if index.format_version != super::index::FORMAT_VERSION => Err(wrong_version(index.format_version)),
        Ok(index) => Ok(index),
        // An index of another format says so, before what does not parse in it.
        Err(source) => match serde_json::from_str::<Version>(&text) {
            Ok(v) if v.format_version != super::index::FORMAT_VERSION => Err(wrong_version(v.format_version)),
            _ => Err(ReadError::Index { path: index_path.to_owned(), source }),
        },
    }
}

impl Bundle {
    /// Reads and verifies the bundle at `dir` (a directory or a Nix store path).
    pub fn read(dir: &Path) -> Result<Bundle, ReadError> {
        Self::read_trusting(dir, &Trusted::default())
    }

    /// Reads and verifies the bundle at `dir`, except that a file `trusted`
    /// knows already, with the same objects, is not parsed again (its
    /// content is still checked against its name).
    pub fn read_trusting(dir: &Path, trusted: &Trusted) -> Result<Bundle, ReadError> {
        Self::read_unparsed(dir)?.verify(trusted)
    }

    /// The first half of `read_trusting`, which needs no trust: the index
    /// and every object file read, each checked against its name. Done
    /// while the live generation's record (the trust) is still on its way.
    pub fn read_unparsed(dir: &Path) -> Result<Unparsed, ReadError> {
        Indexed::read(dir)?.read_files()
    }
}

/// A bundle's index and kustomization, read and parsed, its object files
/// not yet read: what a publish needs first, to know which files it must read.
pub struct Indexed {
    dir: PathBuf,
    pub index: BundleIndex,
    kustomization: BundleFile,
}

impl Indexed {
    pub fn read(dir: &Path) -> Result<Indexed, ReadError> {
        let index_path = dir.join(INDEX_FILE);
        let bytes = read_index_file(dir)?;
        let index = parse_index(&index_path, &bytes)?;
        for f in &index.files {
            if f.path.sha256() != f.sha256 {
                return Err(ReadError::Damaged {
                    bundle: dir.to_owned(),
                    why: format!("`{}` is not a content-addressed object file name", f.path),
                });
            }
        }
        let kpath = dir.join(KUSTOMIZATION_FILE);
        let kcontent = fs::read(&kpath).map_err(|source| ReadError::Io { path: kpath.clone(), source })?;
        let kustomization = BundleFile { path: KUSTOMIZATION_FILE.into(), content: kcontent };
        Ok(Indexed { dir: dir.to_owned(), index, kustomization })
    }

    /// Reads the object files, each checked against its name.
    pub fn read_files(self) -> Result<Unparsed, ReadError> {
        self.read_files_ahead(ReadAhead::default())
    }

    /// `read_files`, taking the files `ahead` holds from it instead of
    /// reading them again (each is still checked against its name).
    pub fn read_files_ahead(self, mut ahead: ReadAhead) -> Result<Unparsed, ReadError> {
        let Indexed { dir, index, kustomization } = self;
        let io = |path: PathBuf| move |source| ReadError::Io { path, source };
        let damaged = |why: String| ReadError::Damaged { bundle: dir.to_owned(), why };
        let mut objects = Vec::with_capacity(index.files.len());
        for f in &index.files {
            let (content, actual) = match ahead.files.remove(f.path.as_str()) {
                Some(read) => read,
                None => {
                    let path = dir.join(f.path.as_str());
                    let content = match fs::read(&path) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            return Err(damaged(format!("`{}` is missing", f.path)));
                        }
                        other => other.map_err(io(path.clone()))?,
                    };
                    let actual = sha256_hex(&content);
                    (content, actual)
                }
            };
            if actual != f.sha256 {
                return Err(damaged(format!("`{}` has sha256 {actual}, not the one its name says", f.path)));
            }
            objects.push(BundleFile { path: f.path.to_string(), content });
        }
        Ok(Unparsed { dir, bundle: Bundle { objects, kustomization, index } })
    }
}

/// The object files of a bundle directory, read (and hashed) before its
/// index says which it needs, so that the reading overlaps with parsing
/// the index and with a publish's reads of its target. What it cannot
/// read it leaves out: `Indexed::read_files_ahead` reads those again and
/// reports the error there.
#[derive(Default)]
pub struct ReadAhead {
    /// Path in the bundle (`objects/<sha256>.yaml`) to content and sha256.
    files: HashMap<String, (Vec<u8>, String)>,
}

impl ReadAhead {
    /// Reads `dir/objects/*.yaml` until `stop` is set.
    pub fn read(dir: &Path, stop: &AtomicBool) -> ReadAhead {
        let mut files = HashMap::new();
        let Ok(entries) = fs::read_dir(dir.join(super::OBJECTS_DIR)) else {
            return ReadAhead { files };
        };
        for entry in entries.flatten() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if !name.ends_with(".yaml") {
                continue;
            }
            if let Ok(content) = fs::read(entry.path()) {
                let sha = sha256_hex(&content);
                files.insert(format!("{}/{name}", super::OBJECTS_DIR), (content, sha));
            }
        }
        ReadAhead { files }
    }
}

/// A bundle whose files are read and match their names, but whose objects
/// are not yet checked against the index (`verify`).
pub struct Unparsed {
    dir: PathBuf,
    bundle: Bundle,
}

impl Unparsed {
    /// The second half of `read_trusting`: the objects each file holds are
    /// the ones the index lists (files `trusted` knows are not parsed), the
    /// kustomization lists exactly the index's files, the digest holds.
    pub fn verify(self, trusted: &Trusted) -> Result<Bundle, ReadError> {
        let Unparsed { dir, bundle } = self;
        let damaged = |why: String| ReadError::Damaged { bundle: dir.clone(), why };
        for (f, file) in bundle.index.files.iter().zip(&bundle.objects) {
            // The ids the guard counts must be the ones Flux will apply.
            match trusted
                .objects(&f.path)
                .filter(|o| *o == f.objects.as_slice())
                .map_or_else(|| super::verify::objects_of(&file.content), |o| Ok(o.to_vec()))
            {
                Ok(found) if found == f.objects => {}
                Ok(found) => {
                    let ids =
                        |v: &[super::IndexObject]| v.iter().map(|o| o.id.inventory_id()).collect::<Vec<_>>().join(", ");
                    return Err(damaged(format!(
                        "`{}` holds the objects [{}], not the ones `{INDEX_FILE}` lists for it [{}]",
                        f.path,
                        ids(&found),
                        ids(&f.objects)
                    )));
                }
                Err(why) => return Err(damaged(format!("`{}` cannot be read as Flux reads it: {why}", f.path))),
            }
        }
        let listed = listed_resources(&bundle.kustomization.content)
            .ok_or_else(|| damaged(format!("`{KUSTOMIZATION_FILE}` cannot be read")))?;
        let mut want: Vec<&str> = bundle.index.files.iter().map(|f| f.path.as_str()).collect();
        want.dedup();
        if listed.iter().map(String::as_str).collect::<Vec<_>>() != want {
            return Err(damaged(format!("`{KUSTOMIZATION_FILE}` does not list exactly the files of `{INDEX_FILE}`")));
        }
        if bundle.digest() != bundle.index.digest {
            return Err(damaged(format!(
                "its digest is {}, but `{INDEX_FILE}` says {}",
                bundle.digest(),
                bundle.index.digest
            )));
        }
        Ok(bundle)
    }
}

/// The `resources` of a kustomization written by nixflux (YAML or JSON form).
pub fn listed_resources(content: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(content).ok()?;
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return v.get("resources")?.as_array()?.iter().map(|r| r.as_str().map(str::to_owned)).collect();
    }
    // Our YAML form: `resources:` then one `- path` line each, or `resources: []`.
    if text.lines().any(|l| l == "resources: []") {
        return Some(Vec::new());
    }
    let mut lines = text.lines().skip_while(|l| *l != "resources:");
    lines.next()?;
    Some(lines.map_while(|l| l.strip_prefix("- ")).map(str::to_owned).collect())
}

/// Object files whose objects are known (verified when they were published):
/// the live generation's, when a bundle is read to be published over it.
#[derive(Debug, Default)]
pub struct Trusted<'a> {
    files: std::collections::HashMap<&'a ObjectFile, &'a [IndexObject]>,
}

impl<'a> Trusted<'a> {
    pub fn new(files: &'a [IndexFile]) -> Trusted<'a> {
        Trusted { files: files.iter().map(|f| (&f.path, f.objects.as_slice())).collect() }
    }

    fn objects(&self, path: &ObjectFile) -> Option<&'a [IndexObject]> {
        self.files.get(path).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/helm/bundle.json");

    #[test]
    fn an_index_of_this_format_parses() {
        let bytes = fs::read(GOLDEN).unwrap();
        let index = parse_index(Path::new(GOLDEN), &bytes).unwrap();
        assert_eq!(index.format_version, super::super::index::FORMAT_VERSION);
        assert!(!index.files.is_empty());
    }

    #[test]
    fn another_format_is_named_whether_or_not_it_parses_as_this_one() {
        let text = fs::read_to_string(GOLDEN).unwrap();
        let same_shape = text.replacen("\"formatVersion\": 1", "\"formatVersion\": 9", 1);
        let other_shape = "{\"formatVersion\": 9, \"files\": \"elsewhere\"}";
        for bytes in [same_shape.as_bytes(), other_shape.as_bytes()] {
            match parse_index(Path::new("b/bundle.json"), bytes) {
                Err(ReadError::Format { found: 9, .. }) => {}
                other => panic!("not a format error: {:?}", other.map(|i| i.format_version)),
            }
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_index_error_with_a_line() {
        let mut bytes = b"{\n  \"formatVersion\": 1,\n  \"digest\": \"".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b"\"\n}");
        match parse_index(Path::new("b/bundle.json"), &bytes) {
            // Read lossily: the error shows the bytes as U+FFFD and names where.
            Err(ReadError::Index { source, .. }) => {
                assert!(source.to_string().contains('\u{fffd}'), "{source}");
                assert!(source.line() >= 3, "{source}");
            }
            other => panic!("not an index error: {:?}", other.map(|i| i.format_version)),
        }
    }
}

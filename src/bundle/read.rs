//! Reading a bundle directory back (what `publish` and `diff` take), with
//! its integrity checked: every file `bundle.json` names must exist and hash
//! to its name, and `kustomization.yaml` must list exactly those files.
//! A bundle that fails is refused before anything is published.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::loaded::LoadedFile;
pub use super::read_error::ReadError;

use super::{
    sha256_hex, Bundle, BundleFile, BundleIndex, IndexFile, IndexObject, ObjectFile, Sha256Digest, INDEX_FILE,
    KUSTOMIZATION_FILE,
};

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
        let keep_all = vec![false; self.index.files.len()];
        self.read_files_ahead(ReadAhead::default(), &keep_all)
    }

    /// For each file of the index, whether `read_files_ahead` may leave it
    /// unread: `ahead` hashed it to its name, and `trusted` knows it with
    /// the same objects (the publish needs its bytes only to repair).
    pub fn unread_ok(&self, ahead: &ReadAhead, trusted: &Trusted) -> Vec<bool> {
        self.index
            .files
            .iter()
            .map(|f| {
                ahead.files.get(f.path.as_str()).is_some_and(|(sha, _)| *sha == f.sha256)
                    && trusted.objects(&f.path).is_some_and(|o| same_objects(o, &f.objects))
            })
            .collect()
    }

    /// `read_files`, leaving the files `unread_ok` says unread (the
    /// read-ahead checked them) and reading the others (again, where the
    /// read-ahead read them too: only their hash was kept).
    pub fn read_files_ahead(self, ahead: ReadAhead, unread_ok: &[bool]) -> Result<Unparsed, ReadError> {
        let Indexed { dir, index, kustomization } = self;
        let io = |path: PathBuf| move |source| ReadError::Io { path, source };
        let damaged = |why: String| ReadError::Damaged { bundle: dir.to_owned(), why };
        let at: Arc<Path> = Arc::from(dir.as_path());
        let mut files = Vec::with_capacity(index.files.len());
        for (i, f) in index.files.iter().enumerate() {
            if unread_ok.get(i).copied().unwrap_or(false) {
                if let Some((_, size)) = ahead.files.get(f.path.as_str()) {
                    files.push(LoadedFile::unread(f.path.to_string(), *size, at.clone()));
                    continue;
                }
            }
            let path = dir.join(f.path.as_str());
            let content = match fs::read(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(damaged(format!("`{}` is missing", f.path)));
                }
                other => other.map_err(io(path.clone()))?,
            };
            let actual = sha256_hex(&content);
            if actual != f.sha256 {
                return Err(damaged(format!("`{}` has sha256 {actual}, not the one its name says", f.path)));
            }
            files.push(LoadedFile::read(f.path.to_string(), content));
        }
        Ok(Unparsed { dir, index, kustomization, files })
    }
}

/// The object files of a bundle directory, read and hashed before its
/// index says which it needs, so that the reading overlaps with parsing
/// the index and with a publish's reads of its target. Only each file's
/// hash and size are kept (one buffer serves every read). What it cannot
/// read it leaves out: `Indexed::read_files_ahead` reads those again and
/// reports the error there.
#[derive(Default)]
pub struct ReadAhead {
    /// Path in the bundle (`objects/<sha256>.yaml`) to sha256 and size.
    files: foldhash::HashMap<String, (String, u64)>,
}

impl ReadAhead {
    /// Reads `dir/objects/*.yaml` until `stop` is set.
    pub fn read(dir: &Path, stop: &AtomicBool) -> ReadAhead {
        let mut files = foldhash::HashMap::default();
        let objects = dir.join(super::OBJECTS_DIR);
        let (Ok(entries), Ok(at)) = (fs::read_dir(&objects), fs::File::open(&objects)) else {
            return ReadAhead { files };
        };
        let mut buf = Vec::with_capacity(64 << 10);
        for entry in entries.flatten() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if !name.ends_with(".yaml") {
                continue;
            }
            buf.clear();
            // Through `Take`, which reads to the end without asking the
            // file's size first: two reads per file, no stat.
            let read = open_in(&at, &name).and_then(|f| f.take(u64::MAX).read_to_end(&mut buf));
            if read.is_ok() {
                files.insert(format!("{}/{name}", super::OBJECTS_DIR), (sha256_hex(&buf), buf.len() as u64));
            }
        }
        ReadAhead { files }
    }
}

/// Opens `name` in the directory `dir` for reading: a lookup of one path
/// component instead of the whole path (a thousand opens add up).
fn open_in(dir: &fs::File, name: &str) -> std::io::Result<fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let name = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
    // SAFETY: `dir` is an open directory and `name` a NUL-terminated path;
    // openat returns a new descriptor or -1.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Ok(unsafe { fs::File::from_raw_fd(fd) })
}

/// A bundle whose files are read and match their names, but whose objects
/// are not yet checked against the index (`verify`).
pub struct Unparsed {
    dir: PathBuf,
    index: BundleIndex,
    kustomization: BundleFile,
    files: Vec<LoadedFile>,
}

impl Unparsed {
    /// The second half of `read_trusting`: the objects each file holds are
    /// the ones the index lists (files `trusted` knows are not parsed), the
    /// kustomization lists exactly the index's files, the digest holds.
    pub fn verify(self, trusted: &Trusted) -> Result<Bundle, ReadError> {
        let (index, files, kustomization) = self.verify_loaded(trusted)?;
        let objects = files.into_iter().map(LoadedFile::into_bundle_file).collect::<Result<_, _>>()?;
        Ok(Bundle { objects, kustomization, index })
    }

    /// `verify`, keeping the files as read (some possibly unread).
    pub fn verify_loaded(self, trusted: &Trusted) -> Result<(BundleIndex, Vec<LoadedFile>, BundleFile), ReadError> {
        let Unparsed { dir, index, kustomization, files } = self;
        let damaged = |why: String| ReadError::Damaged { bundle: dir.clone(), why };
        for (f, file) in index.files.iter().zip(&files) {
            // Left unread only where `trusted` holds these very objects.
            if file.is_unread() {
                continue;
            }
            // The ids the guard counts must be the ones Flux will apply:
            // known already where `trusted` holds these very objects.
            if trusted.objects(&f.path).is_some_and(|o| same_objects(o, &f.objects)) {
                continue;
            }
            let found = file.content().map_err(|e| e.to_string()).and_then(|c| super::verify::objects_of(&c));
            match found {
                Ok(found) if found[..] == f.objects[..] => {}
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
        let listed = listed_resources(&kustomization.content)
            .ok_or_else(|| damaged(format!("`{KUSTOMIZATION_FILE}` cannot be read")))?;
        let mut want: Vec<&str> = index.files.iter().map(|f| f.path.as_str()).collect();
        want.dedup();
        if listed.iter().map(String::as_str).collect::<Vec<_>>() != want {
            return Err(damaged(format!("`{KUSTOMIZATION_FILE}` does not list exactly the files of `{INDEX_FILE}`")));
        }
        let digest = super::digest_of(&index.files, &kustomization);
        if digest != index.digest {
            return Err(damaged(format!("its digest is {digest}, but `{INDEX_FILE}` says {}", index.digest)));
        }
        Ok((index, files, kustomization))
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
    files: foldhash::HashMap<&'a ObjectFile, &'a [IndexObject]>,
}

impl<'a> Trusted<'a> {
    pub fn new(files: &'a [IndexFile]) -> Trusted<'a> {
        Trusted { files: files.iter().map(|f| (&f.path, &f.objects[..])).collect() }
    }

    fn objects(&self, path: &ObjectFile) -> Option<&'a [IndexObject]> {
        self.files.get(path).copied()
    }
}

/// Whether two lists of objects are the same: at once when they are one
/// list (a live file whose objects were taken from the bundle's own).
fn same_objects(a: &[IndexObject], b: &[IndexObject]) -> bool {
    std::ptr::eq(a, b) || a == b
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

//! Writing a bundle to a directory without ever leaving a partial one: the
//! files go into a fresh directory beside the target, which then takes the
//! target's place by rename. An existing target is replaced only when it is
//! an earlier bundle (or empty).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::index::LAYERS_FILE;
use super::layered::{Built, LayeredBundle};
use super::{Bundle, ObjectFile, INDEX_FILE, KUSTOMIZATION_FILE, OBJECTS_DIR};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("refusing to replace `{0}`: it exists and is not a nixflux bundle")]
    NotABundle(PathBuf),
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_owned(), source }
}

/// Whether `dir` may be replaced: an empty directory, or a bundle through
/// and through (`bundle.json`, `kustomization.yaml` and `objects/` holding
/// only object files, nothing else, no symlinks), or a layered bundle
/// (`layers.json` and directories that are bundles). A directory that
/// merely holds a file called `bundle.json` is not one.
fn replaceable(dir: &Path) -> Result<bool, WriteError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let kind = entry.file_type().map_err(io_at(&entry.path()))?;
        entries.push((entry.file_name(), kind, entry.path()));
    }
    if entries.is_empty() {
        return Ok(true);
    }
    let layered = entries.iter().any(|(name, kind, _)| kind.is_file() && name.to_str() == Some(LAYERS_FILE));
    let mut has_index = false;
    for (name, kind, path) in entries {
        match name.to_str() {
            Some(INDEX_FILE) if kind.is_file() => has_index = true,
            Some(LAYERS_FILE) if kind.is_file() => {}
            Some(KUSTOMIZATION_FILE) if kind.is_file() => {}
            Some(OBJECTS_DIR) if kind.is_dir() => {
                for entry in fs::read_dir(&path).map_err(io_at(&path))? {
                    let entry = entry.map_err(io_at(&path))?;
                    let kind = entry.file_type().map_err(io_at(&entry.path()))?;
                    let key = format!("{OBJECTS_DIR}/{}", entry.file_name().to_string_lossy());
                    if !kind.is_file() || key.parse::<ObjectFile>().is_err() {
                        return Ok(false);
                    }
                }
            }
            Some(layer) if layered && kind.is_dir() && crate::spec::names::is_layer_name(layer) => {
                if !path.join(INDEX_FILE).is_file() || !replaceable(&path)? {
                    return Ok(false);
                }
            }
            _ => return Ok(false),
        }
    }
    Ok(has_index || layered)
}

impl Bundle {
    /// Writes the bundle into `dir`, which must not exist (a Nix `$out`).
    pub fn write_into(&self, dir: &Path) -> Result<(), WriteError> {
        fs::create_dir(dir).map_err(io_at(dir))?;
        self.fill(dir)
    }

    fn write_files(&self, root: &Path) -> Result<(), WriteError> {
        let objects = root.join(OBJECTS_DIR);
        fs::create_dir(&objects).map_err(io_at(&objects))?;
        // Creating files is the slow part on most disks; overlap it.
        let files: Vec<&super::BundleFile> = self.objects.iter().chain(std::iter::once(&self.kustomization)).collect();
        crate::parallel::map(&files, |f| {
            let path = root.join(&f.path);
            fs::write(&path, &f.content).map_err(|source| WriteError::Io { path, source })
        })
        .into_iter()
        .collect::<Result<Vec<()>, _>>()?;
        let index = root.join(INDEX_FILE);
        fs::write(&index, self.index_bytes()).map_err(io_at(&index))
    }

    /// Writes the bundle to `out`, replacing an earlier bundle there.
    pub fn write_to(&self, out: &Path) -> Result<(), WriteError> {
        staged(out, |root| self.fill(root))
    }

    /// The files and their directories' modes, into the existing `root`.
    fn fill(&self, root: &Path) -> Result<(), WriteError> {
        self.write_files(root)?;
        set_dir_mode(root)?;
        set_dir_mode(&root.join(OBJECTS_DIR))
    }
}

impl LayeredBundle {
    fn fill(&self, root: &Path) -> Result<(), WriteError> {
        for (name, bundle) in &self.layers {
            let dir = root.join(name.as_str());
            fs::create_dir(&dir).map_err(io_at(&dir))?;
            bundle.fill(&dir)?;
        }
        let index = root.join(LAYERS_FILE);
        fs::write(&index, self.index_bytes()).map_err(io_at(&index))?;
        set_dir_mode(root)
    }
}

impl Built {
    /// Writes into `dir`, which must not exist (a Nix `$out`).
    pub fn write_into(&self, dir: &Path) -> Result<(), WriteError> {
        match self {
            Built::Single(b) => b.write_into(dir),
            Built::Layered(l) => {
                fs::create_dir(dir).map_err(io_at(dir))?;
                l.fill(dir)
            }
        }
    }

    /// Writes to `out`, replacing an earlier bundle (layered or not) there.
    pub fn write_to(&self, out: &Path) -> Result<(), WriteError> {
        match self {
            Built::Single(b) => b.write_to(out),
            Built::Layered(l) => staged(out, |root| l.fill(root)),
        }
    }
}

/// Fills a fresh directory beside `out` and renames it into `out`'s place.
fn staged(out: &Path, fill: impl FnOnce(&Path) -> Result<(), WriteError>) -> Result<(), WriteError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_at(&parent))?;
    let exists = match fs::symlink_metadata(out) {
        Ok(meta) if meta.is_dir() => {
            if !replaceable(out)? {
                return Err(WriteError::NotABundle(out.to_owned()));
            }
            true
        }
        Ok(_) => return Err(WriteError::NotABundle(out.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(WriteError::Io { path: out.to_owned(), source: e }),
    };
    let base = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
    let staging =
        tempfile::Builder::new().prefix(&format!(".{base}.nixflux-")).tempdir_in(&parent).map_err(io_at(&parent))?;
    let root = staging.path();
    fill(root)?;

    if exists {
        // Move the old bundle aside first; a rename cannot replace a
        // non-empty directory. It is deleted once the new one is in place.
        let old = tempfile::Builder::new()
            .prefix(&format!(".{base}.nixflux-old-"))
            .tempdir_in(&parent)
            .map_err(io_at(&parent))?;
        let old_bundle = old.path().join("bundle");
        fs::rename(out, &old_bundle).map_err(io_at(out))?;
        if let Err(e) = fs::rename(root, out) {
            // Put the old bundle back: the target must never be lost.
            let _ = fs::rename(&old_bundle, out);
            return Err(WriteError::Io { path: out.to_owned(), source: e });
        }
        drop(old);
    } else {
        fs::rename(root, out).map_err(io_at(out))?;
    }
    // The staging directory is now `out`; do not let its guard delete it.
    let _ = staging.keep();
    Ok(())
}

#[cfg(unix)]
fn set_dir_mode(dir: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io_at(dir))
}

#[cfg(not(unix))]
fn set_dir_mode(_dir: &Path) -> Result<(), WriteError> {
    Ok(())
}

//! The state file: every subject's entry, written atomically (a temporary
//! file in the same directory, fsynced, renamed over the old one, then the
//! directory fsynced) so that a crash leaves either the old or the new
//! state, and read back at start so a restart neither re-alerts failures
//! already told nor forgets a recovery still to tell.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::observation::Subject;
use super::state::Entry;

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    version: u32,
    subjects: Vec<Stored>,
}

#[derive(Serialize, Deserialize)]
// `flatten` and `deny_unknown_fields` do not go together in serde.
#[serde(rename_all = "camelCase")]
struct Stored {
    kind: String,
    namespace: String,
    name: String,
    #[serde(default)]
    app: Option<String>,
    #[serde(flatten)]
    entry: Entry,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("reading the state file `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state file `{path}` is not a state file of this version: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing the state file `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(path: PathBuf) -> Store {
        Store { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved entries; none when there is no file yet.
    pub fn load(&self) -> Result<HashMap<Subject, Entry>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(source) => return Err(StoreError::Read { path: self.path.clone(), source }),
        };
        let file: File =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt { path: self.path.clone(), source })?;
        if file.version != VERSION {
            let source = serde::de::Error::custom(format!("version {} (this nixflux writes {VERSION})", file.version));
            return Err(StoreError::Corrupt { path: self.path.clone(), source });
        }
        Ok(file
            .subjects
            .into_iter()
            .map(|s| (Subject { kind: s.kind, namespace: s.namespace, name: s.name, app: s.app }, s.entry))
            .collect())
    }

    /// Replaces the file with `entries`, atomically and durably.
    pub fn save(&self, entries: &HashMap<Subject, Entry>) -> Result<(), StoreError> {
        let fail = |source| StoreError::Write { path: self.path.clone(), source };
        let mut subjects: Vec<Stored> = entries
            .iter()
            .map(|(s, e)| Stored {
                kind: s.kind.clone(),
                namespace: s.namespace.clone(),
                name: s.name.clone(),
                app: s.app.clone(),
                entry: e.clone(),
            })
            .collect();
        subjects
            .sort_by(|a, b| (&a.kind, &a.namespace, &a.name, &a.app).cmp(&(&b.kind, &b.namespace, &b.name, &b.app)));
        let bytes = serde_json::to_vec(&File { version: VERSION, subjects }).map_err(|e| fail(e.into()))?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut tmp = tempfile::Builder::new().prefix(".state-").tempfile_in(&dir).map_err(fail)?;
        tmp.write_all(&bytes).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(&self.path).map_err(|e| fail(e.error))?;
        std::fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(fail)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::notify::state::Phase;

    #[test]
    fn entries_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state.json"));
        assert!(store.load().unwrap().is_empty());
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_123);
        let entry = Entry {
            phase: Phase::Alerted { since: t, told: t },
            reason: "BuildFailed".into(),
            message: "m".into(),
            revision: Some("sha256:1".into()),
            changed: t,
            quiet_until: None,
        };
        let subject =
            Subject { kind: "Kustomization".into(), namespace: "n".into(), name: "a".into(), app: Some("web".into()) };
        store.save(&HashMap::from([(subject.clone(), entry.clone())])).unwrap();
        assert_eq!(store.load().unwrap(), HashMap::from([(subject, entry)]));
        std::fs::write(store.path(), "{").unwrap();
        assert!(matches!(store.load(), Err(StoreError::Corrupt { .. })));
    }
}

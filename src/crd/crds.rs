//! `Crds`: the CustomResourceDefinitions of a directory (or of YAML text),
//! one compiled schema per served version, and the check of an object of
//! one of their kinds against its version's schema. `nixflux check --crds`
//! and the tests use it; documents of other kinds in the files are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::schema::{Schema, SchemaError};
use crate::object::group_of;
use crate::spec::{JsonPath, Problem};

/// The served versions of every loaded CRD, by group and kind.
#[derive(Debug, Clone, Default)]
pub struct Crds {
    kinds: BTreeMap<(String, String), Kind>,
}

#[derive(Debug, Clone)]
struct Kind {
    /// Where the CRD was read: `file`, document N.
    source: String,
    /// Served versions by name; `None` when the version has no schema.
    versions: BTreeMap<String, Option<Schema>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    #[error("CRD directory `{}` does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("reading CRDs from `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no `.yaml` or `.yml` files under `{}`", path.display())]
    NoFiles { path: PathBuf },
    #[error("CRD file `{file}`, document {index}: {message}")]
    Document { file: String, index: usize, message: String },
    #[error("CRD file `{file}`, document {index}: {source}")]
    Schema {
        file: String,
        index: usize,
        #[source]
        source: SchemaError,
    },
    #[error("`{kind}.{group}` is defined twice: in {first} and in `{file}`, document {index}")]
    Duplicate { group: String, kind: String, first: String, file: String, index: usize },
}

impl Crds {
    /// Every `.yaml`/`.yml` file under `dir`, recursively, in path order.
    pub fn load_dir(dir: &Path) -> Result<Crds, CrdError> {
        if !dir.exists() {
            return Err(CrdError::NotFound { path: dir.to_owned() });
        }
        let mut files = Vec::new();
        collect(dir, &mut files)?;
        if files.is_empty() {
            return Err(CrdError::NoFiles { path: dir.to_owned() });
        }
        files.sort();
        let mut crds = Crds::default();
        for file in files {
            let text = std::fs::read(&file).map_err(|source| CrdError::Read { path: file.clone(), source })?;
            let name = file.display().to_string();
            let text = String::from_utf8(text).map_err(|_| CrdError::Document {
                file: name.clone(),
                index: 1,
                message: "the file is not UTF-8 text".into(),
            })?;
            crds.add_yaml(&text, &name)?;
        }
        Ok(crds)
    }

    /// The CRDs of one YAML text (any number of documents), named `file` in errors.
    pub fn from_yaml(text: &str, file: &str) -> Result<Crds, CrdError> {
        let mut crds = Crds::default();
        crds.add_yaml(text, file)?;
        Ok(crds)
    }

    fn add_yaml(&mut self, text: &str, file: &str) -> Result<(), CrdError> {
        for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
            let index = i + 1;
            let bad = |message: String| CrdError::Document { file: file.to_owned(), index, message };
            let value = Value::deserialize(doc).map_err(|e| bad(format!("not YAML: {e}")))?;
            match &value {
                Value::Null => continue,
                Value::Object(m) => match m.get("kind").and_then(Value::as_str) {
                    Some("CustomResourceDefinition") => {}
                    Some(_) => continue,
                    None => return Err(bad("not a Kubernetes object: it has no `kind`".into())),
                },
                other => {
                    return Err(bad(format!("not a Kubernetes object but {}", crate::spec::problem::json_type(other))))
                }
            }
            self.add_crd(&value, file, index)?;
        }
        Ok(())
    }

    fn add_crd(&mut self, crd: &Value, file: &str, index: usize) -> Result<(), CrdError> {
        let bad = |message: &str| CrdError::Document { file: file.to_owned(), index, message: message.to_owned() };
        if crd.get("apiVersion").and_then(Value::as_str) != Some("apiextensions.k8s.io/v1") {
            return Err(bad(
                "a CustomResourceDefinition must be `apiextensions.k8s.io/v1` (v1beta1 is gone since Kubernetes 1.22)",
            ));
        }
        let spec = crd.get("spec").ok_or_else(|| bad("no `spec`"))?;
        let group = spec.get("group").and_then(Value::as_str).ok_or_else(|| bad("no `spec.group`"))?;
        let kind = spec.pointer("/names/kind").and_then(Value::as_str).ok_or_else(|| bad("no `spec.names.kind`"))?;
        let versions = spec.get("versions").and_then(Value::as_array).ok_or_else(|| bad("no `spec.versions` list"))?;
        let mut served = BTreeMap::new();
        for (i, v) in versions.iter().enumerate() {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("`spec.versions[{i}]` has no `name`")))?;
            if v.get("served").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let schema = match v.pointer("/schema/openAPIV3Schema") {
                None => None,
                Some(s) => Some(Schema::compile(s).map_err(|source| CrdError::Schema {
                    file: file.to_owned(),
                    index,
                    source: SchemaError { path: format!("spec.versions[{i}].schema.{}", source.path), ..source },
                })?),
            };
            served.insert(name.to_owned(), schema);
        }
        let key = (group.to_owned(), kind.to_owned());
        if let Some(first) = self.kinds.get(&key) {
            return Err(CrdError::Duplicate {
                group: key.0,
                kind: key.1,
                first: first.source.clone(),
                file: file.to_owned(),
                index,
            });
        }
        self.kinds.insert(key, Kind { source: format!("`{file}`, document {index}"), versions: served });
        Ok(())
    }

    /// How many kinds were loaded.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Whether a CRD of the object's group and kind is loaded.
    pub fn covers(&self, api_version: &str, kind: &str) -> bool {
        self.kinds.contains_key(&(group_of(api_version).to_owned(), kind.to_owned()))
    }

    /// The object's problems against its CRD, with paths relative to the
    /// object; none when no loaded CRD has its group and kind.
    pub fn validate(&self, object: &Value) -> Vec<Problem> {
        self.validate_at(object, &JsonPath::root())
    }

    /// `validate` with paths below `at` (where the object is in a spec).
    pub fn validate_at(&self, object: &Value, at: &JsonPath) -> Vec<Problem> {
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
        let Some(k) = self.kinds.get(&(group_of(api_version).to_owned(), kind.to_owned())) else {
            return Vec::new();
        };
        let version = api_version.rsplit('/').next().unwrap_or_default();
        match k.versions.get(version) {
            Some(Some(schema)) => schema.validate_object(object, at),
            Some(None) => Vec::new(),
            None => {
                let served: Vec<String> =
                    k.versions.keys().map(|v| format!("`{}/{v}`", group_of(api_version))).collect();
                let hint = match served.as_slice() {
                    [] => "the CRD serves no version".to_owned(),
                    _ => format!("served: {}", served.join(", ")),
                };
                vec![Problem::new(
                    at.key("apiVersion"),
                    format!("`{api_version}` is not a served version of `{kind}` (CRD {})", k.source),
                )
                .with_hint(hint)]
            }
        }
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), CrdError> {
    let read = |e| CrdError::Read { path: dir.to_owned(), source: e };
    if !dir.is_dir() {
        files.push(dir.to_owned());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    Ok(())
}

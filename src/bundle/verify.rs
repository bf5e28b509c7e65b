//! What an object file really holds, read the way Flux reads it: each YAML
//! document's object id and sha256. A bundle's `bundle.json` claims which
//! objects each file holds; the prune guard counts on those claims, so they
//! are checked against the files before they are trusted, and the objects
//! of a live generation whose record is lost are found this way too.
//!
//! A document must be in the exact form nixflux's emitter writes (parsed,
//! then written again, it gives the same bytes): then what is parsed here is
//! what kustomize builds, since the emitter is proven against kustomize.

use serde_json::Value;

use super::index::IndexObject;
use super::{sha256_hex, yaml, DOCUMENT_SEPARATOR};
use crate::object::{group_of, ObjectId};

/// Splits an object file at its separator lines (our emitter indents all
/// nested text, so a separator line occurs nowhere else).
pub fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line == DOCUMENT_SEPARATOR {
            docs.push(&text[start..at]);
            start = at + line.len();
        }
        at += line.len();
    }
    docs.push(&text[start..]);
    docs
}

/// The objects of an object file, in order: id and sha256 of each document.
pub fn objects_of(content: &[u8]) -> Result<Vec<IndexObject>, String> {
    let text = std::str::from_utf8(content).map_err(|e| format!("it is not UTF-8 text: {e}"))?;
    split_documents(text)
        .into_iter()
        .enumerate()
        .map(|(i, doc)| object_of(doc).map_err(|why| format!("document {}: {why}", i + 1)))
        .collect()
}

fn object_of(doc: &str) -> Result<IndexObject, String> {
    let value: Value = serde_norway::from_str(doc).map_err(|e| format!("it is not YAML: {e}"))?;
    let mut again = String::with_capacity(doc.len());
    yaml::write_document(&mut again, &value);
    if again != doc {
        return Err("it is not in the form nixflux writes".to_owned());
    }
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let api_version = text(&value["apiVersion"]).ok_or("it has no `apiVersion`")?;
    let kind = text(&value["kind"]).ok_or("it has no `kind`")?;
    let name = text(&value["metadata"]["name"]).ok_or("it has no `metadata.name`")?;
    let id = ObjectId {
        group: group_of(&api_version).to_owned(),
        kind,
        namespace: text(&value["metadata"]["namespace"]),
        name,
    };
    Ok(IndexObject { id, sha256: sha256_hex(doc.as_bytes()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_separator_lines_only() {
        let docs = split_documents("a: 1\n---\nb: |\n  ---x\n---\nc: 3\n");
        assert_eq!(docs, vec!["a: 1\n", "b: |\n  ---x\n", "c: 3\n"]);
    }

    #[test]
    fn reads_ids_and_refuses_other_forms() {
        let value =
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}});
        let mut doc = String::new();
        yaml::write_document(&mut doc, &value);
        let objects = objects_of(doc.as_bytes()).unwrap();
        assert_eq!(objects[0].id.inventory_id(), "n_a__ConfigMap");
        assert_eq!(objects[0].sha256, sha256_hex(doc.as_bytes()));
        // The same object in flow style is YAML kustomize reads, but not ours.
        let flow = "{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}}\n";
        assert!(objects_of(flow.as_bytes()).unwrap_err().contains("not in the form"));
        let mut no_version = String::new();
        yaml::write_document(&mut no_version, &serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "a"}}));
        assert!(objects_of(no_version.as_bytes()).unwrap_err().contains("apiVersion"), "{no_version}");
        assert!(objects_of(b"\xff").is_err());
    }
}

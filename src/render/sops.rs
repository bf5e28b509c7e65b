//! SOPS pass-through: raw objects with a top-level `sops` stanza are
//! encrypted by SOPS and stay exactly as written (not typed, no variables
//! substituted) for Flux to decrypt; their stanza must carry SOPS's `mac`
//! and a Secret's `data`/`stringData` values must be encrypted (`ENC[...]`).

use serde_json::{Map, Value};

use crate::spec::{JsonPath, Problem};

/// Whether a raw object is SOPS-encrypted (has a top-level `sops` stanza).
pub fn is_sops(map: &Map<String, Value>) -> bool {
    map.contains_key("sops")
}

/// A SOPS-encrypted raw object: its stanza has the `mac` SOPS writes, and
/// a Secret's `data` and `stringData` values are encrypted, so no
/// plaintext value reaches the bundle by a mistake in encryption rules.
pub fn check_sops(map: &Map<String, Value>, at: &JsonPath, problems: &mut Vec<Problem>) {
    let stanza = map.get("sops").and_then(Value::as_object);
    if stanza.is_none_or(|s| s.get("mac").and_then(Value::as_str).is_none_or(str::is_empty)) {
        problems.push(
            Problem::new(at.key("sops"), "a `sops` stanza without its `mac`: this object was not encrypted by SOPS")
                .with_hint("encrypt the file with `sops --encrypt` and pass the result unchanged"),
        );
    }
    if map.get("kind").and_then(Value::as_str) != Some("Secret") {
        return;
    }
    for field in ["data", "stringData"] {
        for (key, value) in map.get(field).and_then(Value::as_object).into_iter().flatten() {
            if !value.as_str().is_some_and(|s| s.starts_with("ENC[")) {
                problems.push(
                    Problem::new(at.key(field).key(key), format!("`{field}.{key}` is a plaintext secret value"))
                        .with_hint("encrypt `data` and `stringData` (sops `--encrypted-regex '^(data|stringData)$'`)"),
                );
            }
        }
    }
}

/// The warning `check` prints for a bundle with SOPS-encrypted objects
/// (at the first of them).
pub fn sops_warning(sops_objects: &[JsonPath]) -> Option<Problem> {
    let first = sops_objects.first()?;
    Some(
        Problem::new(
            first.clone(),
            format!(
                "the bundle holds {} SOPS-encrypted object(s): Flux applies them only when its Kustomization has `decryption`",
                sops_objects.len()
            ),
        )
        .with_hint("`nixflux flux bootstrap --sops-secret NAME` (module: `targets.<name>.flux.bootstrap.sopsSecret`)"),
    )
}

//! Secrets by reference: an app's `secretEnv` and `secretFiles` become
//! External Secrets `ExternalSecret`s (`<app>-env`, `<app>-<volume>`) that
//! read entries of the stores declared in `defaults.secretStores`; the
//! container reads the Secrets they make through `env.valueFrom.secretKeyRef`
//! and read-only secret volumes. No value is ever in the spec or the bundle.
//! (SOPS-encrypted raw objects are `sops.rs`.)

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, SecretKeySelector, SecretVolumeSource, Volume as K8sVolume, VolumeMount,
};
use serde_json::Value;

use crate::crd::external_secrets::{
    ExternalSecret, ExternalSecretData, ExternalSecretSpec, ExternalSecretTarget, RemoteRef, SourceRef, StoreRef,
};
use crate::spec::problem::nearest;
use crate::spec::secrets_db::SecretRef;
use crate::spec::{JsonPath, Problem, Spec};

use super::context::AppContext;
use super::manifest::Manifest;

/// The Secret (and ExternalSecret) of an app's `secretEnv`.
pub fn env_secret_name(cx: &AppContext) -> String {
    format!("{}-env", cx.name)
}

/// The Secret (and ExternalSecret) of one `secretFiles` volume.
pub fn files_secret_name(cx: &AppContext, volume: &str) -> String {
    format!("{}-{volume}", cx.name)
}

/// The store an entry reads: its own, `defaults.secretStore`, or the only
/// one declared; a problem at `at` (the entry) when there is none or it is
/// not declared.
pub fn store_of(spec: &Spec, entry: &SecretRef, at: &JsonPath) -> Result<StoreRef, Problem> {
    let stores = &spec.defaults.secret_stores;
    let known: Vec<&str> = stores.keys().map(String::as_str).collect();
    let (name, at) = match (&entry.store, &spec.defaults.secret_store) {
        (Some(name), _) => (name.as_str(), at.key("store")),
        (None, Some(name)) => (name.as_str(), JsonPath::root().key("defaults").key("secretStore")),
        (None, None) if known.len() == 1 => (known[0], at.clone()),
        (None, None) => {
            let why = if known.is_empty() { "no secret store is declared" } else { "several stores are declared" };
            return Err(Problem::new(at.clone(), format!("{why}: which one does this entry read?")).with_hint(
                "declare stores in `defaults.secretStores` and pick one with `store` or `defaults.secretStore`",
            ));
        }
    };
    match stores.get(name) {
        Some(decl) => Ok(StoreRef { kind: Some(decl.kind), name: Some(name.to_owned()) }),
        None => {
            let p = Problem::new(at, format!("secret store `{name}` is not declared in `defaults.secretStores`"));
            Err(match nearest(name, &known) {
                Some(near) => p.with_hint(format!("did you mean `{near}`?")),
                None => p.with_hint("declare it in `defaults.secretStores` (its `kind` and `refreshInterval`)"),
            })
        }
    }
}

/// An ExternalSecret named `name` in the app's namespace making the Secret
/// of the same name from `entries` (Secret key -> store entry and its path).
pub fn external_secret<'a>(
    spec: &Spec,
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    entries: impl IntoIterator<Item = (String, &'a SecretRef, JsonPath)>,
    template: Option<Value>,
    problems: &mut Vec<Problem>,
) -> Option<ExternalSecret> {
    let mut first: Option<StoreRef> = None;
    let mut data = Vec::new();
    for (secret_key, entry, at) in entries {
        // On a bad store the render fails anyway; the ExternalSecret is still
        // made so that the Secret it names raises no second problem.
        let store = store_of(spec, entry, &at).unwrap_or_else(|p| {
            problems.push(p);
            StoreRef { kind: None, name: entry.store.clone() }
        });
        if entry.key.is_empty() {
            problems.push(Problem::new(at.key("key"), "the store entry's `key` is empty"));
        }
        let main = first.get_or_insert_with(|| store.clone());
        data.push(ExternalSecretData {
            secret_key,
            remote_ref: RemoteRef { key: entry.key.clone(), property: entry.property.clone(), ..Default::default() },
            source_ref: (*main != store).then(|| SourceRef { store_ref: Some(store), ..Default::default() }),
        });
    }
    let store = first?;
    let refresh =
        store.name.as_ref().and_then(|n| spec.defaults.secret_stores.get(n)).map(|d| d.refresh_interval.clone());
    Some(ExternalSecret {
        spec: ExternalSecretSpec {
            target: Some(ExternalSecretTarget { name: meta.name.clone(), template, ..Default::default() }),
            secret_store_ref: Some(store),
            refresh_interval: refresh,
            data,
            ..Default::default()
        },
        metadata: meta,
        status: None,
    })
}

/// The app's ExternalSecrets and the checks of its `secretEnv` and `secretFiles`.
pub fn render(cx: &AppContext, problems: &mut Vec<Problem>) -> Vec<Manifest> {
    let app = cx.app;
    let mut out = Vec::new();
    let env_at = cx.at.key("secretEnv");
    for name in app.secret_env.keys() {
        if app.env.contains_key(name) {
            problems.push(
                Problem::new(env_at.key(name.as_str()), format!("`{name}` is also set in `env`"))
                    .with_hint("set each variable in one place"),
            );
        }
    }
    let entries = app.secret_env.iter().map(|(k, r)| (k.to_string(), r, env_at.key(k.as_str())));
    if let Some(es) = external_secret(cx.spec, cx.meta(&env_secret_name(cx)), entries, None, problems) {
        out.push(Manifest::new(es, env_at.clone()));
    }
    let files_at = cx.at.key("secretFiles");
    for (volume, files) in &app.secret_files {
        let at = files_at.key(volume.as_str());
        if app.volumes.contains_key(volume) {
            problems.push(Problem::new(at.clone(), format!("volume `{volume}` is also declared in `volumes`")));
        }
        if !files.mount_path.starts_with('/') {
            problems.push(Problem::new(at.key("mountPath"), "`mountPath` must be an absolute path"));
        }
        for file in files.files.keys() {
            let ok = !file.is_empty()
                && file != "."
                && file != ".."
                && file.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
            if !ok {
                problems.push(
                    Problem::new(at.key("files").key(file), format!("`{file}` is not a file name a Secret key can be"))
                        .with_hint("letters, digits, `-`, `_` and `.`"),
                );
            }
        }
        let entries = files.files.iter().map(|(f, r)| (f.clone(), r, at.key("files").key(f)));
        let meta = cx.meta(&files_secret_name(cx, volume.as_str()));
        if let Some(es) = external_secret(cx.spec, meta, entries, None, problems) {
            out.push(Manifest::new(es, at));
        } else if files.files.is_empty() {
            problems.push(Problem::new(files_at.key(volume.as_str()).key("files"), "no files"));
        }
    }
    out
}

/// An environment variable read from key `key` of Secret `secret`.
pub fn secret_env_var(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: secret.to_owned(), key: key.to_owned(), optional: None }),
            ..Default::default()
        }),
    }
}

/// The app container's variables from `secretEnv`.
pub fn env_vars(cx: &AppContext) -> Vec<EnvVar> {
    let secret = env_secret_name(cx);
    cx.app.secret_env.keys().map(|k| secret_env_var(k.as_str(), &secret, k.as_str())).collect()
}

/// The pod's volumes from `secretFiles`.
pub fn volumes(cx: &AppContext) -> Vec<K8sVolume> {
    cx.app
        .secret_files
        .keys()
        .map(|v| K8sVolume {
            name: v.to_string(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(files_secret_name(cx, v.as_str())),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

/// The app container's mounts of its `secretFiles`, read-only.
pub fn mounts(cx: &AppContext) -> Vec<VolumeMount> {
    cx.app
        .secret_files
        .iter()
        .map(|(v, f)| VolumeMount {
            name: v.to_string(),
            mount_path: f.mount_path.clone(),
            read_only: Some(true),
            ..Default::default()
        })
        .collect()
}

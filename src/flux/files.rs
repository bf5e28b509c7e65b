//! A bootstrap as text: one multi-document YAML stream, or a directory of
//! one file per object plus the `kustomization.yaml` that lists them, both
//! written by nixflux's emitter (kustomize reads YAML 1.1). The Secrets
//! bootstrap needs are described in comments, with the command that creates
//! each from files, never with values.

use serde::Serialize;

use crate::bundle::yaml;

use super::bootstrap::Bootstrap;

/// The first line of every file bootstrap writes; `--out` replaces only a
/// directory whose `kustomization.yaml` starts with it.
pub const HEADER: &str = "# Written by `nixflux flux bootstrap`.";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KustomizeFile<'a> {
    api_version: &'static str,
    kind: &'static str,
    resources: &'a [String],
}

impl Bootstrap {
    /// The comment block: the header, the Secrets to create, the publish target.
    pub fn comments(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if !self.secrets.is_empty() {
            s.push_str("# Create these Secrets from files holding each value (no trailing newline,\n");
            s.push_str("# e.g. `printf %s \"$VALUE\" > accesskey`), then delete the files:\n");
            for secret in &self.secrets {
                s.push_str(&format!("#   {}: {}\n", secret.name, secret.purpose));
                s.push_str(&format!("#     {}\n", secret.kubectl_command()));
            }
        }
        if let Some(to) = &self.publish_to {
            s.push_str(&format!("# The node publishes with: nixflux publish BUNDLE --to {to}\n"));
        }
        s
    }

    /// All objects as one YAML stream, the comments first.
    pub fn yaml_stream(&self) -> String {
        let mut out = self.comments();
        for o in &self.objects {
            out.push_str("---\n");
            yaml::write_document(&mut out, &o.value);
        }
        out
    }

    /// `(file name, content)`: one file per object, then `kustomization.yaml`.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = self
            .objects
            .iter()
            .map(|o| {
                let name = format!("{}-{}.yaml", o.kind.to_ascii_lowercase(), o.name);
                let mut text = format!("{HEADER}\n");
                yaml::write_document(&mut text, &o.value);
                (name, text)
            })
            .collect();
        let resources: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let k = KustomizeFile {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: &resources,
        };
        let mut text = self.comments();
        yaml::write_document(&mut text, &serde_json::to_value(&k).unwrap_or_default());
        files.push((crate::bundle::KUSTOMIZATION_FILE.to_owned(), text));
        files
    }
}

//! `tests/specs/secrets-db.json` (ExternalSecrets from two ClusterSecretStores,
//! two apps on one shared CloudNativePG Cluster, one app with its own, one
//! SOPS-encrypted Secret): its golden bundle, the rendered External Secrets
//! and CloudNativePG objects against the upstream CRDs (skipped without
//! `../shared/crds`), and what must hold of them: every secret by
//! reference, Clusters kept from pruning unless allowed, the SOPS object
//! exactly as written.

use nixflux::crd::Crds;
use serde_json::{json, Value};

use super::common::{self, root};
use super::crds::shared_crds;

fn spec_path() -> std::path::PathBuf {
    root().join("tests/specs/secrets-db.json")
}

fn objects() -> Vec<Value> {
    let text = std::fs::read_to_string(spec_path()).unwrap();
    let spec = nixflux::spec::parse(&text, "secrets-db.json").unwrap();
    let rendered = nixflux::render::render(&spec).unwrap();
    rendered.groups.iter().flat_map(|g| &g.manifests).map(|m| m.body.to_json()).collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, namespace: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && o["metadata"]["namespace"].as_str().unwrap_or_default() == namespace
        })
        .unwrap_or_else(|| panic!("no {kind} {namespace}/{name}"))
}

#[test]
fn secrets_db_matches_golden_bundle() {
    super::matches_golden(&spec_path(), "secrets-db");
}

#[test]
fn rendered_external_secrets_and_cnpg_objects_pass_the_upstream_crds() {
    let (Some(eso), Some(cnpg)) = (shared_crds("external-secrets"), shared_crds("cloudnative-pg")) else { return };
    let crds = [Crds::load_dir(&eso).unwrap(), Crds::load_dir(&cnpg).unwrap()];
    let objects = objects();
    let mut checked = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for o in &objects {
        let group = o["apiVersion"].as_str().unwrap().split('/').next().unwrap();
        let Some(crds) = (match group {
            "external-secrets.io" => Some(&crds[0]),
            "postgresql.cnpg.io" => Some(&crds[1]),
            _ => None,
        }) else {
            continue;
        };
        *checked.entry(o["kind"].as_str().unwrap().to_owned()).or_default() += 1;
        for p in crds.validate(o) {
            failures.push(format!("{} {}: {p}", o["kind"], o["metadata"]["name"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let counts: Vec<(&str, usize)> = checked.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(counts, [("Cluster", 2), ("Database", 2), ("ExternalSecret", 6)]);
}

#[test]
fn secrets_and_credentials_are_references_only() {
    let objects = objects();
    let wiki = find(&objects, "Deployment", "wiki", "wiki");
    let env = wiki["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    let by_name = |n: &str| env.iter().find(|e| e["name"] == n).unwrap_or_else(|| panic!("no {n}"));
    assert_eq!(
        by_name("OIDC_CLIENT_SECRET")["valueFrom"]["secretKeyRef"],
        json!({ "name": "wiki-env", "key": "OIDC_CLIENT_SECRET" })
    );
    assert_eq!(by_name("PGHOST")["value"], "pg-rw.databases.svc");
    assert_eq!(by_name("PGPORT")["value"], "5432");
    assert_eq!(by_name("PGDATABASE")["value"], "wiki");
    assert_eq!(by_name("PGUSER")["valueFrom"]["secretKeyRef"], json!({ "name": "pg-wiki", "key": "username" }));
    assert_eq!(by_name("PGPASSWORD")["valueFrom"]["secretKeyRef"], json!({ "name": "pg-wiki", "key": "password" }));
    for e in env.iter().filter(|e| {
        ["OIDC_CLIENT_SECRET", "SMTP_PASSWORD", "PGUSER", "PGPASSWORD"].contains(&e["name"].as_str().unwrap())
    }) {
        assert!(e.get("value").is_none(), "{e}");
    }
    let pod = &wiki["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0], json!({ "name": "tls", "secret": { "secretName": "wiki-tls" } }));
    assert_eq!(pod["containers"][0]["volumeMounts"][0]["readOnly"], true);
    // The second store is the entry's own.
    let es = find(&objects, "ExternalSecret", "wiki", "wiki-env");
    assert_eq!(es["spec"]["secretStoreRef"], json!({ "kind": "ClusterSecretStore", "name": "vault" }));
    assert_eq!(es["spec"]["data"][1]["sourceRef"]["storeRef"]["name"], "bitwarden");
    // The role's password Secret, in the cluster's namespace and the app's.
    for ns in ["databases", "wiki"] {
        let es = find(&objects, "ExternalSecret", ns, "pg-wiki");
        assert_eq!(es["spec"]["target"]["template"]["type"], "kubernetes.io/basic-auth");
    }
    // The own cluster's app reads the Secret CloudNativePG generates.
    let analytics = find(&objects, "Deployment", "analytics", "analytics");
    let env = &analytics["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(env.as_array().unwrap().iter().any(|e| e["valueFrom"]["secretKeyRef"]["name"] == "analytics-db-app"));
    // Nothing in the bundle holds a value of any store: no plaintext Secret.
    for o in objects.iter().filter(|o| o["kind"] == "Secret") {
        assert!(o.get("sops").is_some(), "a plaintext Secret: {o}");
    }
}

#[test]
fn clusters_are_kept_from_pruning_unless_allowed_and_roles_are_managed() {
    let objects = objects();
    let shared = find(&objects, "Cluster", "databases", "pg");
    assert_eq!(shared["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"], "disabled");
    let roles: Vec<&str> =
        shared["spec"]["managed"]["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(roles, ["gitea", "wiki"]);
    assert_eq!(
        find(&objects, "Namespace", "", "databases")["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"],
        "disabled"
    );
    let own = find(&objects, "Cluster", "analytics", "analytics-db");
    assert_eq!(own["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"], "enabled");
    assert_eq!(own["spec"]["bootstrap"]["initdb"], json!({ "database": "analytics", "owner": "analytics" }));
    assert!(own["spec"]["imageName"].as_str().unwrap().contains("@sha256:"));
    let db = find(&objects, "Database", "databases", "pg-git");
    assert_eq!(
        db["spec"],
        json!({ "cluster": { "name": "pg" }, "name": "git", "owner": "gitea", "ensure": "present", "databaseReclaimPolicy": "retain" })
    );
}

#[test]
fn sops_objects_pass_through_exactly_as_written() {
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(spec_path()).unwrap()).unwrap();
    let mut written = spec["apps"]["gitea"]["objects"][0].clone();
    written["metadata"]["namespace"] = json!("gitea");
    let objects = objects();
    assert_eq!(find(&objects, "Secret", "gitea", "gitea-admin"), &written);
}

#[test]
fn bootstrap_kustomization_judges_cnpg_clusters_by_ready_and_decrypts_sops() {
    let out = common::run_ok(common::nixflux().args([
        "flux",
        "bootstrap",
        "--to",
        "s3://flux/home/",
        "--endpoint",
        "https://s3.lan:9000",
        "--health-check-cnpg",
        "--sops-secret",
        "sops-age",
    ]));
    let docs = common::yaml_documents(&String::from_utf8(out.stdout).unwrap());
    let k = docs.iter().find(|d| d["kind"] == "Kustomization").unwrap();
    let exprs = k["spec"]["healthCheckExprs"].as_array().unwrap();
    assert_eq!(exprs.len(), 1);
    assert_eq!(exprs[0]["apiVersion"], "postgresql.cnpg.io/v1");
    assert_eq!(exprs[0]["kind"], "Cluster");
    assert!(exprs[0]["current"].as_str().unwrap().contains("e.type == 'Ready'"));
    assert_eq!(k["spec"]["decryption"], json!({ "provider": "sops", "secretRef": { "name": "sops-age" } }));
    if let Some(dir) = shared_crds("fluxcd") {
        let problems = Crds::load_dir(&dir).unwrap().validate(k);
        assert!(problems.is_empty(), "{problems:?}");
    }
    // Without the flag, none.
    let out = common::run_ok(common::nixflux().args([
        "flux",
        "bootstrap",
        "--to",
        "s3://flux/home/",
        "--endpoint",
        "https://s3.lan:9000",
    ]));
    let docs = common::yaml_documents(&String::from_utf8(out.stdout).unwrap());
    let k = docs.iter().find(|d| d["kind"] == "Kustomization").unwrap();
    assert!(k["spec"].get("healthCheckExprs").is_none());
}

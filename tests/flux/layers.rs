//! Layers on Flux's side: `flux bootstrap --layer` renders one
//! Kustomization per layer chained by `dependsOn`; a layered publish asks
//! Flux to reconcile once, `--wait` waits for every layer's Kustomization
//! to apply the Bucket revision of the whole prefix, and the prune gate
//! counts an object that moved to another layer as kept.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use serde_json::{json, Value};

use super::common::fake_kube::*;
use super::common::s3::Server;
use super::common::{layered_spec, nixflux, run_ok, yaml_documents};
use super::publish_loop::{flux_revision, report, stderr};

const NS: &str = "flux-system";
const NAME: &str = "home";
const PREFIX: &str = "home/";
const LAYERS: [&str; 3] = ["crds", "infra", "apps"];
const CRD_ID: &str = "_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition";

#[test]
fn bootstrap_renders_one_kustomization_per_layer_chained_by_depends_on() {
    let mut cmd = nixflux();
    cmd.args(["flux", "bootstrap", "--to", "s3://flux/home", "--endpoint", "http://s3.example:8080"]);
    cmd.args(["--layer", "crds", "--layer", "infra", "--layer", "apps", "--receiver", "--rbac-subject", "user:me"]);
    let out = run_ok(&mut cmd);
    let docs = yaml_documents(&String::from_utf8(out.stdout).unwrap());
    let ks: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Kustomization").collect();
    let names: Vec<&str> = ks.iter().map(|k| k["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["nixflux-home-crds", "nixflux-home-infra", "nixflux-home-apps"]);
    let paths: Vec<&str> = ks.iter().map(|k| k["spec"]["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["./home/crds", "./home/infra", "./home/apps"]);
    assert!(ks[0]["spec"].get("dependsOn").is_none(), "the first layer depends on nothing");
    assert_eq!(ks[1]["spec"]["dependsOn"], json!([{ "name": "nixflux-home-crds" }]));
    assert_eq!(ks[2]["spec"]["dependsOn"], json!([{ "name": "nixflux-home-infra" }]));
    for k in &ks {
        assert_eq!(k["spec"]["sourceRef"], json!({ "kind": "Bucket", "name": "nixflux-home" }), "one Bucket for all");
        assert_eq!(k["spec"]["prune"], true);
    }
    let receiver = docs.iter().find(|d| d["kind"] == "Receiver").unwrap();
    let resources: Vec<&str> =
        receiver["spec"]["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(resources, ["nixflux-home", "nixflux-home-crds", "nixflux-home-infra", "nixflux-home-apps"]);
    let role = docs.iter().find(|d| d["kind"] == "Role").unwrap();
    assert_eq!(
        role["rules"][1]["resourceNames"],
        json!(["nixflux-home-crds", "nixflux-home-infra", "nixflux-home-apps"])
    );

    // Without --layer: one Kustomization at the prefix, as before.
    let mut plain = nixflux();
    plain.args(["flux", "bootstrap", "--to", "s3://flux/home", "--endpoint", "http://s3.example:8080"]);
    let docs = yaml_documents(&String::from_utf8(run_ok(&mut plain).stdout).unwrap());
    let ks: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Kustomization").collect();
    assert_eq!(ks.len(), 1);
    assert_eq!(ks[0]["metadata"]["name"], "nixflux-home");
    assert_eq!(ks[0]["spec"]["path"], "./home");

    for bad in [vec!["--layer", "objects"], vec!["--layer", "a", "--layer", "a"], vec!["--layer", "Apps"]] {
        let mut cmd = nixflux();
        cmd.args(["flux", "bootstrap", "--to", "s3://flux/home", "--endpoint", "http://s3.example:8080"]).args(&bad);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("the layer"), "{bad:?}: {}", stderr(&out));
    }
}

struct Setup {
    server: Arc<Server>,
    kube: FakeKube,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let kube = FakeKube::start();
        kube.put(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": { "name": NAME, "namespace": NS },
            "spec": { "bucketName": "flux", "endpoint": "127.0.0.1:9000", "provider": "generic", "interval": "10m", "prefix": PREFIX },
        }));
        for (i, layer) in LAYERS.iter().enumerate() {
            let mut spec = json!({ "interval": "10m", "timeout": "2m", "path": format!("./home/{layer}"), "prune": true,
                                   "wait": true, "sourceRef": { "kind": "Bucket", "name": NAME } });
            if i > 0 {
                spec["dependsOn"] = json!([{ "name": format!("{NAME}-{}", LAYERS[i - 1]) }]);
            }
            kube.put(json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": { "name": format!("{NAME}-{layer}"), "namespace": NS }, "spec": spec,
            }));
        }
        Setup { server: Arc::new(Server::start()), kube, dir: tempfile::tempdir().unwrap() }
    }

    fn render(&self, name: &str, spec: &Value) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.json"));
        std::fs::write(&path, spec.to_string()).unwrap();
        let out = self.dir.path().join(name);
        run_ok(nixflux().arg("render").arg(&path).arg("--out").arg(&out).arg("--quiet"));
        out
    }

    fn publish(&self, bundle: &Path, extra: &[&str]) -> Output {
        let mut ks = Vec::new();
        for layer in LAYERS {
            ks.extend(["--flux-kustomization".to_owned(), format!("{NS}/{NAME}-{layer}")]);
        }
        self.publish_with(bundle, &ks, extra)
    }

    fn publish_with(&self, bundle: &Path, kustomizations: &[String], extra: &[&str]) -> Output {
        let mut cmd = nixflux();
        cmd.arg("publish").arg(bundle).args(self.server.target_args(PREFIX));
        cmd.arg("--kubeconfig").arg(self.kube.kubeconfig());
        cmd.args(["--flux-bucket", "flux-system/home", "--output", "json"]).args(kustomizations);
        cmd.args(extra).env_remove("KUBECONFIG").output().unwrap()
    }
}

#[test]
fn wait_waits_for_every_layer_to_apply_the_whole_prefix_revision() {
    let s = Setup::new();
    let server = s.server.clone();
    let _bucket = s.kube.start_bucket_controller(BucketScript::new(NS, NAME, move || flux_revision(&server)));
    let _ks: Vec<_> = LAYERS
        .iter()
        .map(|l| s.kube.start_kustomization_controller(KustomizationScript::new(NS, &format!("{NAME}-{l}"))))
        .collect();
    let b = s.render("v1", &layered_spec(1, false));
    let out = s.publish(&b, &["--wait=20s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    let rev = flux_revision(&s.server);
    assert_eq!(r["fluxRevision"], rev.as_str(), "the revision of the whole prefix: {r}");
    assert_eq!(r["flux"]["wait"]["outcome"], "applied", "{r}");
    assert_eq!(r["flux"]["wait"]["revision"], rev.as_str());
    assert_eq!(r["layers"].as_array().unwrap().len(), 3);
    for layer in LAYERS {
        let k = s.kube.get(&KUSTOMIZATION, NS, &format!("{NAME}-{layer}")).unwrap();
        assert_eq!(k["status"]["lastAppliedRevision"], rev.as_str(), "{layer}");
    }
    // One request for the whole publish: the Bucket and each Kustomization patched once.
    let patches = s.kube.requests().into_iter().filter(|r| r.method == "PATCH" && !r.path.ends_with("/status")).count();
    assert_eq!(patches, 1 + LAYERS.len(), "one reconcile request after the last layer");

    // Only the first layer changes: the request still goes out (once), after
    // the last layer, without `--wait` (which would ask anyway).
    s.kube.clear_requests();
    let mut v2 = layered_spec(1, false);
    v2["layers"][0]["objects"][0]["metadata"]["labels"] = json!({ "version": "2" });
    let b2 = s.render("v2", &v2);
    let out = s.publish(&b2, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["layers"][0]["unchanged"], false, "{r}");
    assert_eq!(r["layers"][2]["unchanged"], true, "{r}");
    assert_eq!(r["flux"]["requested"]["via"], "api", "{r}");
    assert_eq!(r["fluxRevision"], flux_revision(&s.server).as_str());
    let patches = s.kube.requests().into_iter().filter(|r| r.method == "PATCH" && !r.path.ends_with("/status")).count();
    assert_eq!(patches, 1 + LAYERS.len());

    // Without `--flux-kustomization`: bootstrap's names, `<bucket>-<layer>`, one per layer.
    let v3 = s.render("v3", &layered_spec(2, false));
    let out = s.publish_with(&v3, &[], &["--wait=20s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    let rev = flux_revision(&s.server);
    assert_eq!(r["flux"]["wait"]["outcome"], "applied", "{r}");
    for layer in LAYERS {
        let k = s.kube.get(&KUSTOMIZATION, NS, &format!("{NAME}-{layer}")).unwrap();
        assert_eq!(k["status"]["lastAppliedRevision"], rev.as_str(), "{layer}");
    }
}

/// The CRD in layer `at` (0 `crds`, 1 `infra`), or in none; `crds` keeps
/// an object of its own (emptying a layer is refused by itself).
fn crd_in(at: Option<usize>) -> Value {
    let mut spec = layered_spec(1, false);
    let crd = spec["layers"][0]["objects"].as_array_mut().unwrap().remove(0);
    spec["layers"][0]["objects"].as_array_mut().unwrap().push(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "marker", "namespace": "default" } }));
    if let Some(at) = at {
        spec["layers"][at]["objects"].as_array_mut().unwrap().push(crd);
    }
    spec
}

#[test]
fn the_prune_gate_follows_objects_between_layers() {
    let s = Setup::new();
    let inventory = |layer: &str, ids: &[&str]| {
        let entries: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "v": "v1" })).collect();
        s.kube.patch_status(
            &KUSTOMIZATION,
            NS,
            &format!("{NAME}-{layer}"),
            &json!({ "status": { "inventory": { "entries": entries } } }),
        );
    };
    let in_infra = s.render("in-infra", &crd_in(Some(1)));
    assert!(s.publish(&in_infra, &[]).status.success());
    inventory("infra", &[CRD_ID]);

    // To an earlier layer: `crds` applies it first and takes it over; `infra` does not prune it.
    let in_crds = s.render("in-crds", &crd_in(Some(0)));
    let out = s.publish(&in_crds, &[]);
    assert!(out.status.success(), "a CRD moved to an earlier layer is kept: {}", stderr(&out));
    assert_eq!(report(&out)["flux"]["prune"]["wouldPrune"], json!([]));
    inventory("infra", &[]);
    inventory("crds", &[CRD_ID]);

    // To a later layer: `crds` prunes it before `infra` creates it again, which deletes every Widget.
    let dry = s.publish(&in_infra, &["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(report(&dry)["flux"]["prune"]["refused"], json!([CRD_ID]));
    let out = s.publish(&in_infra, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-prune-kind"), "{}", stderr(&out));

    // Removed from every layer: refused too, and nothing of it is published.
    let gone = s.render("gone", &crd_in(None));
    let out = s.publish(&gone, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let again = s.publish(&in_crds, &[]);
    assert!(report(&again)["layers"].as_array().unwrap().iter().all(|l| l["unchanged"] == true), "nothing switched");
    let out = s.publish(&in_infra, &["--allow-prune-kind", "CustomResourceDefinition"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

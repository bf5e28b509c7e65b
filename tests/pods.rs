//! Pods and jobs end to end through the binary: `tests/specs/pods.json`
//! and the example rendered, and the objects read back from the bundle
//! files: the typed pod fields, the patches merged by their documented
//! rules, relaxations the app's `security` allows, sidecars as native
//! sidecars, the CronJob, and `check` reporting the host network.
//! (`kubectl kustomize` of both specs is in `tests/render.rs`; refusals
//! are transcripts in `tests/cli/bad/`.)

mod common;

use std::path::Path;

use common::{example, nixflux, root, run_ok, yaml_documents};
use serde_json::{json, Value};

/// Every object of the bundle rendered from `spec`.
fn render(spec: &Path) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    run_ok(nixflux().arg("render").arg(spec).arg("--out").arg(&out));
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(out.join("objects")).unwrap() {
        docs.extend(yaml_documents(&std::fs::read_to_string(entry.unwrap().path()).unwrap()));
    }
    docs
}

fn object<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the bundle"))
}

fn container<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod[list].as_array().into_iter().flatten().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {list} {name}"))
}

#[test]
fn patches_merge_by_their_rules_over_the_typed_pod() {
    let docs = render(&root().join("tests/specs/pods.json"));
    let pod = &object(&docs, "Deployment", "web")["spec"]["template"]["spec"];
    let web = container(pod, "containers", "web");

    // Scalars set, maps merged, keyed lists merged by key.
    assert_eq!(pod["terminationGracePeriodSeconds"], 90);
    assert_eq!(pod["volumes"], json!([{ "name": "logs", "emptyDir": { "medium": "Memory" } }]));
    assert_eq!(web["lifecycle"]["preStop"]["exec"]["command"], json!(["/bin/drain"]));
    let env: Vec<&Value> = web["env"].as_array().unwrap().iter().collect();
    assert_eq!(env[0], &json!({ "name": "MODE", "value": "fast" }), "the patch's value replaces the valueFrom");
    assert_eq!(env[1], &json!({ "name": "POD_IP", "valueFrom": { "fieldRef": { "fieldPath": "status.podIP" } } }));
    assert_eq!(env[2]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.labels['team']");
    // The patch tightens; nixflux's settings beside it stay.
    assert_eq!(
        web["securityContext"],
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true
        })
    );
    // A container the patch adds starts with the app's secure defaults and
    // its image goes through the `images` map.
    let proxy = container(pod, "containers", "proxy");
    assert_eq!(
        proxy["securityContext"],
        web["securityContext"]
            .as_object()
            .map(|m| {
                let mut m = m.clone();
                m.remove("runAsNonRoot");
                Value::Object(m)
            })
            .unwrap()
    );
    assert_eq!(proxy["image"], "nix:0/nix/store/1g8vislcv7gwlkal053qfbccnjklz91d-nix-image-busybox.tar");
    assert_eq!(proxy["imagePullPolicy"], "IfNotPresent");

    // Typed fields.
    assert_eq!(pod["imagePullSecrets"], json!([{ "name": "registry-login" }]));
    assert_eq!(pod["tolerations"][0]["tolerationSeconds"], 30);
    assert_eq!(
        web["livenessProbe"],
        json!({ "exec": { "command": ["/bin/check"] }, "initialDelaySeconds": 5, "failureThreshold": 3, "periodSeconds": 10 })
    );
    assert_eq!(web["readinessProbe"]["httpGet"]["path"], "/healthz", "probes not set keep `health`'s");

    // Init containers in order, then sidecars with restartPolicy Always.
    let inits: Vec<&str> =
        pod["initContainers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(inits, ["migrate", "log-shipper"]);
    assert!(container(pod, "initContainers", "migrate").get("restartPolicy").is_none());
    let shipper = container(pod, "initContainers", "log-shipper");
    assert_eq!(shipper["restartPolicy"], "Always");
    assert_eq!(shipper["volumeMounts"], json!([{ "name": "logs", "mountPath": "/logs" }]));
    assert_eq!(shipper["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
}

#[test]
fn a_patch_may_relax_what_security_relaxes() {
    let docs = render(&root().join("tests/specs/pods.json"));
    let vpn = container(&object(&docs, "Deployment", "vpn")["spec"]["template"]["spec"], "containers", "vpn");
    assert_eq!(vpn["securityContext"]["privileged"], true);
    assert_eq!(vpn["securityContext"]["runAsUser"], 0);
    assert_eq!(vpn["securityContext"]["allowPrivilegeEscalation"], true, "privileged implies escalation");
}

#[test]
fn an_app_with_a_schedule_is_a_cron_job_with_the_deployments_pod() {
    let docs = render(&root().join("tests/specs/pods.json"));
    assert!(!docs.iter().any(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "report"));
    let cron = object(&docs, "CronJob", "report");
    assert_eq!(cron["apiVersion"], "batch/v1");
    let spec = &cron["spec"];
    assert_eq!(spec["schedule"], "@hourly");
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    let pod = &spec["jobTemplate"]["spec"]["template"];
    assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/name"], "report");
    assert_eq!(pod["spec"]["restartPolicy"], "OnFailure");
    assert_eq!(pod["spec"]["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["spec"]["automountServiceAccountToken"], false);
    // A port gives the job's pods a Service, as for a Deployment.
    assert_eq!(object(&docs, "Service", "report")["spec"]["selector"]["app.kubernetes.io/name"], "report");

    let docs = render(&example());
    let backup = &object(&docs, "CronJob", "nightly-backup")["spec"];
    assert_eq!(backup["timeZone"], "Europe/Berlin");
    assert_eq!(backup["startingDeadlineSeconds"], 3600);
    let pod = &backup["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][1], json!({ "name": "photos", "hostPath": { "path": "/srv/photos" } }));
    let main = container(pod, "containers", "nightly-backup");
    assert!(main["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["valueFrom"]["secretKeyRef"] == json!({ "name": "backup-restic", "key": "password" })));
    assert!(
        !docs.iter().any(|d| d["kind"] == "Service" && d["metadata"]["name"] == "nightly-backup"),
        "no port, no Service"
    );
}

#[test]
fn the_gpu_app_requests_whole_devices_on_gpu_nodes() {
    let docs = render(&example());
    let pod = &object(&docs, "Deployment", "ollama")["spec"]["template"]["spec"];
    assert_eq!(pod["runtimeClassName"], "nvidia");
    assert_eq!(pod["nodeSelector"], json!({ "nvidia.com/gpu.present": "true" }));
    let ollama = container(pod, "containers", "ollama");
    assert_eq!(ollama["resources"]["limits"]["nvidia.com/gpu"], "1");
    assert_eq!(ollama["volumeMounts"][0], json!({ "name": "models", "mountPath": "/models", "readOnly": true }));
}

#[test]
fn check_reports_apps_on_the_host_network() {
    let out = run_ok(nixflux().arg("check").arg(example()));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("note: at `apps.matter-server.hostNetwork`: app `matter-server` uses the host network: NetworkPolicies do not apply"),
        "{stderr}"
    );
    let out = run_ok(nixflux().args(["--output", "json", "check"]).arg(example()));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&Value> = report["notes"].as_array().unwrap().iter().map(|n| &n["path"]).collect();
    assert_eq!(paths, [&json!("apps.home-assistant.hostNetwork"), &json!("apps.matter-server.hostNetwork")]);
    let docs = render(&example());
    let pod = &object(&docs, "Deployment", "matter-server")["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    assert_eq!(pod["dnsConfig"], json!({ "options": [{ "name": "ndots", "value": "2" }] }));

    // Without host networking there is no note.
    let out = run_ok(nixflux().arg("check").arg(root().join("tests/specs/pods.json")));
    assert!(!String::from_utf8(out.stderr).unwrap().contains("note:"));
}

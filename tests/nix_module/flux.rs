//! The module's Flux options: the publish unit's flags and credentials
//! (evaluated with nixpkgs' lib), and the unit's command run for real
//! against a real rclone and the fake API server with scripted controllers:
//! Flux failing the revision fails the unit.

use serde_json::Value;

use super::{eval_module, nixpkgs_lib};

/// The publish unit of target `home` with `flux` settings merged in.
fn flux_unit(lib: &str, flux: Value) -> Value {
    let extra = serde_json::json!({ "targets": { "home": {
        "url": "s3://flux/home", "credentialsFile": "/run/keys/nixflux-s3", "flux": flux } } });
    eval_module(lib, &extra, "units")["nixflux-publish-home"].clone()
}

/// ExecStart's arguments after `--to s3://flux/home --credentials-file %d/s3`.
fn flux_tail(unit: &Value) -> String {
    let exec = unit["ExecStart"].as_str().unwrap();
    let (_, tail) = exec.split_once(" --credentials-file %d/s3").unwrap_or_else(|| panic!("{exec}"));
    tail.trim().to_owned()
}

#[test]
fn module_flux_options_drive_trigger_and_wait() {
    let Some(lib) = nixpkgs_lib() else { return };
    // Nothing set: no Flux flags, no credentials beyond S3's.
    let plain = flux_unit(&lib, serde_json::json!({}));
    assert_eq!(flux_tail(&plain), "");
    assert_eq!(plain["LoadCredential"], serde_json::json!(["s3:/run/keys/nixflux-s3"]));
    // The unit fails on exit 3 (Flux failed) and 4 (timed out): only 0 is success,
    // and a oneshot unit has no start timeout that would cut the wait short.
    assert_eq!(plain["SuccessExitStatus"], Value::Null);
    assert_eq!(plain["TimeoutStartSec"], Value::Null);

    // A kubeconfig, layers, a wait and a prune kind.
    let api = flux_unit(
        &lib,
        serde_json::json!({
            "kubeconfigFile": "/etc/rancher/k3s/k3s.yaml",
            "bucket": "flux-system/home",
            "kustomization": ["flux-system/home-crds", "flux-system/home-apps"],
            "wait": "5m",
            "allowPruneKinds": ["PersistentVolumeClaim"],
        }),
    );
    assert_eq!(
        flux_tail(&api),
        "--flux-bucket flux-system/home --flux-kustomization flux-system/home-crds \
         --flux-kustomization flux-system/home-apps --kubeconfig %d/kubeconfig '--wait=5m' \
         --allow-prune-kind PersistentVolumeClaim"
    );
    assert_eq!(
        api["LoadCredential"],
        serde_json::json!(["s3:/run/keys/nixflux-s3", "kubeconfig:/etc/rancher/k3s/k3s.yaml"])
    );
    assert!(!api["ExecStart"].as_str().unwrap().contains("/etc/rancher"), "the kubeconfig only via LoadCredential");
    // One Kustomization may be a string.
    let one = flux_unit(&lib, serde_json::json!({ "kubeconfigFile": "/run/keys/kc", "kustomization": "apps/home" }));
    assert_eq!(flux_tail(&one), "--flux-kustomization apps/home --kubeconfig %d/kubeconfig");

    // A Receiver: its token by LoadCredential, `%` escaped for systemd.
    let hook = flux_unit(
        &lib,
        serde_json::json!({ "receiver": { "url": "http://flux.lan/hook/a%2Fb", "tokenFile": "/run/keys/flux-token" } }),
    );
    assert_eq!(flux_tail(&hook), "--receiver-url http://flux.lan/hook/a%%2Fb --receiver-token-file %d/receiver-token");
    assert_eq!(
        hook["LoadCredential"],
        serde_json::json!(["s3:/run/keys/nixflux-s3", "receiver-token:/run/keys/flux-token"])
    );
    assert!(!hook["ExecStart"].as_str().unwrap().contains("/run/keys/flux-token"));

    // With the target's bootstrap, the Bucket defaults to the one it renders.
    let boot = |bootstrap: Value| {
        flux_tail(&flux_unit(&lib, serde_json::json!({ "kubeconfigFile": "/run/keys/kc", "bootstrap": bootstrap })))
    };
    assert_eq!(
        boot(serde_json::json!({ "enable": true })),
        "--flux-bucket flux-system/nixflux-home --kubeconfig %d/kubeconfig"
    );
    assert_eq!(
        boot(serde_json::json!({ "enable": true, "namespace": "flux", "source": "s3://bkt/Lab_One/x/" })),
        "--flux-bucket flux/nixflux-lab-one-x --kubeconfig %d/kubeconfig"
    );
    assert_eq!(
        boot(serde_json::json!({ "enable": true, "name": "mine" })),
        "--flux-bucket flux-system/mine --kubeconfig %d/kubeconfig"
    );
    // A bootstrap alone asks nothing of Flux: no way in.
    let quiet = flux_unit(&lib, serde_json::json!({ "bootstrap": { "enable": true } }));
    assert_eq!(flux_tail(&quiet), "");
}

#[test]
fn module_flux_assertions_fire_with_their_messages() {
    let Some(lib) = nixpkgs_lib() else { return };
    let failed = |flux: Value| {
        let extra = serde_json::json!({ "targets": { "home": {
            "url": "s3://flux/home", "credentialsFile": "/run/keys/nixflux-s3", "flux": flux } } });
        eval_module(&lib, &extra, "failedAssertions")
    };
    let store = "/nix/store/00000000000000000000000000000000-kubeconfig";
    let cases = [
        (
            serde_json::json!({ "kubeconfigFile": store }),
            "services.nixflux.targets.home.flux.kubeconfigFile is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...).",
        ),
        (
            serde_json::json!({ "receiver": { "url": "http://h/hook/x", "tokenFile": store } }),
            "services.nixflux.targets.home.flux.receiver.tokenFile is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...).",
        ),
        (
            serde_json::json!({ "bucket": "flux-system/home" }),
            "services.nixflux.targets.home.flux names Flux objects but gives the unit no way to reach Flux; set flux.kubeconfigFile (or flux.receiver).",
        ),
        (
            serde_json::json!({ "receiver": { "url": "http://h/hook/x", "tokenFile": "/run/keys/t" }, "wait": "5m" }),
            "services.nixflux.targets.home.flux.wait reads Flux's status, which a Receiver cannot tell; set flux.kubeconfigFile.",
        ),
        (
            serde_json::json!({ "kubeconfigFile": "/run/keys/kc", "wait": "5 minutes" }),
            "services.nixflux.targets.home.flux.wait `5 minutes` is not a duration; write e.g. `90s`, `5m` or `1h30m`.",
        ),
    ];
    for (flux, message) in cases {
        assert_eq!(failed(flux.clone()), serde_json::json!([message]), "for {flux}");
    }
    for ok in ["90s", "1h30m", "2m30.5s", "250ms"] {
        assert_eq!(failed(serde_json::json!({ "kubeconfigFile": "/run/keys/kc", "wait": ok })), serde_json::json!([]));
    }
}

/// The revision source-controller computes for `home/` with the Bucket's
/// default `ignore` (by the definition, from the bucket's own listing).
fn flux_revision(server: &super::common::s3::Server) -> String {
    let ignored = |k: &str| k.split('/').any(|e| e == "generations") || k.ends_with("nixflux.lock");
    let lines: String =
        server.listing("home/").iter().filter(|(k, _)| !ignored(k)).map(|(k, e)| format!("{k} {e}\n")).collect();
    format!("sha256:{}", nixflux::bundle::sha256_hex(lines.as_bytes()))
}

/// Runs the module's publish unit command as systemd would (credentials
/// in `%d`, `%%` unescaped) against a real rclone and the fake API server,
/// whose Kustomization controller ends every attempt with `outcome`.
fn run_unit(lib: &str, outcome: super::common::fake_kube::Outcome) -> (Value, std::process::Output) {
    use super::common::fake_kube::{BucketScript, FakeKube, KustomizationScript};
    let server = std::sync::Arc::new(super::common::s3::Server::start());
    let kube = FakeKube::start();
    kube.put(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
        "metadata": { "name": "nixflux-home", "namespace": "flux-system" },
        "spec": { "bucketName": server.bucket, "endpoint": "127.0.0.1:9000", "provider": "generic", "interval": "10m", "prefix": "home/" },
    }));
    kube.put(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": { "name": "nixflux-home", "namespace": "flux-system" },
        "spec": { "interval": "10m", "timeout": "2m", "path": "./home", "prune": true, "wait": true,
                  "sourceRef": { "kind": "Bucket", "name": "nixflux-home" } },
    }));
    let rev_server = server.clone();
    let _bucket = kube
        .start_bucket_controller(BucketScript::new("flux-system", "nixflux-home", move || flux_revision(&rev_server)));
    let _kustomization =
        kube.start_kustomization_controller(KustomizationScript::new("flux-system", "nixflux-home").always(outcome));

    // The unit as the module writes it; the Bucket comes from the target's bootstrap.
    let extra = serde_json::json!({ "targets": { "home": {
        "url": format!("s3://{}/home", server.bucket), "endpoint": server.endpoint(),
        "credentialsFile": "/run/keys/nixflux-s3",
        "flux": { "kubeconfigFile": "/run/keys/flux-kubeconfig", "wait": "20s", "bootstrap": { "enable": true } } } } });
    let unit = eval_module(lib, &extra, "units")["nixflux-publish-home"].clone();
    assert_eq!(unit["SuccessExitStatus"], Value::Null, "only exit 0 may count as success");

    // systemd's side: LoadCredential copies each file into `%d`.
    let tmp = tempfile::tempdir().unwrap();
    let creds = tmp.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    for entry in unit["LoadCredential"].as_array().unwrap() {
        let (name, from) = entry.as_str().unwrap().split_once(':').unwrap();
        let source = match from {
            "/run/keys/nixflux-s3" => server.creds.clone(),
            "/run/keys/flux-kubeconfig" => kube.kubeconfig().to_owned(),
            other => panic!("unexpected credential {other}"),
        };
        std::fs::copy(source, creds.join(name)).unwrap();
    }
    let bundle = super::common::bundle(tmp.path(), "b", &super::common::spec_of(&["web"], &[]));
    let exec = unit["ExecStart"].as_str().unwrap();
    let (binary, args) = exec.split_once(' ').unwrap();
    assert!(binary.ends_with("/bin/nixflux"), "{exec}");
    let store_bundle = unit["restartTriggers"][0].as_str().unwrap();
    let args = args
        .replace(store_bundle, bundle.to_str().unwrap())
        .replace("%%", "\u{0}")
        .replace("%d", creds.to_str().unwrap())
        .replace('\u{0}', "%")
        .replace("$$", "$");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" {args} --output json"))
        .arg(env!("CARGO_BIN_EXE_nixflux"))
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    (unit, out)
}

#[test]
fn the_publish_unit_fails_when_flux_fails_and_succeeds_when_it_applies() {
    use super::common::fake_kube::Outcome;
    let Some(lib) = nixpkgs_lib() else { return };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let (_, out) = run_unit(&lib, Outcome::unhealthy(&["Deployment/web/web"]));
    assert_eq!(out.status.code(), Some(3), "Flux failing the revision fails the unit: {}", stderr(&out));
    assert!(stderr(&out).contains("Flux failed to apply"), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["flux"]["wait"]["failure"]["unhealthy"], serde_json::json!(["Deployment/web/web"]));
    assert_eq!(r["flux"]["requested"]["via"], "api");

    let (_, out) = run_unit(&lib, Outcome::Applied);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["flux"]["wait"]["outcome"], "applied");
}

//! The Nix side with real Nix (Debian's nix-bin, no nixpkgs): every `.nix`
//! file parses; `mkBundle` builds with the freshly built binary and equals
//! a direct `nixflux render`, and its output references its images. The
//! NixOS module's tests need nixpkgs' `lib`: they run when
//! `NIXFLUX_NIXPKGS_LIB` names a nixpkgs `lib` directory and say they were
//! skipped otherwise.

mod common;

#[path = "nix_module/flux.rs"]
mod flux;

#[path = "nix_module/notifier.rs"]
mod notifier;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{nixflux, root, run_ok};
use serde_json::Value;

/// Debian's Nix builds without a sandbox; as root it needs no build users;
/// nothing is fetched from a binary cache (there is no network here).
const NIX_OPTS: &[&str] =
    &["--option", "sandbox", "false", "--option", "build-users-group", "", "--option", "substituters", ""];

fn nix(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}; install Debian's nix-bin"));
    assert!(out.status.success(), "{cmd} {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() && !name.starts_with('.') && name != "target" && name != "demo" {
            nix_files(&p, out);
        } else if name.ends_with(".nix") {
            out.push(p);
        }
    }
}

#[test]
fn every_nix_file_parses() {
    let mut files = Vec::new();
    nix_files(&root(), &mut files);
    assert!(files.len() >= 8, "found only {files:?}");
    for f in files {
        nix("nix-instantiate", &["--parse", f.to_str().unwrap()]);
    }
}

#[test]
fn flake_lock_pins_nixpkgs() {
    let lock: Value = serde_json::from_str(&std::fs::read_to_string(root().join("flake.lock")).unwrap()).unwrap();
    assert_eq!(lock["version"], 7);
    assert_eq!(lock["root"], "root");
    let n = &lock["nodes"]["nixpkgs"];
    assert_eq!(n["locked"]["rev"], "8fd9daa3db09ced9700431c5b7ad0e8ba199b575");
    assert_eq!(n["locked"]["narHash"], "sha256-Ti+ZBvW6yrWWAg2szExVTwCd4qOJ3KlVr1tFHfyfi8Q=");
    assert_eq!(n["original"]["ref"], "nixos-25.11");
    assert_eq!(lock["nodes"]["root"]["inputs"]["nixpkgs"], "nixpkgs");
}

/// The freshly built binary as a package in the store (`bin/nixflux`).
fn binary_in_store() -> String {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("nixflux");
    std::fs::create_dir_all(pkg.join("bin")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_nixflux"), pkg.join("bin/nixflux")).unwrap();
    nix("nix-store", &["--add", pkg.to_str().unwrap()]).trim().to_owned()
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "objects"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn mk_bundle_builds_with_nix_and_equals_a_direct_render() {
    let pkg = binary_in_store();
    let expr = root().join("tests/nix/bundle.nix");
    let expr = expr.to_str().unwrap();
    let mut args = vec![expr, "--no-out-link", "--quiet", "--argstr", "nixfluxPath", &pkg, "-A", "bundle"];
    args.extend_from_slice(NIX_OPTS);
    let out = nix("nix-build", &args).trim().to_owned();

    // The same spec, as JSON, rendered directly.
    let spec =
        nix("nix-instantiate", &["--eval", "--strict", "--json", expr, "--argstr", "nixfluxPath", &pkg, "-A", "spec"]);
    let tmp = tempfile::tempdir().unwrap();
    let spec_file = tmp.path().join("spec.json");
    std::fs::write(&spec_file, spec).unwrap();
    let direct = tmp.path().join("direct");
    run_ok(nixflux().arg("render").arg(&spec_file).arg("--out").arg(&direct));
    assert_eq!(tree(Path::new(&out)), tree(&direct), "mkBundle's output differs from `nixflux render`");

    // The image is a runtime reference of the bundle; the builder is not.
    let mut args = vec![expr, "--no-out-link", "--quiet", "--argstr", "nixfluxPath", &pkg, "-A", "image"];
    args.extend_from_slice(NIX_OPTS);
    let image = nix("nix-build", &args).trim().to_owned();
    let refs = nix("nix-store", &["-q", "--references", &out]);
    assert!(refs.lines().any(|l| l == image), "the bundle does not reference its image {image}:\n{refs}");
    assert!(!refs.contains(&pkg), "the bundle references the nixflux binary");
}

/// nixpkgs' lib for the module tests, or `None` (the tests say they skip).
fn nixpkgs_lib() -> Option<String> {
    match std::env::var("NIXFLUX_NIXPKGS_LIB") {
        Ok(p) if Path::new(&p).join("default.nix").is_file() => Some(p),
        Ok(p) => panic!("NIXFLUX_NIXPKGS_LIB=`{p}` is not a nixpkgs lib directory (no default.nix)"),
        Err(_) => {
            common::skip(
                "the NixOS module tests need nixpkgs' lib; set NIXFLUX_NIXPKGS_LIB to a nixpkgs `lib` directory (e.g. ../shared/nixpkgs-lib/lib)",
            );
            None
        }
    }
}

/// Evaluates the example's module settings merged with `extra` (JSON).
fn eval_module(lib: &str, extra: &Value, attr: &str) -> Value {
    eval_module_of(lib, &root().join("docs/examples/homelab.json"), extra, attr)
}

/// Evaluates the module settings of the spec file `example` merged with `extra`.
fn eval_module_of(lib: &str, example: &std::path::Path, extra: &Value, attr: &str) -> Value {
    eval_module_with(lib, example, extra, attr, &[])
}

/// [`eval_module_of`] with more `nix-instantiate` flags (`--read-write-mode`
/// for what writes to the store and reads it back).
fn eval_module_with(lib: &str, example: &std::path::Path, extra: &Value, attr: &str, flags: &[&str]) -> Value {
    let expr = root().join("tests/nix/example.nix");
    let extra = extra.to_string();
    let mut args = vec!["--eval", "--strict", "--json"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[
        expr.to_str().unwrap(),
        "--argstr",
        "libPath",
        lib,
        "--argstr",
        "examplePath",
        example.to_str().unwrap(),
        "--argstr",
        "extra",
        &extra,
        "-A",
        attr,
    ]);
    serde_json::from_str(&nix("nix-instantiate", &args)).unwrap()
}

#[test]
fn module_spec_equals_the_json_example() {
    let Some(lib) = nixpkgs_lib() else { return };
    let spec = eval_module(&lib, &serde_json::json!({}), "spec");
    let example: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/examples/homelab.json")).unwrap()).unwrap();
    assert_eq!(spec, example);
    let failed = eval_module(&lib, &serde_json::json!({}), "failedAssertions");
    assert_eq!(failed, serde_json::json!([]));
}

/// Every form of a traffic peer and port (names, numbers, `{ port; protocol;
/// endPort; }`, CIDRs with `except`) and a profile's `extends` pass through
/// the module's options unchanged.
#[test]
fn module_spec_equals_the_traffic_spec() {
    let Some(lib) = nixpkgs_lib() else { return };
    let path = root().join("tests/specs/traffic.json");
    let spec = eval_module_of(&lib, &path, &serde_json::json!({}), "spec");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(spec, expected);
}

/// `helm` (every source kind, image values in each form, `valuesFrom`)
/// passes through the module's options unchanged, and its `values` keep
/// their nulls (a null removes a chart default).
#[test]
fn module_spec_equals_the_helm_spec() {
    let Some(lib) = nixpkgs_lib() else { return };
    let path = root().join("tests/specs/helm.json");
    let spec = eval_module_of(&lib, &path, &serde_json::json!({}), "spec");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(spec, expected);
    let helm = serde_json::json!({
        "repository": "oci://ghcr.io/stefanprodan/charts", "chart": "podinfo", "version": "6.x",
        "allowVersionRange": true, "values": { "resources": null, "ui": { "color": null } },
        "imageValues": [ { "path": "image", "image": "podinfo", "form": "reference" } ],
    });
    let extra = serde_json::json!({ "apps": { "podinfo": { "helm": helm } } });
    let spec = eval_module_of(&lib, &path, &extra, "spec.apps.podinfo.helm");
    let mut want = expected["apps"]["podinfo"]["helm"].clone();
    for (k, v) in helm.as_object().unwrap() {
        want[k] = v.clone();
    }
    want["values"]["replicaCount"] = serde_json::json!(2);
    want["values"]["ui"]["message"] = serde_json::json!("hello from nixflux");
    assert_eq!(spec, want);
}

/// The specs of the other features pass through the module's options
/// unchanged and without a failed assertion: `pods.json` (every typed pod
/// field, env references, extra containers, probes, patches, a CronJob),
/// `routes.json` (routes to another Service and to a named or numbered
/// port, `pathType`, `className`, every kind of `external`, `vars` with a
/// default) and `traefik.json` (`defaults.traefik`, `defaults.tls`,
/// `public`, a route's `entryPoints`, `middlewares` and `tls.issuer`,
/// `external.<ns>.middlewares`).
#[test]
fn module_spec_equals_the_pods_routes_and_traefik_specs() {
    let Some(lib) = nixpkgs_lib() else { return };
    for file in ["tests/specs/pods.json", "tests/specs/routes.json", "tests/specs/traefik.json"] {
        let path = root().join(file);
        let spec = eval_module_of(&lib, &path, &serde_json::json!({}), "spec");
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(spec, expected, "{file}");
        let failed = eval_module_of(&lib, &path, &serde_json::json!({}), "failedAssertions");
        assert_eq!(failed, serde_json::json!([]), "{file}");
    }
}

/// Patches pass through the module untouched, their nulls (which remove a
/// field) included; the typed pod options reach the spec as written.
#[test]
fn module_passes_patches_through_with_their_nulls() {
    let Some(lib) = nixpkgs_lib() else { return };
    let app = serde_json::json!({
        "image": "nix:0/nix/store/00000000000000000000000000000000-x.tar",
        "env": { "MODE": { "configMapKeyRef": { "name": "web-config", "key": "mode" } }, "TZ": "UTC" },
        "tolerations": [ { "operator": "Exists" } ],
        "sidecars": [ { "name": "log", "image": "busybox", "volumes": [ "logs" ] } ],
        "resources": { "limits": { "nvidia.com/gpu": 1 } },
        "probes": { "readiness": { "tcpSocket": {} } },
        "schedule": "@daily",
        "job": { "suspend": true },
        "podPatch": { "securityContext": { "seccompProfile": null }, "terminationGracePeriodSeconds": 5 },
        "containerPatch": { "env": [ { "name": "MODE", "value": "x", "valueFrom": null } ] }
    });
    let spec = eval_module(&lib, &serde_json::json!({ "apps": { "patched": app } }), "spec.apps.patched");
    assert_eq!(spec, app);
}

#[test]
fn module_assertions_fire_with_their_messages() {
    let Some(lib) = nixpkgs_lib() else { return };
    let cases = [
        (
            serde_json::json!({ "apps": { "vault2": { "image": "nix:0/nix/store/00000000000000000000000000000000-x.tar", "port": 80, "ingress": { "host": "vault.home.example.org" } } } }),
            "services.nixflux: path `/` of host `vault.home.example.org` is routed by apps `vault2` and `vaultwarden`; apps may share a host, but each path of it goes to one backend.",
        ),
        (
            serde_json::json!({ "apps": { "hooks": { "routes": { "in": { "host": "api.home.example.org", "path": "/ledger", "service": "ledger-api" } } } } }),
            "services.nixflux: path `/ledger` of host `api.home.example.org` is routed by apps `hooks` and `ledger-api`; apps may share a host, but each path of it goes to one backend.",
        ),
        (
            serde_json::json!({ "targets": { "home": { "url": "s3://flux/home", "credentialsFile": "/nix/store/00000000000000000000000000000000-creds" } } }),
            "services.nixflux.targets.home.credentialsFile is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...).",
        ),
        (
            serde_json::json!({ "targets": { "home": { "url": "s3://flux/home" } } }),
            "services.nixflux.targets.home publishes to s3://flux/home without credentials; set credentialsFile (or credentialsFromEnvironment = true).",
        ),
        (
            serde_json::json!({ "apps": { "uptime": { "objects": [ { "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "token" }, "stringData": { "t": "x" } } ] } } }),
            "services.nixflux: the Secret `token` carries data, which would enter the world-readable Nix store; use an ExternalSecret or SOPS, or set services.nixflux.allowPlaintextSecrets.",
        ),
    ];
    for (extra, message) in cases {
        let failed = eval_module(&lib, &extra, "failedAssertions");
        assert_eq!(failed, serde_json::json!([message]), "for {extra}");
    }
    // A directory target the DynamicUser unit could not write.
    let outside = serde_json::json!({ "targets": { "local": { "url": "dir:///srv/flux-bucket" } } });
    assert_eq!(
        eval_module(&lib, &outside, "failedAssertions"),
        serde_json::json!(["services.nixflux.targets.local writes `/srv/flux-bucket`, which its unit (DynamicUser) cannot write: use a path under /var/lib/nixflux/local, or add the directory to services.nixflux.targets.local.readWritePaths."])
    );
    for ok in [
        serde_json::json!({ "targets": { "local": { "url": "dir:///srv/flux-bucket/home", "readWritePaths": ["/srv/flux-bucket"] } } }),
        serde_json::json!({ "targets": { "local": { "url": "dir:///var/lib/nixflux/local/bucket" } } }),
    ] {
        assert_eq!(eval_module(&lib, &ok, "failedAssertions"), serde_json::json!([]), "for {ok}");
    }
    // A List is refused, and a Secret inside it is seen.
    let list = serde_json::json!({ "apps": { "uptime": { "objects": [ { "apiVersion": "v1", "kind": "List", "metadata": { "name": "bag" },
        "items": [ { "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "hidden" }, "stringData": { "t": "x" } } ] } ] } } });
    let failed = eval_module(&lib, &list, "failedAssertions");
    assert_eq!(
        failed,
        serde_json::json!([
            "services.nixflux: the object `bag` is a `List`, whose items kustomize would apply unchecked; put each item into `objects` on its own.",
            "services.nixflux: the Secret `hidden` carries data, which would enter the world-readable Nix store; use an ExternalSecret or SOPS, or set services.nixflux.allowPlaintextSecrets.",
        ]),
        "for {list}"
    );
}

#[test]
fn module_publish_unit_and_node_images() {
    let Some(lib) = nixpkgs_lib() else { return };
    let extra = serde_json::json!({
        "targets": { "home": { "url": "s3://flux/home", "endpoint": "https://s3.lan:9000", "credentialsFile": "/run/keys/nixflux-s3", "keep": 5 } },
        "nodeImages": { "enable": true }
    });
    let units = eval_module(&lib, &extra, "units");
    let u = &units["nixflux-publish-home"];
    assert_eq!(u["Type"], "oneshot");
    assert_eq!(u["RemainAfterExit"], true);
    assert_eq!(u["DynamicUser"], true);
    assert_eq!(u["StateDirectory"], "nixflux/home");
    assert_eq!(u["wantedBy"], serde_json::json!(["multi-user.target"]));
    assert_eq!(u["after"], serde_json::json!(["network-online.target"]));
    assert_eq!(u["LoadCredential"], serde_json::json!(["s3:/run/keys/nixflux-s3"]));
    assert_eq!(u["UMask"], "0022", "published files are readable by a server running as another user");
    assert_eq!(u["ReadWritePaths"], serde_json::json!([]));
    let exec = u["ExecStart"].as_str().unwrap();
    let bundle = u["restartTriggers"][0].as_str().unwrap();
    assert!(bundle.starts_with("/nix/store/") && bundle.ends_with("-nixflux-bundle"), "{bundle}");
    for part in [
        "/bin/nixflux publish ",
        bundle,
        " --to s3://flux/home --endpoint https://s3.lan:9000 --credentials-file %d/s3 --keep 5",
    ] {
        assert!(exec.contains(part), "ExecStart `{exec}` lacks `{part}`");
    }
    assert!(!exec.contains("/run/keys"), "the credentials path must reach the unit only through LoadCredential");
    assert!(!exec.contains("--flux-ignore"), "nixflux's default ignore is the Bucket's unless set");
    // The Bucket's `ignore`, line by line; `%` and `$` escaped for systemd; `[ ]` is an empty `ignore`.
    let flux = |ignore: Value| {
        let extra =
            serde_json::json!({ "targets": { "home": { "url": "s3://flux/home", "flux": { "ignore": ignore } } } });
        eval_module(&lib, &extra, "units")["nixflux-publish-home"]["ExecStart"].as_str().unwrap().to_owned()
    };
    let exec = flux(serde_json::json!(["generations/", "100%.json"]));
    assert!(exec.ends_with(" --flux-ignore generations/ --flux-ignore 100%%.json"), "{exec}");
    assert!(flux(serde_json::json!([])).ends_with(" --flux-ignore ''"));
    let deps = eval_module(&lib, &extra, "extraDependencies");
    assert_eq!(deps, serde_json::json!([bundle]), "nodeImages puts the bundle (and so its images) into the closure");
}

/// The options table of docs/nixos.md, from the module's own declarations.
fn options_table(lib: &str) -> String {
    let docs = eval_module(lib, &serde_json::json!({}), "optionDocs");
    let cell = |v: &Value| -> String {
        let text = match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.replace('|', "\\|").replace('\n', " ")
    };
    let mut out = String::from("| option | type | default | example | description |\n|---|---|---|---|---|\n");
    for o in docs.as_array().unwrap() {
        let name = o["name"].as_str().unwrap().strip_prefix("services.nixflux.").unwrap_or_default();
        let code = |v: &Value| if v.is_null() { String::new() } else { format!("`{}`", cell(v)) };
        let ro = if o["readOnly"] == true { " (read-only)" } else { "" };
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} | {}{ro} |\n",
            cell(&o["type"]),
            code(&o["default"]),
            code(&o["example"]),
            cell(&o["description"])
        ));
    }
    out
}

#[test]
fn options_reference_is_generated_from_the_module() {
    let Some(lib) = nixpkgs_lib() else { return };
    let path = root().join("docs/nixos.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = doc.split_once("<!-- options:begin -->\n").expect("docs/nixos.md has the options markers");
    let (_, tail) = rest.split_once("<!-- options:end -->").expect("docs/nixos.md has the end marker");
    let fresh = format!("{head}<!-- options:begin -->\n{}<!-- options:end -->{tail}", options_table(&lib));
    if common::blessing() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(fresh == doc, "docs/nixos.md's options reference differs from the module; rerun with NIXFLUX_BLESS=1");
}

fn nix_flakes(args: &[&str]) -> String {
    let mut all = vec!["--extra-experimental-features", "nix-command flakes", "--option", "substituters", ""];
    all.extend_from_slice(args);
    let out = Command::new("nix").current_dir(root()).args(&all).output().unwrap();
    assert!(out.status.success(), "nix {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn nix_reads_the_flake_and_its_lock() {
    // Reading the lock needs no network; fetching nixpkgs would.
    let meta: Value = serde_json::from_str(&nix_flakes(&["flake", "metadata", "--json"])).unwrap();
    assert_eq!(meta["locks"]["nodes"]["nixpkgs"]["locked"]["rev"], "8fd9daa3db09ced9700431c5b7ad0e8ba199b575");
    assert!(meta["description"].as_str().unwrap().starts_with("nixflux"));
}

#[test]
fn flake_outputs_evaluate_with_nixpkgs_lib() {
    let Some(lib) = nixpkgs_lib() else { return };
    // nixpkgs' lib stands in for nixpkgs: enough for the outputs that need no packages.
    let flake_dir = Path::new(&lib).parent().unwrap();
    assert!(flake_dir.join("flake.nix").is_file(), "{} has no flake.nix", flake_dir.display());
    let input = format!("path:{}", flake_dir.display());
    for (attr, kind) in [("lib.mkBundle", "lambda"), ("overlays.default", "lambda"), ("nixosModules.default", "set")] {
        let out = nix_flakes(&[
            "eval",
            "--override-input",
            "nixpkgs",
            &input,
            &format!(".#{attr}"),
            "--apply",
            "builtins.typeOf",
        ]);
        assert_eq!(out.trim(), format!("\"{kind}\""), "{attr}");
    }
}

#[test]
fn publishing_a_store_path_records_it_and_its_nar_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let rendered = tmp.path().join("bundle");
    run_ok(nixflux().args(["render", "--example", "--out"]).arg(&rendered));
    let store_path = nix("nix-store", &["--add", rendered.to_str().unwrap()]).trim().to_owned();
    let target = tmp.path().join("target");
    run_ok(nixflux().arg("publish").arg(&store_path).arg("--to").arg(&target));
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("generations/00000001.json")).unwrap()).unwrap();
    let want = nix("nix-hash", &["--type", "sha256", "--base32", &store_path]);
    assert_eq!(record["source"]["storePath"], store_path.as_str());
    assert_eq!(record["source"]["narHash"], format!("sha256:{}", want.trim()));
}

/// `targets.<name>.flux.bootstrap`: built by Nix 2.8 with the fresh binary,
/// the objects equal `nixflux flux bootstrap --out` with the same flags;
/// with `inBundle` the target publishes a bundle of its own that also holds
/// them, without it the module's bundle.
#[test]
fn module_renders_the_flux_bootstrap_at_build_time() {
    let Some(lib) = nixpkgs_lib() else { return };
    let pkg = binary_in_store();
    let expr = root().join("tests/nix/bootstrap.nix");
    let expr = expr.to_str().unwrap();
    let build = |attr: &str| {
        let mut args = vec![
            expr,
            "--no-out-link",
            "--quiet",
            "--argstr",
            "libPath",
            &lib,
            "--argstr",
            "nixfluxPath",
            &pkg,
            "-A",
            attr,
        ];
        args.extend_from_slice(NIX_OPTS);
        nix("nix-build", &args).trim().to_owned()
    };
    let files = |dir: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    };
    let rclone = "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-rclone.tar";
    let tmp = tempfile::tempdir().unwrap();
    for (target, flags) in [
        (
            "home",
            vec![
                "--to",
                "s3://flux/home",
                "--rclone-image",
                rclone,
                "--receiver",
                "--notifier-url",
                "http://notify.lan:9293/flux",
                "--rbac-service-account",
                "publisher",
            ],
        ),
        (
            "node",
            vec![
                "--to",
                "s3://flux/node",
                "--mode",
                "hostpath",
                "--rclone-image",
                rclone,
                "--host-path",
                "/var/lib/nixflux-s3",
                "--node",
                "node1",
                "--interval",
                "30m",
            ],
        ),
    ] {
        let built = build(&format!("bootstrap.{target}"));
        let direct = tmp.path().join(target);
        run_ok(nixflux().args(["flux", "bootstrap", "--quiet"]).args(&flags).arg("--out").arg(&direct));
        assert_eq!(files(Path::new(&built)), files(&direct), "{target}: the module's bootstrap differs from the CLI's");
    }
    // `home` publishes its own bundle, holding the Bucket; `node` the module's.
    let home = build("homeBundle");
    let node = build("nodeBundle");
    assert_ne!(home, node);
    assert_eq!(node, build("bundle"));
    let objects = common::s3::build(Path::new(&home)).expect("the home bundle builds");
    let kinds: Vec<String> = objects
        .iter()
        .map(|o| serde_json::from_str::<Value>(o).unwrap()["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["Bucket", "Kustomization", "Receiver", "Deployment", "Role"] {
        assert!(kinds.iter().any(|k| k == kind), "the home bundle lacks a {kind}: {kinds:?}");
    }
    let units = eval_module(
        &lib,
        &serde_json::json!({ "targets": { "x": { "url": "dir:///var/lib/nixflux/x/b", "flux": { "bootstrap": { "enable": true } } } } }),
        "failedAssertions",
    );
    assert_eq!(
        units,
        serde_json::json!(["services.nixflux.targets.x.flux.bootstrap needs `source` (`s3://BUCKET/PREFIX`, what Flux reads): the target's url `dir:///var/lib/nixflux/x/b` is not S3."])
    );
}

/// `services.nixflux.layers` and an app's `layer` reach the spec as the
/// spec has them, and a target's bootstrap gets one `--layer` per layer.
#[test]
fn module_layers_reach_the_spec_and_the_bootstrap() {
    let Some(lib) = nixpkgs_lib() else { return };
    let crd = serde_json::json!({ "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.example.com" } });
    let extra = serde_json::json!({
        "layers": [{ "name": "crds", "objects": [crd] }, { "name": "apps" }],
        "apps": { "vaultwarden": { "layer": "apps" } },
        "targets": { "home": { "url": "s3://flux/home", "flux": { "bootstrap": { "enable": true } } } },
    });
    let spec = eval_module(&lib, &extra, "spec");
    assert_eq!(spec["layers"], serde_json::json!([{ "name": "crds", "objects": [crd] }, { "name": "apps" }]));
    assert_eq!(spec["apps"]["vaultwarden"]["layer"], "apps");
    let args = eval_module(&lib, &extra, "bootstrapArgs");
    let args: Vec<&str> = args["home"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let layers: Vec<&str> = args.windows(2).filter(|w| w[0] == "--layer").map(|w| w[1]).collect();
    assert_eq!(layers, ["crds", "apps"], "{args:?}");
    // Without layers the spec has none and the bootstrap no `--layer`.
    let plain = serde_json::json!({ "targets": { "home": { "url": "s3://flux/home", "flux": { "bootstrap": { "enable": true } } } } });
    assert!(eval_module(&lib, &plain, "spec").get("layers").is_none());
    let args = eval_module(&lib, &plain, "bootstrapArgs");
    assert!(!args["home"].as_array().unwrap().iter().any(|a| a == "--layer"));
}

/// The secrets and databases options (`# --- secrets / databases ---` in
/// the module) mirror the spec: `tests/specs/secrets-db.json` set option
/// for option gives exactly that spec; a bundle with a CloudNativePG
/// Cluster gets `--health-check-cnpg` in its bootstrap, and SOPS objects
/// need the bootstrap's `sopsSecret`.
#[test]
fn module_mirrors_secrets_and_databases() {
    let Some(lib) = nixpkgs_lib() else { return };
    let path = root().join("tests/specs/secrets-db.json");
    let spec = eval_module_of(&lib, &path, &serde_json::json!({}), "spec");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(spec, expected);
    let target = |sops: Option<&str>| {
        let mut bootstrap = serde_json::json!({ "enable": true, "endpoint": "https://s3.lan:9000" });
        if let Some(s) = sops {
            bootstrap["sopsSecret"] = serde_json::json!(s);
        }
        serde_json::json!({ "targets": { "home": { "url": "s3://flux/home", "credentialsFile": "/run/keys/s3",
            "flux": { "bootstrap": bootstrap } } } })
    };
    assert_eq!(
        eval_module_of(&lib, &path, &target(None), "failedAssertions"),
        serde_json::json!(["services.nixflux.targets.home.flux.bootstrap: the bundle holds SOPS-encrypted objects (`gitea-admin`), which Flux applies only with `decryption`; set sopsSecret."])
    );
    assert_eq!(eval_module_of(&lib, &path, &target(Some("sops-age")), "failedAssertions"), serde_json::json!([]));
    let args = eval_module_of(&lib, &path, &target(Some("sops-age")), "bootstrapArgs.home");
    let args: Vec<&str> = args.as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(args.contains(&"--health-check-cnpg") && args.contains(&"sops-age"), "{args:?}");
    // A bundle without a Cluster: no health expression.
    let minimal = root().join("tests/specs/minimal.json");
    let args = eval_module_of(&lib, &minimal, &target(None), "bootstrapArgs.home");
    assert!(!args.to_string().contains("--health-check-cnpg"), "{args}");
}

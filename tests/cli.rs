//! CLI transcripts: every bad input under `tests/cli/bad/` is checked with
//! `nixflux check`, and its stderr must equal the `.stderr` file beside it,
//! with exit code 2 and nothing on stdout. Error wording is reviewed here
//! like output. `NIXFLUX_BLESS=1 cargo test --test cli` rewrites the files.

mod common;

use common::{compare, nixflux, root};

/// The `*.json` cases of a transcript directory, sorted.
fn json_cases(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut cases: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    cases
}

#[test]
fn bad_inputs_have_exact_errors_and_exit_2() {
    let dir = root().join("tests/cli/bad");
    let cases = json_cases(&dir);
    assert!(cases.len() >= 20, "expected at least 20 bad inputs, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let file = case.file_name().unwrap().to_str().unwrap();
        let out = nixflux().current_dir(&dir).args(["check", file]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if out.status.code() != Some(2) {
            failures.push(format!("{file}: exit {:?}, want 2\n{stderr}", out.status.code()));
        }
        if !out.stdout.is_empty() {
            failures.push(format!("{file}: unexpected stdout {:?}", String::from_utf8_lossy(&out.stdout)));
        }
        if stderr.contains("panicked") {
            failures.push(format!("{file}: panicked\n{stderr}"));
        }
        failures.extend(compare(&case.with_extension("stderr"), &stderr));
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// `tests/cli/warn/`: specs that pass `check` with warnings: exact stderr
/// (the warnings, then the summary), exit 0, nothing on stdout.
#[test]
fn warnings_have_exact_wording_and_exit_0() {
    let dir = root().join("tests/cli/warn");
    let cases = json_cases(&dir);
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let file = case.file_name().unwrap().to_str().unwrap();
        let out = nixflux().current_dir(&dir).args(["check", file]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if out.status.code() != Some(0) || !out.stdout.is_empty() {
            failures.push(format!("{file}: exit {:?}, want 0, stdout {:?}\n{stderr}", out.status.code(), out.stdout));
        }
        if !stderr.contains("warning: ") {
            failures.push(format!("{file}: no warning\n{stderr}"));
        }
        failures.extend(compare(&case.with_extension("stderr"), &stderr));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `tests/cli/crds/`: objects checked with `--crds ../shared/crds` (the
/// upstream CRDs of Flux, Traefik, cert-manager, CloudNativePG and External
/// Secrets): exact stderr, exit 2. Skipped when `../shared` is absent.
#[test]
fn bad_objects_against_crds_have_exact_errors_and_exit_2() {
    let crds = root().join("../shared/crds");
    if !crds.is_dir() {
        return common::skip(&format!("{} is absent (the upstream CRDs live in ../shared)", crds.display()));
    }
    let dir = root().join("tests/cli/crds");
    let cases = json_cases(&dir);
    assert!(cases.len() >= 5, "expected at least 5 cases, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let file = case.file_name().unwrap().to_str().unwrap();
        let out =
            nixflux().current_dir(&dir).args(["check", file, "--crds", "../../../../shared/crds"]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if out.status.code() != Some(2) {
            failures.push(format!("{file}: exit {:?}, want 2\n{stderr}", out.status.code()));
        }
        // Without `--crds` the same spec passes: the CRD check is what refuses it.
        let plain = nixflux().current_dir(&dir).args(["check", file]).output().unwrap();
        if !plain.status.success() {
            failures.push(format!("{file}: without --crds: exit {:?}", plain.status.code()));
        }
        failures.extend(compare(&case.with_extension("stderr"), &stderr));
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn json_output_lists_problems_on_stdout() {
    let dir = root().join("tests/cli/bad");
    let out =
        nixflux().current_dir(&dir).args(["check", "several-problems.json", "--output", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let paths: Vec<&str> = v["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"apps.web.ingress"), "{paths:?}");
    assert!(paths.contains(&"apps.api.image"), "{paths:?}");
}

#[test]
fn missing_spec_file_is_bad_input() {
    let out = nixflux().args(["check", "/nonexistent/spec.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: spec `/nonexistent/spec.json` does not exist\n\
         hint: check the path; `-` reads the spec from stdin, `--example` uses the built-in example\n"
    );
}

#[test]
fn unreadable_spec_file_is_an_operation_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = nixflux().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with(&format!("error: reading spec `{}`: ", dir.path().display())), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let out = nixflux().args(["render"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<SPEC>"));
    let out = nixflux().args(["render", "x.json", "--example"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = nixflux().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn version_and_help() {
    let out = nixflux().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("nixflux {}\n", env!("CARGO_PKG_VERSION")));
    let out = nixflux().args(["render", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in ["--out", "--example", "--output", "--verbose", "--quiet"] {
        assert!(help.contains(flag), "render --help lacks {flag}:\n{help}");
    }
}

#[test]
fn spec_from_stdin() {
    use std::io::Write;
    let mut child = nixflux()
        .args(["check", "-", "--output", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(br#"{"apiVersion":"nixflux/v1alpha1"}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["objects"], 0);
}

/// A bundle that cannot be read is a failed operation (exit 1) and a
/// damaged one is bad input (exit 2), for `publish` and `diff` alike. The
/// transcripts are under `tests/cli/exit/`, with the temporary directory
/// written as `[TMP]`.
#[test]
fn bundle_read_errors_have_one_exit_code_in_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = common::spec_of(&["app00", "app01"], &[]);
    let good = common::bundle(tmp.path(), "good", &spec);
    let target = tmp.path().join("target");
    common::run_ok(nixflux().arg("publish").arg(&good).arg("--to").arg(&target).arg("--quiet"));

    let first_object = |bundle: &std::path::Path| {
        let mut files: Vec<_> = std::fs::read_dir(bundle.join("objects")).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.remove(0)
    };
    // Unreadable: an object file that is a directory (root reads any file,
    // so permissions cannot make one unreadable here).
    let unreadable = common::bundle(tmp.path(), "unreadable", &common::spec_of(&["app00", "app02"], &[]));
    let file = first_object(&unreadable);
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    // Tampered: an object file whose content no longer matches its name.
    let tampered = common::bundle(tmp.path(), "tampered", &common::spec_of(&["app00", "app03"], &[]));
    let file = first_object(&tampered);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&file, text).unwrap();

    let mut failures = Vec::new();
    for (case, bundle, code) in [("unreadable", &unreadable, 1), ("tampered", &tampered, 2)] {
        for command in ["publish", "diff"] {
            let out = nixflux().arg(command).arg(bundle).arg("--to").arg(&target).output().unwrap();
            let stderr = String::from_utf8(out.stderr).unwrap().replace(tmp.path().to_str().unwrap(), "[TMP]");
            if out.status.code() != Some(code) {
                failures.push(format!("{command} {case}: exit {:?}, want {code}\n{stderr}", out.status.code()));
            }
            if !out.stdout.is_empty() {
                failures.push(format!("{command} {case}: unexpected stdout"));
            }
            let expected = root().join(format!("tests/cli/exit/{command}-{case}.stderr"));
            failures.extend(compare(&expected, &stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing was published: the target still runs the first bundle.
    let out = nixflux().arg("diff").arg(&good).arg("--to").arg(&target).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn log_lines_can_be_json_for_a_daemon() {
    let out = nixflux().args(["-vv", "--log-format", "json", "check", "--example"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(!logs.is_empty(), "no JSON log lines in:\n{stderr}");
    assert!(logs.iter().all(|l| l["level"].is_string() && l["fields"]["message"].is_string()), "{logs:?}");
    // Text stays the default, without timestamps.
    let out = nixflux().args(["-vv", "check", "--example"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.lines().any(|l| l.starts_with("DEBUG ")), "{stderr}");
}

/// A reader that closed the pipe (`nixflux check --output json | true`)
/// leaves the command's own exit code, with no panic on stderr.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let out = nixflux().args(["check", "--example", "--output", "json"]).stdout(write).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const RCLONE_NIX: &str = "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-rclone.tar";
const RCLONE_DIGEST: &str =
    "docker.io/rclone/rclone@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// `nixflux flux bootstrap ARGS`: the documents of its YAML stream.
fn bootstrap(args: &[&str]) -> Vec<serde_json::Value> {
    let out = common::run_ok(nixflux().args(["flux", "bootstrap"]).args(args));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# Written by `nixflux flux bootstrap`."), "{text}");
    common::yaml_documents(&text)
}

fn of_kind<'a>(docs: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// Checks `docs` against the upstream Flux CRDs in `../shared/crds/fluxcd`
/// with `tests/flux/check_crd.py` (python3 + PyYAML); skipped when either is absent.
fn check_against_crds(docs: &[serde_json::Value]) {
    use std::io::Write;
    let crds = root().join("../shared/crds/fluxcd");
    if !crds.is_dir() {
        return common::skip("no ../shared/crds/fluxcd: the Flux CRD schemas are not here");
    }
    let has_yaml =
        std::process::Command::new("python3").args(["-c", "import yaml"]).output().is_ok_and(|o| o.status.success());
    if !has_yaml {
        return common::skip("python3 with PyYAML is needed for the CRD schema check");
    }
    let mut child = std::process::Command::new("python3")
        .arg(root().join("tests/flux/check_crd.py"))
        .arg(&crds)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(serde_json::to_string(docs).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let flux_kinds = docs.iter().filter(|d| d["apiVersion"].as_str().unwrap().contains("toolkit.fluxcd.io")).count();
    assert!(
        out.status.success(),
        "objects do not match the Flux CRDs:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("checked {flux_kinds} objects")));
}

/// `--out DIR` writes files `kubectl kustomize` builds to exactly the stream's objects.
fn kustomize_builds_the_same(args: &[&str], docs: &[serde_json::Value]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("boot");
    common::run_ok(nixflux().args(["flux", "bootstrap", "--quiet"]).args(args).arg("--out").arg(&dir));
    let built = common::s3::build(&dir).expect("kubectl kustomize accepts the bootstrap directory");
    let mut want: Vec<String> = docs.iter().map(|d| d.to_string()).collect();
    want.sort();
    assert_eq!(built, want);
    // A second run replaces its own earlier output.
    common::run_ok(nixflux().args(["flux", "bootstrap", "--quiet"]).args(args).arg("--out").arg(&dir));
}

#[test]
fn flux_bootstrap_renders_each_mode_with_checked_fields() {
    let cases: [(&str, Vec<&str>); 4] = [
        (
            "pvc",
            vec![
                "--to",
                "s3://flux/home",
                "--rclone-image",
                RCLONE_DIGEST,
                "--receiver",
                "--rbac-service-account",
                "publisher",
                "--rbac-subject",
                "user:alice",
            ],
        ),
        (
            "hostpath",
            vec![
                "--to",
                "s3://flux/a/b",
                "--mode",
                "hostpath",
                "--host-path",
                "/srv/nixflux",
                "--node",
                "node1",
                "--rclone-image",
                RCLONE_NIX,
                "--sops-secret",
                "sops-age",
                "--service-account",
                "applier",
            ],
        ),
        ("http", vec!["--to", "s3://flux/home", "--endpoint", "http://s3.lan:9000", "--name", "home"]),
        (
            "https",
            vec![
                "--to",
                "s3://flux",
                "--endpoint",
                "https://s3.example.org",
                "--cert-secret",
                "s3-ca",
                "--region",
                "eu-1",
            ],
        ),
    ];
    for (case, args) in &cases {
        let docs = bootstrap(args);
        let buckets = of_kind(&docs, "Bucket");
        let kustomizations = of_kind(&docs, "Kustomization");
        assert_eq!((buckets.len(), kustomizations.len()), (1, 1), "{case}");
        let (b, k) = (&buckets[0]["spec"], &kustomizations[0]["spec"]);
        let name = buckets[0]["metadata"]["name"].as_str().unwrap();
        assert_eq!(buckets[0]["metadata"]["namespace"], "flux-system", "{case}");
        assert_eq!(b["provider"], "generic", "{case}");
        assert_eq!(b["bucketName"], "flux", "{case}");
        assert_eq!(b["ignore"], nixflux::flux::BUCKET_IGNORE, "{case}");
        assert_eq!(b["secretRef"]["name"], format!("{name}-s3-credentials"), "{case}");
        assert!(!b["endpoint"].as_str().unwrap().contains("://"), "{case}: endpoint has a scheme");
        assert_eq!(k["sourceRef"], serde_json::json!({ "kind": "Bucket", "name": name }), "{case}");
        assert_eq!((&k["prune"], &k["wait"]), (&serde_json::json!(true), &serde_json::json!(true)), "{case}");
        // No Secret objects and no secret values: only references.
        assert!(of_kind(&docs, "Secret").is_empty(), "{case}");
        assert!(docs.iter().all(|d| d.get("data").is_none() && d.get("stringData").is_none()), "{case}");
        match *case {
            "pvc" => {
                assert_eq!(buckets[0]["metadata"]["name"], "nixflux-home");
                assert_eq!(b["endpoint"], "nixflux-home-s3.flux-system.svc:8080");
                assert_eq!(
                    (&b["insecure"], &b["region"], &b["prefix"]),
                    (&true.into(), &"us-east-1".into(), &"home/".into())
                );
                assert_eq!(k["path"], "./home");
                assert_eq!(of_kind(&docs, "PersistentVolumeClaim").len(), 1);
                let receiver = &of_kind(&docs, "Receiver")[0]["spec"];
                assert_eq!(receiver["type"], "generic-hmac");
                assert_eq!(receiver["secretRef"]["name"], "nixflux-home-receiver-token");
                assert_eq!(receiver["resources"][0]["kind"], "Bucket");
                let role = &of_kind(&docs, "Role")[0]["rules"];
                for rule in role.as_array().unwrap() {
                    assert_eq!(rule["resourceNames"], serde_json::json!(["nixflux-home"]));
                    assert_eq!(rule["verbs"], serde_json::json!(["get", "list", "watch", "patch"]));
                }
                assert_eq!(
                    of_kind(&docs, "ClusterRole")[0]["rules"][0]["resourceNames"],
                    serde_json::json!(["kube-system"])
                );
                let subjects = &of_kind(&docs, "RoleBinding")[0]["subjects"];
                assert_eq!(subjects.as_array().unwrap().len(), 2);
            }
            "hostpath" => {
                assert_eq!(buckets[0]["metadata"]["name"], "nixflux-a-b");
                assert_eq!(k["path"], "./a/b");
                assert_eq!(b["prefix"], "a/b/");
                assert_eq!(
                    k["decryption"],
                    serde_json::json!({ "provider": "sops", "secretRef": { "name": "sops-age" } })
                );
                assert_eq!(k["serviceAccountName"], "applier");
                assert!(of_kind(&docs, "PersistentVolumeClaim").is_empty());
                let pod = &of_kind(&docs, "Deployment")[0]["spec"]["template"]["spec"];
                assert_eq!(pod["nodeSelector"]["kubernetes.io/hostname"], "node1");
                assert_eq!(pod["volumes"][0]["hostPath"]["path"], "/srv/nixflux");
                let c = &pod["containers"][0];
                assert_eq!(c["image"], RCLONE_NIX);
                assert!(c["args"].as_array().unwrap().contains(&"--dir-cache-time".into()));
                assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
                assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
                assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
                assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
                // The auth key reaches rclone through its environment, from the Secret.
                assert!(!c["args"].to_string().contains("auth-key"));
                assert_eq!(c["env"][0]["valueFrom"]["secretKeyRef"]["key"], "accesskey");
            }
            "http" => {
                assert_eq!(buckets[0]["metadata"]["name"], "home");
                assert_eq!((&b["endpoint"], &b["insecure"]), (&"s3.lan:9000".into(), &true.into()));
                assert_eq!(docs.len(), 2, "external mode renders no server");
            }
            _ => {
                assert_eq!(buckets[0]["metadata"]["name"], "nixflux");
                assert_eq!(b["endpoint"], "s3.example.org");
                assert!(b.get("insecure").is_none(), "https is never insecure");
                assert_eq!(b["certSecretRef"]["name"], "s3-ca");
                assert_eq!(b["region"], "eu-1");
                assert_eq!(k["path"], "./");
            }
        }
        check_against_crds(&docs);
        kustomize_builds_the_same(args, &docs);
    }
}

/// `--notifier-url`: a `generic-hmac` Provider posting to the notifier and
/// an Alert with every event (info, so recoveries too) of the six kinds in
/// the namespace, their Secret named with the command that creates it
/// from a file, checked against the CRDs and built by kustomize.
#[test]
fn flux_bootstrap_renders_the_notifiers_provider_and_alert() {
    let args = [
        "--to",
        "s3://flux/home",
        "--endpoint",
        "http://s3.lan:9000",
        "--notifier-url",
        "https://notify.lan:9293/flux",
    ];
    let docs = bootstrap(&args);
    let provider = of_kind(&docs, "Provider");
    assert_eq!(provider.len(), 1);
    assert_eq!(provider[0]["apiVersion"], "notification.toolkit.fluxcd.io/v1beta3");
    assert_eq!(provider[0]["metadata"]["name"], "nixflux-home-notifier");
    assert_eq!(
        provider[0]["spec"],
        serde_json::json!({ "type": "generic-hmac", "address": "https://notify.lan:9293/flux",
                            "secretRef": { "name": "nixflux-home-notifier-hmac" } })
    );
    let alert = of_kind(&docs, "Alert");
    assert_eq!(alert.len(), 1);
    let spec = &alert[0]["spec"];
    assert_eq!(
        (&spec["providerRef"]["name"], &spec["eventSeverity"]),
        (&"nixflux-home-notifier".into(), &"info".into())
    );
    let sources: Vec<(&str, &str)> = spec["eventSources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sources,
        [
            ("Bucket", "*"),
            ("Kustomization", "*"),
            ("HelmRelease", "*"),
            ("HelmRepository", "*"),
            ("OCIRepository", "*"),
            ("GitRepository", "*")
        ]
    );
    assert!(spec["eventSources"].as_array().unwrap().iter().all(|s| s.get("namespace").is_none()));
    assert!(docs.iter().all(|d| d.get("data").is_none() && d.get("stringData").is_none()));
    let out = common::run_ok(
        nixflux().args(["--output", "json", "flux", "bootstrap"]).args(args).args(["--notifier-secret", "hmac"]),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret =
        json["secrets"].as_array().unwrap().iter().find(|s| s["name"] == "hmac").expect("the HMAC Secret's shape");
    assert_eq!(secret["keys"], serde_json::json!(["token"]));
    assert_eq!(secret["command"], "kubectl -n flux-system create secret generic hmac --from-file=token=./token");
    check_against_crds(&docs);
    kustomize_builds_the_same(&args, &docs);
}

#[test]
fn flux_bootstrap_refuses_bad_options_with_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--to", "s3://flux/home", "--rclone-image", "rclone/rclone:1.68"], "is not pinned"),
        (&["--to", "s3://flux/home", "--rclone-image", &format!("{RCLONE_NIX}:v1")], "with a tag"),
        (&["--to", "s3://flux/home"], "needs `--rclone-image REF`"),
        (&["--to", "s3://flux/../x", "--endpoint", "http://s3:9000"], "prefix segment"),
        (&["--to", "s3://flux/a b", "--endpoint", "http://s3:9000"], "prefix segment"),
        (&["--to", "dir:///srv/x", "--endpoint", "http://s3:9000"], "Flux reads S3"),
        (
            &["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--cert-secret", "ca"],
            "needs an `https://` endpoint",
        ),
        (&["--to", "s3://flux/h", "--endpoint", "s3:9000"], "needs `http://` or `https://`"),
        (&["--to", "s3://flux/h", "--endpoint", "https://s3/path"], "no path"),
        (&["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--mode", "pvc"], "does not apply"),
        (&["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--interval", "10"], "not a duration"),
        (&["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--timeout", "1h"], "no hours"),
        (&["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--name", "Home"], "DNS-1035"),
        (&["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--rbac-subject", "alice"], "not an RBAC subject"),
        (
            &["--to", "s3://flux/h", "--mode", "hostpath", "--rclone-image", RCLONE_NIX, "--node", "n"],
            "needs `--host-path DIR`",
        ),
        (
            &["--to", "s3://flux/h", "--mode", "hostpath", "--rclone-image", RCLONE_NIX, "--host-path", "/srv"],
            "needs `--node NAME`",
        ),
        (
            &[
                "--to",
                "s3://flux/h",
                "--mode",
                "hostpath",
                "--rclone-image",
                RCLONE_NIX,
                "--host-path",
                "srv",
                "--node",
                "n",
            ],
            "absolute",
        ),
        (&["--to", "s3://flux/h", "--rclone-image", RCLONE_NIX, "--storage", "lots"], "`--storage lots`"),
        (
            &["--to", "s3://flux/h", "--rclone-image", RCLONE_NIX, "--host-path", "/srv"],
            "applies only to `--mode hostpath`",
        ),
        (
            &["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--notifier-url", "notify:9293"],
            "needs `http://` or `https://`: it is the notifier's receiver URL",
        ),
        (&["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--notifier-url", "http://u@n/flux"], "no user"),
        (&["--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--notifier-secret", "x"], "--notifier-url"),
        (
            &[
                "--to",
                "s3://flux/h",
                "--endpoint",
                "http://s3:9000",
                "--notifier-url",
                "http://n/f",
                "--notifier-secret",
                "A_b",
            ],
            "the notifier's HMAC Secret `A_b`",
        ),
    ];
    for (args, needle) in cases {
        let out = nixflux().args(["flux", "bootstrap"]).args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(stderr.starts_with("error: ") && stderr.contains(needle), "{args:?}: `{stderr}` lacks `{needle}`");
    }
    // `--out` never replaces a directory that holds something else.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let out = nixflux()
        .args(["flux", "bootstrap", "--to", "s3://flux/h", "--endpoint", "http://s3:9000", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(tmp.path().join("keep.txt")).unwrap(), "mine");
}

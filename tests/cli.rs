//! CLI transcripts: every bad input under `tests/cli/bad/` is checked with
//! `nixflux check`, and its stderr must equal the `.stderr` file beside it,
//! with exit code 2 and nothing on stdout. Error wording is reviewed here
//! like output. `NIXFLUX_BLESS=1 cargo test --test cli` rewrites the files.

mod common;

use common::{compare, nixflux, root};

#[test]
fn bad_inputs_have_exact_errors_and_exit_2() {
    let dir = root().join("tests/cli/bad");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
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
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
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

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
fn missing_spec_file_is_an_operation_failure() {
    let out = nixflux().args(["check", "/nonexistent/spec.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: reading spec `/nonexistent/spec.json`: No such file or directory (os error 2)\n"
    );
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

//! Regression tests for strict input, one per bug, named after what they
//! pin (ripgrep's `tests/regression.rs`): each asserts the exit code and the
//! key phrase of the message.

mod common;

use std::io::Write;
use std::process::Output;

use common::nixflux;

const IMAGE: &str = "nix:0/nix/store/fh9rqg5b5v19bx5a99b6n3vzj0vyv2j1-nix-image-web.tar";

/// Runs `nixflux check` on `text` through stdin.
fn check_bytes(text: &[u8]) -> Output {
    let mut child = nixflux()
        .args(["check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text).unwrap();
    child.wait_with_output().unwrap()
}

fn refused(text: &str, phrase: &str) -> String {
    let out = check_bytes(text.as_bytes());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains(phrase), "`{phrase}` not in:\n{stderr}");
    stderr
}

fn app(fields: &str) -> String {
    format!(r#"{{"apiVersion":"nixflux/v1alpha1","apps":{{"web":{{"image":"{IMAGE}"{fields}}}}}}}"#)
}

#[test]
fn duplicate_app_names_are_refused() {
    let text = format!(
        "{{\"apiVersion\":\"nixflux/v1alpha1\",\"apps\":{{\n\"web\":{{\"image\":\"{IMAGE}\"}},\n\"web\":{{\"image\":\"{IMAGE}\"}}}}}}"
    );
    refused(&text, "at `apps` (line 3, column 1): duplicate key `web` (the first is at line 2, column 1)");
}

#[test]
fn duplicate_env_entries_are_refused() {
    refused(&app(r#","env":{"LOG_LEVEL":"info","LOG_LEVEL":"debug"}"#), "apps.web.env` (line 1");
}

#[test]
fn duplicate_keys_in_raw_objects_are_refused() {
    let text = r#"{"apiVersion":"nixflux/v1alpha1","objects":[{"apiVersion":"v1","kind":"ConfigMap",
        "metadata":{"name":"c","namespace":"n","name":"d"}}]}"#;
    refused(
        text,
        "at `objects[0].metadata` (line 2, column 48): duplicate key `name` (the first is at line 2, column 21)",
    );
}

#[test]
fn negative_quantity_is_refused() {
    refused(&app(r#","resources":{"limits":{"memory":"-1Gi"}}"#), "must be greater than or equal to 0");
}

#[test]
fn request_above_limit_is_refused() {
    refused(
        &app(r#","resources":{"requests":{"cpu":"2"},"limits":{"cpu":"1500m"}}"#),
        "the cpu request `2` is above its limit `1500m`",
    );
}

#[test]
fn label_value_with_a_space_is_refused() {
    refused(&app(r#","labels":{"team":"a b"}"#), "at `apps.web.labels.team`");
}

#[test]
fn dotdot_in_sub_path_is_refused() {
    refused(&app(r#","volumes":{"data":{"mountPath":"/d","emptyDir":{},"subPath":"a/../../etc"}}"#), "`..`");
}

#[test]
fn zero_size_claim_is_refused() {
    refused(
        &app(r#","volumes":{"data":{"mountPath":"/d","persistentVolumeClaim":{"size":"0"}}}"#),
        "the storage request `0` must be greater than zero",
    );
}

#[test]
fn service_target_port_number_as_string_is_refused() {
    let text = r#"{"apiVersion":"nixflux/v1alpha1","objects":[{"apiVersion":"v1","kind":"Service",
        "metadata":{"name":"s","namespace":"n"},"spec":{"ports":[{"port":80,"targetPort":"8080"}]}}]}"#;
    refused(text, "objects[0].spec.ports[0].targetPort`: invalid port name `8080`");
}

#[test]
fn non_utf8_spec_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.json");
    std::fs::write(&path, b"{\"apiVersion\":\"nixflux/v1alpha1\",\"x\":\"caf\xe9\"}").unwrap();
    let out = nixflux().arg("check").arg(&path).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("spec `{}` is not UTF-8: the byte at offset 41 (0xe9)", path.display())),
        "{stderr}"
    );
}

#[test]
fn missing_spec_exits_2() {
    let out = nixflux().args(["check", "x.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("error: spec `x.json` does not exist\nhint: "));
}

#[test]
fn escape_sequences_in_names_are_not_printed_raw() {
    let stderr = refused(
        &app(r#","labels":{"team":"\u001b]0;pwned\u0007\u001b[2J"}"#),
        r"invalid label value `\u{1b}]0;pwned\u{7}\u{1b}[2J`",
    );
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'), "{stderr:?}");
}

#[test]
fn newlines_in_messages_cannot_forge_lines() {
    let stderr = refused(&app(r#","labels":{"team":"x\nhint: all is fine"}"#), r"x\nhint: all is fine");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

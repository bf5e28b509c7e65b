//! nixflux's Nix formats against Nix itself (Debian's `nix-bin`, Nix 2.8):
//! real store paths built from `tests/nix/fixtures.nix` without nixpkgs;
//! StorePath must accept each, and the NAR serialisation and hash must equal
//! `nix-store --dump` and `nix-hash --type sha256` byte for byte.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use nixflux::nix::{base32, nar, StorePath};

const ATTRS: &[&str] = &["tree", "file", "executable", "symlink", "emptydir", "oddname", "image"];

fn nix_available() {
    let ok = Command::new("nix-build").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "these tests need Nix: install Debian's nix-bin (`apt-get install nix-bin`); .ci/run does");
}

/// Builds every fixture once (a few seconds) and returns the store paths by attribute.
fn fixtures() -> &'static Vec<(String, PathBuf)> {
    static PATHS: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    PATHS.get_or_init(|| {
        nix_available();
        let mut cmd = Command::new("nix-build");
        cmd.arg(common::root().join("tests/nix/fixtures.nix")).args(["--no-out-link", "--quiet"]);
        // Debian's Nix builds without a sandbox; as root it needs no build users.
        cmd.args(["--option", "sandbox", "false", "--option", "build-users-group", "", "--option", "substituters", ""]);
        for a in ATTRS {
            cmd.args(["-A", a]);
        }
        let out = cmd.output().expect("run nix-build");
        assert!(out.status.success(), "nix-build failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let paths: Vec<PathBuf> = String::from_utf8(out.stdout).unwrap().lines().map(PathBuf::from).collect();
        assert_eq!(paths.len(), ATTRS.len(), "nix-build printed {paths:?}");
        ATTRS.iter().map(|a| a.to_string()).zip(paths).collect()
    })
}

fn tool(cmd: &str, args: &[&str], path: &PathBuf) -> Vec<u8> {
    let out = Command::new(cmd).args(args).arg(path).output().unwrap();
    assert!(out.status.success(), "{cmd} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn store_path_accepts_every_path_nix_builds() {
    for (attr, path) in fixtures() {
        let text = path.to_str().unwrap();
        let parsed: StorePath = text.parse().unwrap_or_else(|e| panic!("{attr}: {e}"));
        assert_eq!(parsed.to_string(), text);
        assert!(parsed.is_present());
        // Nix's own hash part decodes as 20 bytes of Nix base32.
        assert_eq!(base32::decode(parsed.hash_part()).unwrap().len(), 20);
    }
    let odd = &fixtures().iter().find(|(a, _)| a == "oddname").unwrap().1;
    assert!(odd.to_str().unwrap().ends_with("-a+b-c.d_e?f=g"));
}

#[test]
fn nar_serialisation_equals_nix_store_dump() {
    for (attr, path) in fixtures() {
        let mut ours = Vec::new();
        nar::dump(path, &mut ours).unwrap();
        let theirs = tool("nix-store", &["--dump"], path);
        assert!(ours == theirs, "{attr}: NAR differs from nix-store --dump ({} vs {} bytes)", ours.len(), theirs.len());
    }
}

#[test]
fn nar_hash_equals_nix_hash() {
    for (attr, path) in fixtures() {
        let ours = nar::hash_path(path).unwrap();
        let base32 = String::from_utf8(tool("nix-hash", &["--type", "sha256", "--base32"], path)).unwrap();
        assert_eq!(base32::encode(&ours.sha256), base32.trim(), "{attr}: base32");
        let hex = String::from_utf8(tool("nix-hash", &["--type", "sha256"], path)).unwrap();
        assert_eq!(nixflux::bundle::hex(&ours.sha256), hex.trim(), "{attr}: hex");
        // What the store database recorded when Nix built it.
        let recorded = String::from_utf8(tool("nix-store", &["-q", "--hash"], path)).unwrap();
        assert_eq!(ours.to_nix_string(), recorded.trim(), "{attr}: nix-store -q --hash");
        let size = String::from_utf8(tool("nix-store", &["-q", "--size"], path)).unwrap();
        assert_eq!(ours.size.to_string(), size.trim(), "{attr}: NAR size");
    }
}

#[test]
fn nar_hash_command_prints_what_nix_hash_prints() {
    let (_, tree) = &fixtures()[0];
    let expected = String::from_utf8(tool("nix-hash", &["--type", "sha256", "--base32"], tree)).unwrap();
    let out = common::run_ok(common::nixflux().args(["nar-hash", "--format", "base32"]).arg(tree));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    let out = common::run_ok(common::nixflux().args(["nar-hash", "--output", "json"]).arg(tree));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hash"], format!("sha256:{}", expected.trim()));
}

fn spec_with_image(image: &str) -> String {
    serde_json::json!({
        "apiVersion": "nixflux/v1alpha1",
        "apps": { "web": { "image": image, "port": 8080 } }
    })
    .to_string()
}

#[test]
fn check_store_passes_for_present_paths_and_names_missing_ones() {
    let image = &fixtures().iter().find(|(a, _)| a == "image").unwrap().1;
    let dir = tempfile::tempdir().unwrap();
    let present = dir.path().join("present.json");
    std::fs::write(&present, spec_with_image(&format!("nix:0{}", image.display()))).unwrap();
    common::run_ok(
        common::nixflux().arg("render").arg(&present).arg("--check-store").arg("--out").arg(dir.path().join("b")),
    );

    let missing_path = "/nix/store/00000000000000000000000000000000-nix-image-gone.tar";
    let missing = dir.path().join("missing.json");
    std::fs::write(&missing, spec_with_image(&format!("nix:0{missing_path}"))).unwrap();
    let out_dir = dir.path().join("never");
    let out =
        common::nixflux().arg("render").arg(&missing).arg("--check-store").arg("--out").arg(&out_dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: 1 of the bundle's 1 image store paths are not in the local store:\n"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("  {missing_path}, used by web_web_apps_Deployment (web)")), "{stderr}");
    assert!(!out_dir.exists(), "--check-store failed but the bundle was written");
}

//! `services.nixflux.notifier` (modules/notifier.nix), evaluated with
//! nixpkgs' lib: the unit's command, credentials, state directory,
//! hardening and device access, the generated configuration, and that no
//! secret reaches the store.

use serde_json::{json, Value};

use super::common::root;
use super::{eval_module, eval_module_with, nixpkgs_lib};

/// The notifier's unit and configuration with `notifier` settings, in
/// read-write mode: the configuration file is written to the store and read
/// back, as the unit will read it.
fn notifier(lib: &str, notifier: Value) -> Value {
    let example = root().join("docs/examples/homelab.json");
    eval_module_with(lib, &example, &json!({ "notifier": notifier }), "notifier", &["--read-write-mode"])
}

#[test]
fn the_notifier_unit_is_hardened_and_reads_secrets_by_credential() {
    let Some(lib) = nixpkgs_lib() else { return };
    // A real secret file: its value must reach neither the config nor the unit.
    let tmp = tempfile::tempdir().unwrap();
    let secret_path = tmp.path().join("ntfy-token");
    let secret_value = "tk_the-secret-token-value";
    std::fs::write(&secret_path, secret_value).unwrap();
    let secret_path = secret_path.to_str().unwrap();
    let settings = json!({
        "grace": "10m",
        "http": { "listen": "127.0.0.1:9292", "receiver_listen": "0.0.0.0:9293",
                  "hmac_key_file": "/run/credentials/nixflux-notify.service/hmac" },
        "watch": { "namespaces": ["flux-system"] },
        "sink": [
            { "name": "phone", "kind": "ntfy", "url": "https://ntfy.sh/cluster",
              "token_file": "/run/credentials/nixflux-notify.service/ntfy-token" },
            { "name": "led", "kind": "device", "path": "/dev/ttyACM0" },
        ],
    });
    let n = notifier(
        &lib,
        json!({ "enable": true, "settings": settings,
                "credentials": { "ntfy-token": secret_path, "hmac": "/run/keys/flux-notifier-hmac" } }),
    );
    // The configuration is the settings, as JSON in the store.
    assert_eq!(n["config"], settings);
    let config_file = n["configFile"].as_str().unwrap();
    assert!(config_file.starts_with("/nix/store/") && config_file.ends_with("-nixflux-notify.json"), "{config_file}");
    let text = std::fs::read_to_string(config_file).unwrap();
    assert!(!text.contains(secret_value) && !text.contains(secret_path) && !text.contains("/run/keys"), "{text}");

    let unit = &n["unit"];
    let s = &unit["serviceConfig"];
    let exec = s["ExecStart"].as_str().unwrap();
    assert!(exec.ends_with(&format!("/bin/nixflux notify --config {config_file}")), "{exec}");
    assert_eq!(s["LoadCredential"], json!(["hmac:/run/keys/flux-notifier-hmac", format!("ntfy-token:{secret_path}")]));
    let unit_text = unit.to_string();
    assert!(!unit_text.contains(secret_value), "the secret's value is in the unit");
    assert_eq!(unit_text.matches(secret_path).count(), 1, "the secret's path only in LoadCredential: {unit_text}");
    assert_eq!(unit["wantedBy"], json!(["multi-user.target"]));
    assert_eq!(unit["restartTriggers"], json!([config_file]));
    for (key, want) in [
        ("DynamicUser", json!(true)),
        ("StateDirectory", json!("nixflux-notify")),
        ("StateDirectoryMode", json!("0700")),
        ("Restart", json!("on-failure")),
        ("UMask", json!("0077")),
        ("CapabilityBoundingSet", json!("")),
        ("NoNewPrivileges", json!(true)),
        ("PrivateTmp", json!(true)),
        ("ProtectSystem", json!("strict")),
        ("ProtectHome", json!(true)),
        ("ProtectKernelTunables", json!(true)),
        ("RestrictAddressFamilies", json!(["AF_INET", "AF_INET6", "AF_UNIX"])),
        ("SystemCallFilter", json!(["@system-service", "~@privileged"])),
        ("LockPersonality", json!(true)),
        ("MemoryDenyWriteExecute", json!(true)),
        // A device sink: its serial port, by group and device rule.
        ("SupplementaryGroups", json!(["dialout"])),
        ("PrivateDevices", json!(false)),
        ("DevicePolicy", json!("closed")),
        ("DeviceAllow", json!(["/dev/ttyACM0 rw"])),
    ] {
        assert_eq!(s[key], want, "{key}");
    }
    let failed = eval_module(
        &lib,
        &json!({ "notifier": { "enable": true, "credentials": { "ntfy-token": secret_path } } }),
        "failedAssertions",
    );
    assert_eq!(failed, json!([]));
}

#[test]
fn the_notifier_without_devices_sees_none_and_is_off_by_default() {
    let Some(lib) = nixpkgs_lib() else { return };
    let n = notifier(
        &lib,
        json!({ "enable": true, "settings": { "sink": [{ "name": "hook", "kind": "webhook", "url": "http://h/x" }] } }),
    );
    let s = &n["unit"]["serviceConfig"];
    assert_eq!(
        (&s["SupplementaryGroups"], &s["PrivateDevices"], &s["DeviceAllow"]),
        (&json!([]), &json!(true), &json!([]))
    );
    assert_eq!(s["LoadCredential"], json!([]));
    // Groups can be given by hand (a device owned by another group).
    let n = notifier(&lib, json!({ "enable": true, "deviceGroups": ["uucp"] }));
    assert_eq!(n["unit"]["serviceConfig"]["SupplementaryGroups"], json!(["uucp"]));
    assert_eq!(notifier(&lib, json!({}))["unit"], Value::Null);
}

#[test]
fn notifier_assertions_fire_with_their_messages() {
    let Some(lib) = nixpkgs_lib() else { return };
    let failed = |credentials: Value| {
        eval_module(&lib, &json!({ "notifier": { "enable": true, "credentials": credentials } }), "failedAssertions")
    };
    assert_eq!(
        failed(json!({ "ntfy": "/nix/store/00000000000000000000000000000000-token" })),
        json!(["services.nixflux.notifier.credentials.ntfy is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...)."])
    );
    assert_eq!(
        failed(json!({ "a/b": "/run/keys/x" })),
        json!(["services.nixflux.notifier.credentials: `a/b` is not a credential name systemd accepts (letters, digits, `_`, `.`, `-`)."])
    );
}

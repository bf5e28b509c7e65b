//! `nixflux notify --config FILE --check`: every bad configuration under
//! `tests/notify/cli/` gives exactly the `.stderr` beside it and exit 2;
//! the good one exits 0. `NIXFLUX_BLESS=1` rewrites the files.

use super::common::{compare, nixflux, root};

#[test]
fn bad_configurations_have_exact_errors_and_exit_2() {
    let dir = root().join("tests/notify/cli");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && !p.ends_with("good.toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "expected at least 8 bad configurations, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let file = case.file_name().unwrap().to_str().unwrap();
        let out = nixflux()
            .current_dir(&dir)
            .env_remove("STATE_DIRECTORY")
            .args(["notify", "--config", file, "--check"])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if out.status.code() != Some(2) {
            failures.push(format!("{file}: exit {:?}, want 2\n{stderr}", out.status.code()));
        }
        failures.extend(compare(&case.with_extension("stderr"), &stderr));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_good_configuration_checks_clean() {
    let dir = root().join("tests/notify/cli");
    let out = nixflux().current_dir(&dir).args(["notify", "--config", "good.toml", "--check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_configuration_file_is_named() {
    let out = nixflux().args(["notify", "--config", "/nonexistent/notify.toml", "--check"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("reading `/nonexistent/notify.toml`"), "{stderr}");
}

/// Every field the configuration accepts, at every level, is in
/// `docs/notify-config.md` (read from the parser's own "expected one of").
#[test]
fn every_config_field_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/notify-config.md")).unwrap();
    let probes = [
        "state_file = \"/s\"\nqqq = 1\n",
        "state_file = \"/s\"\n[http]\nqqq = 1\n",
        "state_file = \"/s\"\n[watch]\nqqq = 1\n",
        "state_file = \"/s\"\n[targets.t]\nqqq = 1\n",
        "state_file = \"/s\"\n[[sink]]\nqqq = 1\n",
        "state_file = \"/s\"\n[[sink]]\nname = \"a\"\nkind = \"ntfy\"\npriority = { qqq = 1 }\n",
    ];
    let mut missing = Vec::new();
    for probe in probes {
        let e = nixflux::notify::Config::parse(probe, "probe.toml").unwrap_err().to_string();
        let fields = e.split("expected one of").nth(1).unwrap_or_else(|| panic!("{e}"));
        for field in fields.split(',').map(|f| f.trim().trim_matches('`')) {
            if !doc.contains(&format!("`{field}`")) {
                missing.push(field.to_owned());
            }
        }
    }
    assert!(missing.is_empty(), "fields missing from docs/notify-config.md: {missing:?}");
}

/// The real daemon: starts, answers, takes an event, and on SIGTERM writes
/// its state and exits 0.
#[test]
fn the_daemon_runs_until_sigterm_and_keeps_its_state() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("notify.toml");
    let state = dir.path().join("state.json");
    std::fs::write(&config, format!("state_file = \"{}\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n", state.display()))
        .unwrap();
    let mut child = nixflux().args(["notify", "--config"]).arg(&config).spawn().unwrap();
    let ask = |request: &str| -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ask("GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_none_or(|a| !a.starts_with("HTTP/1.1 200"))
    {
        assert!(std::time::Instant::now() < deadline, "the daemon did not get ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let body = super::harness::failing("apps");
    let answer = ask(&format!(
        "POST /flux HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains("\"name\":\"apps\"") && saved.contains("\"phase\":\"pending\""), "{saved}");
}

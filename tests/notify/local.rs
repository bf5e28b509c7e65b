//! The sinks that stay on the machine: a real script run by the exec sink,
//! the device sink writing to a file and to a pty.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use super::harness::{client, failing, post, ready, start, until};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_exec_sink_runs_a_program_with_the_event_in_its_environment_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = dir.path().join("led.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ echo \"$1 $NIXFLUX_EVENT_TYPE $NIXFLUX_EVENT_KIND $NIXFLUX_EVENT_NAMESPACE/$NIXFLUX_EVENT_NAME $NIXFLUX_EVENT_REASON $NIXFLUX_EVENT_REVISION [$NIXFLUX_EVENT_DOWN_FOR]\"; cat; }} >> {}\necho told\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sinks = format!(
        "grace = \"50ms\"\n[[sink]]\nname = \"script\"\nkind = \"exec\"\nargv = [\"{}\", \"--flag; rm -rf /\"]\n",
        script.display()
    );
    let n = start(dir.path(), "", &sinks).await;
    let c = client();
    post(&c, n.addr(), "/flux", &failing("apps"), None).await;
    until(WAIT, "the script ran", || std::fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 2)).await;
    post(&c, n.addr(), "/flux", &ready("apps"), None).await;
    until(WAIT, "the script ran twice", || std::fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 4)).await;
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The argument arrives as one word: no shell in between.
    assert_eq!(lines[0], "--flag; rm -rf / failure Kustomization flux-system/apps HealthCheckFailed sha256:aaaa []");
    let json: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!((json["type"].as_str(), json["name"].as_str()), (Some("failure"), Some("apps")));
    assert!(lines[2]
        .starts_with("--flag; rm -rf / recovery Kustomization flux-system/apps ReconciliationSucceeded sha256:bbbb ["));
    assert_eq!(serde_json::from_str::<serde_json::Value>(lines[3]).unwrap()["type"], "recovery");
}

#[tokio::test]
async fn an_exec_sink_that_hangs_is_killed_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let sinks = "grace = \"50ms\"\n[[sink]]\nname = \"stuck\"\nkind = \"exec\"\nargv = [\"/bin/sleep\", \"30\"]\ntimeout = \"200ms\"\nretries = 1\n";
    let n = start(dir.path(), "", sinks).await;
    post(&client(), n.addr(), "/flux", &failing("apps"), None).await;
    let metrics = n.daemon.metrics.clone();
    until(WAIT, "given up after the timeouts", || {
        metrics.render().contains("nixflux_notify_sink_failures_total{sink=\"stuck\",kind=\"exec\"} 1\n")
    })
    .await;
    assert!(metrics.render().contains("nixflux_notify_sink_retries_total{sink=\"stuck\",kind=\"exec\"} 1\n"));
}

#[tokio::test]
async fn the_device_sink_writes_red_then_green_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let led = dir.path().join("led");
    let sinks = format!(
        "grace = \"50ms\"\n[[sink]]\nname = \"led\"\nkind = \"device\"\npath = \"{}\"\nfailing_line = \"R\"\n",
        led.display()
    );
    let n = start(dir.path(), "", &sinks).await;
    let c = client();
    // At start: the state it came back with.
    until(WAIT, "the start line", || std::fs::read_to_string(&led).is_ok_and(|t| t == "green\n")).await;
    post(&c, n.addr(), "/flux", &failing("a"), None).await;
    post(&c, n.addr(), "/flux", &failing("b"), None).await;
    until(WAIT, "red twice", || std::fs::read_to_string(&led).unwrap() == "green\nR\nR\n").await;
    post(&c, n.addr(), "/flux", &ready("a"), None).await;
    until(WAIT, "still red: b fails", || std::fs::read_to_string(&led).unwrap() == "green\nR\nR\nR\n").await;
    // The file goes away (the board is unplugged) and comes back.
    std::fs::remove_file(&led).unwrap();
    post(&c, n.addr(), "/flux", &ready("b"), None).await;
    until(WAIT, "green once all recovered", || std::fs::read_to_string(&led).is_ok_and(|t| t == "green\n")).await;
}

#[tokio::test]
async fn the_device_sink_writes_to_a_pty() {
    let (mut master, mut slave) = (0, 0);
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: openpty writes the two descriptors and the name into the buffers given.
    let rc = unsafe { libc::openpty(&mut master, &mut slave, name.as_mut_ptr(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: the name is NUL-terminated by openpty.
    let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_str().unwrap().to_owned();
    // Raw mode on the slave, so the lines arrive as written.
    // SAFETY: plain termios calls on a descriptor we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(slave, &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(slave, libc::TCSANOW, &t);
    }
    let dir = tempfile::tempdir().unwrap();
    let sinks = format!("grace = \"50ms\"\n[[sink]]\nname = \"led\"\nkind = \"device\"\npath = \"{path}\"\n");
    let n = start(dir.path(), "", &sinks).await;
    post(&client(), n.addr(), "/flux", &failing("a"), None).await;
    let got = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + WAIT;
        while !String::from_utf8_lossy(&seen).contains("red\n") && std::time::Instant::now() < deadline {
            let mut buf = [0u8; 64];
            let mut pfd = libc::pollfd { fd: master, events: libc::POLLIN, revents: 0 };
            // SAFETY: polling and reading our own descriptor into a local buffer.
            unsafe {
                if libc::poll(&mut pfd, 1, 100) > 0 {
                    let r = libc::read(master, buf.as_mut_ptr().cast(), buf.len());
                    if r > 0 {
                        seen.extend_from_slice(&buf[..r as usize]);
                    }
                }
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    })
    .await
    .unwrap();
    assert_eq!(got, "green\nred\n");
    drop(n);
    // SAFETY: closing descriptors we opened.
    unsafe {
        libc::close(master);
        libc::close(slave);
    }
}

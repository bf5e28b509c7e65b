//! Notifications reaching in-test webhook, ntfy and Gotify servers; grace,
//! reminders; dead and slow sinks; a restart with the state kept.

use std::time::Duration;

use super::harness::{client, failing, post, ready, start};
use super::recorder::Recorder;

const WAIT: Duration = Duration::from_secs(10);

fn http_sinks(dir: &std::path::Path, webhook: &Recorder, ntfy: &Recorder, gotify: &Recorder) -> String {
    std::fs::write(dir.join("ntfy-token"), "tk_ntfy\n").unwrap();
    std::fs::write(dir.join("gotify-token"), "AgotifyToken").unwrap();
    format!(
        r#"grace = "200ms"
[[sink]]
name = "hook"
kind = "webhook"
url = "{}"

[[sink]]
name = "phone"
kind = "ntfy"
url = "{}"
token_file = "{}"
priority = {{ recovery = "low" }}

[[sink]]
name = "gotify"
kind = "gotify"
url = "{}"
token_file = "{}"
"#,
        webhook.url("/hook"),
        ntfy.url("/nixflux"),
        dir.join("ntfy-token").display(),
        gotify.url("/"),
        dir.join("gotify-token").display()
    )
}

#[tokio::test]
async fn a_failure_then_a_recovery_reach_webhook_ntfy_and_gotify() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, ntfy, gotify) = (Recorder::start().await, Recorder::start().await, Recorder::start().await);
    let n = start(dir.path(), "", &http_sinks(dir.path(), &hook, &ntfy, &gotify)).await;
    let c = client();
    assert_eq!(post(&c, n.addr(), "/flux", &failing("apps"), None).await.0, 202);
    let got = hook.wait_for(1, WAIT).await;
    let failure = got[0].json();
    assert_eq!(failure["type"], "failure");
    assert_eq!((failure["kind"].as_str(), failure["name"].as_str()), (Some("Kustomization"), Some("apps")));
    assert_eq!(
        (failure["reason"].as_str(), failure["revision"].as_str()),
        (Some("HealthCheckFailed"), Some("sha256:aaaa"))
    );
    assert_eq!(failure["downFor"], serde_json::Value::Null);
    assert_eq!(got[0].header("content-type"), Some("application/json"));

    let push = &ntfy.wait_for(1, WAIT).await[0];
    assert_eq!((push.method.as_str(), push.path.as_str()), ("POST", "/nixflux"));
    assert_eq!(push.header("authorization"), Some("Bearer tk_ntfy"));
    assert_eq!(push.header("priority"), Some("high"));
    assert_eq!(push.header("tags"), Some("rotating_light"));
    assert_eq!(push.header("title"), Some("failing: Kustomization flux-system/apps (HealthCheckFailed)"));
    assert!(push.text().starts_with("HealthCheckFailed for apps\nrevision: sha256:aaaa\n"), "{}", push.text());

    let message = &gotify.wait_for(1, WAIT).await[0];
    assert_eq!(message.path, "/message");
    assert_eq!(message.header("x-gotify-key"), Some("AgotifyToken"));
    assert_eq!(message.json()["priority"], 8);
    assert_eq!(message.json()["title"], "failing: Kustomization flux-system/apps (HealthCheckFailed)");

    assert_eq!(post(&c, n.addr(), "/flux", &ready("apps"), None).await.0, 202);
    let recovery = hook.wait_for(2, WAIT).await[1].json();
    assert_eq!(recovery["type"], "recovery");
    assert!(recovery["downFor"].as_str().unwrap().ends_with('s'), "{recovery}");
    let push = &ntfy.wait_for(2, WAIT).await[1];
    assert_eq!((push.header("priority"), push.header("tags")), (Some("low"), Some("white_check_mark")));
    assert_eq!(gotify.wait_for(2, WAIT).await[1].json()["priority"], 4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((hook.len(), ntfy.len(), gotify.len()), (2, 2, 2), "nothing more, nothing twice");
}

#[tokio::test]
async fn a_failure_that_clears_inside_the_grace_period_tells_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Recorder::start().await;
    let sinks = format!("grace = \"1s\"\n[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n", hook.url("/"));
    let n = start(dir.path(), "", &sinks).await;
    let c = client();
    post(&c, n.addr(), "/flux", &failing("apps"), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    post(&c, n.addr(), "/flux", &ready("apps"), None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.len(), 0, "{:?}", hook.taken());
    // The same sink does get a failure that lasts.
    post(&c, n.addr(), "/flux", &failing("apps"), None).await;
    assert_eq!(hook.wait_for(1, WAIT).await[0].json()["type"], "failure");
}

#[tokio::test]
async fn a_lasting_failure_is_recalled_by_reminders() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Recorder::start().await;
    let sinks = format!(
        "grace = \"100ms\"\nreminder = \"300ms\"\n[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/")
    );
    let n = start(dir.path(), "", &sinks).await;
    post(&client(), n.addr(), "/flux", &failing("apps"), None).await;
    let got = hook.wait_for(3, WAIT).await;
    let kinds: Vec<_> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds[..3], ["failure", "reminder", "reminder"]);
    assert!(got[1].json()["downFor"].is_string());
}

#[tokio::test]
async fn a_dead_and_a_slow_sink_do_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let fast = Recorder::start().await;
    let slow = Recorder::answering(200, Duration::from_secs(3)).await;
    let failing_server = Recorder::answering(503, Duration::ZERO).await;
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let sinks = format!(
        r#"grace = "50ms"
[[sink]]
name = "dead"
kind = "webhook"
url = "http://{dead}/"
retries = 3

[[sink]]
name = "slow"
kind = "webhook"
url = "{}"
timeout = "10s"

[[sink]]
name = "unavailable"
kind = "webhook"
url = "{}"
retries = 2

[[sink]]
name = "fast"
kind = "webhook"
url = "{}"
"#,
        slow.url("/"),
        failing_server.url("/"),
        fast.url("/")
    );
    let n = start(dir.path(), "", &sinks).await;
    let c = client();
    let started = tokio::time::Instant::now();
    for i in 0..5 {
        post(&c, n.addr(), "/flux", &failing(&format!("k{i}")), None).await;
    }
    fast.wait_for(5, WAIT).await;
    assert!(started.elapsed() < Duration::from_secs(2), "the fast sink waited {:?}", started.elapsed());
    assert_eq!(slow.len(), 0, "the slow sink is still on its first");
    // The 503 sink: one try and two retries for each, then given up.
    super::harness::until(WAIT, "retries given up", || failing_server.len() >= 15).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(failing_server.len(), 15);
    let metrics = n.daemon.metrics.render();
    assert!(metrics.contains("nixflux_notify_sink_deliveries_total{sink=\"fast\",kind=\"webhook\"} 5\n"), "{metrics}");
    assert!(
        metrics.contains("nixflux_notify_sink_retries_total{sink=\"unavailable\",kind=\"webhook\"} 10\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("nixflux_notify_sink_failures_total{sink=\"unavailable\",kind=\"webhook\"} 5\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_2xx_is_never_delivered_again_and_a_4xx_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let refusing = Recorder::answering(400, Duration::ZERO).await;
    let accepting = Recorder::answering(204, Duration::ZERO).await;
    let sinks = format!(
        "grace = \"50ms\"\n[[sink]]\nname = \"refusing\"\nkind = \"slack\"\nurl = \"{}\"\n\n[[sink]]\nname = \"accepting\"\nkind = \"slack\"\nurl = \"{}\"\n",
        refusing.url("/"),
        accepting.url("/")
    );
    let n = start(dir.path(), "", &sinks).await;
    post(&client(), n.addr(), "/flux", &failing("apps"), None).await;
    let got = accepting.wait_for(1, WAIT).await;
    assert!(got[0].json()["text"].as_str().unwrap().starts_with("failing: Kustomization flux-system/apps"));
    refusing.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((refusing.len(), accepting.len()), (1, 1));
}

#[tokio::test]
async fn a_restart_keeps_what_was_told_and_what_is_still_to_tell() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Recorder::start().await;
    let sinks =
        format!("grace = \"100ms\"\n[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n", hook.url("/"));
    let c = client();
    let first = start(dir.path(), "", &sinks).await;
    post(&c, first.addr(), "/flux", &failing("apps"), None).await;
    // Pending only, when the notifier stops: the failure still alerts after.
    post(&c, first.addr(), "/flux", &failing("late"), None).await;
    hook.wait_for(1, WAIT).await;
    let second_failure_seen = hook.len();
    first.daemon.stop(Duration::from_secs(1)).await;
    assert!(dir.path().join("state.json").is_file());

    let second = start(dir.path(), "", &sinks).await;
    // `apps` (and maybe `late`) were told before the stop: not again. The
    // pending `late` is told once its grace is over (waited for, not slept
    // on: a loaded machine can take longer), then nothing more comes.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !hook.taken().iter().any(|r| r.json()["name"] == "late") && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let names: Vec<String> = hook.taken().iter().map(|r| r.json()["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.iter().filter(|n| *n == "apps").count(), 1, "{names:?}");
    assert_eq!(
        names.iter().filter(|n| *n == "late").count(),
        1,
        "{names:?} (seen before the stop: {second_failure_seen})"
    );
    post(&c, second.addr(), "/flux", &ready("apps"), None).await;
    let got = hook.wait_for(3, WAIT).await;
    assert_eq!((got[2].json()["type"].as_str(), got[2].json()["name"].as_str()), (Some("recovery"), Some("apps")));
}

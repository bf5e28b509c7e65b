//! Runs a program for each notification: the argv from the configuration
//! (no shell), the event as `NIXFLUX_EVENT_*` environment variables and as
//! JSON on stdin. What it prints goes to the log. Exit 0 is acceptance;
//! another exit status is a failure that is retried. A program that
//! outlives the sink's timeout is killed (and retried).

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::error::DeliveryError;
use crate::notify::notification::Notification;

pub struct Exec {
    pub name: String,
    pub argv: Vec<String>,
}

/// The environment a program gets, beyond the daemon's own.
pub fn environment(n: &Notification) -> Vec<(&'static str, String)> {
    let e = n.event();
    let mut env = vec![
        ("NIXFLUX_EVENT_TYPE", e.kind_of_event.to_string()),
        ("NIXFLUX_EVENT_KIND", e.kind),
        ("NIXFLUX_EVENT_NAMESPACE", e.namespace),
        ("NIXFLUX_EVENT_NAME", e.name),
        ("NIXFLUX_EVENT_APP", e.app.unwrap_or_default()),
        ("NIXFLUX_EVENT_REASON", e.reason),
        ("NIXFLUX_EVENT_MESSAGE", e.message),
        ("NIXFLUX_EVENT_REVISION", e.revision.unwrap_or_default()),
        ("NIXFLUX_EVENT_SINCE", e.since),
        ("NIXFLUX_EVENT_DOWN_FOR", e.down_for.unwrap_or_default()),
        ("NIXFLUX_EVENT_AT", e.at),
        ("NIXFLUX_EVENT_TITLE", n.title()),
    ];
    if let Some(g) = e.generation {
        env.push(("NIXFLUX_EVENT_GENERATION", g.number.to_string()));
        env.push(("NIXFLUX_EVENT_GENERATION_TARGET", g.target));
        env.push(("NIXFLUX_EVENT_GENERATION_PUBLISHER", g.publisher));
        env.push(("NIXFLUX_EVENT_GENERATION_STORE_PATH", g.store_path.unwrap_or_default()));
        env.push(("NIXFLUX_EVENT_GENERATION_BUNDLE", g.bundle));
    }
    // Environment values cannot hold NUL.
    env.into_iter().map(|(k, v)| (k, v.replace('\0', ""))).collect()
}

impl Exec {
    pub async fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        let Some((program, args)) = self.argv.split_first() else {
            return Err(DeliveryError::fatal("no program to run"));
        };
        let json = serde_json::to_vec(&n.event()).map_err(|e| DeliveryError::fatal(e.to_string()))?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .envs(environment(n))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // The worker's timeout drops this future; the program goes with it.
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                let message = format!("running `{program}`: {e}");
                match e.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                        DeliveryError::fatal(message)
                    }
                    _ => DeliveryError::retry(message),
                }
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A program that does not read its input is fine.
            let _ = stdin.write_all(&json).await;
            let _ = stdin.write_all(b"\n").await;
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| DeliveryError::retry(format!("waiting for `{program}`: {e}")))?;
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            for line in String::from_utf8_lossy(bytes).lines().filter(|l| !l.trim().is_empty()) {
                tracing::info!(sink = %self.name, stream, "{line}");
            }
        }
        if output.status.success() {
            Ok(())
        } else {
            Err(DeliveryError::retry(format!("`{program}` exited with {}", output.status)))
        }
    }
}

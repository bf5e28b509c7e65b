//! A line to a file or serial device for each change of the overall state
//! of what the sink's filter takes in: `red` while anything is failing,
//! `green` once everything has recovered (the LED on `/dev/ttyACM0`). The
//! device is opened for each write and closed after, so a board that is
//! unplugged and comes back is simply opened again (with the retries);
//! regular files are created if missing, device nodes never are.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

use super::error::DeliveryError;
use crate::notify::notification::{Notification, Severity};
use crate::notify::observation::Subject;

pub struct Device {
    path: PathBuf,
    failing_line: String,
    healthy_line: String,
    failing: BTreeSet<Subject>,
}

impl Device {
    pub fn new(path: PathBuf, failing_line: String, healthy_line: String) -> Device {
        Device { path, failing_line, healthy_line, failing: BTreeSet::new() }
    }

    /// The line for the current state.
    pub fn line(&self) -> &str {
        if self.failing.is_empty() {
            &self.healthy_line
        } else {
            &self.failing_line
        }
    }

    /// Starts from the subjects already failing (from the state file).
    pub fn set_failing(&mut self, subjects: impl IntoIterator<Item = Subject>) {
        self.failing = subjects.into_iter().collect();
    }

    /// Takes `n` into the overall state.
    pub fn apply(&mut self, n: &Notification) {
        match n.severity {
            Severity::Failure | Severity::Reminder => {
                self.failing.insert(n.subject.clone());
            }
            Severity::Recovery => {
                self.failing.remove(&n.subject);
            }
        }
    }

    pub async fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        self.apply(n);
        self.write_line().await
    }

    /// Writes the current line (also at start, so the LED shows the state
    /// the notifier came back with).
    pub async fn write_line(&self) -> Result<(), DeliveryError> {
        let create = !self.path.starts_with("/dev");
        let fail = |e: std::io::Error| DeliveryError::retry(format!("writing to `{}`: {e}", self.path.display()));
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .create(create)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(&self.path)
            .await
            .map_err(fail)?;
        let line = format!("{}\n", self.line());
        file.write_all(line.as_bytes()).await.map_err(fail)?;
        file.flush().await.map_err(fail)?;
        Ok(())
    }
}

//! ntfy (ntfy.sh or a self-hosted server): the message POSTed to the topic
//! URL as plain text, with `Title`, `Priority` and `Tags` headers by
//! severity, and `Authorization: Bearer <token>` when a token file is set.
//! Defaults: failure `high` with tag `rotating_light`, recovery `default`
//! with `white_check_mark`, reminder `default` with `hourglass`.

use super::error::DeliveryError;
use super::http;
use crate::flux::trigger::HttpClient;
use crate::notify::notification::{Notification, Severity};
use crate::notify::sink_config::{BySeverity, Priority};

pub struct Ntfy {
    pub client: HttpClient,
    pub url: String,
    pub token: Option<String>,
    pub priority: BySeverity<Priority>,
    pub tags: BySeverity<Vec<String>>,
}

impl Ntfy {
    pub fn headers(&self, n: &Notification) -> Vec<(&'static str, String)> {
        let priority = match self.priority.get(n.severity) {
            Some(Priority::Name(p)) => p.clone(),
            Some(Priority::Number(p)) => p.to_string(),
            None if n.severity == Severity::Failure => "high".into(),
            None => "default".into(),
        };
        let tags = match self.tags.get(n.severity) {
            Some(t) => t.join(","),
            None => match n.severity {
                Severity::Failure => "rotating_light".into(),
                Severity::Recovery => "white_check_mark".into(),
                Severity::Reminder => "hourglass".into(),
            },
        };
        // Header values must be visible ASCII: titles name Kubernetes objects,
        // which are; anything else is replaced.
        let title: String =
            n.title().chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect();
        let mut headers = vec![("title", title), ("priority", priority)];
        if !tags.is_empty() {
            headers.push(("tags", tags));
        }
        if let Some(token) = &self.token {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        headers
    }

    pub async fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        let headers = self.headers(n);
        http::post(&self.client, &self.url, &headers, "text/plain; charset=utf-8", n.text().into_bytes()).await
    }
}

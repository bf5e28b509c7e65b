//! Gotify: `POST <url>/message` with the application token in
//! `X-Gotify-Key` and `{"title", "message", "priority"}`; priorities by
//! severity default to 8 (failure), 4 (recovery) and 4 (reminder).

use serde::Serialize;

use super::error::DeliveryError;
use super::http;
use crate::flux::trigger::HttpClient;
use crate::notify::notification::{Notification, Severity};
use crate::notify::sink_config::{BySeverity, Priority};

pub struct Gotify {
    pub client: HttpClient,
    /// The server's base URL.
    pub url: String,
    pub token: Option<String>,
    pub priority: BySeverity<Priority>,
}

#[derive(Serialize)]
struct Message {
    title: String,
    message: String,
    priority: i64,
}

impl Gotify {
    pub async fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        let priority = match self.priority.get(n.severity) {
            Some(Priority::Number(p)) => *p,
            _ if n.severity == Severity::Failure => 8,
            _ => 4,
        };
        let message = Message { title: n.title(), message: n.text(), priority };
        let body = serde_json::to_vec(&message).map_err(|e| DeliveryError::fatal(e.to_string()))?;
        let url = format!("{}/message", self.url.trim_end_matches('/'));
        let headers: Vec<(&str, String)> = self.token.iter().map(|t| ("x-gotify-key", t.clone())).collect();
        http::post(&self.client, &url, &headers, "application/json", body).await
    }
}

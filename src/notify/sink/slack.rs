//! A Slack-compatible incoming webhook (`{"text": ...}`): Slack, Mattermost,
//! Rocket.Chat, and Discord through its `/slack` webhook URL suffix.

use serde::Serialize;

use super::error::DeliveryError;
use super::http;
use crate::flux::trigger::HttpClient;
use crate::notify::notification::Notification;

pub struct Slack {
    pub client: HttpClient,
    pub url: String,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

impl Slack {
    pub async fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        let text = format!("{}\n{}", n.title(), n.text());
        let body = serde_json::to_vec(&Message { text }).map_err(|e| DeliveryError::fatal(e.to_string()))?;
        http::post(&self.client, &self.url, &[], "application/json", body).await
    }
}

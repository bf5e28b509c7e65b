//! The generic JSON webhook: the notification's [`Event`] JSON, POSTed.
//!
//! [`Event`]: crate::notify::notification::Event

use super::error::DeliveryError;
use super::http;
use crate::flux::trigger::HttpClient;
use crate::notify::notification::Notification;

pub struct Webhook {
    pub client: HttpClient,
    pub url: String,
}

impl Webhook {
    pub async fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&n.event()).map_err(|e| DeliveryError::fatal(e.to_string()))?;
        http::post(&self.client, &self.url, &[], "application/json", body).await
    }
}

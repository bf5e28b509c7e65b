//! The HTTP sinks' one request: a POST whose answer decides what happens
//! next. A 2xx is final (the receiver has it: never sent again); a
//! connection error, a 5xx or a 429 may be retried; any other answer is a
//! final failure (retrying a 4xx would get the same answer).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::error::DeliveryError;
use crate::flux::trigger::HttpClient;

pub async fn post(
    client: &HttpClient,
    url: &str,
    headers: &[(&str, String)],
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), DeliveryError> {
    let mut request =
        hyper::Request::post(url).header("content-type", content_type).header("user-agent", "nixflux-notify");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| DeliveryError::fatal(format!("cannot build the request: {e}")))?;
    let response = client.request(request).await.map_err(|e| DeliveryError::retry(format!("POST {url}: {e}")))?;
    let status = response.status();
    // Drain a little of the answer so the connection can be reused.
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if status.is_success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_owned();
    let message =
        format!("POST {url} answered {status}{}", if text.is_empty() { String::new() } else { format!(": {text}") });
    if status.is_server_error() || status == hyper::StatusCode::TOO_MANY_REQUESTS {
        Err(DeliveryError::retry(message))
    } else {
        Err(DeliveryError::fatal(message))
    }
}

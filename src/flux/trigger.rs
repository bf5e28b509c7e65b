//! Asking Flux to reconcile now instead of at its next poll: the
//! `reconcile.fluxcd.io/requestedAt` annotation merge-patched onto the
//! Bucket and the Kustomizations (what `flux reconcile` does), or one
//! signed POST to a `generic-hmac` Receiver for a publisher without API
//! access.

use std::path::Path;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use sha2::Sha256;

use super::access::{ObjectRef, ReceiverAccess};
use super::error::FluxError;
use crate::bundle::digest::hex;
use crate::crd::flux::{Bucket, Kustomization, RECONCILE_REQUESTED_AT};

/// The annotation value of a request: RFC 3339 with nanoseconds, as Flux's
/// CLI writes it. The controllers copy it into `status.lastHandledReconcileAt`
/// when they have handled it, which is how the wait knows.
pub fn request_token() -> String {
    jiff::Timestamp::now().to_string()
}

fn annotation_patch(token: &str) -> Patch<serde_json::Value> {
    Patch::Merge(json!({ "metadata": { "annotations": { RECONCILE_REQUESTED_AT: token } } }))
}

/// Annotates the Bucket and then every Kustomization with `token`; the
/// patches go out together. Each asks for the object's metadata alone in
/// the answer (`as=PartialObjectMetadata`): a Kustomization's status holds
/// its whole inventory, thousands of entries the request has no use for.
pub async fn request(
    client: &kube::Client,
    bucket: &ObjectRef,
    kustomizations: &[ObjectRef],
    token: &str,
) -> Result<(), FluxError> {
    let patch = annotation_patch(token);
    let params = PatchParams::default();
    let buckets: Api<Bucket> = Api::namespaced(client.clone(), &bucket.namespace);
    let bucket_patch = async {
        buckets
            .patch_metadata(&bucket.name, &params, &patch)
            .await
            .map_err(|e| FluxError::api("patch", "Bucket", bucket, e))
    };
    let kustomization_patches = futures::future::try_join_all(kustomizations.iter().map(|k| {
        let api: Api<Kustomization> = Api::namespaced(client.clone(), &k.namespace);
        let (patch, params) = (&patch, &params);
        async move {
            api.patch_metadata(&k.name, params, patch).await.map_err(|e| FluxError::api("patch", "Kustomization", k, e))
        }
    }));
    let (b, k) = tokio::join!(bucket_patch, kustomization_patches);
    b?;
    k?;
    Ok(())
}

/// `sha256=<hex HMAC-SHA256(body, token)>`, the `X-Signature` header of a
/// `generic-hmac` Receiver.
pub fn signature(body: &[u8], token: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(token).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Reads a token file: its content without the trailing newline.
pub fn read_token(path: &Path) -> Result<String, FluxError> {
    let raw = std::fs::read_to_string(path).map_err(|source| FluxError::TokenFile { path: path.to_owned(), source })?;
    let token = raw.trim_end_matches(['\n', '\r']).to_owned();
    if token.is_empty() {
        return Err(FluxError::EmptyToken { path: path.to_owned() });
    }
    Ok(token)
}

/// A client for Receiver webhooks (http or https with the system's roots).
pub type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

pub fn http_client() -> Result<HttpClient, FluxError> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| FluxError::NoAccess { message: format!("loading the system's TLS roots: {e}") })?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

/// POSTs one signed event to the Receiver. The token is read from its file
/// by the caller and appears only in the signature.
pub async fn request_via_receiver(
    client: &HttpClient,
    receiver: &ReceiverAccess,
    token: &str,
    generation: u64,
) -> Result<(), FluxError> {
    let fail = |message: String| FluxError::Receiver { url: receiver.url.clone(), message };
    let body = serde_json::to_vec(&json!({ "source": "nixflux", "generation": generation }))
        .map_err(|e| fail(e.to_string()))?;
    let request = hyper::Request::post(&receiver.url)
        .header("content-type", "application/json")
        .header("x-signature", signature(&body, token.as_bytes()))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| fail(format!("not a valid URL: {e}")))?;
    let response = client.request(request).await.map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned();
        return Err(fail(format!(
            "answered {status}{}",
            if text.is_empty() { String::new() } else { format!(": {text}") }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"what do ya want for nothing?", b"Jefe"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_are_rfc3339_utc() {
        let t = request_token();
        assert!(t.ends_with('Z') && t.parse::<jiff::Timestamp>().is_ok(), "{t}");
    }
}

//! The S3 target (aws-sdk-s3): any S3 server (rclone serve s3, MinIO,
//! Garage, AWS). A custom endpoint means path-style addressing and, unless a
//! region is given, `us-east-1`; plain HTTP only when the endpoint URL says
//! `http://`. Credentials come from `--credentials-file` (the AWS shared
//! credentials format) or the standard AWS chain, never from a flag value.
//! Retries with backoff on throttling, 5xx and connection errors.

use std::path::PathBuf;
use std::time::Duration;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use md5::Digest;

use super::{Condition, Fetched, ObjectInfo, OpenError, Result, Target, TargetError};

/// How to reach and authenticate to an S3 server.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// `https://host:port` or `http://host:port`; AWS when absent.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// An AWS shared credentials file (`[default]` with `aws_access_key_id`
    /// and `aws_secret_access_key`).
    pub credentials_file: Option<PathBuf>,
    /// The profile in the credentials file (default `default`).
    pub profile: Option<String>,
    /// PEM certificates to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct S3Target {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint: String,
}

impl S3Target {
    pub async fn open(bucket: &str, prefix: &str, opts: &S3Options) -> std::result::Result<S3Target, OpenError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                // rclone answers sporadic 500s under parallel uploads: retry
                // those quickly; a dead endpoint fails within seconds.
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(2)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        let region = opts.region.clone().or_else(|| opts.endpoint.as_ref().map(|_| "us-east-1".to_owned()));
        if let Some(r) = region {
            loader = loader.region(Region::new(r));
        }
        if let Some(file) = &opts.credentials_file {
            if !file.is_file() {
                return Err(OpenError::NoCredentialsFile { path: file.clone() });
            }
            let files = EnvConfigFiles::builder().with_file(EnvConfigFileKind::Credentials, file).build();
            let provider = ProfileFileCredentialsProvider::builder()
                .profile_files(files)
                .profile_name(opts.profile.clone().unwrap_or_else(|| "default".into()))
                .build();
            loader = loader.credentials_provider(provider);
        }
        let plain_http = opts.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        if plain_http {
            // No TLS: skip loading the system's CA roots (tens of milliseconds).
            loader = loader.http_client(aws_smithy_http_client::Builder::new().build_http());
        } else if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca).map_err(|source| OpenError::CaFile { path: ca.clone(), source })?;
            use aws_smithy_http_client::tls;
            let trust = tls::TrustStore::empty().with_native_roots(false).with_pem_certificate(pem);
            let context = tls::TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .map_err(|e| OpenError::Tls(DisplayErrorContext(&e).to_string()))?;
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
                .tls_context(context)
                .build_https();
            loader = loader.http_client(http);
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        let endpoint = match &opts.endpoint {
            Some(ep) => {
                if !(ep.starts_with("https://") || ep.starts_with("http://")) {
                    return Err(OpenError::EndpointScheme { endpoint: ep.clone() });
                }
                config = config.endpoint_url(ep).force_path_style(true);
                ep.clone()
            }
            None => "AWS S3".to_owned(),
        };
        Ok(S3Target {
            client: Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint,
        })
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn failed<E>(&self, op: &'static str, key: &str, e: SdkError<E>) -> TargetError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        let precondition = e.raw_response().is_some_and(|r| r.status().as_u16() == 412)
            || e.as_service_error().and_then(|s| s.code()) == Some("PreconditionFailed");
        if precondition {
            return TargetError::PreconditionFailed { op, key: self.full(key), endpoint: self.endpoint.clone() };
        }
        TargetError::Failed {
            op,
            key: format!("s3://{}/{}", self.bucket, self.full(key)),
            endpoint: self.endpoint.clone(),
            message: describe(&e),
        }
    }

    async fn list_pages(&self) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| self.failed("listing", "", e))?;
            for o in page.contents() {
                let Some(full) = o.key() else { continue };
                let key = full.strip_prefix(&self.prefix).unwrap_or(full).to_owned();
                let etag = o.e_tag().unwrap_or_default().trim_matches('"').to_owned();
                out.push(ObjectInfo { key, etag, size: o.size().unwrap_or(0).max(0) as u64 });
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated().unwrap_or(false) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn get_object(&self, key: &str) -> Result<Option<Fetched>> {
        let resp = self.client.get_object().bucket(&self.bucket).key(self.full(key)).send().await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => return Ok(None),
            Err(e) => return Err(self.failed("reading", key, e)),
        };
        let etag = resp.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        let body = resp.body.collect().await.map_err(|e| TargetError::Failed {
            op: "reading",
            key: self.full(key),
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        })?;
        Ok(Some(Fetched { bytes: body.into_bytes().to_vec(), etag }))
    }

    async fn put_object(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        let (if_none_match, if_match) = match condition {
            Condition::None => (None, None),
            Condition::IfAbsent => (Some("*".to_owned()), None),
            Condition::IfMatch(etag) => (None, Some(format!("\"{etag}\""))),
        };
        let content_md5 = base64(&md5::Md5::digest(bytes));
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .body(ByteStream::from(bytes.to_vec()))
            .content_md5(content_md5)
            .content_type(content_type(key))
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .send()
            .await
            .map_err(|e| self.failed("uploading", key, e))?;
        Ok(())
    }

    async fn delete_object(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| self.failed("deleting", key, e))?;
        Ok(())
    }
}

impl Target for S3Target {
    fn name(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn key_prefix(&self) -> &str {
        &self.prefix
    }

    async fn list_unsorted(&self) -> Result<Vec<ObjectInfo>> {
        self.list_pages().await
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        self.get_object(key).await
    }

    async fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        self.put_object(key, bytes, condition).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.delete_object(key).await
    }
}

/// A one-line account of an SDK error: what kind, the HTTP status and the
/// server's code and message, or the connection's cause.
fn describe<E: std::error::Error + ProvideErrorMetadata + 'static>(e: &SdkError<E>) -> String {
    match e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(code), Some(msg)) => format!("HTTP {status} {code}: {msg}"),
                (Some(code), None) => format!("HTTP {status} {code}"),
                _ => format!("HTTP {status}: {}", DisplayErrorContext(err)),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(d) => {
            // The root cause (e.g. "Connection refused (os error 111)") is at the end of the chain.
            let mut cause: &dyn std::error::Error = d.as_connector_error().map_or(e as &dyn std::error::Error, |c| c);
            while let Some(next) = cause.source() {
                cause = next;
            }
            format!("could not connect: {cause}")
        }
        SdkError::ResponseError(r) => format!("unreadable response (HTTP {})", r.raw().status().as_u16()),
        other => DisplayErrorContext(other).to_string(),
    }
}

fn content_type(key: &str) -> &'static str {
    if key.ends_with(".json") {
        "application/json"
    } else if key.ends_with(".yaml") {
        "application/yaml"
    } else {
        "application/octet-stream"
    }
}

/// Standard base64 with padding (for `Content-MD5`).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}

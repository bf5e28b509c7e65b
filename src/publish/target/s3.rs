//! The S3 target (aws-sdk-s3): any S3 server (rclone serve s3, MinIO,
//! Garage, AWS). A custom endpoint means path-style addressing and, unless a
//! region is given, `us-east-1`; plain HTTP only when the endpoint URL says
//! `http://`. Credentials come from `--credentials-file` (the AWS shared
//! credentials format) or the standard AWS chain, never from a flag value.
//! Retries with backoff on throttling, 5xx and connection errors.
//!
//! Two server differences are handled here. Ceph radosgw compares a
//! PutObject `If-Match` byte for byte with its unquoted ETag, so the quoted
//! form always fails there: after a 412 the write is tried once more with
//! the unquoted form, and when that succeeds the target sends that form
//! first from then on (a genuine mismatch fails both forms). And listings
//! are bounded (pages, objects, a deadline): a server whose pagination never
//! ends makes the publish fail instead of loop.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use md5::Digest;

use super::credentials;
use super::s3_wire::{base64, chain, describe, is_precondition, unquote_etag};
use super::{Condition, Fetched, ObjectInfo, OpenError, Result, Target, TargetError};

/// Bounds on one listing, so that a server whose pagination never ends
/// cannot keep a publish looping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Pages of ListObjectsV2 (servers send up to 1,000 keys a page).
    pub max_pages: usize,
    pub max_objects: usize,
    /// The whole listing, all pages and retries included.
    pub deadline: Duration,
}

impl Default for ListLimits {
    fn default() -> ListLimits {
        ListLimits { max_pages: 1_000, max_objects: 100_000, deadline: Duration::from_secs(300) }
    }
}

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
    /// Set (for this target and its clones) once the server refused a quoted
    /// `If-Match` and accepted the unquoted one (radosgw).
    unquoted_if_match: Arc<AtomicBool>,
    limits: ListLimits,
}

impl S3Target {
    pub async fn open(bucket: &str, prefix: &str, opts: &S3Options) -> std::result::Result<S3Target, OpenError> {
        if let Some(ep) = &opts.endpoint {
            if !(ep.starts_with("https://") || ep.starts_with("http://")) {
                return Err(OpenError::EndpointScheme { endpoint: ep.clone() });
            }
        }
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
            let profile = opts.profile.clone().unwrap_or_else(|| "default".into());
            credentials::check_file(file, &profile)?;
            let files = EnvConfigFiles::builder().with_file(EnvConfigFileKind::Credentials, file).build();
            let provider = ProfileFileCredentialsProvider::builder().profile_files(files).profile_name(profile).build();
            loader = loader.credentials_provider(provider);
        } else if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(ca) = &opts.ca_file {
            if !ca.is_file() {
                return Err(OpenError::NoCaFile { path: ca.clone() });
            }
        }
        let plain_http = opts.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        if plain_http {
            // No TLS: skip loading the system's CA roots (tens of milliseconds).
            loader = loader.http_client(aws_smithy_http_client::Builder::new().build_http());
        } else if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca).map_err(|source| OpenError::CaFile { path: ca.clone(), source })?;
            use aws_smithy_http_client::tls;
            let trust = tls::TrustStore::empty().with_native_roots(false).with_pem_certificate(pem);
            let context =
                tls::TlsContext::builder().with_trust_store(trust).build().map_err(|e| OpenError::Tls(chain(&e)))?;
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
                .tls_context(context)
                .build_https();
            loader = loader.http_client(http);
        }
        let shared = loader.load().await;
        // Resolve once now, so that no credentials is said as such, before any request.
        if let Some(provider) = shared.credentials_provider() {
            match provider.provide_credentials().await {
                Ok(_) => {}
                // The standard chain ends with the instance metadata service,
                // whose error would hide that nothing else had credentials.
                Err(e) if opts.credentials_file.is_none() => {
                    tracing::debug!(error = %chain(&e), "the standard credentials chain found nothing");
                    return Err(OpenError::NoCredentials { tried: credentials::tried(opts.profile.as_deref()) });
                }
                Err(e) => return Err(OpenError::Credentials(chain(&e))),
            }
        }
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        let endpoint = match &opts.endpoint {
            Some(ep) => {
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
            unquoted_if_match: Arc::new(AtomicBool::new(false)),
            limits: ListLimits::default(),
        })
    }

    /// The same target with other listing bounds (tests, callers that know better).
    pub fn with_list_limits(mut self, limits: ListLimits) -> S3Target {
        self.limits = limits;
        self
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn failed<E>(&self, op: &'static str, key: &str, e: SdkError<E>) -> TargetError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        if is_precondition(&e) {
            return TargetError::PreconditionFailed { op, key: self.full(key), endpoint: self.endpoint.clone() };
        }
        let code = e.as_service_error().and_then(|s| s.code());
        if matches!(code, Some("InvalidAccessKeyId" | "SignatureDoesNotMatch")) {
            return TargetError::CredentialsRejected {
                op,
                key: format!("s3://{}/{}", self.bucket, self.full(key)),
                endpoint: self.endpoint.clone(),
                message: describe(&e),
            };
        }
        TargetError::Failed {
            op,
            key: format!("s3://{}/{}", self.bucket, self.full(key)),
            endpoint: self.endpoint.clone(),
            message: describe(&e),
        }
    }

    fn list_failed(&self, why: String) -> TargetError {
        TargetError::Failed {
            op: "listing",
            key: format!("s3://{}/{}", self.bucket, self.prefix),
            endpoint: self.endpoint.clone(),
            message: why,
        }
    }

    /// Every page of the listing, within `self.limits`.
    async fn list_pages(&self, sub: &str, shallow: bool) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        let deadline = self.limits.deadline;
        match tokio::time::timeout(deadline, self.list_bounded(sub, shallow)).await {
            Ok(r) => r,
            Err(_) => Err(self.list_failed(format!("the listing did not finish within {} s", deadline.as_secs()))),
        }
    }

    /// The objects under `sub` (all of them, or with `shallow` those
    /// directly under it and the sub-prefixes below it).
    async fn list_bounded(&self, sub: &str, shallow: bool) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        let mut out = Vec::new();
        let mut prefixes = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = HashSet::new();
        let prefix = format!("{}{sub}", self.prefix);
        for _ in 0..self.limits.max_pages {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_delimiter(shallow.then(|| "/".to_owned()))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.failed("listing", "", e))?;
            for o in page.contents() {
                let Some(full) = o.key() else { continue };
                let key = full.strip_prefix(&self.prefix).unwrap_or(full).to_owned();
                let etag = unquote_etag(o.e_tag().unwrap_or_default()).to_owned();
                out.push(ObjectInfo { key, etag, size: o.size().unwrap_or(0).max(0) as u64 });
            }
            for p in page.common_prefixes() {
                let Some(full) = p.prefix() else { continue };
                prefixes.push(full.strip_prefix(&self.prefix).unwrap_or(full).to_owned());
            }
            if out.len() + prefixes.len() > self.limits.max_objects {
                return Err(self.list_failed(format!(
                    "more than {} objects under the prefix: stopped listing",
                    self.limits.max_objects
                )));
            }
            if !page.is_truncated().unwrap_or(false) {
                return Ok((out, prefixes));
            }
            let Some(next) = page.next_continuation_token().filter(|t| !t.is_empty()) else {
                return Err(self.list_failed(
                    "the server says the listing is truncated but sends no continuation token".to_owned(),
                ));
            };
            if !seen.insert(next.to_owned()) {
                let shown: String = next.chars().take(40).collect();
                return Err(self.list_failed(format!(
                    "the server sent the continuation token `{shown}` twice: the listing would never end"
                )));
            }
            token = Some(next.to_owned());
        }
        Err(self.list_failed(format!(
            "the server was still saying the listing is truncated after {} pages: stopped listing",
            self.limits.max_pages
        )))
    }

    async fn get_object(&self, key: &str) -> Result<Option<Fetched>> {
        let resp = self.client.get_object().bucket(&self.bucket).key(self.full(key)).send().await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => return Ok(None),
            Err(e) => return Err(self.failed("reading", key, e)),
        };
        let etag = unquote_etag(resp.e_tag().unwrap_or_default()).to_owned();
        let body = resp.body.collect().await.map_err(|e| TargetError::Failed {
            op: "reading",
            key: self.full(key),
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        })?;
        Ok(Some(Fetched { bytes: Vec::from(body.into_bytes()), etag }))
    }

    /// Writes an object; returns its ETag as the server answered it.
    async fn put_object(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<Option<String>> {
        let (op, if_none_match, if_match) = match condition {
            Condition::None => ("uploading", None, None),
            Condition::IfAbsent => ("uploading with `If-None-Match: *`", Some("*".to_owned()), None),
            Condition::IfMatch(etag) => {
                let unquoted = self.unquoted_if_match.load(Ordering::Relaxed);
                let first = if unquoted { etag.clone() } else { format!("\"{etag}\"") };
                return match self.send_put(key, bytes, None, Some(first)).await {
                    Err(e) if !unquoted && is_precondition(&e) => {
                        // radosgw compares `If-Match` literally with its unquoted ETag.
                        let written = self
                            .send_put(key, bytes, None, Some(etag.clone()))
                            .await
                            .map_err(|e| self.failed("uploading with `If-Match`", key, e))?;
                        self.unquoted_if_match.store(true, Ordering::Relaxed);
                        tracing::debug!(endpoint = %self.endpoint, "the server takes `If-Match` unquoted");
                        Ok(written)
                    }
                    r => r.map_err(|e| self.failed("uploading with `If-Match`", key, e)),
                };
            }
        };
        self.send_put(key, bytes, if_none_match, if_match).await.map_err(|e| self.failed(op, key, e))
    }

    async fn send_put(
        &self,
        key: &str,
        bytes: &[u8],
        if_none_match: Option<String>,
        if_match: Option<String>,
    ) -> std::result::Result<Option<String>, SdkError<PutObjectError>> {
        let content_md5 = base64(&md5::Md5::digest(bytes));
        let written = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .body(ByteStream::from(bytes.to_vec()))
            .content_md5(content_md5)
            .content_type(content_type(key))
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .send()
            .await?;
        Ok(written.e_tag().map(|e| unquote_etag(e).to_owned()).filter(|e| !e.is_empty()))
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

    fn child(&self, name: &str) -> Self {
        S3Target { prefix: format!("{}{name}/", self.prefix), ..self.clone() }
    }

    async fn list_unsorted(&self) -> Result<Vec<ObjectInfo>> {
        Ok(self.list_pages("", false).await?.0)
    }

    async fn list_shallow(&self, sub: &str) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        self.list_pages(sub, true).await
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        self.get_object(key).await
    }

    async fn get_at_root(&self, key: &str) -> Result<Option<Fetched>> {
        let root = S3Target { prefix: String::new(), ..self.clone() };
        root.get_object(key).await
    }

    async fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        self.put_object(key, bytes, condition).await.map(|_| ())
    }

    async fn put_tagged(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<Option<String>> {
        self.put_object(key, bytes, condition).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.delete_object(key).await
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

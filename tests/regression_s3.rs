//! Regression tests for S3 targets, one per bug, each named after what it
//! pins (ripgrep's `tests/regression.rs` style). Servers are on 127.0.0.1:
//! `rclone serve s3`, or a minimal S3-protocol server (`common/fake_s3.rs`)
//! for behaviours no server that runs here has.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::fake_s3::{Behaviour, Endless, FakeS3};
use common::s3::Server;
use common::{bundle, nixflux, spec_of};
use nixflux::publish::target::s3::{ListLimits, S3Options, S3Target};
use nixflux::publish::target::{Condition, Target, TargetError};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn creds(dir: &Path) -> std::path::PathBuf {
    let f = dir.join("credentials");
    std::fs::write(&f, "[default]\naws_access_key_id = nixflux-test\naws_secret_access_key = not-a-real-secret-42\n[ci]\naws_access_key_id = a\naws_secret_access_key = not-a-real-secret-42\n").unwrap();
    f
}

fn publish_to(bundle: &Path, endpoint: &str, creds: &Path, extra: &[&str]) -> Output {
    nixflux()
        .arg("publish")
        .arg(bundle)
        .args(["--to", "s3://flux/home", "--endpoint", endpoint, "--credentials-file"])
        .arg(creds)
        .args(extra)
        .output()
        .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn open(endpoint: &str, creds: &Path) -> S3Target {
    let opts = S3Options {
        endpoint: Some(endpoint.to_owned()),
        credentials_file: Some(creds.to_owned()),
        ..S3Options::default()
    };
    rt().block_on(S3Target::open("flux", "home/", &opts)).unwrap()
}

/// radosgw 16.2 compares a PutObject `If-Match` literally with its unquoted
/// ETag: the quoted form always got 412, so the second publish (the first
/// pointer switch with `If-Match`) failed there.
#[test]
fn if_match_works_on_servers_comparing_unquoted_etags() {
    let tmp = tempfile::tempdir().unwrap();
    let creds = creds(tmp.path());
    let server = FakeS3::start(Behaviour::LiteralIfMatch);
    let a = bundle(tmp.path(), "a", &spec_of(&["web", "api"], &[]));
    let b = bundle(tmp.path(), "b", &spec_of(&["web", "api"], &[("web", 2)]));
    for bundle in [&a, &b, &a] {
        let out = publish_to(bundle, &server.endpoint(), &creds, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // Each switch: the quoted form refused, the unquoted one accepted.
    let seen = server.if_match_seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for pair in seen.chunks(2) {
        assert!(pair[0].0.starts_with('"') && !pair[0].1, "{seen:?}");
        assert!(!pair[1].0.starts_with('"') && pair[1].1, "{seen:?}");
    }

    // One target remembers: after the first fallback it sends the unquoted form first.
    let target = open(&server.endpoint(), &creds);
    let rt = rt();
    rt.block_on(target.put("x", b"one", &Condition::None)).unwrap();
    let etag = rt.block_on(target.get("x")).unwrap().unwrap().etag;
    // A genuine mismatch fails both forms.
    let wrong = rt.block_on(target.put("x", b"two", &Condition::IfMatch("0".repeat(32))));
    assert!(matches!(wrong, Err(TargetError::PreconditionFailed { .. })), "{wrong:?}");
    let message = wrong.unwrap_err().to_string();
    assert!(message.contains("another publisher may have written it"), "{message}");
    assert!(message.contains("does not support conditional writes"), "{message}");
    let before = server.if_match_seen().len();
    rt.block_on(target.put("x", b"two", &Condition::IfMatch(etag))).unwrap();
    let clone = target.clone();
    let etag = rt.block_on(clone.get("x")).unwrap().unwrap().etag;
    rt.block_on(clone.put("x", b"three", &Condition::IfMatch(etag))).unwrap();
    let seen = &server.if_match_seen()[before..];
    assert_eq!(seen.len(), 3, "quoted refused, unquoted accepted, then unquoted first: {seen:?}");
    assert!(seen[0].0.starts_with('"') && !seen[0].1);
    assert!(!seen[1].0.starts_with('"') && seen[1].1);
    assert!(!seen[2].0.starts_with('"') && seen[2].1, "the clone sends the unquoted form first");
}

/// ListObjectsV2 pagination trusted the server: `IsTruncated=true` forever
/// made a publish loop forever.
#[test]
fn endless_listing_fails_instead_of_looping() {
    let tmp = tempfile::tempdir().unwrap();
    let creds = creds(tmp.path());
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    for (endless, want) in [
        (Endless::SameToken, "the server sent the continuation token `again` twice: the listing would never end"),
        (Endless::NoToken, "the server says the listing is truncated but sends no continuation token"),
        (Endless::FreshTokens, "the server was still saying the listing is truncated after 1000 pages"),
    ] {
        let server = FakeS3::start(Behaviour::EndlessListing(endless));
        let started = Instant::now();
        let out = publish_to(&a, &server.endpoint(), &creds, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{endless:?}: {err}");
        assert!(err.contains("listing `s3://flux/home/`"), "{endless:?}: {err}");
        assert!(err.contains(want), "{endless:?}: {err}");
        assert!(started.elapsed() < Duration::from_secs(30), "{endless:?} took {:?}", started.elapsed());
    }

    // The deadline bounds the whole listing.
    let server = FakeS3::start(Behaviour::EndlessListing(Endless::FreshTokens));
    let limits = ListLimits { max_pages: usize::MAX, max_objects: usize::MAX, deadline: Duration::from_millis(300) };
    let target = open(&server.endpoint(), &creds).with_list_limits(limits);
    let started = Instant::now();
    let err = rt().block_on(target.list()).unwrap_err().to_string();
    assert!(err.contains("the listing did not finish within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// `s3:/bucket/x` (one slash) published into a local directory named `s3:`.
#[test]
fn s3_url_with_one_slash_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    for url in ["s3:/flux/home", "s3:flux", "dir:/srv/bundles"] {
        let out = nixflux().current_dir(tmp.path()).arg("publish").arg(&a).args(["--to", url]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        let scheme = url.split(':').next().unwrap();
        assert_eq!(
            stderr(&out),
            format!(
                "error: `{url}`: `{scheme}:` must be followed by `//` (`{scheme}://...`)\nhint: write `s3://BUCKET/PREFIX` or `dir:///ABSOLUTE/PATH`; for a local directory of that name, write `./` in front\n"
            )
        );
    }
    assert!(!tmp.path().join("s3:").exists() && !tmp.path().join("dir:").exists());
}

/// An unknown `--profile` surfaced as a failed connection (exit 1).
#[test]
fn unknown_profile_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let creds = creds(tmp.path());
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    let out = publish_to(&a, "http://127.0.0.1:9", &creds, &["--profile", "prod"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: credentials file `{}` has no profile `prod`; it has `default`, `ci`\nhint: pass `--profile NAME` with one of its profiles, or add a `[NAME]` section to the file\n",
            creds.display()
        )
    );
}

/// A missing `--ca-file` was exit 1, as if the network had failed.
#[test]
fn missing_ca_file_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let creds = creds(tmp.path());
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    let ca = tmp.path().join("no-such-ca.pem");
    let out = publish_to(&a, "https://127.0.0.1:9", &creds, &["--ca-file", &ca.display().to_string()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!("error: CA file `{}` does not exist\nhint: ", ca.display())),
        "{}",
        stderr(&out)
    );
}

/// With no credentials anywhere the message was "could not connect".
#[test]
fn no_credentials_says_which_sources_were_tried() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    let out = nixflux()
        .arg("publish")
        .arg(&a)
        .args(["--to", "s3://flux/home", "--endpoint", "http://127.0.0.1:9"])
        .env("HOME", tmp.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: no S3 credentials found; tried `--credentials-file` (not given), `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (not set), `AWS_SHARED_CREDENTIALS_FILE`/`~/.aws/credentials` ("), "{err}");
    assert!(err.contains(&format!("`{}/.aws/credentials` does not exist", tmp.path().display())), "{err}");
    assert!(err.contains("profile `default`"), "{err}");
    assert!(err.contains("\nhint: pass `--credentials-file FILE`"), "{err}");
    assert!(!err.contains("could not connect"), "{err}");
}

/// A wrong secret read as a generic HTTP 403 with an SDK structure at worst.
#[test]
fn rejected_credentials_say_so_without_debug_output() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    let server = Server::start();
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "[default]\naws_access_key_id = nixflux-test\naws_secret_access_key = wrong-secret\n")
        .unwrap();
    let out = publish_to(&a, &server.endpoint(), &wrong, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 403 SignatureDoesNotMatch") || err.contains("HTTP 403 InvalidAccessKeyId"), "{err}");
    assert!(err.contains("the server rejected the credentials"), "{err}");
    assert!(err.contains("\nhint: check the access key and secret"), "{err}");
    for debug in ["wrong-secret", "ErrorMetadata", "Some(", "{ "] {
        assert!(!err.contains(debug), "`{debug}` in: {err}");
    }
    assert_eq!(err.lines().count(), 2, "one error line and one hint: {err}");
}

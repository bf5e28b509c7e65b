use std::path::PathBuf;

use super::*;

fn io() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied")
}

#[test]
fn bundle_read_failures_are_io_1_and_damage_2_wherever_they_come_from() {
    let damaged = || ReadError::Damaged { bundle: PathBuf::from("b"), why: "x".into() };
    let unreadable = || ReadError::Io { path: PathBuf::from("b/objects/x.yaml"), source: io() };
    for (err, code) in [
        (anyhow::Error::new(damaged()), 2),
        (anyhow::Error::new(PublishError::Bundle(damaged())), 2),
        (anyhow::Error::new(damaged()).context("reading the bundle"), 2),
        (anyhow::Error::new(unreadable()), 1),
        (anyhow::Error::new(PublishError::Bundle(unreadable())), 1),
    ] {
        assert_eq!(verdict(&err).code, code, "{err:#}");
    }
}

#[test]
fn control_characters_are_escaped() {
    for (raw, shown) in [
        ("plain `web` é", "plain `web` é"),
        ("\u{1b}[31mred\u{1b}[0m", "\\u{1b}[31mred\\u{1b}[0m"),
        ("a\nhint: forged", "a\\nhint: forged"),
        ("tab\there\r", "tab\\there\\r"),
        ("\u{7f}\u{9b}2J\u{0}", "\\u{7f}\\u{9b}2J\\u{0}"),
    ] {
        assert_eq!(escape_controls(raw), shown, "{raw:?}");
    }
    assert!(matches!(escape_controls("no controls"), Cow::Borrowed(_)));
}

#[test]
fn refusals_are_2_and_races_1() {
    let t = || "t".to_owned();
    assert_eq!(verdict(&PublishError::Empty { target: t() }.into()).code, 2);
    assert_eq!(verdict(&PublishError::Changed { target: t() }.into()).code, 1);
    assert_eq!(verdict(&PublishError::Changed { target: t() }.into()).hint.as_deref(), Some(RETRY_LATER));
    assert_eq!(verdict(&anyhow::anyhow!("anything else")).code, 1);
    let bad = BadInput { message: "m".into(), hint: Some("h".into()) };
    assert_eq!(verdict(&bad.into()), Verdict { code: 2, hint: Some(Cow::Borrowed("h")) });
}

#[test]
fn credential_and_tls_mistakes_are_2_and_rejected_credentials_1_with_a_hint() {
    let p = || PathBuf::from("creds");
    for (err, code) in [
        (OpenError::UnknownProfile { path: p(), profile: "prod".into(), available: vec!["default".into()] }, 2),
        (OpenError::IncompleteProfile { path: p(), profile: "ci".into(), missing: "aws_secret_access_key" }, 2),
        (OpenError::NoCredentials { tried: "everything".into() }, 2),
        (OpenError::NoCaFile { path: p() }, 2),
        (OpenError::Credentials("x".into()), 1),
    ] {
        let v = verdict(&err.into());
        assert_eq!(v.code, code);
        assert!(code == 1 || v.hint.is_some());
    }
    let rejected = || TargetError::CredentialsRejected {
        op: "reading",
        key: "k".into(),
        endpoint: "e".into(),
        message: "HTTP 403 SignatureDoesNotMatch".into(),
    };
    for err in [
        anyhow::Error::new(rejected()),
        anyhow::Error::new(PublishError::Target(rejected())),
        anyhow::Error::new(PublishError::Lease(LeaseError::Target(rejected()))),
    ] {
        let v = verdict(&err);
        assert_eq!(v.code, 1);
        assert!(v.hint.is_some_and(|h| h.starts_with("check the access key")), "{err:#}");
    }
    let url = TargetUrlError::MissingSlashes { url: "s3:/x".into(), scheme: "s3" };
    let v = verdict(&url.into());
    assert_eq!(v.code, 2);
    assert!(v.hint.is_some());
}

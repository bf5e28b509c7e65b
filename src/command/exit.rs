//! How an error becomes what the user sees and an exit code: the one place
//! that decides, for every error type of the domain modules, whether it is
//! the user's to fix (exit 2: bad input, usage, a refusal) or a failed
//! operation (exit 1: I/O, network, a lost race), and what hint goes with
//! it. Domain modules return their own error enums and never decide this.
//! Output: `error: <what failed>: <why>`, then `hint: <what to do>`.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::process::ExitCode;

use crate::bundle::read::ReadError;
use crate::bundle::write::WriteError;
use crate::crd::CrdError;
use crate::flux::binding::BindingError;
use crate::flux::error::FluxError;
use crate::flux::BootstrapError;
use crate::publish::lease::LeaseError;
use crate::publish::target::url::TargetUrlError;
use crate::publish::target::{OpenError, TargetError};
use crate::publish::PublishError;
use crate::spec::Problems;

use super::output::Output;

/// An error caused by the user's input or usage: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BadInput {
    pub message: String,
    pub hint: Option<String>,
}

/// A failed operation (exit code 1) with a hint for the user.
#[derive(Debug, thiserror::Error)]
#[error("{error:#}")]
pub struct Hinted {
    pub error: anyhow::Error,
    pub hint: String,
}

/// What an error means for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// 1 for a failed operation, 2 for bad input, usage or a refusal.
    pub code: u8,
    pub hint: Option<Cow<'static, str>>,
}

impl Verdict {
    fn failed(hint: Option<&'static str>) -> Verdict {
        Verdict { code: 1, hint: hint.map(Cow::Borrowed) }
    }

    fn bad(hint: Option<&'static str>) -> Verdict {
        Verdict { code: 2, hint: hint.map(Cow::Borrowed) }
    }
}

const RETRY_LATER: &str = "run the command again once the other publisher is done";
const RENDER_AGAIN: &str = "render it again with `nixflux render SPEC --out DIR`";

fn publish(e: &PublishError) -> Verdict {
    match e {
        PublishError::Empty { .. } => {
            Verdict::bad(Some("if you really mean to remove everything, pass `--allow-empty`"))
        }
        PublishError::Prune { .. } => {
            Verdict::bad(Some("check `nixflux diff`; if the removals are intended, pass `--allow-prune`"))
        }
        PublishError::ForeignPointer { .. } => {
            Verdict::bad(Some("publish to an empty prefix, or remove what is there first"))
        }
        PublishError::NoSuchGeneration { .. } => Verdict::bad(Some("`nixflux history` lists the retained generations")),
        PublishError::NothingLive { .. } => Verdict::bad(None),
        PublishError::DataRemoval { .. } => Verdict::bad(Some(
            "their data goes with them (Flux deletes what it prunes, and a Namespace takes its contents along); if that is intended, pass `--allow-data-removal`",
        )),
        PublishError::LiveUnknown { .. } => Verdict::bad(Some(
            "restore the target (`nixflux history`, `nixflux rollback`), or pass `--allow-prune` to publish anyway",
        )),
        PublishError::Changed { .. } => Verdict::failed(Some(RETRY_LATER)),
        PublishError::Lease(e) => lease(e),
        PublishError::Bundle(e) => bundle_read(e),
        PublishError::Target(e) => target(e),
        PublishError::Unrestorable { .. } | PublishError::Encode(_) | PublishError::Nar(_) => Verdict::failed(None),
        PublishError::PruneKind { .. } => Verdict::bad(Some(
            "check `nixflux diff` (it shows what Flux would prune); if that is intended, pass `--allow-prune-kind KIND` for each kind",
        )),
        PublishError::Flux(e) => flux(e),
    }
}

/// Configuration the user can fix is exit 2; a cluster or webhook that
/// failed to answer is exit 1.
fn flux(e: &FluxError) -> Verdict {
    match e {
        FluxError::WrongCluster { .. } => Verdict::bad(None),
        FluxError::Kubeconfig { .. }
        | FluxError::NoAccess { .. }
        | FluxError::NotFound { .. }
        | FluxError::Forbidden { .. }
        | FluxError::Unauthorized { .. }
        | FluxError::TokenFile { .. }
        | FluxError::EmptyToken { .. } => Verdict::bad(None),
        FluxError::Api { .. } | FluxError::Receiver { .. } => Verdict::failed(None),
    }
}

fn lease(e: &LeaseError) -> Verdict {
    match e {
        LeaseError::Target(e) => target(e),
        _ => Verdict::failed(Some(RETRY_LATER)),
    }
}

/// A bundle that cannot be read is a failed operation; one that is not a
/// bundle, or is damaged, is the user's input.
fn bundle_read(e: &ReadError) -> Verdict {
    match e {
        ReadError::Io { .. } => Verdict::failed(Some(RENDER_AGAIN)),
        ReadError::Index { .. } | ReadError::Format { .. } | ReadError::Damaged { .. } => {
            Verdict::bad(Some(RENDER_AGAIN))
        }
        ReadError::NotABundle { .. } => Verdict::bad(Some("a bundle is what `nixflux render SPEC --out DIR` writes")),
    }
}

fn bundle_write(e: &WriteError) -> Verdict {
    match e {
        WriteError::NotABundle(_) => Verdict::bad(Some("choose a new directory, or remove this one")),
        WriteError::Io { .. } => Verdict::failed(None),
    }
}

const CREDENTIALS_FORMAT: &str =
    "the file holds `[default]`, `aws_access_key_id = ...` and `aws_secret_access_key = ...`";

fn open(e: &OpenError) -> Verdict {
    match e {
        OpenError::NoCredentialsFile { .. } | OpenError::IncompleteProfile { .. } => {
            Verdict::bad(Some(CREDENTIALS_FORMAT))
        }
        OpenError::UnknownProfile { .. } => {
            Verdict::bad(Some("pass `--profile NAME` with one of its profiles, or add a `[NAME]` section to the file"))
        }
        OpenError::NoCredentials { .. } => Verdict::bad(Some(
            "pass `--credentials-file FILE` (`[default]`, `aws_access_key_id = ...`, `aws_secret_access_key = ...`), or set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`",
        )),
        OpenError::NoCaFile { .. } => {
            Verdict::bad(Some("`--ca-file` names a PEM file of the CA certificates that signed the server's"))
        }
        OpenError::EndpointScheme { .. } => {
            Verdict::bad(Some("write `https://host:port` (or `http://host:port` for plain HTTP)"))
        }
        OpenError::CreateDir { .. }
        | OpenError::CredentialsFile { .. }
        | OpenError::Credentials(_)
        | OpenError::CaFile { .. }
        | OpenError::Tls(_) => Verdict::failed(None),
    }
}

fn target(e: &TargetError) -> Verdict {
    match e {
        TargetError::CredentialsRejected { .. } => Verdict::failed(Some(
            "check the access key and secret in the credentials file (and `--profile`) against the server's users; a wrong clock also breaks signatures",
        )),
        TargetError::PreconditionFailed { .. } | TargetError::Failed { .. } => Verdict::failed(None),
    }
}

fn target_url(e: &TargetUrlError) -> Verdict {
    match e {
        TargetUrlError::MissingSlashes { .. } => Verdict::bad(Some(
            "write `s3://BUCKET/PREFIX` or `dir:///ABSOLUTE/PATH`; for a local directory of that name, write `./` in front",
        )),
        _ => Verdict::bad(None),
    }
}

/// CRD files that cannot be read are a failed operation; missing or bad
/// ones are the user's input.
fn crd(e: &CrdError) -> Verdict {
    match e {
        CrdError::Read { .. } => Verdict::failed(None),
        CrdError::NotFound { .. } | CrdError::NoFiles { .. } => {
            Verdict::bad(Some("`--crds` names a directory of CustomResourceDefinition YAML files (or one such file)"))
        }
        CrdError::Document { .. } | CrdError::Schema { .. } => Verdict::bad(Some(
            "fix or remove that document; `--crds` reads `apiextensions.k8s.io/v1` CustomResourceDefinitions and ignores other kinds",
        )),
        CrdError::Duplicate { .. } => Verdict::bad(Some("keep one copy of each CRD under the `--crds` directory")),
    }
}

/// Every bootstrap error is the user's options.
fn bootstrap(e: &BootstrapError) -> Verdict {
    match e {
        BootstrapError::Unpinned { .. } | BootstrapError::NixTag { .. } => Verdict::bad(Some(
            "pin the image: `nix:0` + the store path of a nix-snapshotter image, or `IMAGE@sha256:<digest>`",
        )),
        BootstrapError::CertWithoutTls { .. } => {
            Verdict::bad(Some("drop `--cert-secret`, or use an `https://` endpoint (`--mode external`)"))
        }
        _ => Verdict::bad(None),
    }
}

/// The verdict on one error of a chain, if it is a type this table knows.
fn verdict_of(e: &(dyn StdError + 'static)) -> Option<Verdict> {
    if let Some(b) = e.downcast_ref::<BadInput>() {
        return Some(Verdict { code: 2, hint: b.hint.clone().map(Cow::Owned) });
    }
    if let Some(h) = e.downcast_ref::<Hinted>() {
        return Some(Verdict { code: 1, hint: Some(Cow::Owned(h.hint.clone())) });
    }
    if e.is::<Problems>() {
        return Some(Verdict::bad(None));
    }
    if let Some(e) = e.downcast_ref::<TargetUrlError>() {
        return Some(target_url(e));
    }
    if let Some(e) = e.downcast_ref::<BootstrapError>() {
        return Some(bootstrap(e));
    }
    if let Some(e) = e.downcast_ref::<PublishError>() {
        return Some(publish(e));
    }
    if let Some(e) = e.downcast_ref::<ReadError>() {
        return Some(bundle_read(e));
    }
    if let Some(e) = e.downcast_ref::<WriteError>() {
        return Some(bundle_write(e));
    }
    if let Some(e) = e.downcast_ref::<OpenError>() {
        return Some(open(e));
    }
    if let Some(e) = e.downcast_ref::<LeaseError>() {
        return Some(lease(e));
    }
    if let Some(e) = e.downcast_ref::<TargetError>() {
        return Some(target(e));
    }
    if let Some(e) = e.downcast_ref::<FluxError>() {
        return Some(flux(e));
    }
    if let Some(e) = e.downcast_ref::<BindingError>() {
        return Some(match e {
            BindingError::Target(e) => target(e),
            BindingError::Damaged { .. } => Verdict::bad(None),
        });
    }
    if let Some(e) = e.downcast_ref::<CrdError>() {
        return Some(crd(e));
    }
    None
}

/// The verdict on an error: that of the outermost error in its chain whose
/// type is known, else a failed operation.
pub fn verdict(err: &anyhow::Error) -> Verdict {
    err.chain().find_map(verdict_of).unwrap_or(Verdict { code: 1, hint: None })
}

/// Prints `err` as `error: ...` / `hint: ...` (and, for `--output json`, a
/// spec's problems as JSON on stdout) and returns its exit code. Control
/// characters in what it prints are escaped (`escape_controls`): names and
/// record fields come from input and must not drive the terminal.
pub fn report(err: &anyhow::Error, output: Output) -> ExitCode {
    if let Some(problems) = err.downcast_ref::<Problems>() {
        if output == Output::Json {
            outln!("{}", problems_json(problems));
        }
        let escaped = Problems {
            source_name: escape_controls(&problems.source_name).into_owned(),
            problems: problems
                .problems
                .iter()
                .map(|p| crate::spec::Problem {
                    path: match escape_controls(&p.path.to_string()) {
                        Cow::Borrowed(_) => p.path.clone(),
                        Cow::Owned(s) => crate::spec::JsonPath::raw(s),
                    },
                    position: p.position,
                    message: escape_controls(&p.message).into_owned(),
                    hint: p.hint.as_deref().map(|h| escape_controls(h).into_owned()),
                })
                .collect(),
        };
        eprint!("{}", format_problems(&escaped));
        return ExitCode::from(2);
    }
    let mut text = format!("error: {err}");
    for cause in err.chain().skip(1) {
        // Many messages already end with their cause; say it once.
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!(": {cause}"));
        }
    }
    // Some messages are several lines by design (a list of missing paths):
    // keep their newlines, escape every other control character.
    let text: Vec<Cow<str>> = text.split('\n').map(escape_controls).collect();
    eprintln!("{}", text.join("\n"));
    let verdict = verdict(err);
    if let Some(hint) = &verdict.hint {
        eprintln!("hint: {}", escape_controls(hint));
    }
    ExitCode::from(verdict.code)
}

/// `s` with every control character (newlines too) written as an escape:
/// `\n`, `\r`, `\t`, else `\u{1b}`, so that text from input cannot move
/// the cursor, recolour or retitle the terminal, or forge a line.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The JSON form of a spec's problems, for `--output json`.
pub fn problems_json(problems: &Problems) -> serde_json::Value {
    let list: Vec<serde_json::Value> = problems
        .problems
        .iter()
        .map(|p| {
            serde_json::json!({
                "path": p.path.to_string(),
                "line": p.position.map(|(l, _)| l),
                "column": p.position.map(|(_, c)| c),
                "message": p.message,
                "hint": p.hint,
            })
        })
        .collect();
    serde_json::json!({ "ok": false, "source": problems.source_name, "problems": list })
}

/// The text form of a spec's problems, as printed on stderr.
pub fn format_problems(problems: &Problems) -> String {
    let mut out = String::new();
    match problems.problems.as_slice() {
        [one] => {
            out.push_str(&format!("error: {problems}\n"));
            if let Some(hint) = &one.hint {
                out.push_str(&format!("hint: {hint}\n"));
            }
        }
        many => {
            out.push_str(&format!("error: {problems}\n"));
            for p in many {
                out.push_str(&format!("  {p}\n"));
                if let Some(hint) = &p.hint {
                    out.push_str(&format!("    hint: {hint}\n"));
                }
            }
        }
    }
    out
}

/// The text form of a render's warnings (stderr): one `warning:` line
/// each, control characters escaped, then its hint.
pub fn format_warnings(warnings: &Problems) -> String {
    let mut out = String::new();
    for p in &warnings.problems {
        out.push_str(&format!("warning: {}\n", escape_controls(&p.to_string())));
        if let Some(hint) = &p.hint {
            out.push_str(&format!("hint: {}\n", escape_controls(hint)));
        }
    }
    out
}

/// The JSON form of a render's warnings, for `--output json`.
pub fn warnings_json(warnings: &Problems) -> serde_json::Value {
    match problems_json(warnings) {
        serde_json::Value::Object(mut o) => o.remove("problems").unwrap_or_default(),
        other => other,
    }
}

#[cfg(test)]
#[path = "exit_tests.rs"]
mod tests;

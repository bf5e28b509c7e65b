//! Variables in raw objects: `${NAME}` and `${NAME:=default}` in the string
//! values of raw objects are replaced by the spec's `vars` at render time, in
//! the syntax of Flux's post-build substitution, so that nothing is left for
//! Flux to substitute. `$${` writes a literal `${`.
//!
//! Differences from Flux (fluxcd/pkg `kustomize/kustomize_varsub.go`, which
//! runs drone/envsubst over the whole YAML text) are deliberate and listed in
//! `docs/spec.md`: only string values are substituted (not keys, not
//! numbers), an unknown variable is an error (Flux's non-strict mode makes it
//! empty), only the two forms above exist, and `$$` not followed by `{`
//! stays as written.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::spec::names::{is_var_name, VarName};
use crate::spec::problem::nearest;
use crate::spec::{JsonPath, Problem};

/// Flux skips objects labelled or annotated with this (`: disabled`).
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// What is wrong with one `${...}` in a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("unknown variable `{name}`")]
    Unknown { name: String },
    #[error("`${{` is not closed by `}}`")]
    Unclosed,
    #[error("`${{{text}}}` does not name a variable: {rule}")]
    BadName { text: String, rule: &'static str },
    #[error("`${{{text}}}` is not supported: nixflux substitutes `${{NAME}}` and `${{NAME:=default}}`")]
    Unsupported { text: String },
}

/// Replaces the variables in every string value of `obj` (keys are left
/// alone). Unchanged objects are borrowed; every problem names the path of
/// the string that holds it.
pub fn substitute<'a>(
    obj: &'a Map<String, Value>,
    vars: &BTreeMap<VarName, String>,
    origin: &JsonPath,
    problems: &mut Vec<Problem>,
) -> Cow<'a, Map<String, Value>> {
    // SOPS-encrypted objects are passed through exactly as written.
    if disabled(obj) || super::sops::is_sops(obj) {
        return Cow::Borrowed(obj);
    }
    let mut changed: Option<Map<String, Value>> = None;
    for (k, v) in obj {
        let at = origin.key(k);
        if let Some(new) = value(v, vars, &at, problems) {
            changed.get_or_insert_with(|| obj.clone()).insert(k.clone(), new);
        }
    }
    match changed {
        Some(m) => Cow::Owned(m),
        None => Cow::Borrowed(obj),
    }
}

fn disabled(obj: &Map<String, Value>) -> bool {
    let meta = obj.get("metadata");
    ["labels", "annotations"].iter().any(|field| {
        meta.and_then(|m| m.get(*field)).and_then(|l| l.get(SUBSTITUTE_ANNOTATION)).and_then(Value::as_str)
            == Some("disabled")
    })
}

/// The value with its variables replaced, or `None` when nothing changed.
fn value(v: &Value, vars: &BTreeMap<VarName, String>, at: &JsonPath, problems: &mut Vec<Problem>) -> Option<Value> {
    match v {
        Value::String(s) => match expand(s, vars) {
            Ok(Cow::Borrowed(_)) => None,
            Ok(Cow::Owned(new)) => Some(Value::String(new)),
            Err(e) => {
                problems.push(problem(e, vars, at));
                None
            }
        },
        Value::Array(items) => {
            let mut out: Option<Vec<Value>> = None;
            for (i, item) in items.iter().enumerate() {
                if let Some(new) = value(item, vars, &at.index(i), problems) {
                    out.get_or_insert_with(|| items.clone())[i] = new;
                }
            }
            out.map(Value::Array)
        }
        Value::Object(m) => {
            let mut out: Option<Map<String, Value>> = None;
            for (k, item) in m {
                if let Some(new) = value(item, vars, &at.key(k), problems) {
                    out.get_or_insert_with(|| m.clone()).insert(k.clone(), new);
                }
            }
            out.map(Value::Object)
        }
        _ => None,
    }
}

fn problem(e: VarError, vars: &BTreeMap<VarName, String>, at: &JsonPath) -> Problem {
    let hint = match &e {
        VarError::Unknown { name } => {
            let known: Vec<&str> = vars.keys().map(VarName::as_str).collect();
            match nearest(name, &known) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "define `{name}` in `vars`, give it a default (`${{{name}:=value}}`), or write `$${{{name}}}` for a literal `${{{name}}}`"
                ),
            }
        }
        VarError::Unclosed | VarError::BadName { .. } | VarError::Unsupported { .. } => {
            "write `$${` for a literal `${`".to_owned()
        }
    };
    Problem::new(at.clone(), e.to_string()).with_hint(hint)
}

/// One string with its variables replaced; borrowed when it has none.
pub fn expand<'s>(s: &'s str, vars: &BTreeMap<VarName, String>) -> Result<Cow<'s, str>, VarError> {
    if !s.contains("${") {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        // `$${` is the escape: a literal `${`.
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let body_start = &rest[i + 2..];
        let end = body_start.find('}').ok_or(VarError::Unclosed)?;
        let body = &body_start[..end];
        out.push_str(&lookup(body, vars)?);
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The value of one `${body}`.
fn lookup(body: &str, vars: &BTreeMap<VarName, String>) -> Result<String, VarError> {
    let (name, default) = match body.split_once(":=") {
        Some((name, default)) => (name, Some(default)),
        None => (body, None),
    };
    if !is_var_name(name) {
        // `-` alone is a bad name; as `:-` it is one of envsubst's operators.
        let operator = name.contains([':', '/', '%', '#', ',', '^', '=', '?', '+']);
        let text = body.to_owned();
        return Err(if operator && !name.is_empty() {
            VarError::Unsupported { text }
        } else {
            VarError::BadName { text, rule: "a variable name is letters, digits and `_`, not starting with a digit" }
        });
    }
    if default.is_some_and(|d| d.contains("${")) {
        return Err(VarError::Unsupported { text: body.to_owned() });
    }
    // As drone/envsubst's `:=`: the default also replaces an empty value.
    match (vars.get(name).filter(|v| !v.is_empty()), default) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => Ok(d.to_owned()),
        (None, None) => match vars.get(name) {
            Some(empty) => Ok(empty.clone()),
            None => Err(VarError::Unknown { name: name.to_owned() }),
        },
    }
}

/// The spec's `vars` themselves: a value with a line break is refused (Flux
/// would silently remove it).
pub fn check_vars(vars: &BTreeMap<VarName, String>, problems: &mut Vec<Problem>) {
    for (name, v) in vars {
        if v.contains(['\n', '\r']) {
            problems.push(
                Problem::new(
                    JsonPath::root().key("vars").key(name.as_str()),
                    format!("variable `{name}` holds a line break"),
                )
                .with_hint("a variable is one line (Flux removes line breaks from values): put multi-line text into the object itself"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<VarName, String> {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), (*v).to_owned())).collect()
    }

    #[test]
    fn forms() {
        let v = vars(&[("DOMAIN", "example.org"), ("EMPTY", ""), ("_n1", "x")]);
        let cases: &[(&str, Result<&str, VarError>)] = &[
            ("plain", Ok("plain")),
            ("https://${DOMAIN}/", Ok("https://example.org/")),
            ("${DOMAIN}${_n1}", Ok("example.orgx")),
            ("${MISSING:=fallback}", Ok("fallback")),
            ("${DOMAIN:=fallback}", Ok("example.org")),
            ("${EMPTY:=d}", Ok("d")),
            ("${EMPTY}", Ok("")),
            ("${MISSING:=}", Ok("")),
            ("$${DOMAIN}", Ok("${DOMAIN}")),
            ("a $$ b $x ${_n1}", Ok("a $$ b $x x")),
            ("$$${DOMAIN}", Ok("$${DOMAIN}")),
            ("${MISSING}", Err(VarError::Unknown { name: "MISSING".into() })),
            ("${DOMAIN", Err(VarError::Unclosed)),
            ("${DOMAIN:-x}", Err(VarError::Unsupported { text: "DOMAIN:-x".into() })),
            ("${#DOMAIN}", Err(VarError::Unsupported { text: "#DOMAIN".into() })),
            ("${a:=${b}}", Err(VarError::Unsupported { text: "a:=${b".into() })),
            ("${}", Err(VarError::BadName { text: String::new(), rule: "" })),
            ("${1A}", Err(VarError::BadName { text: "1A".into(), rule: "" })),
            ("${my-var}", Err(VarError::BadName { text: "my-var".into(), rule: "" })),
            ("${X=y}", Err(VarError::Unsupported { text: "X=y".into() })),
        ];
        for (input, want) in cases {
            let got = expand(input, &v).map(|c| c.into_owned());
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(&g, w, "{input}"),
                (Err(VarError::BadName { text, .. }), Err(VarError::BadName { text: t, .. })) => {
                    assert_eq!(text, &t, "{input}")
                }
                (Err(w), Err(g)) => assert_eq!(&g, w, "{input}"),
                (w, g) => panic!("{input}: want {w:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn objects_values_only_and_disabled() {
        let v = vars(&[("HOST", "h.example.org")]);
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"${HOST}": "${HOST}", "list": ["a", "${HOST}"]}});
        let Value::Object(obj) = obj else { unreachable!() };
        let mut problems = Vec::new();
        let out = substitute(&obj, &v, &JsonPath::root().key("objects").index(0), &mut problems);
        assert!(problems.is_empty());
        assert_eq!(out["data"]["${HOST}"], "h.example.org");
        assert_eq!(out["data"]["list"][1], "h.example.org");

        let off = json!({"metadata": {"name": "c", "annotations": {SUBSTITUTE_ANNOTATION: "disabled"}}, "data": {"x": "${NOPE}"}});
        let Value::Object(off) = off else { unreachable!() };
        assert!(matches!(substitute(&off, &v, &JsonPath::root(), &mut problems), Cow::Borrowed(_)));
        assert!(problems.is_empty());
    }

    #[test]
    fn unknown_variable_names_the_path_and_the_nearest() {
        let v = vars(&[("DOMAIN", "x")]);
        let Value::Object(obj) = json!({"data": {"url": "https://${DOMIAN}/"}}) else { unreachable!() };
        let mut problems = Vec::new();
        let _ = substitute(&obj, &v, &JsonPath::root().key("objects").index(3), &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path.to_string(), "objects[3].data.url");
        assert_eq!(problems[0].message, "unknown variable `DOMIAN`");
        assert_eq!(problems[0].hint.as_deref(), Some("did you mean `DOMAIN`?"));
    }

    proptest! {
        #[test]
        fn never_panics_and_plain_text_is_kept(s in "\\PC*", t in "[^$]*") {
            let v = vars(&[("A", "1"), ("B", "")]);
            let _ = expand(&s, &v);
            prop_assert_eq!(expand(&t, &v).unwrap(), t.as_str());
        }

        #[test]
        fn escaping_gives_back_any_text(t in "[$\\{\\}:=A_1a#é -]{0,40}") {
            let v = vars(&[("A", "1"), ("a", "x")]);
            let escaped = t.replace("${", "$${");
            prop_assert_eq!(expand(&escaped, &v).unwrap(), t.as_str());
        }
    }
}

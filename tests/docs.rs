//! Keeps `docs/spec.md` true: every field the parser accepts, at every level
//! of the spec, must be documented there. The fields are read from the
//! parser itself (its "unknown field, expected one of ..." answer), so a new
//! field without documentation fails here.

mod common;

const UNKNOWN: &str = "qqqqqqqqqqqqqqqqqqqq";

/// Each spec has the unknown field at one level of the structure.
fn probes() -> Vec<(&'static str, String)> {
    let app = |inner: &str| format!(r#"{{"apiVersion":"nixflux/v1alpha1","apps":{{"a":{inner}}}}}"#);
    let u = format!(r#""{UNKNOWN}":1"#);
    let defaults = |inner: &str| format!(r#"{{"apiVersion":"nixflux/v1alpha1","defaults":{inner}}}"#);
    vec![
        ("top level", format!(r#"{{"apiVersion":"nixflux/v1alpha1",{u}}}"#)),
        ("defaults", format!(r#"{{"apiVersion":"nixflux/v1alpha1","defaults":{{{u}}}}}"#)),
        ("layer", format!(r#"{{"apiVersion":"nixflux/v1alpha1","layers":[{{{u}}}]}}"#)),
        ("profile", format!(r#"{{"apiVersion":"nixflux/v1alpha1","networkPolicyProfiles":{{"p":{{{u}}}}}}}"#)),
        ("app", app(&format!("{{{u}}}"))),
        ("extra port", app(&format!(r#"{{"extraPorts":{{"p":{{{u}}}}}}}"#))),
        ("resources", app(&format!(r#"{{"resources":{{{u}}}}}"#))),
        ("resource list", app(&format!(r#"{{"resources":{{"limits":{{{u}}}}}}}"#))),
        ("ingress", app(&format!(r#"{{"ingress":{{{u}}}}}"#))),
        ("ingress tls", app(&format!(r#"{{"ingress":{{"tls":{{{u}}}}}}}"#))),
        ("route", app(&format!(r#"{{"routes":{{"r":{{{u}}}}}}}"#))),
        ("route tls", app(&format!(r#"{{"routes":{{"r":{{"tls":{{{u}}}}}}}}}"#))),
        ("external", format!(r#"{{"apiVersion":"nixflux/v1alpha1","external":{{"ns":{{{u}}}}}}}"#)),
        ("network policy", app(&format!(r#"{{"networkPolicy":{{{u}}}}}"#))),
        ("traffic peer", app(&format!(r#"{{"networkPolicy":{{"allowTo":[{{{u}}}]}}}}"#))),
        ("traffic port", app(&format!(r#"{{"networkPolicy":{{"allowFrom":[{{"ports":[{{{u}}}]}}]}}}}"#))),
        ("service account", app(&format!(r#"{{"serviceAccount":{{{u}}}}}"#))),
        ("security", app(&format!(r#"{{"security":{{{u}}}}}"#))),
        ("volume", app(&format!(r#"{{"volumes":{{"v":{{{u}}}}}}}"#))),
        ("claim", app(&format!(r#"{{"volumes":{{"v":{{"persistentVolumeClaim":{{{u}}}}}}}}}"#))),
        ("empty dir", app(&format!(r#"{{"volumes":{{"v":{{"emptyDir":{{{u}}}}}}}}}"#))),
        ("toleration", app(&format!(r#"{{"tolerations":[{{{u}}}]}}"#))),
        ("init container", app(&format!(r#"{{"initContainers":[{{{u}}}]}}"#))),
        ("sidecar", app(&format!(r#"{{"sidecars":[{{{u}}}]}}"#))),
        ("probes", app(&format!(r#"{{"probes":{{{u}}}}}"#))),
        ("probe", app(&format!(r#"{{"probes":{{"startup":{{{u}}}}}}}"#))),
        ("http check", app(&format!(r#"{{"probes":{{"startup":{{"httpGet":{{{u}}}}}}}}}"#))),
        ("tcp check", app(&format!(r#"{{"probes":{{"startup":{{"tcpSocket":{{{u}}}}}}}}}"#))),
        ("exec check", app(&format!(r#"{{"probes":{{"startup":{{"exec":{{{u}}}}}}}}}"#))),
        ("job", app(&format!(r#"{{"job":{{{u}}}}}"#))),
        ("secret key ref", app(&format!(r#"{{"env":{{"A":{{"secretKeyRef":{{{u}}}}}}}}}"#))),
        ("config map key ref", app(&format!(r#"{{"env":{{"A":{{"configMapKeyRef":{{{u}}}}}}}}}"#))),
        ("field ref", app(&format!(r#"{{"env":{{"A":{{"fieldRef":{{{u}}}}}}}}}"#))),
        ("traefik", defaults(&format!(r#"{{"traefik":{{"entryPoints":{{}},{u}}}}}"#))),
        ("entry point", defaults(&format!(r#"{{"traefik":{{"entryPoints":{{"e":{{{u}}}}}}}}}"#))),
        ("auth", defaults(&format!(r#"{{"traefik":{{"entryPoints":{{}},"auth":{{"name":"a",{u}}}}}}}"#))),
        (
            "forward auth",
            defaults(&format!(
                r#"{{"traefik":{{"entryPoints":{{}},"auth":{{"name":"a","forwardAuth":{{"address":"x",{u}}}}}}}}}"#
            )),
        ),
        ("tls", defaults(&format!(r#"{{"tls":{{{u}}}}}"#))),
        ("issuer", defaults(&format!(r#"{{"tls":{{"issuers":{{"i":{{{u}}}}}}}}}"#))),
        ("wildcard", defaults(&format!(r#"{{"tls":{{"wildcard":{{"domain":"d","issuer":"i",{u}}}}}}}"#))),
        // Secrets and databases.
        (
            "secret store",
            format!(r#"{{"apiVersion":"nixflux/v1alpha1","defaults":{{"secretStores":{{"s":{{{u}}}}}}}}}"#),
        ),
        ("shared postgres", format!(r#"{{"apiVersion":"nixflux/v1alpha1","defaults":{{"postgres":{{{u}}}}}}}"#)),
        (
            "postgres storage",
            format!(r#"{{"apiVersion":"nixflux/v1alpha1","defaults":{{"postgres":{{"storage":{{{u}}}}}}}}}"#),
        ),
        ("secret env", app(&format!(r#"{{"secretEnv":{{"A":{{{u}}}}}}}"#))),
        ("secret files", app(&format!(r#"{{"secretFiles":{{"v":{{{u}}}}}}}"#))),
        ("database", app(&format!(r#"{{"database":{{{u}}}}}"#))),
        ("postgres database", app(&format!(r#"{{"database":{{"postgres":{{{u}}}}}}}"#))),
        ("own postgres cluster", app(&format!(r#"{{"database":{{"postgres":{{"cluster":{{{u}}}}}}}}}"#))),
        ("helm", app(&format!(r#"{{"helm":{{{u}}}}}"#))),
        ("helm values from", app(&format!(r#"{{"helm":{{"valuesFrom":[{{{u}}}]}}}}"#))),
        ("helm image value", app(&format!(r#"{{"helm":{{"imageValues":[{{{u}}}]}}}}"#))),
    ]
}

#[test]
fn every_spec_field_is_documented() {
    let doc = std::fs::read_to_string(common::root().join("docs/spec.md")).unwrap();
    let mut missing = Vec::new();
    for (level, spec) in probes() {
        let problems = nixflux::spec::parse(&spec, "probe").expect_err(level).problems;
        let message = &problems[0].message;
        let hint = problems[0].hint.clone().unwrap_or_default();
        assert!(message.starts_with(&format!("unknown field `{UNKNOWN}`")), "{level}: {message}");
        let listed = hint.strip_prefix("expected one of ").unwrap_or_else(|| panic!("{level}: {hint}"));
        for field in listed.split(", ") {
            let field = field.trim_matches('`');
            let documented = [format!("`{field}`"), format!("`{field}."), format!(".{field}`")];
            if !documented.iter().any(|d| doc.contains(d.as_str())) {
                missing.push(format!("{level}: `{field}`"));
            }
        }
    }
    assert!(missing.is_empty(), "fields missing from docs/spec.md:\n{}", missing.join("\n"));
}

/// README's first-line walk-through says how many apps and objects the
/// built-in example has; both are counted here, the apps from the spec
/// (a disabled app is not counted) and the objects from its render.
#[test]
fn readme_counts_the_examples_apps_and_objects() {
    let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(common::example()).unwrap()).unwrap();
    let apps = spec["apps"].as_object().unwrap().values().filter(|a| a["enable"] != false).count();
    let out = common::run_ok(common::nixflux().args(["render", "--example"]));
    let objects = common::yaml_documents(&String::from_utf8(out.stdout).unwrap()).len();
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let said = format!("({apps} apps, {objects} objects)");
    assert!(readme.contains(&said), "README.md should say {said} of docs/examples/homelab.json");
}

/// Each table of `docs/spec.md` lists a field once, and no blank line
/// splits a table in two (Markdown would render the rest as text).
#[test]
fn spec_tables_have_no_duplicate_rows() {
    let doc = std::fs::read_to_string(common::root().join("docs/spec.md")).unwrap();
    let lines: Vec<&str> = doc.lines().collect();
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with('|') {
            let next_is_row = lines.get(i + 1).is_some_and(|l| l.starts_with("| `"));
            let prev_is_row = i > 0 && lines[i - 1].starts_with('|');
            if line.trim().is_empty() && prev_is_row && next_is_row {
                problems.push(format!("line {}: a blank line splits a table", i + 1));
            }
            seen.clear();
            continue;
        }
        let first = line.split('|').nth(1).unwrap_or("").trim();
        if first.starts_with('`') && !seen.insert(first.to_owned()) {
            problems.push(format!("line {}: {first} is listed twice in its table", i + 1));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

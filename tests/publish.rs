//! The publish protocol end to end, through the binary, on both targets: a
//! directory and real S3 servers on 127.0.0.1 (`rclone serve s3`, and for
//! the protocol tests also moto's server, which enforces conditional writes). What readers see is
//! checked the way Flux reads it: list and download the prefix with an
//! independent S3 client (rclone's), then `kubectl kustomize`.

mod common;
#[path = "publish/layers.rs"]
mod layers;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::s3::{build, expected, Server};
use common::{bundle, nixflux, spec_of};
use serde_json::Value;

const PREFIX: &str = "home/";

/// A target under test.
enum Where {
    Dir(PathBuf),
    S3(Server),
}

impl Where {
    fn both(tmp: &Path) -> Vec<Where> {
        vec![Where::Dir(tmp.join("target")), Where::S3(Server::start())]
    }

    /// The directory, rclone and a server that enforces conditional writes (moto).
    fn all(tmp: &Path) -> Vec<Where> {
        let mut v = Where::both(tmp);
        v.push(Where::S3(Server::enforcing()));
        v
    }

    fn name(&self) -> &'static str {
        match self {
            Where::Dir(_) => "dir",
            Where::S3(s) => s.name(),
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Where::Dir(p) => vec!["--to".into(), p.display().to_string()],
            Where::S3(s) => s.target_args(PREFIX),
        }
    }

    /// What a reader builds from the target now (`None`: the build fails).
    fn consumer(&self) -> Option<Vec<String>> {
        match self {
            Where::Dir(p) => build(p),
            Where::S3(s) => {
                let dest = tempfile::tempdir().unwrap();
                assert!(s.download(PREFIX, dest.path()), "rclone could not download the prefix");
                build(dest.path())
            }
        }
    }

    /// Every key with its content hash: equal snapshots mean nothing was written.
    fn snapshot(&self) -> Vec<(String, String)> {
        match self {
            Where::S3(s) => s.listing(PREFIX),
            Where::Dir(p) => {
                let mut v = Vec::new();
                let mut stack = vec![p.clone()];
                while let Some(d) = stack.pop() {
                    for e in std::fs::read_dir(&d).into_iter().flatten() {
                        let path = e.unwrap().path();
                        if path.is_dir() {
                            stack.push(path);
                        } else {
                            let bytes = std::fs::read(&path).unwrap();
                            let key = path.strip_prefix(p).unwrap().display().to_string();
                            v.push((key, nixflux::publish::target::dir::md5_hex(&bytes)));
                        }
                    }
                }
                v.sort();
                v
            }
        }
    }

    fn run(&self, cmd: &str, extra: &[&str]) -> Output {
        nixflux().arg(cmd).args(extra).args(self.args()).arg("--output").arg("json").output().unwrap()
    }

    fn publish(&self, bundle: &Path, extra: &[&str]) -> Value {
        let out = nixflux()
            .arg("publish")
            .arg(bundle)
            .args(extra)
            .args(self.args())
            .args(["--output", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: publish failed: {}", self.name(), String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn publish_switches_generations_and_republishing_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web", "api", "db"], &[]));
    let b = bundle(tmp.path(), "b", &spec_of(&["web", "api", "db"], &[("api", 3)]));
    for t in Where::all(tmp.path()) {
        let r = t.publish(&a, &[]);
        assert_eq!(r["generationBefore"], Value::Null, "{}", t.name());
        assert_eq!(r["generationAfter"], 1);
        assert_eq!(r["changes"]["added"].as_array().unwrap().len(), 15);
        assert_eq!(t.consumer(), Some(expected(&a)), "{}: readers see bundle a", t.name());

        let before = t.snapshot();
        let again = t.publish(&a, &[]);
        assert_eq!(again["unchanged"], true);
        assert_eq!(again["filesUploaded"], 0);
        assert_eq!(t.snapshot(), before, "{}: republishing wrote something", t.name());
        // So the revision Flux computes is the one the first publish printed.
        let h: Value = serde_json::from_slice(&t.run("history", &[]).stdout).unwrap();
        assert_eq!(h["fluxRevision"], r["fluxRevision"], "{}: the Flux revision stays", t.name());

        let r2 = t.publish(&b, &[]);
        assert_eq!(r2["generationAfter"], 2);
        assert_eq!(r2["changes"]["changed"], serde_json::json!(["api_api_apps_Deployment"]));
        assert_eq!(r2["filesUploaded"], 1, "{}: one app changed, one object file uploaded", t.name());
        assert_eq!(t.consumer(), Some(expected(&b)));
    }
}

/// Flux's Bucket revision, computed here from its definition (source-controller
/// `internal/index/digest.go`): sha256 over `"<key> <etag>\n"` of every kept
/// object, sorted by key, keys with the prefix.
fn digest_of(listing: &[(String, String)], keep: impl Fn(&str) -> bool) -> String {
    let lines: String = listing.iter().filter(|(k, _)| keep(k)).map(|(k, e)| format!("{k} {e}\n")).collect();
    format!("sha256:{}", nixflux::bundle::sha256_hex(lines.as_bytes()))
}

/// What nixflux's default `spec.ignore` (`generations/`, `nixflux.lock`)
/// leaves out, by the gitignore rules for those two patterns: a directory
/// pattern without a slash matches any element but the last; a name
/// pattern any element.
fn default_ignored(key: &str) -> bool {
    let elements: Vec<&str> = key.split('/').collect();
    let (last, dirs) = elements.split_last().unwrap();
    dirs.contains(&"generations") || *last == "nixflux.lock" || dirs.contains(&"nixflux.lock")
}

/// `*.yaml` then `!kustomization.yaml`: of the yaml files only the pointer stays.
fn yaml_ignored(key: &str) -> bool {
    let last = key.rsplit('/').next().unwrap();
    last.ends_with(".yaml") && last != "kustomization.yaml"
}

#[test]
fn printed_flux_revision_is_what_flux_computes() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web", "api"], &[]));
    let b = bundle(tmp.path(), "b", &spec_of(&["web", "api"], &[("web", 2)]));
    for s in [Server::start(), Server::enforcing()] {
        let t = Where::S3(s);
        let Where::S3(s) = &t else { unreachable!() };
        t.publish(&a, &[]);
        let r = t.publish(&b, &[]);
        let listing = s.listing(PREFIX);
        assert!(listing.iter().any(|(k, _)| k.starts_with("home/generations/")), "{}: records are listed", t.name());
        let want = digest_of(&listing, |k| !default_ignored(k));
        assert_eq!(r["fluxRevision"], want, "{}: publish, default `ignore`", t.name());
        assert_ne!(want, digest_of(&listing, |_| true), "the default ignore leaves records out");
        let history = |extra: &[&str]| -> Value {
            let out = t.run("history", extra);
            assert!(out.status.success(), "{}", stderr(&out));
            serde_json::from_slice(&out.stdout).unwrap()
        };
        assert_eq!(history(&[])["fluxRevision"], want, "{}: history, default `ignore`", t.name());
        assert_eq!(
            history(&["--flux-ignore", ""])["fluxRevision"],
            digest_of(&listing, |_| true),
            "{}: no `ignore`",
            t.name()
        );
        let custom = history(&["--flux-ignore", "generations/", "--flux-ignore", "# a comment"]);
        assert_eq!(custom["fluxRevision"], want, "{}: `ignore` given line by line", t.name());

        // A `.sourceignore` at the bucket root (outside the prefix) applies
        // below `spec.ignore`; it is not part of the index itself.
        let mut put = s.client();
        put.args(["rcat", &format!("t:{}/.sourceignore", s.bucket)]).stdin(std::process::Stdio::piped());
        let mut child = put.spawn().unwrap();
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            b"# keep only the pointer\r\n*.yaml\r\n!kustomization.yaml\r\n",
        )
        .unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success(), "rclone rcat .sourceignore");
        assert_eq!(s.listing(PREFIX), listing, "the root object is outside the prefix");
        let with_file = digest_of(&listing, |k| !default_ignored(k) && !yaml_ignored(k));
        assert_eq!(history(&[])["fluxRevision"], with_file, "{}: `.sourceignore` applied", t.name());
        assert_eq!(
            history(&["--flux-ignore", ""])["fluxRevision"],
            digest_of(&listing, |k| !yaml_ignored(k)),
            "{}: only `.sourceignore`",
            t.name()
        );
        // `spec.ignore` takes precedence: excluding the pointer again there wins.
        let over = history(&["--flux-ignore", "kustomization.yaml"]);
        assert_eq!(over["fluxRevision"], digest_of(&listing, |k| !k.ends_with(".yaml")), "{}", t.name());
        // The next publish reports the revision with the file too.
        let r = t.publish(&a, &[]);
        let listing = s.listing(PREFIX);
        assert_eq!(r["fluxRevision"], digest_of(&listing, |k| !default_ignored(k) && !yaml_ignored(k)), "{}", t.name());
    }
}

/// The revision a publish prints comes from what it wrote (the listing
/// under the lease, the ETags its uploads were answered with, what garbage
/// collection deleted), not from a second listing: it must still be what a
/// listing taken afterwards gives, with deletions, and with rules under
/// which the records and the lease count.
#[test]
fn revision_from_what_the_publish_wrote_matches_a_new_listing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web", "api"], &[]));
    let b = bundle(tmp.path(), "b", &spec_of(&["web", "api"], &[("web", 2)]));
    let c = bundle(tmp.path(), "c", &spec_of(&["web", "api", "db"], &[("api", 3)]));
    for s in [Server::start(), Server::enforcing()] {
        let t = Where::S3(s);
        let Where::S3(s) = &t else { unreachable!() };
        for (bundle, extra) in [
            (&a, vec![]),
            (&b, vec!["--keep", "1"]),
            (&c, vec!["--keep", "1", "--flux-ignore", ""]),
            (&a, vec!["--flux-ignore", "objects/"]),
        ] {
            let r = t.publish(bundle, &extra);
            let listing = s.listing(PREFIX);
            let want = match extra.last() {
                Some(&"") => digest_of(&listing, |_| true),
                Some(&"objects/") => digest_of(&listing, |k| !k.starts_with("home/objects/")),
                _ => digest_of(&listing, |k| !default_ignored(k)),
            };
            assert_eq!(r["fluxRevision"], want, "{}: {extra:?}", t.name());
        }
        assert!(t.publish(&b, &["--keep", "1"])["objectsDeleted"].as_u64().unwrap() > 0, "{}: gc deleted", t.name());
        let want = digest_of(&s.listing(PREFIX), |k| !default_ignored(k));
        let out = t.run("history", &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let h: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(h["fluxRevision"], want, "{}: after a collecting publish", t.name());
    }
}

#[test]
fn history_diff_and_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web", "api"], &[]));
    let b = bundle(tmp.path(), "b", &spec_of(&["web", "api"], &[("web", 2)]));
    for t in Where::all(tmp.path()) {
        t.publish(&a, &[]);
        let d = nixflux().arg("diff").arg(&b).args(t.args()).output().unwrap();
        assert_eq!(d.status.code(), Some(1), "{}: diff of a different bundle exits 1", t.name());
        let text = String::from_utf8(d.stdout).unwrap();
        assert!(text.starts_with("~ Deployment.apps `web/web`\n"), "{text}");
        assert!(text.contains("-  replicas: 1\n+  replicas: 2\n"), "{text}");
        let same = nixflux().arg("diff").arg(&a).args(t.args()).output().unwrap();
        assert_eq!(same.status.code(), Some(0), "{}: diff of the live bundle exits 0", t.name());
        assert!(same.stdout.is_empty());

        t.publish(&b, &[]);
        let out = t.run("rollback", &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["generationAfter"], 3);
        assert_eq!(t.consumer(), Some(expected(&a)), "{}: rollback restores a", t.name());

        let h: Value = serde_json::from_slice(&t.run("history", &[]).stdout).unwrap();
        assert_eq!(h["live"], 3);
        let gens = h["generations"].as_array().unwrap();
        assert_eq!(gens.len(), 3);
        assert_eq!(gens[2]["source"]["rollbackOf"], 1);
        assert_eq!(gens[0]["bundleDigest"], gens[2]["bundleDigest"]);

        let out = t.run("rollback", &["--generation", "2"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(t.consumer(), Some(expected(&b)));
        let out = t.run("rollback", &["--generation", "9"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("generation 9 is not retained"), "{}", stderr(&out));

        // The configured bundle again (a reboot or a switch after a CLI
        // rollback): the publish says it replaces a rollback, in text and JSON.
        let out = nixflux().arg("publish").arg(&a).args(t.args()).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let line = "generation 4 was a rollback to generation 2; replaced it with the configured bundle";
        assert!(stderr(&out).contains(line), "{}: {}", t.name(), stderr(&out));
        assert_eq!(t.consumer(), Some(expected(&a)));
        let r = t.publish(&b, &[]);
        assert_eq!((r["generationBefore"].as_u64(), r.get("replacedRollbackOf")), (Some(5), None), "{}", t.name());
    }
}

#[test]
fn guard_refuses_empty_and_mass_removal_unless_told() {
    let tmp = tempfile::tempdir().unwrap();
    let three = bundle(tmp.path(), "three", &spec_of(&["web", "api", "db"], &[]));
    let two = bundle(tmp.path(), "two", &spec_of(&["web", "api"], &[]));
    let one = bundle(tmp.path(), "one", &spec_of(&["web"], &[]));
    let empty = bundle(tmp.path(), "empty", &spec_of(&[], &[]));
    for t in Where::all(tmp.path()) {
        t.publish(&three, &[]);
        // Removing one app of three (5 of 15 objects) is fine.
        t.publish(&two, &[]);
        let before = t.snapshot();

        let out = nixflux().arg("publish").arg(&empty).args(t.args()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", t.name());
        assert!(stderr(&out).contains("refusing to publish an empty generation"), "{}", stderr(&out));
        assert!(stderr(&out).contains("hint: if you really mean to remove everything, pass `--allow-empty`"));
        assert_eq!(t.snapshot(), before, "{}: a refused publish wrote something", t.name());

        // Two apps to one removes 5 of 10 objects: 50% is the limit, allowed.
        // Three to one (from a fresh three) would be 10 of 15: refused.
        t.publish(&three, &[]);
        let before = t.snapshot();
        let out = nixflux().arg("publish").arg(&one).args(t.args()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}: {}", t.name(), stderr(&out));
        assert!(stderr(&out).contains("removes 10 of the 15 live objects (66%, more than 50%)"), "{}", stderr(&out));
        assert_eq!(t.snapshot(), before);
        assert_eq!(t.consumer(), Some(expected(&three)));

        t.publish(&one, &["--allow-prune"]);
        assert_eq!(t.consumer(), Some(expected(&one)));
        t.publish(&empty, &["--allow-empty"]);
        assert_eq!(t.consumer(), Some(vec![]), "{}: an allowed empty generation builds to nothing", t.name());
    }
}

#[test]
fn dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    let b = bundle(tmp.path(), "b", &spec_of(&["web", "api"], &[]));
    for t in Where::both(tmp.path()) {
        t.publish(&a, &[]);
        let before = t.snapshot();
        let r = t.publish(&b, &["--dry-run"]);
        assert_eq!(r["dryRun"], true);
        assert_eq!(r["generationAfter"], 2);
        assert_eq!(r["changes"]["added"].as_array().unwrap().len(), 5);
        assert_eq!(r["filesUploaded"], 1);
        assert_eq!(t.snapshot(), before, "{}: dry run wrote something", t.name());
    }
}

#[test]
fn retention_keeps_the_last_generations_and_gc_deletes_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let bundles: Vec<PathBuf> =
        (1..=4).map(|r| bundle(tmp.path(), &format!("b{r}"), &spec_of(&["web", "api"], &[("web", r)]))).collect();
    for t in Where::both(tmp.path()) {
        for b in &bundles {
            t.publish(b, &["--keep", "2"]);
        }
        let keys: Vec<String> = t.snapshot().into_iter().map(|(k, _)| k).collect();
        let objects = keys.iter().filter(|k| k.contains("objects/")).count();
        // api's file is shared by all; web's differs per generation: 2 kept + api.
        assert_eq!(objects, 3, "{}: {keys:?}", t.name());
        // The retained records, each with its revision note; the older ones went together.
        let records: Vec<&str> = keys.iter().filter_map(|k| k.split_once("generations/").map(|(_, r)| r)).collect();
        assert_eq!(
            records,
            ["00000003.json", "00000003.revision.json", "00000004.json", "00000004.revision.json"],
            "{}: {keys:?}",
            t.name()
        );
        assert_eq!(t.consumer(), Some(expected(&bundles[3])));
        let out = t.run("rollback", &["--generation", "1"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

        // gc with a smaller window deletes the older one's files too.
        let out = t.run("gc", &["--keep", "1"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["objectsDeleted"], 1);
        assert_eq!(t.consumer(), Some(expected(&bundles[3])));
        let keys: Vec<String> = t.snapshot().into_iter().map(|(k, _)| k).collect();
        let notes = keys.iter().filter(|k| k.ends_with(".revision.json")).count();
        assert_eq!(notes, 1, "gc deletes a note with its record: {keys:?}");
    }
}

#[test]
fn bad_targets_and_credentials_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let a = bundle(tmp.path(), "a", &spec_of(&["web"], &[]));
    let server = Server::start();

    let wrong = tmp.path().join("wrong-creds");
    std::fs::write(&wrong, "[default]\naws_access_key_id = nixflux-test\naws_secret_access_key = wrong-secret\n")
        .unwrap();
    let out = nixflux()
        .arg("publish")
        .arg(&a)
        .args(["--to", "s3://flux/home", "--endpoint", &server.endpoint(), "--credentials-file"])
        .arg(&wrong)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // The listing and the pointer are read together; either names the failure.
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("`s3://flux/home/"), "the error names the key: {err}");
    assert!(err.contains(&format!(" at {} failed: HTTP 403", server.endpoint())), "{err}");
    assert!(!err.contains("wrong-secret"), "the secret leaked into the error: {err}");

    let out = nixflux()
        .arg("publish")
        .arg(&a)
        .args(["--to", "s3://flux/home", "--endpoint", "127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: endpoint `127.0.0.1:9` has no scheme\nhint: write `https://host:port` (or `http://host:port` for plain HTTP)\n");

    let out = nixflux().arg("publish").arg(&a).args(["--to", "s3://Flux/home"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`Flux` is not a valid bucket name"), "{}", stderr(&out));

    // A prefix that holds someone else's kustomization is not overwritten.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("kustomization.yaml"), "resources:\n- app.yaml\n").unwrap();
    let out = nixflux().arg("publish").arg(&a).arg("--to").arg(&foreign).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("holds a `kustomization.yaml` that nixflux did not write"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(foreign.join("kustomization.yaml")).unwrap(), "resources:\n- app.yaml\n");

    // A damaged bundle is refused before anything is published.
    let damaged = tmp.path().join("damaged");
    common::run_ok(nixflux().arg("render").arg(tmp.path().join("a.json")).arg("--out").arg(&damaged));
    let file = std::fs::read_dir(damaged.join("objects")).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&file, "tampered").unwrap();
    let target = tmp.path().join("t");
    let out = nixflux().arg("publish").arg(&damaged).arg("--to").arg(&target).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is damaged"), "{}", stderr(&out));
    assert!(!target.join("kustomization.yaml").exists());
}

/// The rclone command line and environment of the Deployment that `flux
/// bootstrap --mode hostpath` renders, with the pod's places mapped to this
/// test's: `:8080` to a loopback port, `/data` to `root`, the cache dir to a
/// temporary one, and the auth key built from the Secret's keys as
/// Kubernetes would (`$(VAR)` expansion).
fn rendered_rclone(root: &Path, cache: &Path) -> (Vec<String>, Vec<(String, String)>) {
    let out = common::run_ok(nixflux().args([
        "--output",
        "json",
        "flux",
        "bootstrap",
        "--to",
        "s3://flux/home",
        "--mode",
        "hostpath",
        "--node",
        "node1",
        "--rclone-image",
        "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-rclone.tar",
        "--host-path",
        &root.display().to_string(),
    ]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["publishTo"], format!("dir://{}/flux/home/", root.display()));
    let deployment = v["objects"].as_array().unwrap().iter().find(|o| o["kind"] == "Deployment").unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let strings = |v: &Value| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let mut argv = strings(&container["command"]);
    argv.extend(strings(&container["args"]));
    assert_eq!(argv[0], "rclone");
    let mut env = Vec::new();
    let mut values: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for e in container["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap().to_owned();
        let value = match e["valueFrom"]["secretKeyRef"]["key"].as_str() {
            Some("accesskey") => common::s3::ACCESS_KEY.to_owned(),
            Some("secretkey") => common::s3::SECRET_KEY.to_owned(),
            Some(other) => panic!("unexpected secret key {other}"),
            None => {
                let mut v = e["value"].as_str().unwrap().to_owned();
                for (k, val) in &values {
                    v = v.replace(&format!("$({k})"), val);
                }
                v
            }
        };
        values.insert(name.clone(), value.clone());
        env.push((name, value));
    }
    let args = argv[1..]
        .iter()
        .map(|a| match a.as_str() {
            "/data" => root.display().to_string(),
            "/tmp/rclone" => cache.display().to_string(),
            other => other.to_owned(),
        })
        .collect();
    (args, env)
}

/// Hostpath mode: the node publishes into the directory rclone serves, and a
/// reader through S3 sees each new generation at once, with exactly the
/// flags the rendered Deployment passes. With rclone's default flags the
/// same sequence hides the new generation's files (its directory cache), so
/// the flags are what makes this pass.
#[test]
fn hostpath_endpoint_shows_a_new_generation_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("served");
    std::fs::create_dir_all(root.join("flux")).unwrap();
    let (args, env) = rendered_rclone(&root, &tmp.path().join("cache"));
    let flags_of_pod = args.clone();
    let at_port = |args: &[String], port: u16| -> Vec<String> {
        args.iter().map(|a| if a == ":8080" { format!("127.0.0.1:{port}") } else { a.clone() }).collect()
    };
    let env2 = env.clone();
    let server = Server::start_as(&root, |port| (at_port(&args, port), env2));
    let to = format!("dir://{}/flux/home", root.display());
    // A listing before the first publish, as Flux's poll would make.
    assert!(server.listing(PREFIX).is_empty());
    for (step, replicas) in [("one", 1), ("two", 3)] {
        let b = bundle(tmp.path(), step, &spec_of(&["web", "db"], &[("web", replicas)]));
        common::run_ok(nixflux().args(["publish", "--quiet"]).arg(&b).args(["--to", &to]));
        let dest = tmp.path().join(format!("read-{step}"));
        assert!(server.download(PREFIX, &dest), "{step}: download through S3 failed");
        assert_eq!(
            std::fs::read(dest.join("kustomization.yaml")).unwrap(),
            std::fs::read(root.join("flux/home/kustomization.yaml")).unwrap(),
            "{step}: the pointer read through S3 is not the one just written"
        );
        assert_eq!(build(&dest), Some(expected(&b)), "{step}: the generation read through S3 is not the one published");
    }

    // The same with rclone's defaults (the hostpath flags removed): the
    // listing made before the publish hides the new object files.
    let root2 = tmp.path().join("served-default");
    std::fs::create_dir_all(root2.join("flux")).unwrap();
    let hostpath = ["--dir-cache-time", "0s", "--poll-interval", "0", "--vfs-cache-mode", "off", "--read-only"];
    let joined = flags_of_pod.join(" ");
    assert!(joined.contains(&hostpath.join(" ")), "the rendered flags changed: {joined}");
    let default_args: Vec<String> = joined
        .replace(&hostpath.join(" "), "")
        .split_whitespace()
        .map(|a| if a == root.display().to_string() { root2.display().to_string() } else { a.to_owned() })
        .collect();
    let server2 = Server::start_as(&root2, |port| (at_port(&default_args, port), env));
    let to2 = format!("dir://{}/flux/home", root2.display());
    let first = bundle(tmp.path(), "d1", &spec_of(&["web"], &[]));
    common::run_ok(nixflux().args(["publish", "--quiet"]).arg(&first).args(["--to", &to2]));
    let warm = tmp.path().join("warm");
    assert!(server2.download(PREFIX, &warm));
    let second = bundle(tmp.path(), "d2", &spec_of(&["web", "db"], &[("web", 2)]));
    common::run_ok(nixflux().args(["publish", "--quiet"]).arg(&second).args(["--to", &to2]));
    let stale = tmp.path().join("stale");
    server2.download(PREFIX, &stale);
    assert_ne!(
        build(&stale),
        Some(expected(&second)),
        "with rclone's default directory cache the new generation was visible at once: the test no longer shows the flags matter"
    );
}

//! The publish guarantees under stress and failure, on both targets:
//! - a reader that lists, downloads and builds in a loop while generations
//!   switch back and forth only ever builds exactly one of them (or fails);
//! - a publisher killed (abort, like kill -9) at every step leaves the old
//!   generation live and whole, and running it again completes;
//! - the S3 server killed mid-publish: the same;
//! - two publishers at once: one wins, the other says why, nothing is mixed;
//!   on a server that enforces conditional writes (moto), no update is
//!   lost: each publisher that succeeds adds exactly one generation.
//!
//! The S3 tests run on `rclone serve s3` and on moto's server (or the
//! server `NIXFLUX_TEST_S3_ENDPOINT` names, see `common/s3.rs`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::s3::{build, expected, Server};
use common::{bundle, nixflux, spec_of};

const PREFIX: &str = "home/";

fn s3_args(s: &Server) -> Vec<String> {
    s.target_args(PREFIX)
}

fn dir_args(p: &Path) -> Vec<String> {
    vec!["--to".into(), p.display().to_string()]
}

fn publish(bundle: &Path, args: &[String], extra: &[&str]) -> Output {
    nixflux().arg("publish").arg(bundle).args(args).args(extra).stdin(Stdio::null()).output().unwrap()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "publish failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// What a reader sees on S3 (download, then build).
fn s3_view(s: &Server) -> Option<Vec<String>> {
    let dest = tempfile::tempdir().unwrap();
    if !s.download(PREFIX, dest.path()) {
        return None;
    }
    build(dest.path())
}

/// Two bundles that share nothing a mix could hide: B has other replica
/// counts and two more apps.
fn two_bundles(dir: &Path) -> (PathBuf, PathBuf) {
    let apps: Vec<String> = (0..8).map(|i| format!("app{i}")).collect();
    let names: Vec<&str> = apps.iter().map(String::as_str).collect();
    let a = bundle(dir, "a", &spec_of(&names, &[]));
    let mut more = names.clone();
    more.extend(["extra1", "extra2"]);
    let replicas: Vec<(&str, i64)> = names.iter().map(|n| (*n, 2)).collect();
    let b = bundle(dir, "b", &spec_of(&more, &replicas));
    (a, b)
}

/// Publishes A and B alternately `rounds` times while `read` runs in a loop
/// on another thread; every successful read must be exactly A or B.
fn readers_see_whole_generations(
    args: Vec<String>,
    rounds: usize,
    read: impl Fn() -> Option<Vec<String>> + Send + Sync + 'static,
) {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_bundles(tmp.path());
    let (want_a, want_b) = (expected(&a), expected(&b));
    ok(publish(&a, &args, &["--allow-prune"]));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        let (want_a, want_b) = (want_a.clone(), want_b.clone());
        std::thread::spawn(move || {
            let (mut seen_a, mut seen_b, mut failed) = (0, 0, 0);
            while !done.load(Ordering::SeqCst) {
                match read() {
                    Some(objects) if objects == want_a => seen_a += 1,
                    Some(objects) if objects == want_b => seen_b += 1,
                    Some(objects) => panic!("a reader built {} objects that are neither generation", objects.len()),
                    None => failed += 1,
                }
            }
            (seen_a, seen_b, failed)
        })
    };
    for round in 0..rounds {
        let next = if round % 2 == 0 { &b } else { &a };
        ok(publish(next, &args, &["--allow-prune"]));
    }
    done.store(true, Ordering::SeqCst);
    let (seen_a, seen_b, failed) = reader.join().expect("the reader found a mixed or empty build");
    eprintln!("reads: {seen_a} saw A, {seen_b} saw B, {failed} failed to build");
    assert!(seen_a + seen_b > 0, "the reader never completed a build");
}

fn s3_readers(server: &Server, rounds: usize) {
    let reader = common::s3::FastReader::new(server);
    readers_see_whole_generations(s3_args(server), rounds, move || {
        let dest = tempfile::tempdir().unwrap();
        reader.download(PREFIX, dest.path()).then(|| build(dest.path())).flatten()
    });
}

#[test]
fn s3_readers_never_see_a_mix_while_generations_switch() {
    s3_readers(&Server::start(), 30);
}

#[test]
fn moto_readers_never_see_a_mix_while_generations_switch() {
    s3_readers(&Server::enforcing(), 10);
}

#[test]
fn dir_readers_never_see_a_mix_while_generations_switch() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    let t = target.clone();
    readers_see_whole_generations(dir_args(&target), 30, move || build(&t));
}

/// Where to crash, and whether the new generation is live after it.
const CRASH_POINTS: &[(&str, bool)] =
    &[("lease", false), ("upload:1", false), ("upload:4", false), ("record", false), ("switch", true), ("gc:1", true)];

fn crash_and_recover(args: &[String], view: &dyn Fn() -> Option<Vec<String>>, label: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_bundles(tmp.path());
    let (want_a, want_b) = (expected(&a), expected(&b));
    for (point, new_is_live) in CRASH_POINTS {
        // A clean start for each point: generation 1 = A, then crash while publishing B.
        let first = publish(&a, args, &["--allow-prune", "--keep", "1"]);
        assert!(first.status.success(), "{label}: {}", String::from_utf8_lossy(&first.stderr));
        let crashed = nixflux()
            .arg("publish")
            .arg(&b)
            .args(args)
            .args(["--keep", "1"])
            .env("NIXFLUX_FAILPOINT", point)
            .output()
            .unwrap();
        assert!(!crashed.status.success(), "{label}: failpoint `{point}` was not reached");
        assert!(String::from_utf8_lossy(&crashed.stderr)
            .contains(&format!("failpoint `{}` reached", point.split(':').next().unwrap())));
        let seen = view();
        let want = if *new_is_live { &want_b } else { &want_a };
        assert_eq!(
            seen.as_ref(),
            Some(want),
            "{label}: after a crash at `{point}` readers must see the {} generation whole",
            if *new_is_live { "new" } else { "old" }
        );
        // Running it again finishes the job (the dead publisher's lease is stale).
        let again = publish(&b, args, &["--keep", "1"]);
        assert!(again.status.success(), "{label}: rerun after `{point}`: {}", String::from_utf8_lossy(&again.stderr));
        assert_eq!(view().as_ref(), Some(&want_b), "{label}: after the rerun for `{point}`");
        let h = nixflux().arg("history").args(args).args(["--output", "json"]).output().unwrap();
        let h: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
        let live = h["live"].as_u64().unwrap();
        let live_record = h["generations"].as_array().unwrap().iter().find(|g| g["generation"] == live).cloned();
        assert!(live_record.is_some(), "{label}: the live generation has no record after `{point}`");
    }
}

#[test]
fn s3_publisher_killed_at_every_step_leaves_a_whole_generation() {
    let server = Server::start();
    crash_and_recover(&s3_args(&server), &|| s3_view(&server), "s3");
}

#[test]
fn moto_publisher_killed_at_every_step_leaves_a_whole_generation() {
    let server = Server::enforcing();
    crash_and_recover(&s3_args(&server), &|| s3_view(&server), server.name());
}

#[test]
fn dir_publisher_killed_at_every_step_leaves_a_whole_generation() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    crash_and_recover(&dir_args(&target), &|| build(&target), "dir");
}

#[test]
fn s3_server_killed_mid_publish() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start();
    let args = s3_args(&server);
    let small = bundle(tmp.path(), "small", &spec_of(&["web"], &[]));
    let mut names: Vec<String> = (0..400).map(|i| format!("app{i:04}")).collect();
    names.push("web".into());
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let big = bundle(tmp.path(), "big", &spec_of(&refs, &[]));
    ok(publish(&small, &args, &[]));
    let want_small = expected(&small);

    let child =
        nixflux().arg("publish").arg(&big).args(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // Kill the server once some of the new files have arrived.
    let objects = server.root.join("flux/home/objects");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&objects).map(|d| d.count()).unwrap_or(0) < 30 {
        assert!(Instant::now() < deadline, "the upload never got going");
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        panic!("the publish finished before the server was killed; make the bundle bigger");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&server.endpoint()), "the error names the endpoint: {err}");

    server.restart();
    assert_eq!(s3_view(&server), Some(want_small), "the old generation is live and whole after the server died");
    ok(publish(&big, &args, &["--allow-prune"]));
    // 2,400 objects take kustomize minutes to build: compare the files a
    // reader downloads with the bundle's instead, byte for byte.
    let dest = tempfile::tempdir().unwrap();
    assert!(server.download(PREFIX, dest.path()));
    let pointer = std::fs::read(dest.path().join("kustomization.yaml")).unwrap();
    let listed = nixflux::bundle::read::listed_resources(&pointer).unwrap();
    let bundle = nixflux::bundle::Bundle::read(&big).unwrap();
    assert_eq!(listed, bundle.objects.iter().map(|f| f.path.clone()).collect::<Vec<_>>());
    for f in &bundle.objects {
        assert_eq!(std::fs::read(dest.path().join(&f.path)).unwrap(), f.content, "{} differs", f.path);
    }
}

fn live_generation(args: &[String]) -> u64 {
    let h = nixflux().arg("history").args(args).args(["--output", "json"]).output().unwrap();
    let h: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    h["live"].as_u64().unwrap()
}

/// Two publishers started together, six times. With `enforced` (a server
/// that enforces conditional writes), no update is lost: the live
/// generation goes up by exactly the number of publishers that succeeded
/// (two only when one finished before the other began); a loser says why.
fn concurrent_publishers(args: &[String], view: &dyn Fn() -> Option<Vec<String>>, enforced: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_bundles(tmp.path());
    let base = bundle(tmp.path(), "base", &spec_of(&["app0", "app1", "app2", "app3", "app4", "app5", "app6"], &[]));
    let (want_a, want_b) = (expected(&a), expected(&b));
    let mut losers = 0;
    for _ in 0..6 {
        ok(publish(&base, args, &["--allow-prune"]));
        let before = live_generation(args);
        let spawn = |bundle: &Path| {
            Command::new(env!("CARGO_BIN_EXE_nixflux"))
                .arg("publish")
                .arg(bundle)
                .args(args)
                .arg("--allow-prune")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (pa, pb) = (spawn(&a), spawn(&b));
        let (ra, rb) = (pa.wait_with_output().unwrap(), pb.wait_with_output().unwrap());
        assert!(ra.status.success() || rb.status.success(), "neither publisher succeeded");
        for r in [&ra, &rb] {
            if !r.status.success() {
                losers += 1;
                let err = String::from_utf8_lossy(&r.stderr);
                assert!(
                    err.contains("another publisher holds the lease")
                        || err.contains("changed while publishing")
                        || err.contains("was taken over"),
                    "the loser's error does not say why: {err}"
                );
                assert_eq!(r.status.code(), Some(1));
            }
        }
        if enforced {
            // No lost update: every publisher that reports success switched
            // from the generation the other left (both win only when one
            // finished before the other began), and none switched from a
            // stale pointer, which would leave fewer generations than winners.
            let winners = [&ra, &rb].iter().filter(|r| r.status.success()).count() as u64;
            assert_eq!(
                live_generation(args),
                before + winners,
                "with enforced conditions each winner adds one generation"
            );
        }
        let seen = view();
        assert!(
            seen == Some(want_a.clone()) || seen == Some(want_b.clone()),
            "after two publishers the target is neither bundle"
        );
    }
    eprintln!("{losers} of 12 publishers lost a race");
}

#[test]
fn s3_concurrent_publishers_never_mix() {
    let server = Server::start();
    concurrent_publishers(&s3_args(&server), &|| s3_view(&server), false);
}

#[test]
fn moto_concurrent_publishers_never_lose_an_update() {
    let server = Server::enforcing();
    concurrent_publishers(&s3_args(&server), &|| s3_view(&server), true);
}

#[test]
fn dir_concurrent_publishers_never_mix() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    concurrent_publishers(&dir_args(&target), &|| build(&target), false);
}

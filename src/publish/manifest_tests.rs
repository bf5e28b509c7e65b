//! The live record's manifest standing in for a listing of every object
//! file (see `manifest.rs`): exact while only nixflux writes, and set
//! aside (the target listed whole) whenever something else may have.

use std::collections::BTreeSet;

use super::generation::{parse_record_key, record_key, OBJECTS_PREFIX};
use super::options::Options;
use super::state::{bucket_ignore, flux_revision, load_record};
use super::target::memory::MemoryTarget;
use super::target::Target;
use super::tests::{bundle, object_files, put};
use crate::flux::revision::DEFAULT_BUCKET_IGNORE;

/// The revision Flux computes from a real listing now.
async fn real_revision(target: &MemoryTarget) -> String {
    let ignore = bucket_ignore(target, DEFAULT_BUCKET_IGNORE).await;
    flux_revision(target, &target.list().await.unwrap(), &ignore)
}

/// The object files the retained records list.
async fn retained_files(target: &MemoryTarget) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for n in target.keys().iter().filter_map(|k| parse_record_key(k)) {
        let record = load_record(target, n).await.unwrap().unwrap();
        out.extend(record.files.iter().map(|f| f.path.to_string()));
    }
    out
}

#[tokio::test]
async fn one_app_changes_list_no_object_files_and_keep_the_target_exact() {
    let target = MemoryTarget::new();
    let opts = Options { keep: 3, ..Options::default() };
    put(&target, &bundle(&[("a", 1), ("b", 1), ("c", 1)]), &opts).await.unwrap();
    let versions: [&[(&str, i64)]; 7] = [
        &[("a", 2), ("b", 1), ("c", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 1), ("b", 2), ("c", 1)],
        &[("a", 1), ("b", 2)],
        &[("a", 1), ("b", 2), ("d", 1)],
        &[("a", 3), ("b", 2), ("d", 1)],
        &[("a", 1), ("b", 1), ("c", 1)],
    ];
    for (i, apps) in versions.iter().enumerate() {
        let listings = target.full_listings();
        let report = put(&target, &bundle(apps), &opts).await.unwrap();
        let generation = i as u64 + 2;
        assert_eq!(report.generation_after, Some(generation));
        assert_eq!(target.full_listings(), listings, "generation {generation} listed the whole target");
        // The revision it printed is the one a real listing gives.
        assert_eq!(report.flux_revision.as_deref(), Some(real_revision(&target).await.as_str()));
        // Exactly the retained generations' files are there, and their records.
        assert_eq!(object_files(&target), retained_files(&target).await, "generation {generation}");
        let records: Vec<u64> = target.keys().iter().filter_map(|k| parse_record_key(k)).collect();
        let oldest = generation.saturating_sub(2).max(1);
        assert_eq!(records, (oldest..=generation).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_failed_publish_sends_the_next_to_a_whole_listing_that_collects_its_files() {
    let target = MemoryTarget::new();
    let opts = Options::default();
    put(&target, &bundle(&[("a", 1), ("b", 1)]), &opts).await.unwrap();
    // What a publish that failed after its record leaves: the record of a
    // generation that never went live, and a file no record the live one
    // knows lists.
    let orphan = format!("{OBJECTS_PREFIX}{}.yaml", "0".repeat(64));
    target.set(&orphan, Some(b"kind: ConfigMap\n".to_vec()));
    target.set(&record_key(2), Some(b"{\"formatVersion\": 2, \"gener".to_vec()));
    let listings = target.full_listings();
    let report = put(&target, &bundle(&[("a", 2), ("b", 1)]), &opts).await.unwrap();
    assert!(target.full_listings() > listings, "the target was listed whole");
    assert!(!object_files(&target).contains(&orphan), "the orphan was collected");
    assert_eq!(report.flux_revision.as_deref(), Some(real_revision(&target).await.as_str()));
    // And the next one trusts the manifest again.
    let listings = target.full_listings();
    put(&target, &bundle(&[("a", 3), ("b", 1)]), &opts).await.unwrap();
    assert_eq!(target.full_listings(), listings);
}

#[tokio::test]
async fn keys_nixflux_did_not_write_send_the_publish_to_a_whole_listing() {
    let target = MemoryTarget::new();
    let opts = Options::default();
    put(&target, &bundle(&[("a", 1), ("b", 1)]), &opts).await.unwrap();
    // A file someone put below the prefix: Flux hashes it into its revision.
    target.set("extra/notes.yaml", Some(b"a: 1\n".to_vec()));
    let listings = target.full_listings();
    let report = put(&target, &bundle(&[("a", 2), ("b", 1)]), &opts).await.unwrap();
    assert!(target.full_listings() > listings);
    assert_eq!(report.flux_revision.as_deref(), Some(real_revision(&target).await.as_str()));
    // A key at the root is seen by the root's own listing, without a whole one.
    target.set("README.md", Some(b"hello\n".to_vec()));
    let listings = target.full_listings();
    let report = put(&target, &bundle(&[("a", 3), ("b", 1)]), &opts).await.unwrap();
    assert!(target.full_listings() > listings, "`extra/` is still there");
    assert_eq!(report.flux_revision.as_deref(), Some(real_revision(&target).await.as_str()));
    target.set("extra/notes.yaml", None);
    let listings = target.full_listings();
    let report = put(&target, &bundle(&[("a", 4), ("b", 1)]), &opts).await.unwrap();
    assert_eq!(target.full_listings(), listings);
    assert_eq!(report.flux_revision.as_deref(), Some(real_revision(&target).await.as_str()));
}

#[tokio::test]
async fn a_format_1_record_is_read_and_the_next_record_has_a_manifest() {
    let target = MemoryTarget::new();
    let opts = Options::default();
    let first = bundle(&[("a", 1), ("b", 1)]);
    put(&target, &first, &opts).await.unwrap();
    // The record as nixflux wrote it before format 2: the whole index.
    let now = load_record(&target, 1).await.unwrap().unwrap();
    let v1 = serde_json::json!({
        "formatVersion": 1,
        "generation": 1,
        "bundleDigest": now.bundle_digest,
        "publishedAt": now.published_at,
        "publisher": now.publisher,
        "nixfluxVersion": now.nixflux_version,
        "source": now.source,
        "changes": now.changes,
        "bundle": first.index,
    });
    target.set(&record_key(1), Some(v1.to_string().into_bytes()));
    let read = load_record(&target, 1).await.unwrap().unwrap();
    let shape = |r: &super::record::Record| -> Vec<(String, usize, String)> {
        r.files.iter().map(|f| (f.path.to_string(), f.objects, f.objects_sha256.clone())).collect()
    };
    assert_eq!(shape(&read), shape(&now), "format 1 files read as format 2 lists them");
    assert!(read.held.is_none());
    let listings = target.full_listings();
    let report = put(&target, &bundle(&[("a", 2), ("b", 1)]), &opts).await.unwrap();
    assert!(target.full_listings() > listings, "no manifest: listed whole");
    assert_eq!(report.changes.changed.len(), 1, "{:?}", report.changes);
    assert!(load_record(&target, 2).await.unwrap().unwrap().held.is_some());
}

//! The protocol, the guard, the plan and garbage collection on the
//! in-memory target, where every state can be set up and inspected.

use std::collections::BTreeSet;

use super::desired::Desired;
use super::generation::{parse_record_key, Source, POINTER_KEY};
use super::options::Options;
use super::plan::guard;
use super::progress::Silent;
use super::protocol::{publish, Report};
use super::record::Record;
use super::state::State;
use super::target::memory::MemoryTarget;
use super::PublishError;
use crate::bundle::{spec_digest, Bundle};

/// A bundle of simple apps, each with its replica count.
pub(super) fn bundle(apps: &[(&str, i64)]) -> Bundle {
    let mut map = serde_json::Map::new();
    for (name, replicas) in apps {
        map.insert(
            (*name).to_owned(),
            serde_json::json!({
                "image": "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-hello.tar",
                "port": 8080,
                "replicas": replicas,
            }),
        );
    }
    let value = serde_json::json!({ "apiVersion": "nixflux/v1alpha1", "apps": map });
    let spec = crate::spec::parse(&value.to_string(), "test").unwrap();
    let rendered = crate::render::render(&spec).unwrap();
    Bundle::build(&rendered, spec_digest(&value))
}

pub(super) fn source() -> Source {
    Source { bundle_path: None, store_path: None, nar_hash: None, rollback_of: None }
}

pub(super) async fn put(target: &MemoryTarget, bundle: &Bundle, opts: &Options) -> Result<Report, PublishError> {
    publish(target, Desired::Bundle { bundle: Box::new(bundle.clone()), source: source() }, opts, &Silent).await
}

pub(super) fn files_of(bundle: &Bundle) -> BTreeSet<String> {
    bundle.objects.iter().map(|f| f.path.clone()).collect()
}

pub(super) fn object_files(target: &MemoryTarget) -> BTreeSet<String> {
    target.keys().into_iter().filter(|k| k.starts_with("objects/")).collect()
}

#[test]
fn guard_refuses_from_just_over_the_limit() {
    let opts = Options { max_prune_percent: 50, ..Options::default() };
    // 5 of 10 is exactly the limit; 6 is over.
    assert!(guard("t", 10, 5, 5, &opts).is_ok());
    assert!(matches!(
        guard("t", 10, 4, 6, &opts),
        Err(PublishError::Prune { removed: 6, live: 10, percent: 60, max: 50, .. })
    ));
    // 1 of 3 is 33%: over a limit of 33, under 34.
    assert!(guard("t", 3, 2, 1, &Options { max_prune_percent: 33, ..Options::default() }).is_err());
    assert!(guard("t", 3, 2, 1, &Options { max_prune_percent: 34, ..Options::default() }).is_ok());
    // A limit of 0 refuses any removal; 100 refuses none.
    assert!(guard("t", 10, 9, 1, &Options { max_prune_percent: 0, ..Options::default() }).is_err());
    assert!(guard("t", 10, 1, 10, &Options { max_prune_percent: 100, ..Options::default() }).is_ok());
    assert!(guard("t", 10, 4, 6, &Options { allow_prune: true, ..opts.clone() }).is_ok());
    // Nothing live: nothing to protect.
    assert!(guard("t", 0, 3, 0, &opts).is_ok());
    // An empty generation is refused whatever the share, unless allowed.
    assert!(matches!(guard("t", 0, 0, 0, &opts), Err(PublishError::Empty { .. })));
    assert!(matches!(
        guard("t", 10, 0, 10, &Options { allow_prune: true, ..opts.clone() }),
        Err(PublishError::Empty { .. })
    ));
    assert!(guard("t", 10, 0, 10, &Options { allow_empty: true, ..opts.clone() }).is_ok());
}

#[tokio::test]
async fn plan_reports_added_changed_and_removed_objects() {
    let target = MemoryTarget::new();
    let opts = Options::default();
    put(&target, &bundle(&[("a", 1), ("b", 1), ("c", 1)]), &opts).await.unwrap();
    // b changes (replicas), c goes, d comes.
    let next = bundle(&[("a", 1), ("b", 2), ("d", 1)]);
    let dry = put(&target, &next, &Options { dry_run: true, allow_prune: true, ..opts.clone() }).await.unwrap();
    // Every object of an app lives in its namespace, or is that namespace.
    let of_app = |ids: &[crate::object::ObjectId], app: &str| {
        !ids.is_empty() && ids.iter().all(|i| i.namespace.as_deref().unwrap_or(&i.name) == app)
    };
    assert_eq!(dry.changes.changed.len(), 1, "{:?}", dry.changes);
    assert_eq!(dry.changes.changed[0].kind, "Deployment");
    assert_eq!(dry.changes.changed[0].namespace.as_deref(), Some("b"));
    assert!(of_app(&dry.changes.added, "d"), "{:?}", dry.changes.added);
    assert!(of_app(&dry.changes.removed, "c"), "{:?}", dry.changes.removed);
    assert_eq!(dry.changes.added.len(), dry.changes.removed.len());
    // The files to upload are those of b and d (a's file is already there).
    let have = object_files(&target);
    let want: BTreeSet<String> = files_of(&next).difference(&have).cloned().collect();
    assert_eq!(dry.files_uploaded, want.len());
    assert_eq!(want.len(), 2);
    // A dry run writes nothing.
    assert_eq!(object_files(&target), have);

    let done = put(&target, &next, &Options { allow_prune: true, ..opts }).await.unwrap();
    assert_eq!(done.changes, dry.changes);
    assert_eq!(done.generation_after, Some(2));
    assert_eq!(done.files_uploaded, 2);
}

#[tokio::test]
async fn gc_keeps_exactly_the_retained_generations_files() {
    let target = MemoryTarget::new();
    let keep = 3;
    let opts = Options { keep, allow_prune: true, ..Options::default() };
    let bundles: Vec<Bundle> = (1..=6).map(|r| bundle(&[("shared", 1), ("moving", r)])).collect();
    for (i, b) in bundles.iter().enumerate() {
        let report = put(&target, b, &opts).await.unwrap();
        assert_eq!(report.generation_after, Some(i as u64 + 1));
        // After each publish: exactly the files of the last `keep` generations.
        let first = (i + 1).saturating_sub(keep);
        let want: BTreeSet<String> = bundles[first..=i].iter().flat_map(files_of).collect();
        assert_eq!(object_files(&target), want, "after generation {}", i + 1);
        let records: Vec<u64> = target.keys().iter().filter_map(|k| parse_record_key(k)).collect();
        assert_eq!(records, ((first as u64 + 1)..=(i as u64 + 1)).collect::<Vec<_>>());
    }
    // The shared app's file is one file, kept throughout.
    let shared: BTreeSet<String> = bundles.iter().map(files_of).reduce(|a, b| &a & &b).unwrap();
    assert_eq!(shared.len(), 1);
    assert!(object_files(&target).is_superset(&shared));
}

#[tokio::test]
async fn gc_keeps_everything_when_a_retained_record_is_unreadable() {
    let target = MemoryTarget::new();
    let opts = Options { keep: 2, allow_prune: true, ..Options::default() };
    put(&target, &bundle(&[("a", 1)]), &opts).await.unwrap();
    put(&target, &bundle(&[("a", 2)]), &opts).await.unwrap();
    let before = object_files(&target);
    target.set("generations/00000002.json", Some(b"{".to_vec()));
    let r = put(&target, &bundle(&[("a", 3)]), &opts).await.unwrap();
    assert_eq!(r.objects_deleted, 0);
    assert!(object_files(&target).is_superset(&before));
}

#[tokio::test]
async fn a_switch_against_a_moved_pointer_is_refused() {
    let target = MemoryTarget::new();
    let opts = Options::default();
    put(&target, &bundle(&[("a", 1)]), &opts).await.unwrap();
    let state = State::load(&target).await.unwrap();
    let live: &Record = state.live.as_ref().unwrap();
    assert_eq!(live.generation, 1);
    // The in-memory target enforces conditions: a put against an old ETag fails.
    let old = state.pointer.unwrap().etag;
    put(&target, &bundle(&[("a", 2)]), &opts).await.unwrap();
    let cond = super::target::Condition::IfMatch(old);
    use super::target::Target;
    assert!(target.put(POINTER_KEY, b"{}", &cond).await.is_err());
}

#[tokio::test]
async fn publishing_the_live_bundle_writes_nothing() {
    let target = MemoryTarget::new();
    let b = bundle(&[("a", 1)]);
    put(&target, &b, &Options::default()).await.unwrap();
    let contents = || -> Vec<(String, Option<Vec<u8>>)> {
        target.keys().into_iter().map(|k| (k.clone(), target.read(&k))).collect()
    };
    let before = contents();
    let r = put(&target, &b, &Options::default()).await.unwrap();
    assert!(r.unchanged);
    let after = contents();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_publish_replacing_a_rollback_says_which_generation_it_restored() {
    let target = MemoryTarget::new();
    let opts = Options::default();
    let configured = bundle(&[("a", 2)]);
    put(&target, &bundle(&[("a", 1)]), &opts).await.unwrap();
    let second = put(&target, &configured, &opts).await.unwrap();
    assert_eq!(second.replaced_rollback_of, None, "generation 1 was no rollback");
    // A CLI rollback to generation 1 makes generation 3.
    let back = super::history::rollback_target(&target, None).await.unwrap();
    let rolled = publish(&target, back, &opts, &Silent).await.unwrap();
    assert_eq!(rolled.generation_after, Some(3));
    assert_eq!(rolled.replaced_rollback_of, None, "a rollback replaces no rollback");
    // The configured bundle again (the next boot or switch): a dry run and the publish say so.
    let dry = put(&target, &configured, &Options { dry_run: true, ..opts.clone() }).await.unwrap();
    assert_eq!((dry.generation_before, dry.replaced_rollback_of), (Some(3), Some(1)));
    let again = put(&target, &configured, &opts).await.unwrap();
    assert_eq!(
        (again.generation_before, again.generation_after, again.replaced_rollback_of),
        (Some(3), Some(4), Some(1))
    );
    let json = serde_json::to_value(&again).unwrap();
    assert_eq!(json["replacedRollbackOf"], 1);
    // Generation 4 is no rollback: the next publish replaces none.
    let next = put(&target, &bundle(&[("a", 3)]), &opts).await.unwrap();
    assert_eq!(next.replaced_rollback_of, None);
    assert!(serde_json::to_value(&next).unwrap().get("replacedRollbackOf").is_none());
}

/// The objects Flux would build from the target now, or `None` when it
/// cannot build them (worked out here independently of `State`).
async fn flux_view(target: &MemoryTarget) -> Option<BTreeSet<String>> {
    use super::generation::Pointer;
    let Some(pointer) = target.read(POINTER_KEY) else {
        return target.keys().iter().all(|k| !k.starts_with("objects/")).then(BTreeSet::new);
    };
    let pointer = Pointer::parse(&pointer).ok()?;
    let mut ids = BTreeSet::new();
    for r in &pointer.resources {
        let bytes = target.read(r)?;
        if !r.contains(&crate::bundle::sha256_hex(&bytes)) {
            return None;
        }
        ids.extend(crate::bundle::verify::objects_of(&bytes).ok()?.into_iter().map(|o| o.id.inventory_id()));
    }
    Some(ids)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 40, ..Default::default() })]

    /// Whatever damage the target suffers, a publish that would remove most
    /// of what Flux applies is refused, unless the target was empty to Flux.
    #[test]
    fn damaged_targets_never_let_a_big_removal_through(
        damage in proptest::collection::vec((0usize..64, 0u8..5), 0..5)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let target = MemoryTarget::new();
            let opts = Options::default();
            put(&target, &bundle(&[("a", 1), ("b", 1), ("c", 1), ("d", 1)]), &opts).await.unwrap();
            put(&target, &bundle(&[("a", 2), ("b", 1), ("c", 1), ("d", 1)]), &opts).await.unwrap();
            let keys = target.keys();
            for (i, op) in &damage {
                let key = &keys[i % keys.len()];
                let bytes = target.read(key).unwrap_or_default();
                match op {
                    0 => target.set(key, None),
                    1 => target.set(key, Some(bytes[..bytes.len() / 2].to_vec())),
                    2 => target.set(key, Some(b"kind: [".to_vec())),
                    3 => target.set(key, target.read(&keys[(i + 1) % keys.len()])),
                    _ => target.set(&format!("generations/{:08}.json", i % 4), Some(bytes)),
                }
            }
            let view = flux_view(&target).await;
            let next = bundle(&[("z", 1)]);
            let result = put(&target, &next, &opts).await;
            if result.as_ref().is_ok_and(|r| !r.unchanged) {
                let live = view.expect("a publish went through although Flux's view is unknown");
                let new: BTreeSet<String> =
                    next.index.files.iter().flat_map(|f| f.objects.iter().map(|o| o.id.inventory_id())).collect();
                let pruned = live.difference(&new).count();
                assert!(pruned * 2 <= live.len(), "Flux prunes {pruned} of its {} objects: {damage:?}", live.len());
            }
        });
    }
}

#[tokio::test]
async fn children_are_targets_of_their_own_under_the_root() {
    use super::target::Target;
    let root = MemoryTarget::new();
    root.set(".sourceignore", Some(b"*.md\n".to_vec()));
    let (a, b) = (root.child("crds"), root.child("apps"));
    assert_eq!((a.key_prefix(), b.child("x").key_prefix()), ("crds/", "apps/x/"));
    put(&a, &bundle(&[("web", 1)]), &Options::default()).await.unwrap();
    put(&b, &bundle(&[("api", 1), ("db", 1)]), &Options::default()).await.unwrap();
    // Each has its own pointer, generations and objects, under its name.
    assert!(root.read(&format!("crds/{POINTER_KEY}")).is_some() && root.read(&format!("apps/{POINTER_KEY}")).is_some());
    assert!(root.read(POINTER_KEY).is_none(), "the root holds no generation");
    let state = State::load(&b).await.unwrap();
    assert_eq!(
        (state.generation(), state.live_object_count()),
        (Some(1), bundle(&[("api", 1), ("db", 1)]).object_count())
    );
    assert!(a.list().await.unwrap().iter().all(|o| !o.key.starts_with("crds/") && !o.key.starts_with("apps/")));
    // The bucket's root stays the root: Flux reads `.sourceignore` there.
    assert_eq!(a.get_at_root(".sourceignore").await.unwrap().unwrap().bytes, b"*.md\n");
    assert!(a.get(".sourceignore").await.unwrap().is_none());
    // A publish to one leaves the other alone.
    let before = b.list().await.unwrap();
    put(&a, &bundle(&[("web", 2)]), &Options::default()).await.unwrap();
    assert_eq!(b.list().await.unwrap(), before);
}

#[tokio::test]
async fn verify_repairs_a_damaged_live_generation_that_a_small_change_trusts() {
    use super::target::Target;
    let target = MemoryTarget::new();
    let opts = Options::default();
    let first = bundle(&[("a", 1), ("b", 1), ("c", 1)]);
    put(&target, &first, &opts).await.unwrap();
    // Someone deletes a file of the live generation that the next one keeps.
    let second = bundle(&[("a", 2), ("b", 1), ("c", 1)]);
    let kept: Vec<String> = files_of(&first).intersection(&files_of(&second)).cloned().collect();
    assert!(!kept.is_empty());
    target.delete(&kept[0]).await.unwrap();
    // One app changed: the live record's manifest says what the target
    // holds, so only the changed file goes out (the loss is not seen).
    let report = put(&target, &second, &opts).await.unwrap();
    assert_eq!(report.files_uploaded, 1, "the changed file");
    assert!(!object_files(&target).contains(&kept[0]));
    // With `verify`, the target is listed whole and the lost file uploaded.
    let third = bundle(&[("a", 3), ("b", 1), ("c", 1)]);
    let verify = Options { verify: true, ..Options::default() };
    let report = put(&target, &third, &verify).await.unwrap();
    assert_eq!(report.files_uploaded, 2, "the changed file and the lost one");
    assert!(files_of(&third).is_subset(&object_files(&target)));
    let state = State::load(&target).await.unwrap();
    assert_eq!(state.live.unwrap().generation, 3);
}

#[tokio::test]
async fn a_listing_showing_another_lease_is_taken_again_under_ours() {
    use super::target::{Condition, Target};
    let target = MemoryTarget::new();
    let opts = Options::default();
    put(&target, &bundle(&[("a", 1), ("b", 1)]), &opts).await.unwrap();
    // A stale lease of a dead publisher: taken over, so the early listing
    // (which saw it) is not trusted and the target is listed again.
    let stale = serde_json::json!({
        "owner": "dead", "host": "h", "pid": 1, "acquiredAt": "2020-01-01T00:00:00Z", "expiresAtUnix": 0
    });
    target.put(super::generation::LEASE_KEY, stale.to_string().as_bytes(), &Condition::None).await.unwrap();
    let next = bundle(&[("a", 2), ("b", 1)]);
    let report = put(&target, &next, &opts).await.unwrap();
    assert_eq!(report.files_uploaded, 1);
    assert!(files_of(&next).is_subset(&object_files(&target)));
    assert!(!target.keys().contains(&super::generation::LEASE_KEY.to_owned()), "the lease is released");
}

#[tokio::test]
async fn a_bulk_upload_leaves_a_record_that_knows_every_files_etag() {
    // The record goes out before the files; after 16 uploads or more it is
    // written again with the ETags the target answered, so that the next
    // publish need not ask for each file.
    let target = MemoryTarget::new();
    let apps: Vec<(String, i64)> = (0..20).map(|i| (format!("app{i:02}"), 1)).collect();
    let apps: Vec<(&str, i64)> = apps.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let b = bundle(&apps);
    put(&target, &b, &Options::default()).await.unwrap();
    let record = Record::parse(&target.read("generations/00000001.json").unwrap()).unwrap();
    assert_eq!(record.files.len(), 20);
    for f in &record.files {
        let bytes = target.read(f.path.as_str()).unwrap();
        assert_eq!(f.etag.as_deref(), Some(super::target::dir::md5_hex(&bytes).as_str()), "{}", f.path);
        assert_eq!(f.size, bytes.len() as u64);
    }
    // A small change keeps the record as first written: the new file's ETag
    // is learnt by the next publish.
    let mut changed = apps.clone();
    changed[0].1 = 2;
    put(&target, &bundle(&changed), &Options::default()).await.unwrap();
    let record = Record::parse(&target.read("generations/00000002.json").unwrap()).unwrap();
    assert_eq!(record.files.iter().filter(|f| f.etag.is_none()).count(), 1);
}

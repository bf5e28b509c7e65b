//! The revision a Flux Bucket source reports (`status.artifact.revision`)
//! for a listing, computed exactly as source-controller does, so that a
//! publish can say which revision Flux will apply and `--wait` can wait
//! for exactly that one.
//!
//! source-controller (`internal/controller/bucket_controller.go`,
//! `fetchEtagIndex`) reads the ignore rules from the object `.sourceignore`
//! at the root of the bucket (not below `spec.prefix`), then the Bucket's
//! `spec.ignore`, which takes precedence; no default patterns apply to a
//! Bucket. It lists every object below `spec.prefix` (full keys, the prefix
//! kept), skips keys ending in `/` and the key `.sourceignore` itself, and
//! skips keys the rules ignore (matched split at `/`, as files). The
//! revision (`internal/index/digest.go`) is `sha256:` and the hex SHA-256
//! of `"<key> <etag>\n"` for each remaining object, sorted by key, ETags as
//! listed without their quotes.
//!
//! One thing Flux does that a listing cannot: it downloads each object
//! after a HEAD and keeps the ETag the HEAD returned, so an object that
//! changed (or vanished) between its listing and its download changes the
//! revision Flux reports. After a publish nothing changes, so the listing
//! taken then gives Flux's revision.

use super::ignore::Ignore;
use crate::bundle::Sha256Digest;
use crate::publish::target::ObjectInfo;

/// The key of the ignore file source-controller reads, at the bucket root.
pub const SOURCEIGNORE_KEY: &str = ".sourceignore";

/// The `spec.ignore` nixflux renders for a Bucket (`bootstrap::BUCKET_IGNORE`
/// says why each line is there).
pub const DEFAULT_BUCKET_IGNORE: &str = super::bootstrap::BUCKET_IGNORE;

/// The rules of one Bucket: the bucket root's `.sourceignore` (its bytes,
/// when the object exists), then `spec.ignore` (`None` when unset; unset
/// and empty are the same to Flux).
pub fn bucket_ignore(sourceignore: Option<&[u8]>, spec_ignore: Option<&str>) -> Ignore {
    let file = sourceignore.map(Ignore::parse).unwrap_or_default();
    file.then(spec_ignore.map(|s| Ignore::parse(s.as_bytes())).unwrap_or_default())
}

/// Whether source-controller puts the object with this full key into the
/// Bucket's index.
pub fn is_indexed(full_key: &str, ignore: &Ignore) -> bool {
    !full_key.ends_with('/') && full_key != SOURCEIGNORE_KEY && !ignore.is_ignored_key(full_key)
}

/// The index source-controller hashes: `"<key> <etag>\n"` per indexed
/// object, sorted by key. `listing` keys are relative to the target root;
/// `prefix` (the Bucket's `spec.prefix`, the target's key prefix) is put in
/// front of each, as Flux sees them. A key listed twice counts once, with
/// its last ETag, as in Flux's map.
pub fn bucket_index(prefix: &str, listing: &[ObjectInfo], ignore: &Ignore) -> String {
    let mut entries: Vec<(&str, &str)> = listing.iter().map(|o| (o.key.as_str(), o.etag.as_str())).collect();
    // Stable: of a key listed twice, the later ETag stays later.
    entries.sort_by(|a, b| a.0.cmp(b.0));
    index_of_sorted(prefix, &entries, ignore)
}

/// `bucket_index` of (key, ETag) pairs already sorted by key. A common
/// prefix keeps the order, so the keys are sorted without it.
pub fn index_of_sorted(prefix: &str, entries: &[(&str, &str)], ignore: &Ignore) -> String {
    let mut out = String::with_capacity(entries.len() * (prefix.len() + 120));
    let mut key = String::with_capacity(prefix.len() + 96);
    for (i, (relative, etag)) in entries.iter().enumerate() {
        if entries.get(i + 1).is_some_and(|next| next.0 == *relative) {
            continue;
        }
        key.clear();
        key.push_str(prefix);
        key.push_str(relative);
        if is_indexed(&key, ignore) {
            out.push_str(&key);
            out.push(' ');
            out.push_str(etag);
            out.push('\n');
        }
    }
    out
}

/// The revision a Bucket with these rules reports for this listing.
pub fn bucket_revision(prefix: &str, listing: &[ObjectInfo], ignore: &Ignore) -> Sha256Digest {
    Sha256Digest::of(bucket_index(prefix, listing, ignore).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(entries: &[(&str, &str)]) -> Vec<ObjectInfo> {
        entries.iter().map(|(k, e)| ObjectInfo { key: (*k).into(), etag: (*e).into(), size: 1 }).collect()
    }

    // The ETags are MD5s of short strings; their values do not matter.
    const POINTER: (&str, &str) = ("kustomization.yaml", "9e107d9d372bb6826bd81d3542a419d6");
    const OBJECT: (&str, &str) = ("objects/a.yaml", "0cc175b9c0f1b6a831c399e269772661");
    const RECORD: (&str, &str) = ("generations/1.json", "e4d909c290d0fb1ca068ffaddf22cbd0");
    const LEASE: (&str, &str) = ("nixflux.lock", "d41d8cd98f00b204e9800998ecf8427e");

    fn bucket() -> Vec<ObjectInfo> {
        // Out of order on purpose: Flux sorts.
        listing(&[OBJECT, LEASE, POINTER, RECORD])
    }

    fn rev(prefix: &str, l: &[ObjectInfo], sourceignore: Option<&str>, spec: Option<&str>) -> String {
        bucket_revision(prefix, l, &bucket_ignore(sourceignore.map(str::as_bytes), spec)).to_string()
    }

    // Each expected value below was computed from the definition with
    // coreutils, independently of this code: `printf 'LINES' | sha256sum`,
    // with the lines shown in the comment.

    #[test]
    fn empty_bucket() {
        // printf '' | sha256sum
        let want = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(rev("home/", &[], None, None), want);
        assert_eq!(rev("home/", &bucket(), None, Some("*")), want, "everything ignored");
    }

    #[test]
    fn everything_listed_without_rules() {
        // printf 'home/generations/1.json e4d9...\nhome/kustomization.yaml 9e10...\n
        //         home/nixflux.lock d41d...\nhome/objects/a.yaml 0cc1...\n' | sha256sum
        let want = "sha256:0a364504fca9aa9e13b6da88d64d80888d21602328ff5b69b9899180e7d430e7";
        assert_eq!(rev("home/", &bucket(), None, None), want);
        assert_eq!(rev("home/", &bucket(), None, Some("")), want, "empty is unset");
        assert_eq!(rev("home/", &bucket(), Some("# nothing\n\n"), Some("# only comments")), want);
    }

    #[test]
    fn default_ignore_leaves_out_records_and_lease() {
        // printf 'home/kustomization.yaml 9e10...\nhome/objects/a.yaml 0cc1...\n' | sha256sum
        let want = "sha256:b533c0bda342af66e88b636ee5ef679c084b46f386f869a09c5b007c5d156877";
        assert_eq!(rev("home/", &bucket(), None, Some(DEFAULT_BUCKET_IGNORE)), want);
        // The same rules from the bucket's `.sourceignore`.
        assert_eq!(rev("home/", &bucket(), Some(DEFAULT_BUCKET_IGNORE), None), want);
        // A pointer-only publish (no lease, no record) is the same revision.
        assert_eq!(rev("home/", &listing(&[POINTER, OBJECT]), None, Some(DEFAULT_BUCKET_IGNORE)), want);
    }

    #[test]
    fn spec_ignore_takes_precedence_over_sourceignore() {
        // printf 'home/objects/a.yaml 0cc1...\n' | sha256sum
        let want = "sha256:a76c89f366cac143ec1f153fe59085854734bc7bc7bada7c470090649a02f8d9";
        let spec = format!("{DEFAULT_BUCKET_IGNORE}kustomization.yaml\n");
        assert_eq!(rev("home/", &bucket(), Some("!kustomization.yaml"), Some(&spec)), want);
        // ... and the file's patterns apply where the spec says nothing.
        assert_eq!(rev("home/", &bucket(), Some("kustomization.yaml"), Some(DEFAULT_BUCKET_IGNORE)), want);
    }

    #[test]
    fn without_a_prefix_the_sourceignore_object_and_directory_markers_are_left_out() {
        // printf 'kustomization.yaml 9e10...\nobjects/a.yaml 0cc1...\n' | sha256sum
        let want = "sha256:8fd60cd3b44cd619e2a1e395ed37724239a70f8d8176aebeaa8b31ca506c58d2";
        let l = listing(&[OBJECT, (".sourceignore", "x"), ("objects/", "y"), POINTER, RECORD, LEASE]);
        assert_eq!(rev("", &l, None, Some(DEFAULT_BUCKET_IGNORE)), want);
    }

    #[test]
    fn a_sourceignore_below_the_prefix_is_an_ordinary_object() {
        // printf 'home/.sourceignore 202c...\nhome/kustomization.yaml 9e10...\n
        //         home/objects/a.yaml 0cc1...\n' | sha256sum
        let want = "sha256:4df903360321297180f08063e8422fa319c3aa854fa3e652b12c3edf7ba0e4ce";
        let mut l = bucket();
        l.push(ObjectInfo { key: ".sourceignore".into(), etag: "202cb962ac59075b964b07152d234b70".into(), size: 3 });
        assert_eq!(rev("home/", &l, None, Some(DEFAULT_BUCKET_IGNORE)), want);
    }

    #[test]
    fn patterns_see_the_prefix() {
        let anchored = "/generations/\n/nixflux.lock\n";
        let everything = rev("home/", &bucket(), None, None);
        assert_eq!(rev("home/", &bucket(), None, Some(anchored)), everything, "anchored at the bucket root");
        assert_ne!(rev("home/", &bucket(), None, Some("/home/generations/\n")), everything);
    }

    #[test]
    fn index_lines_and_duplicates() {
        let l = listing(&[("b", "2"), ("a", "1"), ("b", "3")]);
        assert_eq!(bucket_index("p/", &l, &Ignore::default()), "p/a 1\np/b 3\n");
    }
}

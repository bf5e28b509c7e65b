//! The Flux revision each generation went live with. A generation record
//! is written before the switch, and the revision Flux computes depends on
//! the listing after it (the new pointer's ETag, the objects garbage
//! collection removed), so the revision is noted afterwards, beside the
//! record: `generations/<n>.revision.json`. Flux's Bucket ignores
//! `generations/` (`flux::bootstrap::BUCKET_IGNORE`), so the note does not
//! change the revision it names; when the rules would index it, it is not
//! written. It lets `nixflux notify` say which retained generation a
//! failing revision is, not only whether it is the live one. Garbage
//! collection deletes a note with its record. Writing it is best effort:
//! a publish that could not note its revision has still published.

use serde::{Deserialize, Serialize};

use super::generation::GENERATIONS_PREFIX;
use super::target::{ObjectInfo, Target, TargetError};
use crate::flux::ignore::Ignore;
use crate::flux::revision::is_indexed;

const SUFFIX: &str = ".revision.json";

/// What a note holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevisionNote {
    pub generation: u64,
    pub flux_revision: String,
}

pub fn note_key(generation: u64) -> String {
    format!("{GENERATIONS_PREFIX}{generation:08}{SUFFIX}")
}

pub fn parse_note_key(key: &str) -> Option<u64> {
    key.strip_prefix(GENERATIONS_PREFIX)?.strip_suffix(SUFFIX)?.parse().ok()
}

/// Notes that `generation` went live as `revision` (a warning when it
/// cannot; nothing when Flux would index the note).
pub async fn note(target: &impl Target, generation: u64, revision: &str, ignore: &Ignore) {
    let key = note_key(generation);
    if is_indexed(&format!("{}{key}", target.key_prefix()), ignore) {
        tracing::debug!(key, "the Bucket's rules index `generations/`; the revision is not noted");
        return;
    }
    let note = RevisionNote { generation, flux_revision: revision.to_owned() };
    let written = match serde_json::to_vec(&note) {
        Ok(bytes) => target.put(&key, &bytes, &super::target::Condition::None).await,
        Err(e) => {
            tracing::warn!(error = %e, "could not encode the revision note");
            return;
        }
    };
    if let Err(e) = written {
        tracing::warn!(key, error = %e, "could not note the generation's Flux revision");
    }
}

/// The retained generation whose noted revision is `revision`, read from
/// the notes `listing` shows (newest first; an unreadable note is skipped).
pub async fn generation_of(
    target: &impl Target,
    listing: &[ObjectInfo],
    revision: &str,
) -> Result<Option<u64>, TargetError> {
    let mut noted: Vec<u64> = listing.iter().filter_map(|o| parse_note_key(&o.key)).collect();
    noted.sort_unstable_by(|a, b| b.cmp(a));
    for n in noted {
        let Some(fetched) = target.get(&note_key(n)).await? else { continue };
        match serde_json::from_slice::<RevisionNote>(&fetched.bytes) {
            Ok(note) if note.flux_revision == revision && note.generation == n => return Ok(Some(n)),
            Ok(_) => {}
            Err(e) => tracing::debug!(generation = n, error = %e, "skipping an unreadable revision note"),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::generation::parse_record_key;

    #[test]
    fn note_keys_are_not_record_keys() {
        assert_eq!(note_key(7), "generations/00000007.revision.json");
        assert_eq!(parse_note_key(&note_key(7)), Some(7));
        assert_eq!(parse_record_key(&note_key(7)), None);
        assert_eq!(parse_note_key("generations/00000007.json"), None);
    }
}

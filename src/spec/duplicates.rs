//! Duplicate keys in the spec's JSON. serde_json keeps the last of two equal
//! keys without a word, so two apps with the same name, or an `env` entry
//! written twice, would silently lose one of them. This pass walks the whole
//! document once before the typed parse and refuses the second occurrence of
//! a key in any object, naming the object's path, where the second key is
//! (serde_json adds the line and column to errors raised inside a visitor)
//! and the line of the first.
//!
//! It borrows keys from the input wherever it can (keys without escapes), so
//! it allocates little more than one small key list per object.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::problem::{JsonPath, Problem};

/// One step of the path from the document's root to the current value.
enum Step<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

/// The first duplicate found: the path of the object holding it, the key,
/// and the key's first occurrence (a slice of the input, when borrowed).
struct Found {
    object: JsonPath,
    key: String,
    first: Option<(usize, usize)>,
    second: Option<(usize, usize)>,
}

struct Walk<'a, 'de> {
    text: &'de str,
    path: &'a mut Vec<Step<'de>>,
    found: &'a mut Option<Found>,
}

/// Refuses the first duplicate key in `text`. Text that is not valid JSON is
/// left to the typed parse, which reports syntax errors with their place.
pub fn check(text: &str) -> Result<(), Problem> {
    let mut path = Vec::new();
    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let walk = Walk { text, path: &mut path, found: &mut found };
    match walk.deserialize(&mut de) {
        Ok(()) => Ok(()),
        Err(e) => match found {
            Some(f) => {
                let first = match f.first {
                    Some((line, column)) => format!(" (the first is at line {line}, column {column})"),
                    None => String::new(),
                };
                Err(Problem {
                    path: f.object,
                    // The opening quote of the second key where known, like the first.
                    position: f.second.or_else(|| (e.line() > 0).then(|| (e.line(), e.column()))),
                    message: format!("duplicate key `{}`{first}", f.key),
                    hint: Some("a JSON reader keeps only one of the two: remove or rename one of them".into()),
                })
            }
            None => Ok(()),
        },
    }
}

impl Walk<'_, '_> {
    fn json_path(&self) -> JsonPath {
        self.path.iter().fold(JsonPath::root(), |p, step| match step {
            Step::Key(k) => p.key(k),
            Step::Index(i) => p.index(*i),
        })
    }

    /// Line and column (1-based) of the opening quote of a key borrowed from the input.
    fn position_of(&self, key: &str) -> Option<(usize, usize)> {
        let start = self.text.as_ptr() as usize;
        let offset = (key.as_ptr() as usize).checked_sub(start)?.checked_sub(1)?;
        let before = self.text.get(..offset)?;
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Some((line, offset - line_start + 1))
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Objects with more keys than this are checked with a hash set.
const LINEAR: usize = 16;

impl<'de> Visitor<'de> for Walk<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            self.path.push(Step::Index(i));
            let more =
                seq.next_element_seed(Walk { text: self.text, path: &mut *self.path, found: &mut *self.found })?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys: Vec<Cow<'de, str>> = Vec::new();
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let first = match &many {
                Some(set) => set.get(&key),
                None => keys.iter().find(|k| **k == key),
            };
            if let Some(first) = first {
                let first = match first {
                    Cow::Borrowed(b) => self.position_of(b),
                    Cow::Owned(_) => None,
                };
                let second = match &key {
                    Cow::Borrowed(b) => self.position_of(b),
                    Cow::Owned(_) => None,
                };
                *self.found = Some(Found { object: self.json_path(), key: key.into_owned(), first, second });
                return Err(de::Error::custom("duplicate key"));
            }
            self.path.push(Step::Key(key.clone()));
            map.next_value_seed(Walk { text: self.text, path: &mut *self.path, found: &mut *self.found })?;
            self.path.pop();
            match &mut many {
                Some(set) => {
                    set.insert(key);
                }
                None if keys.len() == LINEAR => {
                    let mut set: HashSet<_> = keys.drain(..).collect();
                    set.insert(key);
                    many = Some(set);
                }
                None => keys.push(key),
            }
        }
        Ok(())
    }
}

/// Reads a key, borrowed from the input when it has no escapes.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> Option<Problem> {
        check(text).err()
    }

    #[test]
    fn duplicates_at_every_level_are_found() {
        for (text, path, key) in [
            (r#"{"a":1,"a":2}"#, "(top level)", "a"),
            (r#"{"apps":{"web":{},"web":{}}}"#, "apps", "web"),
            (r#"{"apps":{"web":{"env":{"X":"1","Y":"2","X":"3"}}}}"#, "apps.web.env", "X"),
            (r#"{"objects":[{},{"metadata":{"labels":{"k":"v","k":"w"}}}]}"#, "objects[1].metadata.labels", "k"),
            (r#"{"a":{"b\u0063":1,"bc":2}}"#, "a", "bc"),
        ] {
            let p = dup(text).unwrap_or_else(|| panic!("{text}: not refused"));
            assert_eq!(p.path.to_string(), path, "{text}");
            assert!(p.message.starts_with(&format!("duplicate key `{key}`")), "{text}: {}", p.message);
            assert!(p.position.is_some(), "{text}");
        }
    }

    #[test]
    fn distinct_keys_and_bad_json_pass() {
        for text in [r#"{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}"#, "[1,2]", "3", "{", r#"{"a":1,}"#, ""] {
            assert!(dup(text).is_none(), "{text}");
        }
    }

    #[test]
    fn big_objects_use_the_set_and_still_find_duplicates() {
        let mut keys: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        keys.push("\"k3\":0".into());
        let p = dup(&format!("{{{}}}", keys.join(","))).unwrap();
        assert!(p.message.starts_with("duplicate key `k3`"), "{}", p.message);
    }

    #[test]
    fn positions_name_both_occurrences() {
        let p = dup("{\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3\n}").unwrap();
        assert_eq!(p.message, "duplicate key `a` (the first is at line 2, column 3)");
        assert_eq!(p.position, Some((4, 3)));
    }
}

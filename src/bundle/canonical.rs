//! The spec digest without a JSON tree. The digest is the sha256 of the
//! spec as `serde_json::Value` prints it: compact, every object's keys
//! sorted (its map is a `BTreeMap`), the last of two equal keys kept. Reading
//! a large spec into a `Value` only to print it costs a tree of small
//! allocations several times the text's size; this reads the text once and
//! writes the same bytes straight into one buffer, sorting each object's
//! entries in place when it ends (most are written in order already).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::Sha256Digest;
use crate::spec::duplicates::KeySeed;

/// The digest of the JSON document `text`: that of `Value::to_string()`.
pub fn digest_of_text(text: &str) -> Result<Sha256Digest, serde_json::Error> {
    Ok(Sha256Digest::of(&canonical(text)?))
}

/// `text` as `serde_json::Value` would print it.
pub fn canonical(text: &str) -> Result<Vec<u8>, serde_json::Error> {
    let mut state = State { out: Vec::with_capacity(text.len()), entries: Vec::new() };
    let mut de = serde_json::Deserializer::from_str(text);
    Canon(&mut state).deserialize(&mut de)?;
    de.end()?;
    Ok(state.out)
}

/// One entry of an object being written: its key and where its
/// `"key":value` bytes are (no comma).
struct Entry<'de> {
    key: Cow<'de, str>,
    start: usize,
    end: usize,
}

struct State<'de> {
    out: Vec<u8>,
    /// The entries of the objects open at the moment, innermost last.
    entries: Vec<Entry<'de>>,
}

impl State<'_> {
    fn write<T: serde::Serialize + ?Sized>(&mut self, v: &T) {
        // Scalars and strings into a Vec: serde_json's writer cannot fail.
        let _ = serde_json::to_writer(&mut self.out, v);
    }

    /// Puts the entries from `base` on (written from `body` on, with commas
    /// between) in key order, keeping the last of equal keys.
    fn close_object(&mut self, base: usize, body: usize) {
        let entries = &self.entries[base..];
        if !entries.windows(2).all(|w| w[0].key < w[1].key) {
            let mut order: Vec<usize> = (0..entries.len()).collect();
            order.sort_by(|&a, &b| entries[a].key.cmp(&entries[b].key));
            // Of equal keys (adjacent now, in input order) the last wins.
            let keep = order
                .iter()
                .enumerate()
                .filter(|&(i, &e)| order.get(i + 1).is_none_or(|&next| entries[next].key != entries[e].key));
            let mut joined = Vec::with_capacity(self.out.len() - body);
            for (i, (_, &e)) in keep.enumerate() {
                if i > 0 {
                    joined.push(b',');
                }
                joined.extend_from_slice(&self.out[entries[e].start..entries[e].end]);
            }
            self.out.truncate(body);
            self.out.extend_from_slice(&joined);
        }
        self.entries.truncate(base);
    }
}

/// Writes the next value of the document.
struct Canon<'a, 'de>(&'a mut State<'de>);

impl<'de> DeserializeSeed<'de> for Canon<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Canon<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.write(&v);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.write(&v);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.write(&v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // As `Value` keeps it: a number, or null when not finite.
        self.0.write(&serde_json::Number::from_f64(v));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.write(v);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.0.out.len();
            if !first {
                self.0.out.push(b',');
            }
            if seq.next_element_seed(Canon(&mut *self.0))?.is_none() {
                self.0.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.0.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.out.push(b'{');
        let (base, body) = (self.0.entries.len(), self.0.out.len());
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if self.0.entries.len() > base {
                self.0.out.push(b',');
            }
            let start = self.0.out.len();
            self.0.write(&*key);
            self.0.out.push(b':');
            map.next_value_seed(Canon(&mut *self.0))?;
            let end = self.0.out.len();
            self.0.entries.push(Entry { key, start, end });
        }
        self.0.close_object(base, body);
        self.0.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via_value(text: &str) -> String {
        serde_json::from_str::<serde_json::Value>(text).unwrap().to_string()
    }

    #[test]
    fn prints_what_value_prints() {
        for text in [
            r#"{"b":1,"a":{"z":[3,{"y":null,"x":true}],"c":"d"}}"#,
            r#"{"a":1,"a":2,"b":{"k":1,"j":2,"k":3}}"#,
            r#"[1, -2, 3.5, 1e3, 0.1, -0.0, 1.0, 18446744073709551615, -9223372036854775808, 1e-7]"#,
            r#"{"é":"\u00e9\n\t\"\\\/\u0001","aa":"","a":[],"b":{},"B":"x","a b":"y"}"#,
            r#""just a string""#,
            "  null  ",
            r#"{"k":{"x":{"q":1,"p":2},"w":[{"n":1,"m":2}]},"j":0}"#,
        ] {
            let ours = String::from_utf8(canonical(text).unwrap()).unwrap();
            assert_eq!(ours, via_value(text), "{text}");
        }
    }

    #[test]
    fn the_digest_is_the_spec_digest() {
        let text = r#"{"apps":{"web":{"image":"nginx","port":80}},"defaults":{"domain":"example.org"}}"#;
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(digest_of_text(text).unwrap(), super::super::spec_digest(&value));
    }

    #[test]
    fn bad_json_is_an_error() {
        for text in ["{", r#"{"a":1,}"#, "[1] 2", ""] {
            assert!(canonical(text).is_err(), "{text}");
        }
    }
}

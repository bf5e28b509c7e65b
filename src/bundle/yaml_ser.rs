//! Any `Serialize` value straight to the YAML of `yaml.rs`, without a
//! `serde_json::Value` between: the same bytes `yaml::write_document` writes
//! for `serde_json::to_value(v)`, at a fraction of the allocations.
//!
//! A `Value` sorts each map's keys; here each map's entries are written as
//! they come, one after the other into the output, and put in key order in
//! place when the map ends (typed objects mostly serialise their fields in
//! order already, so that is usually a check). Where a map or a sequence
//! begins an item of a sequence (`- key: ...`), its first line is written
//! indented like the others and its first two columns of indentation become
//! the `- ` once its first line is known. What a `Value` would hold
//! differently (bytes, boolean or float keys, enum variants with fields) is
//! refused, and the caller falls back to the `Value`.

use serde::ser::{self, Impossible, Serialize};
use serde_json::Value;

use super::yaml::{indent, write_scalar, write_string};
use super::yaml_key::KeySer;
pub use super::yaml_key::Unsupported;

/// Writes `v` as one YAML document, as `yaml::write_document` writes it
/// from `serde_json::to_value(v)`; `entries` is scratch space to reuse.
pub fn write_document<T: Serialize + ?Sized>(
    out: &mut String,
    entries: &mut Vec<Entry>,
    v: &T,
) -> Result<(), Unsupported> {
    entries.clear();
    v.serialize(Ser { st: &mut State { out, entries, key_text: String::new() }, place: Place::Top })
}

/// One entry of a map being written: its key, and where its lines are.
pub struct Entry {
    key: Key,
    start: usize,
    end: usize,
}

/// A key as the entry's sort key: a field name, a plain key as written in
/// the output (`at` its offset), or a quoted one.
enum Key {
    Field(&'static str),
    Written { at: usize, len: usize },
    Quoted(String),
}

struct State<'a> {
    out: &'a mut String,
    /// The entries of the maps open at the moment, innermost last.
    entries: &'a mut Vec<Entry>,
    /// The text of the map key being written.
    key_text: String,
}

impl State<'_> {
    fn key<'k>(&'k self, k: &'k Key) -> &'k str {
        match k {
            Key::Field(s) => s,
            Key::Written { at, len } => &self.out[*at..*at + *len],
            Key::Quoted(s) => s,
        }
    }
}

/// Where a value goes: the document itself, after `key:` at column `col`,
/// or as an item of a sequence whose `- ` are at column `col`.
#[derive(Clone, Copy)]
enum Place {
    Top,
    Value { col: usize },
    Item { col: usize },
}

impl Place {
    /// The column of a map's keys, or of a sequence's `- `, here.
    fn map_col(self) -> usize {
        match self {
            Place::Top => 0,
            Place::Value { col } | Place::Item { col } => col + 2,
        }
    }

    fn seq_col(self) -> usize {
        match self {
            Place::Top => 0,
            Place::Value { col } => col,
            Place::Item { col } => col + 2,
        }
    }
}

struct Ser<'s, 'a> {
    st: &'s mut State<'a>,
    place: Place,
}

impl<'s, 'a> Ser<'s, 'a> {
    /// A scalar (or an empty collection) written by `write`, which gets the
    /// output and the indentation of block text.
    fn scalar(self, write: impl FnOnce(&mut String, usize)) -> Result<(), Unsupported> {
        let out = &mut *self.st.out;
        match self.place {
            Place::Top => write(out, 2),
            Place::Value { col } => {
                out.push(' ');
                write(out, col + 2);
            }
            Place::Item { col } => {
                indent(out, col);
                out.push_str("- ");
                write(out, col + 2);
            }
        }
        out.push('\n');
        Ok(())
    }

    fn value(self, v: &Value) -> Result<(), Unsupported> {
        self.scalar(|out, col| write_scalar(out, v, col))
    }

    fn map(self) -> MapSer<'s, 'a> {
        let base = self.st.entries.len();
        MapSer { body: self.st.out.len(), base, place: self.place, st: self.st }
    }

    fn seq(self) -> SeqSer<'s, 'a> {
        SeqSer { body: self.st.out.len(), count: 0, place: self.place, st: self.st }
    }
}

/// The start of a non-empty collection's first line at `place`, written
/// indented like the rest (from `body` on), becomes `- ` for an item.
fn mark_item(out: &mut String, place: Place, body: usize) {
    if let Place::Item { col } = place {
        out.replace_range(body + col..body + col + 2, "- ");
    }
}

/// Before the first line of a non-empty collection after `key:`.
fn open(out: &mut String, place: Place) {
    if let Place::Value { .. } = place {
        out.push('\n');
    }
}

macro_rules! via_value {
    ($($method:ident($t:ty);)*) => {
        $(fn $method(self, v: $t) -> Result<(), Unsupported> {
            self.value(&Value::from(v))
        })*
    };
}

impl<'s, 'a> ser::Serializer for Ser<'s, 'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = SeqSer<'s, 'a>;
    type SerializeTuple = SeqSer<'s, 'a>;
    type SerializeTupleStruct = SeqSer<'s, 'a>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = MapSer<'s, 'a>;
    type SerializeStruct = MapSer<'s, 'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    via_value! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
    }

    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        match (u64::try_from(v), i64::try_from(v)) {
            (Ok(u), _) => self.value(&Value::from(u)),
            (_, Ok(i)) => self.value(&Value::from(i)),
            _ => Err(Unsupported),
        }
    }

    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        self.value(&Value::from(u64::try_from(v).map_err(|_| Unsupported)?))
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.scalar(|out, col| write_string(out, v, col, false))
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.value(&Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Unsupported> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.value(&Value::Null)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.value(&Value::Null)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<(), Unsupported> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Unsupported> {
        let mut map = self.map();
        ser::SerializeStruct::serialize_field(&mut map, variant, v)?;
        ser::SerializeStruct::end(map)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<SeqSer<'s, 'a>, Unsupported> {
        Ok(self.seq())
    }

    fn serialize_tuple(self, _: usize) -> Result<SeqSer<'s, 'a>, Unsupported> {
        Ok(self.seq())
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<SeqSer<'s, 'a>, Unsupported> {
        Ok(self.seq())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<MapSer<'s, 'a>, Unsupported> {
        Ok(self.map())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSer<'s, 'a>, Unsupported> {
        Ok(self.map())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

struct SeqSer<'s, 'a> {
    st: &'s mut State<'a>,
    place: Place,
    body: usize,
    count: usize,
}

impl SeqSer<'_, '_> {
    fn item<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        if self.count == 0 {
            open(self.st.out, self.place);
            self.body = self.st.out.len();
        }
        self.count += 1;
        v.serialize(Ser { st: &mut *self.st, place: Place::Item { col: self.place.seq_col() } })
    }

    fn finish(self) -> Result<(), Unsupported> {
        if self.count == 0 {
            return Ser { st: self.st, place: self.place }.scalar(|out, _| out.push_str("[]"));
        }
        mark_item(self.st.out, self.place, self.body);
        Ok(())
    }
}

macro_rules! seq_impl {
    ($($trait:ident::$method:ident),*) => {
        $(impl ser::$trait for SeqSer<'_, '_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
                self.item(v)
            }
            fn end(self) -> Result<(), Unsupported> {
                self.finish()
            }
        })*
    };
}

seq_impl!(SerializeSeq::serialize_element, SerializeTuple::serialize_element, SerializeTupleStruct::serialize_field);

struct MapSer<'s, 'a> {
    st: &'s mut State<'a>,
    place: Place,
    /// Where the entries begin, and the first of them on the entry stack.
    body: usize,
    base: usize,
}

impl MapSer<'_, '_> {
    /// Starts an entry: its key at the map's column, and `:`.
    fn key(&mut self, key: KeyText<'_>) {
        let out = &mut *self.st.out;
        if self.st.entries.len() == self.base {
            open(out, self.place);
            self.body = out.len();
        }
        let (start, col) = (out.len(), self.place.map_col());
        indent(out, col);
        let at = out.len();
        write_string(out, key.0, col, true);
        let key = match key.1 {
            Some(field) => Key::Field(field),
            None if out.len() - at == key.0.len() => Key::Written { at, len: key.0.len() },
            None => Key::Quoted(key.0.to_owned()),
        };
        out.push(':');
        self.st.entries.push(Entry { key, start, end: start });
    }

    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        let col = self.place.map_col();
        v.serialize(Ser { st: &mut *self.st, place: Place::Value { col } })?;
        let end = self.st.out.len();
        if let Some(e) = self.st.entries.last_mut() {
            e.end = end;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), Unsupported> {
        if self.st.entries.len() == self.base {
            return Ser { st: self.st, place: self.place }.scalar(|out, _| out.push_str("{}"));
        }
        self.sort();
        mark_item(self.st.out, self.place, self.body);
        self.st.entries.truncate(self.base);
        Ok(())
    }

    /// The entries in key order, the last of equal keys kept (as a
    /// `Value`'s map): checked, and only when out of order rewritten.
    fn sort(&mut self) {
        let st = &*self.st;
        let entries = &st.entries[self.base..];
        if entries.windows(2).all(|w| st.key(&w[0].key) < st.key(&w[1].key)) {
            return;
        }
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by(|&a, &b| st.key(&entries[a].key).cmp(st.key(&entries[b].key)));
        let same = |a: usize, b: usize| st.key(&entries[a].key) == st.key(&entries[b].key);
        let mut sorted = String::with_capacity(st.out.len() - self.body);
        for (i, &e) in order.iter().enumerate() {
            if order.get(i + 1).is_none_or(|&next| !same(e, next)) {
                sorted.push_str(&st.out[entries[e].start..entries[e].end]);
            }
        }
        self.st.out.truncate(self.body);
        self.st.out.push_str(&sorted);
    }
}

/// A key's text, and its field name when it is one.
struct KeyText<'k>(&'k str, Option<&'static str>);

impl ser::SerializeStruct for MapSer<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Unsupported> {
        self.key(KeyText(key, Some(key)));
        self.value(v)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.finish()
    }
}

impl ser::SerializeMap for MapSer<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        let mut text = std::mem::take(&mut self.st.key_text);
        text.clear();
        let done = key.serialize(KeySer(&mut text));
        if done.is_ok() {
            self.key(KeyText(&text, None));
        }
        self.st.key_text = text;
        done
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        self.value(v)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.finish()
    }
}

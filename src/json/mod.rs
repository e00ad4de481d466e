//! JSON shared by every wire format the crate parses or writes (layer 0).
//!
//! Three needs are met here:
//! - **Go-identical output.** kube-apiserver serialises with Go's `encoding/json`, which escapes
//!   `<`, `>`, `&`, U+2028 and U+2029 inside strings. [`to_go_json`] does the same, so documents we
//!   generate are byte-identical to the ones the apiserver serves.
//! - **Strict input.** `serde_json` silently keeps the last of two members with the same name. A
//!   document that says two different things about one member is refused instead: [`parse_strict`]
//!   rejects duplicate member names at every depth.
//! - **A fast strict reader.** [`scan`] walks bytes once, borrows strings without escapes,
//!   refuses duplicate names and accepts exactly RFC 8259 JSON, for hot paths (token claims
//!   today); [`simd`] holds its byte searches.

pub(crate) mod scan;
pub(crate) mod simd;

use std::cell::Cell;
use std::fmt;
use std::io;
use std::sync::Arc;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A `serde_json` formatter that escapes strings exactly as Go's `encoding/json` does.
#[derive(Debug, Clone, Copy, Default)]
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(['<', '>', '&', '\u{2028}', '\u{2029}']) {
            let (plain, tail) = rest.split_at(at);
            writer.write_all(plain.as_bytes())?;
            let mut chars = tail.chars();
            let escape = match chars.next() {
                Some('<') => "\\u003c",
                Some('>') => "\\u003e",
                Some('&') => "\\u0026",
                Some('\u{2028}') => "\\u2028",
                _ => "\\u2029",
            };
            writer.write_all(escape.as_bytes())?;
            rest = chars.as_str();
        }
        writer.write_all(rest.as_bytes())
    }
}

/// Serialises `value` compactly, escaping strings as Go's `encoding/json` does.
pub(crate) fn to_go_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    // Serialising our own plain data types into memory cannot fail: every map key is a string and
    // no `Serialize` impl in this crate returns an error.
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    // serde_json only ever writes UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Why a JSON document (a discovery document, a key set, a policy) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The document is larger than its format allows.
    #[error("the document is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The document's size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not UTF-8.
    #[error("the document is not UTF-8")]
    NotUtf8,
    /// The bytes are not JSON.
    #[error("the document is not valid JSON")]
    Syntax(#[source] SyntaxError),
    /// A member name appears twice in one object, so the document says two things about it.
    #[error("member {member:?} appears twice in one object")]
    Duplicate {
        /// The repeated member.
        member: String,
    },
    /// The document is JSON but its top level is not an object.
    #[error("the top level is not a JSON object")]
    NotAnObject,
}

/// Where and why `serde_json` stopped reading.
#[derive(Debug, Clone)]
pub struct SyntaxError(Arc<serde_json::Error>);

impl SyntaxError {
    /// The line (from 1) where reading stopped.
    pub fn line(&self) -> usize {
        self.0.line()
    }

    /// The column (from 1) where reading stopped.
    pub fn column(&self) -> usize {
        self.0.column()
    }
}

impl PartialEq for SyntaxError {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for SyntaxError {}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SyntaxError {}

/// Parses a JSON object of at most `limit` bytes, refusing duplicate member names at any depth.
pub(crate) fn parse_strict(bytes: &[u8], limit: usize) -> Result<Map<String, Value>, JsonError> {
    if bytes.len() > limit {
        return Err(JsonError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let duplicate = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| match duplicate.take() {
        Some(member) => JsonError::Duplicate { member },
        None if e.classify() == serde_json::error::Category::Syntax
            && std::str::from_utf8(bytes).is_err() =>
        {
            JsonError::NotUtf8
        }
        None => JsonError::Syntax(SyntaxError(Arc::new(e))),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::NotAnObject),
    }
}

/// A seed that deserialises any JSON value, failing on duplicate object members (and naming
/// the first in `duplicate`).
#[derive(Clone, Copy)]
struct StrictValue<'d> {
    duplicate: &'d Cell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                let error = de::Error::custom(format_args!("duplicate member {key:?}"));
                self.duplicate.set(Some(key));
                return Err(error);
            }
            let value = access.next_value_seed(self)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_escapes_html_characters_and_line_separators() {
        let s = to_go_json(&serde_json::json!({"a": "<x>&\u{2028}\u{2029}\n\"é"}));
        assert_eq!(s, r#"{"a":"\u003cx\u003e\u0026\u2028\u2029\n\"é"}"#);
    }

    #[test]
    fn strict_parse_rejects_duplicates_at_any_depth() {
        let duplicate = |member: &str| {
            Err(JsonError::Duplicate {
                member: member.to_owned(),
            })
        };
        assert_eq!(parse_strict(br#"{"a":{"b":1,"b":2}}"#, 100), duplicate("b"));
        assert_eq!(
            parse_strict(br#"{"a":[{"c":1,"c":1}]}"#, 100),
            duplicate("c")
        );
        assert_eq!(parse_strict(b"[]", 100), Err(JsonError::NotAnObject));
        assert_eq!(
            parse_strict(b"{}  ", 3),
            Err(JsonError::TooLarge { len: 4, limit: 3 })
        );
        assert_eq!(parse_strict(b"{\"\xff\":1}", 100), Err(JsonError::NotUtf8));
        let Err(JsonError::Syntax(e)) = parse_strict(b"{} x", 100) else {
            panic!("trailing characters are a syntax error");
        };
        assert_eq!((e.line(), e.column()), (1, 4));
        assert_eq!(
            crate::error_text::chain(&JsonError::Syntax(e)),
            "the document is not valid JSON: trailing characters at line 1 column 4"
        );
    }

    #[test]
    fn floats_survive_a_round_trip() {
        // Found by the jwks fuzz target: without exact float parsing, 5E236 drifted by one ulp
        // on every round trip.
        let map = parse_strict(br#"{"x":5E236}"#, 100).unwrap();
        assert_eq!(to_go_json(&map), r#"{"x":5e+236}"#);
    }

    #[test]
    fn strict_parse_keeps_member_order() {
        let map = parse_strict(br#"{"z":1,"a":[true,null,"s",1.5]}"#, 100).unwrap();
        let keys: Vec<_> = map.keys().collect();
        assert_eq!(keys, ["z", "a"]);
        assert_eq!(to_go_json(&map), r#"{"z":1,"a":[true,null,"s",1.5]}"#);
    }
}

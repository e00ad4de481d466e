//! JSON helpers shared by every wire format the crate parses or writes.
//!
//! Two needs are met here:
//! - **Go-identical output.** kube-apiserver serialises with Go's `encoding/json`, which escapes
//!   `<`, `>`, `&`, U+2028 and U+2029 inside strings. [`to_go_json`] does the same, so documents we
//!   generate are byte-identical to the ones the apiserver serves.
//! - **Strict input.** `serde_json` silently keeps the last of two members with the same name. A
//!   document that says two different things about one member is refused instead: [`parse_strict`]
//!   rejects duplicate member names at every depth.

use std::fmt;
use std::io;

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

/// Why a JSON document was refused by [`parse_strict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrictJsonError {
    /// The document is larger than the caller allows.
    TooLarge { len: usize, limit: usize },
    /// The bytes are not JSON, or JSON with a duplicate member name.
    Syntax(String),
    /// The document is JSON but its top level is not an object.
    NotAnObject,
}

impl fmt::Display for StrictJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, limit } => {
                write!(
                    f,
                    "document is {len} bytes, over the limit of {limit} bytes"
                )
            }
            Self::Syntax(msg) => write!(f, "invalid JSON: {msg}"),
            Self::NotAnObject => f.write_str("the top level is not a JSON object"),
        }
    }
}

/// Parses a JSON object of at most `limit` bytes, refusing duplicate member names at any depth.
pub(crate) fn parse_strict(
    bytes: &[u8],
    limit: usize,
) -> Result<Map<String, Value>, StrictJsonError> {
    if bytes.len() > limit {
        return Err(StrictJsonError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| StrictJsonError::Syntax(e.to_string()))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(StrictJsonError::NotAnObject),
    }
}

/// A seed that deserialises any JSON value, failing on duplicate object members.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
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
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate member {key:?}")));
            }
            let value = access.next_value_seed(StrictValue)?;
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
        let err = parse_strict(br#"{"a":{"b":1,"b":2}}"#, 100).unwrap_err();
        assert!(
            matches!(err, StrictJsonError::Syntax(ref m) if m.contains("duplicate member \"b\"")),
            "{err}"
        );
        assert!(parse_strict(br#"{"a":1,"a":1}"#, 100).is_err());
        assert_eq!(parse_strict(b"[]", 100), Err(StrictJsonError::NotAnObject));
        assert_eq!(
            parse_strict(b"{}  ", 3),
            Err(StrictJsonError::TooLarge { len: 4, limit: 3 })
        );
        assert!(parse_strict(b"{} x", 100).is_err());
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

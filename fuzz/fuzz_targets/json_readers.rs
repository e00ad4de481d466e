//! The crate's two strict JSON readers against serde_json. The byte scanner (token claims)
//! accepts a document only if serde_json does and it has no duplicate member names; the strict
//! object reader (discovery, JWKS, setup state) reads exactly serde_json's value whenever it
//! accepts, and refuses a document serde_json reads only for a duplicate name. Where serde_json
//! accepts a document without duplicates, the scanner accepts it too.
#![no_main]

use irsa::__private::{parse_strict_json, scan_json};
use irsa::JsonError;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// serde_json reads a member named this as its `RawValue` marker, not as JSON (with the
/// `raw_value` feature, which a dependency enables): the reference is wrong there, not ours.
const RAW_VALUE_MARKER: &[u8] = b"$serde_json::private::RawValue";

fuzz_target!(|data: &[u8]| {
    if data
        .windows(RAW_VALUE_MARKER.len())
        .any(|w| w == RAW_VALUE_MARKER)
    {
        return;
    }
    let reference = serde_json::from_slice::<Value>(data);
    let strict = parse_strict_json(data);
    match (&strict, &reference) {
        (Ok(map), Ok(value)) => assert_eq!(&Value::Object(map.clone()), value),
        (Ok(_), Err(e)) => panic!("the strict reader accepted what serde_json refuses: {e}"),
        (Err(JsonError::Duplicate { .. }), Ok(_)) => {}
        (Err(JsonError::NotAnObject), Ok(value)) => assert!(!value.is_object()),
        (Err(e), Ok(_)) => panic!("the strict reader refused what serde_json reads: {e}"),
        (Err(_), Err(_)) => {}
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scanned = scan_json(text);
    let duplicate = matches!(strict, Err(JsonError::Duplicate { .. }));
    match (&scanned, &reference) {
        (Ok(()), Err(e)) => panic!("the scanner accepted what serde_json refuses: {e}"),
        (Ok(()), Ok(_)) => assert!(!duplicate, "the scanner accepted a duplicate name"),
        (Err(e), Ok(value)) if !duplicate && depth(value) < 100 => {
            panic!("the scanner refused what serde_json reads: {e}")
        }
        _ => {}
    }
});

/// Nesting depth: both readers stop deep documents, at limits of their own.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

//! RFC 6902 JSON patches, as the webhook emits them: `add` operations only.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// One RFC 6902 operation. The generator only ever adds: existing values are never
/// overwritten and nothing is removed.
#[derive(Debug, Clone, Serialize)]
pub struct PatchOperation {
    op: &'static str,
    path: String,
    value: Box<RawValue>,
}

impl PartialEq for PatchOperation {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.path == other.path && self.value.get() == other.value.get()
    }
}

impl PatchOperation {
    pub(super) fn add(path: String, value: Value) -> Self {
        Self::add_serialized(path, &value)
    }

    /// An `add` of anything serialisable, written straight to JSON text.
    pub(super) fn add_serialized(path: String, value: &impl Serialize) -> Self {
        // Values built by the generator (maps of strings, numbers, typed containers) always
        // serialise; `null` is a stand-in that cannot be reached.
        let value =
            serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned());
        Self {
            op: "add",
            path,
            value,
        }
    }

    /// The operation's name: always `add`.
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The JSON pointer the operation writes to, e.g. `/spec/containers/0/env/-`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value written, as compact JSON text.
    pub fn value_json(&self) -> &str {
        self.value.get()
    }

    /// The value written, parsed.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.value.get()).unwrap_or(Value::Null)
    }
}

/// An RFC 6902 JSON patch. Empty when the pod needs nothing.
///
/// ```
/// use irsa::webhook::JsonPatch;
///
/// let patch = JsonPatch::default();
/// assert!(patch.is_empty());
/// assert_eq!(patch.to_json(), "[]");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct JsonPatch(Vec<PatchOperation>);

impl JsonPatch {
    pub(super) fn push(&mut self, op: PatchOperation) {
        self.0.push(op);
    }

    /// The operations, in the order they apply.
    pub fn operations(&self) -> &[PatchOperation] {
        &self.0
    }

    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The patch as compact JSON, as it goes on the wire.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    pub(super) fn write_json(&self, out: &mut Vec<u8>) {
        // Serialising strings, numbers and maps into memory cannot fail.
        let _ = serde_json::to_writer(out, &self.0);
    }
}

/// Escapes a JSON pointer reference token (RFC 6901): `~` as `~0`, `/` as `~1`.
pub(super) fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

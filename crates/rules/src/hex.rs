//! Addresses in evidence are strings in hex (output-format.md): `"0x4000000000"`.

/// A `u64` as a JSON hex string, for evidence.
pub(crate) fn json(v: u64) -> serde_json::Value {
    serde_json::Value::String(format!("{v:#x}"))
}

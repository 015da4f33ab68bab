//! Addresses are strings in hex in JSON (output-format.md): `"0x4000000000"`.

use peerpath_model::DmaAddr;

/// Serializes an optional DMA address as a hex string or `null`.
pub fn opt_dma<S: serde::Serializer>(v: &Option<DmaAddr>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(a) => s.serialize_str(&format!("{:#x}", a.0)),
        None => s.serialize_none(),
    }
}

/// Serializes a `u64` as a hex string.
pub fn u64_hex<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#x}"))
}

/// A `u64` as a JSON hex string, for evidence.
pub fn json(v: u64) -> serde_json::Value {
    serde_json::Value::String(format!("{v:#x}"))
}

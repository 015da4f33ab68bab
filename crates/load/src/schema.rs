//! The platform and scenario formats as JSON Schemas (draft-07), for editors: a YAML
//! language server validates a file against them and completes its keys.
//!
//! Generated from the loader itself, not from the serde derives: every type the loader
//! reads implements `conv::FromYaml`, whose `schema` says what its
//! `from_yaml` accepts, and the raw structs' schemas come from the same field lists
//! (`raw_struct!`, `platform_struct!`) as their conversion. A key is required exactly
//! when the conversion reports it missing, unknown keys are refused as the conversion
//! refuses them, and the doc comments of the fields are the descriptions. What the
//! loader accepts beyond serde shows here too: numbers written as strings (`"0x1def"`,
//! `0x40_0000_0000`), sizes with binary units (`32GiB`), null for an empty list, any
//! scalar for a name.
//!
//! Architecture invariant: the schema accepts every file the loader's conversion
//! accepts. It checks structure only: what validation checks (references, overlaps,
//! `format: 1`, MPS powers of two) is left to `peerpath check`.

use serde_json::{json, Value};

use crate::raw::RawPlatform;

/// The draft the schemas declare: the one every YAML language server supports.
const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// The platform format (platform-format.md) as a JSON Schema.
pub fn platform_schema() -> Value {
    let mut schema = RawPlatform::schema();
    let extra = [
        ("$schema", json!(DRAFT)),
        ("title", json!("peerpath platform file (format 1)")),
    ];
    if let Value::Object(map) = &mut schema {
        for (k, v) in extra {
            map.insert(k.to_owned(), v);
        }
    }
    schema
}

/// The scenario format (platform-format.md, "Scenario files") as a JSON Schema; its
/// `platform` is a path or an inline platform of [`platform_schema`].
pub fn scenario_schema() -> Value {
    let mut schema = crate::scenario::schema();
    if let Value::Object(map) = &mut schema {
        map.insert("$schema".to_owned(), json!(DRAFT));
        map.insert("title".to_owned(), json!("peerpath scenario file"));
    }
    schema
}

/// A schema as the file `peerpath schema` writes: pretty JSON, keys sorted (the same
/// bytes on every run), a final newline.
pub fn to_pretty(schema: &Value) -> String {
    // A `Value` always serializes; an empty object stands in should that ever change.
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// YAML text as the JSON values a YAML language server validates against the schemas:
/// YAML 1.2 scalars, as the loader reads them (only `true`/`false` are booleans, so
/// `ats: off` is a string). For tests and tools that check files against a schema.
pub fn yaml_to_json(text: &str) -> Result<Value, String> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| e.to_string())
}

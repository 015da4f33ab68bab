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

use serde_json::{json, Map, Value};

use crate::raw::RawPlatform;

/// The draft the schemas declare: the one every YAML language server supports.
const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// An unsigned integer written as a string: decimal or `0x` hex, `_` between digits
/// (`crate::num::parse_u64`).
const INT_PATTERN: &str = r"^\s*(0[xX][0-9a-fA-F][0-9a-fA-F_]*|[0-9][0-9_]*)\s*$";

/// A size written as a string: an integer as [`INT_PATTERN`], then optionally a binary
/// unit (`crate::num::parse_size`).
const SIZE_PATTERN: &str =
    r"^\s*(0[xX][0-9a-fA-F][0-9a-fA-F_]*|[0-9][0-9_]*)\s*(KiB|MiB|GiB|TiB|PiB|EiB)?\s*$";

/// A BDF as `Bdf::from_str` reads it: `ssss:bb:dd.f` or `bb:dd.f` in hex, up to four
/// digits each, bus at most 0xff, device at most 0x1f, function at most 7.
const BDF_PATTERN: &str = concat!(
    r"^([0-9a-fA-F]{1,4}:)?",
    r"0{0,2}[0-9a-fA-F]{1,2}:",
    r"(0{0,2}1[0-9a-fA-F]|0{0,3}[0-9a-fA-F])\.",
    r"0{0,3}[0-7]$"
);

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

/// Any scalar: the loader reads a name from the scalar's text, so `123` or `6.8` are
/// names too (`Conv::scalar`).
pub(crate) fn scalar() -> Value {
    json!({ "type": ["string", "number", "boolean"] })
}

/// An unsigned integer of at most `max`: a YAML integer, or a string as
/// [`INT_PATTERN`] (range checked by the loader).
pub(crate) fn unsigned(max: u64) -> Value {
    json!({
        "anyOf": [
            { "type": "integer", "minimum": 0, "maximum": max },
            { "type": "string", "pattern": INT_PATTERN },
        ]
    })
}

/// An address (`raw::Addr`).
pub(crate) fn addr(description: &str) -> Value {
    let mut v = unsigned(u64::MAX);
    describe(&mut v, Some(description.to_owned()));
    v
}

/// A size (`raw::Size`).
pub(crate) fn size(description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": SIZE_PATTERN },
        ]
    })
}

/// A BDF (`peerpath_model::Bdf`).
pub(crate) fn bdf() -> Value {
    json!({
        "type": "string",
        "pattern": BDF_PATTERN,
        "description": "a PCI address `ssss:bb:dd.f` or `bb:dd.f`, in hex",
    })
}

/// One of `names`.
pub(crate) fn one_of(names: &[&str]) -> Value {
    json!({ "type": "string", "enum": names })
}

/// `T` or null (`Option<T>`: null is absent). A choice already (`anyOf`) gets null as
/// one more alternative rather than a choice of choices.
pub(crate) fn nullable(mut inner: Value) -> Value {
    if let Some(Value::Array(alternatives)) = inner.get_mut("anyOf") {
        alternatives.push(json!({ "type": "null" }));
        return inner;
    }
    json!({ "anyOf": [inner, { "type": "null" }] })
}

/// A list of `item`, or null for the empty list.
pub(crate) fn list(item: Value) -> Value {
    nullable(json!({ "type": "array", "items": item }))
}

/// The text of doc attributes (`/// ...` lines), one `Some` per line; `None` when
/// there is none.
pub(crate) fn doc_text(lines: &[Option<&str>]) -> Option<String> {
    let text = lines
        .iter()
        .flatten()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Sets the description of a schema.
pub(crate) fn describe(schema: &mut Value, description: Option<String>) {
    if let (Value::Object(map), Some(d)) = (schema, description) {
        map.insert("description".to_owned(), Value::String(d));
    }
}

/// One key of a mapping: its name, its doc, its schema and whether it is required.
pub(crate) struct Prop {
    pub key: &'static str,
    pub doc: Option<String>,
    pub schema: Value,
    pub required: bool,
}

/// A mapping of exactly these keys (the conversion reports any other as unknown).
pub(crate) fn object(doc: Option<String>, props: Vec<Prop>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in props {
        let mut schema = p.schema;
        // "`bdf`." says no more than the key itself: the type's own description stays.
        let doc = p.doc.filter(|d| *d != format!("`{}`.", p.key));
        describe(&mut schema, doc);
        properties.insert(p.key.to_owned(), schema);
        if p.required {
            required.push(Value::from(p.key));
        }
    }
    let mut v = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if let Value::Object(map) = &mut v {
        if !required.is_empty() {
            map.insert("required".to_owned(), Value::Array(required));
        }
    }
    describe(&mut v, doc);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_doc_line_is_kept_in_order() {
        assert_eq!(
            doc_text(&[Some(" `a`."), None, Some(" more")]).as_deref(),
            Some("`a`.\nmore")
        );
        assert_eq!(doc_text(&[None]), None);
    }

    #[test]
    fn required_keys_and_descriptions_come_from_the_props() {
        let v = object(
            Some("a thing".to_owned()),
            vec![
                Prop {
                    key: "name",
                    doc: Some("`name`: unique.".to_owned()),
                    schema: scalar(),
                    required: true,
                },
                Prop {
                    key: "size",
                    doc: Some("`size`.".to_owned()),
                    schema: size("bytes"),
                    required: false,
                },
                Prop {
                    key: "ats",
                    doc: None,
                    schema: nullable(json!({ "type": "boolean" })),
                    required: false,
                },
            ],
        );
        assert_eq!(v["required"], json!(["name"]));
        assert_eq!(v["additionalProperties"], json!(false));
        assert_eq!(v["description"], json!("a thing"));
        assert_eq!(
            v["properties"]["name"]["description"],
            json!("`name`: unique.")
        );
        // A doc that only repeats the key keeps the type's own description.
        assert_eq!(v["properties"]["size"]["description"], json!("bytes"));
        assert!(v["properties"]["ats"].get("description").is_none());
        assert_eq!(
            v["properties"]["ats"]["anyOf"][1],
            json!({ "type": "null" })
        );
    }
}

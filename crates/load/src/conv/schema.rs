//! The building blocks of the JSON Schemas (draft-07) that `crate::schema` gives for
//! editors: what each [`FromYaml`](super::FromYaml) type accepts
//! (`FromYaml::schema`), and the objects `raw_struct!` and `platform_struct!` build from
//! their field lists, doc comments as descriptions.

use serde_json::{json, Map, Value};

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

//! The canonical form of one imported machine and its fingerprint (docs/audit.md
//! "Fingerprint").
//!
//! The canonical form is a sorted map `path → value` built from two things only:
//! - the platform the import derived (the loader's raw platform as JSON: topology shape,
//!   ids, classes, ACS capability and control, MPS/MPSS, link capabilities, BARs and
//!   windows, IOMMU kind, kernel release, arch and CPU, default domain, exports), with
//!   the platform's `name` and `description` left out;
//! - each function's trained link (`LnkSta`) as the dump shows it, since the import
//!   writes the capability and a downtrained link would otherwise not show.
//!
//! List elements are keyed by their `bdf` when they have one, else by their `name` (the
//! import derives names from BDF and class only), else by position; a list of scalars
//! is one value, `[a, b]`. Nothing else from the dump enters: no hostnames, serial
//! numbers, device names from `pci.ids`, IOMMU group numbers or warnings.
//!
//! The fingerprint is FNV-1a (64-bit) over the lines `path<TAB>value<LF>` in walking
//! order (the JSON map's key order, list elements in the import's order, which is by
//! BDF; then the links by BDF), written as 16 lowercase hex digits: the same import
//! gives the same fingerprint on every machine and in every shard. It is computed while
//! walking, without building the map, which only a cluster's representative needs.

use std::collections::BTreeMap;

use serde_json::Value;

/// A machine's canonical form: `path → value`, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Canon(pub BTreeMap<String, String>);

impl Canon {
    /// The canonical form of a platform given as JSON (the raw platform) and the trained
    /// links of the dump, `(bdf, "16GT/s x16")`.
    pub fn new(platform: &Value, links: impl IntoIterator<Item = (String, String)>) -> Canon {
        let mut map = BTreeMap::new();
        walk(platform, links, &mut |k, v| {
            map.insert(k.to_owned(), v.to_owned());
        });
        Canon(map)
    }
}

/// The fingerprint of the canonical form of `platform` and `links` (see [`Canon::new`]):
/// FNV-1a 64 over its `path\tvalue\n` lines in walking order, as 16 hex digits. Built
/// while walking, without the map.
pub fn fingerprint(platform: &Value, links: impl IntoIterator<Item = (String, String)>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    walk(platform, links, &mut |k, v| {
        eat(k.as_bytes());
        eat(b"\t");
        eat(v.as_bytes());
        eat(b"\n");
    });
    format!("{h:016x}")
}

/// Each line of the canonical form, in walking order: the platform's keys in the JSON
/// map's order, list elements in the import's order (by BDF), then the links.
fn walk(
    platform: &Value,
    links: impl IntoIterator<Item = (String, String)>,
    emit: &mut dyn FnMut(&str, &str),
) {
    let mut path = String::with_capacity(128);
    if let Value::Object(top) = platform {
        for (k, v) in top {
            if k == "name" || k == "description" {
                continue;
            }
            path.clear();
            path.push_str(k);
            flatten(&mut path, v, emit);
        }
    }
    for (bdf, link) in links {
        emit(&format!("dump[{bdf}].link_status"), &link);
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn flatten(path: &mut String, v: &Value, emit: &mut dyn FnMut(&str, &str)) {
    let len = path.len();
    match v {
        Value::Null => {}
        Value::Object(o) => {
            // The key an element is listed by is in its path already, and a node's name
            // derives from its BDF.
            let by = key_field(o);
            for (k, x) in o {
                if by == Some(k.as_str()) || (by == Some("bdf") && k == "name") {
                    continue;
                }
                path.push('.');
                path.push_str(k);
                flatten(path, x, emit);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            if items.iter().all(|i| !i.is_object() && !i.is_array()) {
                let parts: Vec<String> = items.iter().filter_map(scalar).collect();
                emit(path, &format!("[{}]", parts.join(", ")));
                return;
            }
            for (i, item) in items.iter().enumerate() {
                let key = item
                    .as_object()
                    .and_then(key_field)
                    .and_then(|k| item.get(k))
                    .and_then(scalar)
                    .unwrap_or_else(|| i.to_string());
                path.push('[');
                path.push_str(&key);
                path.push(']');
                flatten(path, item, emit);
                path.truncate(len);
            }
        }
        Value::String(s) => emit(path, s),
        Value::Bool(b) => emit(path, if *b { "true" } else { "false" }),
        Value::Number(n) => emit(path, &n.to_string()),
    }
}

/// The field a list element is keyed by: `bdf`, else `name`, else `device` (imports).
fn key_field(o: &serde_json::Map<String, Value>) -> Option<&'static str> {
    ["bdf", "name", "device"]
        .into_iter()
        .find(|k| o.get(*k).and_then(scalar).is_some())
}

/// Where a canonical path sits: the last element key in it that is not a position (a
/// BDF, or the name of an export, host bridge, IOMMU …), or `platform`; and the field
/// below that place, with the list's name kept (`root_ports.acs.ctl`).
pub fn place_of(path: &str) -> (String, String) {
    let mut place = None;
    let mut search = 0;
    while let Some(open) = path[search..].find('[').map(|i| i + search) {
        let Some(close) = path[open..].find(']').map(|i| i + open) else {
            break;
        };
        let key = &path[open + 1..close];
        if !key.bytes().all(|b| b.is_ascii_digit()) {
            place = Some((open, close));
        }
        search = close + 1;
    }
    match place {
        Some((open, close)) => {
            let list = path[..open].rsplit(['.', ']']).next().unwrap_or("");
            let rest = &path[close + 1..];
            let field = format!("{list}{rest}");
            (path[open + 1..close].to_owned(), field)
        }
        None => ("platform".to_owned(), path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_by_bdf_and_joins_scalars() {
        let v = serde_json::json!({
            "name": "box-17", "description": "serial 1234",
            "kernel": {"release": "6.8"},
            "root_ports": [{"name": "rp", "bdf": "0000:18:08.0", "acs": {"ctl": ["sv", "rr"]}}]
        });
        let c = Canon::new(&v, [("0000:41:00.0".to_owned(), "16GT/s x8".to_owned())]);
        let keys: Vec<&str> = c.0.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "dump[0000:41:00.0].link_status",
                "kernel.release",
                "root_ports[0000:18:08.0].acs.ctl",
            ]
        );
        assert_eq!(c.0["root_ports[0000:18:08.0].acs.ctl"], "[sv, rr]");
        // Names and descriptions of the platform do not change the fingerprint.
        let mut w = v.clone();
        w["name"] = "box-18".into();
        let d = Canon::new(&w, [("0000:41:00.0".to_owned(), "16GT/s x8".to_owned())]);
        assert_eq!(c, d);
        let link = |w: &str| [("0000:41:00.0".to_owned(), format!("16GT/s {w}"))];
        assert_eq!(fingerprint(&v, link("x8")), fingerprint(&w, link("x8")));
        assert_ne!(fingerprint(&v, link("x8")), fingerprint(&w, link("x16")));
    }

    #[test]
    fn places() {
        assert_eq!(
            place_of("host_bridges[hb-0000-00].root_ports[0000:18:08.0].acs.ctl"),
            ("0000:18:08.0".to_owned(), "root_ports.acs.ctl".to_owned())
        );
        assert_eq!(
            place_of("dump[0000:41:00.0].link_status"),
            ("0000:41:00.0".to_owned(), "dump.link_status".to_owned())
        );
        assert_eq!(
            place_of("kernel.release"),
            ("platform".to_owned(), "kernel.release".to_owned())
        );
    }
}

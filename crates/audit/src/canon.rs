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
//! The fingerprint is FNV-1a (64-bit) over the lines `path<TAB>value<LF>` in sorted
//! order, written as 16 lowercase hex digits: the same canonical form gives the same
//! fingerprint on every machine and in every shard.

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
        if let Value::Object(top) = platform {
            for (k, v) in top {
                if k == "name" || k == "description" {
                    continue;
                }
                flatten(k, v, &mut map);
            }
        }
        for (bdf, link) in links {
            map.insert(format!("dump[{bdf}].link_status"), link);
        }
        Canon(map)
    }

    /// The fingerprint: FNV-1a 64 over `path\tvalue\n` lines in order, as 16 hex digits.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for (k, v) in &self.0 {
            eat(k.as_bytes());
            eat(b"\t");
            eat(v.as_bytes());
            eat(b"\n");
        }
        format!("{h:016x}")
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

fn flatten(path: &str, v: &Value, out: &mut BTreeMap<String, String>) {
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
                flatten(&format!("{path}.{k}"), x, out);
            }
        }
        Value::Array(items) => {
            if items.iter().all(|i| !i.is_object() && !i.is_array()) {
                let parts: Vec<String> = items.iter().filter_map(scalar).collect();
                out.insert(path.to_owned(), format!("[{}]", parts.join(", ")));
                return;
            }
            for (i, item) in items.iter().enumerate() {
                let key = item
                    .as_object()
                    .and_then(key_field)
                    .and_then(|k| item.get(k))
                    .and_then(scalar)
                    .unwrap_or_else(|| i.to_string());
                flatten(&format!("{path}[{key}]"), item, out);
            }
        }
        other => {
            if let Some(s) = scalar(other) {
                out.insert(path.to_owned(), s);
            }
        }
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
        assert_eq!(c.fingerprint(), d.fingerprint());
        let e = Canon::new(&w, [("0000:41:00.0".to_owned(), "16GT/s x16".to_owned())]);
        assert_ne!(c.fingerprint(), e.fingerprint());
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

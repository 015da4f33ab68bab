//! The platform file: the loader's raw platform, written by `peerpath_load::to_yaml`,
//! under a comment header.
//!
//! Quoting, indentation and number spelling are `peerpath-load`'s (the only crate that
//! knows YAML). Comments are not YAML structure: the header lines and a compact
//! `Devices` section (one line per node: name, ids and name from the dump, IOMMU group)
//! are prepended as `# ` lines.

use std::collections::BTreeMap;

use peerpath_load::raw::RawPlatform;

/// `16MiB` when exact, else the number of bytes: sizes as the header's prose spells them
/// (the loader's spelling, `peerpath_load::size_text`).
pub(crate) fn size(v: u64) -> String {
    peerpath_load::size_text(v)
}

/// The comment lines: the header, then one line per node that has a comment, in the
/// file's order (host bridges with their root ports, switches with their downstream
/// ports, bridges, endpoints).
fn comment_lines(
    header: &[String],
    comments: &BTreeMap<String, String>,
    raw: &RawPlatform,
) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for hb in &raw.host_bridges {
        names.push(&hb.name);
        names.extend(hb.root_ports.iter().map(|rp| rp.name.as_str()));
    }
    for sw in &raw.switches {
        names.push(&sw.name);
        names.extend(sw.downstream.iter().map(|dp| dp.name.as_str()));
    }
    names.extend(raw.bridges.iter().map(|b| b.name.as_str()));
    names.extend(raw.endpoints.iter().map(|e| e.name.as_str()));
    let nodes: Vec<String> = names
        .into_iter()
        .filter_map(|n| comments.get(n).map(|c| format!("- {n}: {c}")))
        .collect();
    let mut lines = header.to_vec();
    if !nodes.is_empty() {
        lines.push("Devices (name: ids and name from the dump; IOMMU group):".to_string());
        lines.extend(nodes);
    }
    lines
}

/// Writes the file: the comment header, then `peerpath_load::to_yaml` of the raw
/// platform.
pub(crate) fn render(
    header: &[String],
    comments: &BTreeMap<String, String>,
    raw: &RawPlatform,
) -> String {
    let mut out = String::new();
    for line in comment_lines(header, comments, raw) {
        out.push_str(&peerpath_load::comment_line(&line));
        out.push('\n');
    }
    out.push_str(&peerpath_load::to_yaml(raw));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(16 << 20), "16MiB");
        assert_eq!(size(24 << 20), "24MiB");
        assert_eq!(size(0x80000), "512KiB");
        assert_eq!(size(1 << 40), "1TiB");
        assert_eq!(size(100), "100");
        assert_eq!(size(0), "0");
    }
}

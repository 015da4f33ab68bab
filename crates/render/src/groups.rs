//! `peerpath groups`: the IOMMU groups (K4.3) as text or JSON (output-format.md).

use peerpath_topology::Topology;

#[derive(serde::Serialize)]
struct GroupsJson<'a> {
    format: u32,
    groups: Vec<GroupJson<'a>>,
}

#[derive(serde::Serialize)]
struct GroupJson<'a> {
    id: u32,
    devices: Vec<&'a str>,
}

/// `{"format":1,"groups":[{"id":0,"devices":[...]}]}` with a trailing newline.
pub fn groups_json(topo: &Topology<'_>) -> Result<String, serde_json::Error> {
    let doc = GroupsJson {
        format: 1,
        groups: topo
            .groups()
            .groups
            .iter()
            .map(|g| GroupJson {
                id: g.id,
                devices: g.devices.iter().map(|d| topo.name(*d)).collect(),
            })
            .collect(),
    };
    let mut s = serde_json::to_string(&doc)?;
    s.push('\n');
    Ok(s)
}

/// One line per group: `group 3: gpu0 (0000:03:00.0), gpu0-audio (0000:03:00.1)`.
pub fn groups_text(topo: &Topology<'_>) -> String {
    let p = topo.platform();
    let groups = &topo.groups().groups;
    let mut out = format!(
        "IOMMU groups of {} ({} algorithm): {} group{}\n",
        p.name,
        p.kernel.group_algorithm,
        groups.len(),
        if groups.len() == 1 { "" } else { "s" }
    );
    for g in groups {
        let members: Vec<String> = g
            .devices
            .iter()
            .map(|d| match topo.bdf(*d) {
                Some(b) => format!("{} ({b})", topo.name(*d)),
                None => topo.name(*d).to_owned(),
            })
            .collect();
        out.push_str(&format!("group {}: {}\n", g.id, members.join(", ")));
    }
    let ungrouped: Vec<&str> = topo
        .endpoints()
        .filter(|e| topo.groups().group_of(*e).is_none())
        .map(|e| topo.name(e))
        .collect();
    if !ungrouped.is_empty() {
        out.push_str(&format!(
            "no IOMMU translates (no group): {}\n",
            ungrouped.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests;

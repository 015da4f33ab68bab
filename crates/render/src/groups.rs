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
    quirks(topo, &mut out);
    out
}

/// When a quirk row came in, in words.
fn since(i: peerpath_model::Introduced) -> String {
    match i {
        peerpath_model::Introduced::In(r) => format!("since {r}"),
        other => other.to_string(),
    }
}

/// The device-specific quirks that shaped the groups (issue 24), one line each.
fn quirks(topo: &Topology<'_>, out: &mut String) {
    let p = topo.platform();
    let release = p.kernel.release_version();
    for id in p.node_ids() {
        let pid = p.node(id).pci_id.map(|i| i.to_string()).unwrap_or_default();
        if let Some(q) = topo.acs_quirk(id) {
            out.push_str(&format!(
                "ACS quirk: {} ({pid}) {}: isolates as if {} were enabled ({})\n",
                topo.name(id),
                q.function,
                q.provides | q.ignores,
                since(q.since)
            ));
        }
        let alias = p
            .node(id)
            .pci_id
            .and_then(|i| peerpath_topology::quirks::dma_alias_quirk(i, release));
        let partners = topo.dma_alias_partners(id);
        if let (Some(q), false) = (alias, partners.is_empty()) {
            let names: Vec<&str> = partners.iter().map(|n| topo.name(*n)).collect();
            out.push_str(&format!(
                "DMA alias quirk: {} ({pid}) {}: shares a group with {} ({})\n",
                topo.name(id),
                q.function,
                names.join(", "),
                since(q.since)
            ));
        }
    }
}

#[cfg(test)]
mod tests;

//! Step 1: which functions become nodes, with which role and name. Functions are placed
//! top-down, so that a parent's role is known when its children are placed; a function
//! the platform format cannot hold where it sits is left out, and the header says why.

use std::collections::{BTreeMap, BTreeSet};

use peerpath_model::Bdf;

use super::names::node_name;
use super::{Ctx, Notes, Role};
use crate::machine::{DeviceKind, HierarchySource, KindEvidence, Machine, PciDevice};

/// The functions that become nodes, and where they go.
#[derive(Debug)]
pub(super) struct Layout<'m> {
    m: &'m Machine,
    /// The functions written to the platform (placed or not), in the machine's order.
    pub emitted: Vec<&'m PciDevice>,
    emitted_set: BTreeSet<Bdf>,
    /// Each placed function's role and node name.
    pub placed: BTreeMap<Bdf, (Role, String)>,
}

impl<'m> Layout<'m> {
    /// The nearest ancestor that is emitted (functions left out are skipped over).
    pub(super) fn parent(&self, d: &PciDevice) -> Option<Bdf> {
        let mut p = d.parent;
        while let Some(b) = p {
            if self.emitted_set.contains(&b) {
                return Some(b);
            }
            p = self.m.device(b).and_then(|x| x.parent);
        }
        None
    }

    /// The placed parent's role and name.
    pub(super) fn placed_parent(&self, d: &PciDevice) -> Option<&(Role, String)> {
        self.parent(d).and_then(|p| self.placed.get(&p))
    }

    /// The role of a placed function.
    pub(super) fn role(&self, b: Bdf) -> Option<Role> {
        self.placed.get(&b).map(|(r, _)| *r)
    }

    /// The emitted, placed functions directly below `b`, in the machine's order.
    pub(super) fn children(&self, b: Bdf) -> impl Iterator<Item = &'m PciDevice> + '_ {
        self.emitted
            .iter()
            .copied()
            .filter(move |c| self.parent(c) == Some(b) && self.placed.contains_key(&c.bdf))
    }

    /// The emitted functions of a given role, in the machine's order, with their names.
    pub(super) fn with_role(&self, role: Role) -> impl Iterator<Item = (&'m PciDevice, &str)> + '_ {
        self.emitted
            .iter()
            .copied()
            .filter_map(move |d| match self.placed.get(&d.bdf) {
                Some((r, n)) if *r == role => Some((d, n.as_str())),
                _ => None,
            })
    }
}

/// Which functions are nodes, their roles and names; notes what was left out or inferred.
pub(super) fn layout<'m>(cx: &Ctx<'m>, notes: &mut Notes) -> Layout<'m> {
    let m = cx.m;
    let emitted = emitted(m, notes);
    let mut layout = Layout {
        m,
        emitted_set: emitted.iter().map(|d| d.bdf).collect(),
        emitted,
        placed: BTreeMap::new(),
    };
    place(&mut layout, notes);
    note_inferred_kinds(&layout, notes);
    layout
}

/// The functions written to the platform: all but the root complex's own host bridge
/// functions and the IOMMU's PCI functions.
fn emitted<'m>(m: &'m Machine, notes: &mut Notes) -> Vec<&'m PciDevice> {
    let mut skipped_own = Vec::new();
    let mut skipped_iommu = Vec::new();
    let mut emitted = Vec::new();
    for d in &m.devices {
        if d.iommu_group.is_none() && d.is_own_host_bridge_function() {
            skipped_own.push(d.bdf);
        } else if d.iommu_group.is_none() && d.class_base_sub() == Some(0x0806) {
            skipped_iommu.push(d.bdf);
        } else {
            emitted.push(d);
        }
    }
    notes.list(
        "not emitted, host bridge functions at 00.0 on a root bus without an IOMMU group (the root complex itself); its ids become the host bridge's `id` where the dump has them",
        &skipped_own,
    );
    notes.list(
        "not emitted, the IOMMU's own PCI functions (class 0x0806, no IOMMU group)",
        &skipped_iommu,
    );
    emitted
}

/// The role a function asks for by its kind.
fn wanted_role(d: &PciDevice) -> Role {
    match d.kind {
        DeviceKind::RootPort => Role::RootPort,
        DeviceKind::SwitchUpstream => Role::Upstream,
        DeviceKind::SwitchDownstream => Role::Downstream,
        DeviceKind::PcieToPciBridge | DeviceKind::PciToPcieBridge | DeviceKind::PciBridge => {
            Role::Bridge
        }
        _ if d.bus_range.is_some() => Role::Bridge,
        _ => Role::Endpoint,
    }
}

fn role_name(r: Option<Role>) -> &'static str {
    match r {
        None => "root bus",
        Some(Role::RootPort) => "root port",
        Some(Role::Upstream) => "switch upstream port",
        Some(Role::Downstream) => "switch downstream port",
        Some(Role::Bridge) => "PCI bridge",
        Some(Role::Endpoint) => "endpoint",
    }
}

/// Places the emitted functions top-down: a role the format allows below the parent's.
fn place(layout: &mut Layout<'_>, notes: &mut Notes) {
    let m = layout.m;
    let mut order = layout.emitted.clone();
    order.sort_by_cached_key(|d| (m.ancestors(d.bdf).len(), d.bdf));
    let mut dropped: Vec<(Bdf, String)> = Vec::new();
    let mut bridge_as_root_port = Vec::new();
    for d in order {
        let parent = layout.parent(d);
        let parent_role = parent.and_then(|p| layout.role(p));
        if parent.is_some() && parent_role.is_none() {
            dropped.push((d.bdf, "its parent is not in the platform".to_string()));
            continue;
        }
        let role = match (wanted_role(d), parent_role) {
            (Role::RootPort, None) => Some(Role::RootPort),
            (Role::Bridge | Role::Downstream, None) => {
                bridge_as_root_port.push(d.bdf);
                Some(Role::RootPort)
            }
            (Role::Upstream, Some(Role::RootPort | Role::Downstream)) => Some(Role::Upstream),
            (Role::Downstream, Some(Role::Upstream)) => Some(Role::Downstream),
            (Role::Bridge, Some(Role::RootPort | Role::Downstream | Role::Bridge)) => {
                Some(Role::Bridge)
            }
            (Role::Endpoint, None | Some(Role::RootPort | Role::Downstream | Role::Bridge)) => {
                Some(Role::Endpoint)
            }
            _ => None,
        };
        match role {
            Some(r) => {
                layout.placed.insert(d.bdf, (r, node_name(r, d)));
            }
            None => dropped.push((
                d.bdf,
                format!(
                    "a {:?} below a {} cannot be written in the platform format",
                    d.kind,
                    role_name(parent_role)
                ),
            )),
        }
    }
    notes.list(
        "type-1 bridges on a root bus written as root ports",
        &bridge_as_root_port,
    );
    for (b, why) in &dropped {
        notes.add(format!("not emitted: {b}: {why}"));
    }
}

/// Notes the bridge roles the dump did not state, and where the hierarchy came from.
fn note_inferred_kinds(layout: &Layout<'_>, notes: &mut Notes) {
    let by_shape: Vec<Bdf> = layout
        .emitted
        .iter()
        .filter(|d| {
            layout.placed.contains_key(&d.bdf)
                && d.is_bridge()
                && d.kind_from == KindEvidence::TreeShape
        })
        .map(|d| d.bdf)
        .collect();
    notes.list(
        "bridge roles (root port / switch upstream / switch downstream / PCIe-to-PCI bridge) inferred from the shape of the hierarchy, the dump gives no PCIe port type",
        &by_shape,
    );
    match layout.m.hierarchy {
        HierarchySource::Unknown if !layout.m.devices.is_empty() => notes.add(
            "the dump shows no hierarchy: every device is placed on its own bus's host bridge",
        ),
        HierarchySource::BusNumbers => {
            notes.add("hierarchy rebuilt from the bridges' secondary/subordinate bus numbers")
        }
        _ => {}
    }
}

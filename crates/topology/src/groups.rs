//! K4.3 — IOMMU groups (`drivers/iommu/iommu.c`: `pci_device_group`,
//! `get_pci_alias_group`, `get_pci_function_alias_group`; `drivers/pci/pci.c`:
//! `pci_acs_enabled`, `pci_acs_flags_enabled`, `pci_acs_path_enabled`;
//! `drivers/pci/search.c`: `pci_for_each_dma_alias`; Jason Gunthorpe's series "Fix
//! incorrect iommu_groups with PCIe ACS" v3, 2025: `pci_bus_isolated`,
//! `pcie_switch_isolated`, `pci_reachable_set`, `pci_mfds_are_same_group`,
//! `pci_hierarchy_group`).
//!
//! **Who gets a group.** Every PCI function below a host bridge with an IOMMU:
//! endpoints, and the root ports, switch ports and PCIe-to-PCI bridges the kernel
//! probes too. Nothing below a host bridge without an IOMMU is grouped. Groups are
//! numbered from 0 in the order of their lowest BDF; members are sorted by name.
//!
//! **`pci_acs_enabled(dev, SV|RR|CR|UF)`** (both algorithms). PCIe-to-PCI bridges and
//! conventional PCI devices never isolate. Root and switch downstream ports isolate
//! when their ACS Control has every required flag, where a flag absent from the
//! capability counts as hard-wired on (EC excepted — not required here anyway); a port
//! with no ACS capability does not isolate. Endpoints, RCiEPs and switch upstream
//! ports isolate unless multifunction, in which case they need the same test. A
//! function is multifunction when marked so or when another function shares its slot
//! (the kernel sets `dev->multifunction` for every function found past function 0).
//!
//! **`legacy`** (`pci_device_group`, mainline through 6.x), per device in enumeration
//! order: (1) walk the DMA aliases upward (`pci_for_each_dma_alias`): a device below a
//! PCIe-to-PCI bridge issues DMA with the bridge's secondary bus number, so it joins
//! the bridge's group; (2) from that topmost alias climb bus by bus: stop where the
//! bridge above the bus (`bus->self`) has an ACS path to the root meeting the flags
//! (`pci_acs_path_enabled`), else take that bridge's group; (3) a non-isolated
//! function of a multifunction slot joins the group of another non-isolated function
//! of the slot (the lowest one found first, since functions probe in order); (4) else
//! a new group. Hence a root port without ACS drags its subtree into its group, but
//! sibling switch downstream ports without ACS get *separate* groups: the hole that
//! `group-isolation-hole` reports ([`Topology::reachable_untranslated`]).
//!
//! **`reachable`** (the series): isolation is a property of a bus. In enumeration
//! order: (1) if the bridge above the device sits in a group marked non-isolated, join
//! it (`pci_hierarchy_group`); (2) else by `pci_bus_isolated(dev->bus)`: a root bus or
//! a switch downstream port's bus is isolated; a root port's bus is isolated unless
//! the port has an ACS capability that fails the test (no capability = no internal
//! loopback); a switch's internal bus is non-isolated as soon as one downstream port
//! fails the test; a PCIe-to-PCI bridge's bus is not isolated but the bridge (which
//! has no BARs in this model) is not part of it. Isolated bus: the device gets its own
//! group unless `pci_reachable_set` finds functions of its slot it can reach —
//! `pci_mfds_are_same_group`: a function with an ACS capability that fails the test
//! reaches its siblings; a function without one has no loopback — then the slot
//! shares a group marked non-isolated. Non-isolated root-port bus: join the root
//! port's group and mark it. Switch internal bus or PCI bus: all devices on it share
//! one group, marked. The marks make everything below join (step 1).
//!
//! **Quirks** (`crate::quirks`, issue 24): a device-specific ACS quirk answers
//! `pci_acs_enabled` first, whatever the function's capability, kind or multifunction
//! state; a function that is a DMA alias of (or aliased by) an already grouped function
//! on its bus joins that group before anything else is asked (`pci_for_each_dma_alias`,
//! `get_pci_alias_group`; taken first under both algorithms, a simplification of the
//! kernel's order where an ACS climb would also find a group).
//!
//! **StreamID aliases** (H3, issue 22): requesters behind one SMMUv3 that the RID maps
//! send to one StreamID (`Topology::stream_aliases`) share one group, under both
//! algorithms — they share the SMMU's stream table entry, so nothing can isolate them.
//! The kernel's arm-smmu-v3 refuses the second such device at probe instead
//! (`arm_smmu_insert_master`, engine `stream`); docs/status.md says why peerpath
//! groups them.
//!
//! Not modelled: SR-IOV, ACS Enhanced, `pci_real_dma_dev`.

use crate::Topology;
use peerpath_model::{GroupAlgorithm, NodeId, NodeKind};

/// One IOMMU group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Group number: groups are sorted by the BDF of their first device, from 0.
    pub id: u32,
    /// Member nodes (endpoints, and bridges/ports the kernel puts in groups), sorted by name.
    pub devices: Vec<NodeId>,
}

/// All IOMMU groups of a platform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    /// The groups, sorted by id.
    pub groups: Vec<Group>,
    /// For each node: its group id, if it has one.
    pub of: Vec<Option<u32>>,
}

impl Groups {
    /// The group of a node.
    pub fn group_of(&self, id: NodeId) -> Option<u32> {
        self.of.get(id.index()).copied().flatten()
    }

    /// The group with this id.
    pub fn group(&self, id: u32) -> Option<&Group> {
        self.groups.get(id as usize)
    }

    /// Whether two nodes are in the same group (false if either has none).
    pub fn same_group(&self, a: NodeId, b: NodeId) -> bool {
        matches!((self.group_of(a), self.group_of(b)), (Some(x), Some(y)) if x == y)
    }
}

impl Topology<'_> {
    /// `pci_acs_enabled(dev, REQ_ACS_FLAGS)` (K4.3): whether the kernel considers the
    /// function isolated by ACS, with the effective ACS Control. See the module docs.
    pub fn acs_isolated(&self, id: NodeId) -> bool {
        acs_enabled(self, id, multifunction(self, id))
    }

    /// The functions of `id`'s slot (same parent, segment, bus and device), itself
    /// included, in BDF order.
    pub fn slot_functions(&self, id: NodeId) -> &[NodeId] {
        slot_functions(self, id)
    }

    /// Whether the kernel treats this function as part of a multifunction device:
    /// marked `multifunction`, or another function shares its slot below the same parent.
    pub fn multifunction(&self, id: NodeId) -> bool {
        multifunction(self, id)
    }
}

/// The functions of `id`'s slot (same parent, segment, bus and device), itself
/// included, in BDF order; empty for host bridges.
pub(crate) fn slot_functions<'t>(topo: &'t Topology<'_>, id: NodeId) -> &'t [NodeId] {
    let (Some(parent), Some(bdf)) = (topo.parent(id), topo.bdf(id)) else {
        return &[];
    };
    let devs = topo.bus_devices(parent);
    let key = |n: &NodeId| topo.bdf(*n).map(|b| (b.segment, b.bus, b.device));
    let want = Some((bdf.segment, bdf.bus, bdf.device));
    let lo = devs.partition_point(|n| key(n) < want);
    let hi = devs.partition_point(|n| key(n) <= want);
    &devs[lo..hi]
}

fn multifunction(topo: &Topology<'_>, id: NodeId) -> bool {
    let flagged = match &topo.platform().node(id).kind {
        NodeKind::RootPort(p) | NodeKind::SwitchUpstream(p) | NodeKind::SwitchDownstream(p) => {
            p.multifunction
        }
        NodeKind::Endpoint(e) => e.multifunction,
        NodeKind::HostBridge(_) | NodeKind::PciBridge(_) => false,
    };
    flagged || slot_functions(topo, id).len() > 1
}

/// A conventional PCI function: below a PCIe-to-PCI bridge (no PCIe capability).
pub(crate) fn is_conventional(topo: &Topology<'_>, id: NodeId) -> bool {
    topo.parent(id)
        .is_some_and(|p| matches!(topo.platform().node(p).kind, NodeKind::PciBridge(_)))
}

/// `pci_acs_flags_enabled(dev, REQ_ACS_FLAGS)`: the one ACS decision under the
/// kernel's isolation reading ([`crate::acs::isolates`]).
fn acs_flags_enabled(topo: &Topology<'_>, id: NodeId) -> bool {
    crate::acs::isolates(topo.port_acs(id))
}

/// `pci_acs_enabled(dev, REQ_ACS_FLAGS)` given the function's multifunction state. A
/// device-specific quirk answers first (`pci_dev_specific_acs_enabled`), whatever the
/// function's kind, capability or multifunction state.
fn acs_enabled(topo: &Topology<'_>, id: NodeId, multifunction: bool) -> bool {
    if topo.acs_quirk(id).is_some() {
        return acs_flags_enabled(topo, id);
    }
    match &topo.platform().node(id).kind {
        NodeKind::HostBridge(_) | NodeKind::PciBridge(_) => false,
        _ if is_conventional(topo, id) => false,
        NodeKind::RootPort(_) | NodeKind::SwitchDownstream(_) => acs_flags_enabled(topo, id),
        NodeKind::SwitchUpstream(_) | NodeKind::Endpoint(_) => {
            !multifunction || acs_flags_enabled(topo, id)
        }
    }
}

/// `pci_bus_isolated()` of the bus below a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BusIsolation {
    /// `PCIE_ISOLATED`.
    Isolated,
    /// `PCIE_SWITCH_DSP_NON_ISOLATED`: the downstream ports reach each other.
    SwitchDspNonIsolated,
    /// `PCIE_NON_ISOLATED`: the bridge itself is reachable too.
    PcieNonIsolated,
    /// `PCI_BUS_NON_ISOLATED`: a PCI bus below a PCIe-to-PCI bridge without MMIO.
    PciBusNonIsolated,
    /// `PCI_BRIDGE_NON_ISOLATED`: a PCI bus whose bridge belongs to the group.
    PciBridgeNonIsolated,
}

/// Per-node facts both algorithms look up many times.
struct Ctx<'a, 'p> {
    topo: &'a Topology<'p>,
    multifunction: Vec<bool>,
    isolated: Vec<bool>,
}

impl<'a, 'p> Ctx<'a, 'p> {
    fn new(topo: &'a Topology<'p>) -> Self {
        let p = topo.platform();
        let multifunction: Vec<bool> = p.node_ids().map(|id| multifunction(topo, id)).collect();
        let isolated = p
            .node_ids()
            .map(|id| acs_enabled(topo, id, multifunction[id.index()]))
            .collect();
        Self {
            topo,
            multifunction,
            isolated,
        }
    }

    fn kind(&self, id: NodeId) -> &'p NodeKind {
        &self.topo.platform().node(id).kind
    }

    /// `dev->bus->self`: the bridge above a device, `None` on a root bus.
    fn bus_self(&self, id: NodeId) -> Option<NodeId> {
        self.topo
            .parent(id)
            .filter(|p| !matches!(self.kind(*p), NodeKind::HostBridge(_)))
    }

    fn isolated(&self, id: NodeId) -> bool {
        self.isolated[id.index()]
    }

    fn multifunction(&self, id: NodeId) -> bool {
        self.multifunction[id.index()]
    }
}

/// Provisional groups while simulating the probe order.
struct Assign {
    of: Vec<Option<usize>>,
    non_isolated: Vec<bool>,
}

impl Assign {
    fn new(n: usize) -> Self {
        Self {
            of: vec![None; n],
            non_isolated: Vec::new(),
        }
    }

    fn get(&self, id: NodeId) -> Option<usize> {
        self.of[id.index()]
    }

    fn alloc(&mut self, non_isolated: bool) -> usize {
        self.non_isolated.push(non_isolated);
        self.non_isolated.len() - 1
    }

    fn mark(&mut self, g: usize) -> usize {
        self.non_isolated[g] = true;
        g
    }
}

pub(crate) fn derive(topo: &Topology<'_>) -> Groups {
    let p = topo.platform();
    let n = p.nodes.len();
    let ctx = Ctx::new(topo);
    let mut assign = Assign::new(n);
    let grouped = |id: NodeId| {
        !matches!(p.node(id).kind, NodeKind::HostBridge(_)) && topo.iommu_of(id).is_some()
    };
    match p.kernel.group_algorithm {
        GroupAlgorithm::Legacy => {
            // `pci_acs_path_enabled(dev, NULL)`, memoised: parents come first in `nodes`.
            let mut path_ok = vec![false; n];
            for id in p.node_ids() {
                path_ok[id.index()] = ctx.isolated(id)
                    && ctx
                        .bus_self(id)
                        .is_none_or(|parent| path_ok[parent.index()]);
            }
            for &dev in topo.enumeration_order() {
                if grouped(dev) {
                    let g = legacy_group(&ctx, &path_ok, &mut assign, dev);
                    assign.of[dev.index()] = Some(g);
                }
            }
        }
        GroupAlgorithm::Reachable => {
            let bus_iso: Vec<BusIsolation> =
                p.node_ids().map(|id| bus_isolated(&ctx, id)).collect();
            for &dev in topo.enumeration_order() {
                if grouped(dev) {
                    let g = reachable_group(&ctx, &bus_iso, &mut assign, dev);
                    assign.of[dev.index()] = Some(g);
                }
            }
        }
    }
    merge_stream_aliases(topo, &mut assign);
    finish(topo, &assign)
}

/// H3: requesters behind one SMMU with one StreamID share its stream table entry,
/// whatever the ACS walk above decided, so they share a group. Groups joined by an
/// alias are folded into the lowest-numbered of them.
fn merge_stream_aliases(topo: &Topology<'_>, assign: &mut Assign) {
    let n = assign.non_isolated.len();
    let mut root: Vec<usize> = (0..n).collect();
    fn find(root: &mut [usize], mut g: usize) -> usize {
        while root[g] != g {
            root[g] = root[root[g]];
            g = root[g];
        }
        g
    }
    let mut merged = false;
    for id in topo.platform().node_ids() {
        let Some(a) = assign.get(id) else { continue };
        for &other in topo.stream_aliases(id) {
            let Some(b) = assign.get(other) else { continue };
            let (ra, rb) = (find(&mut root, a), find(&mut root, b));
            if ra != rb {
                let (lo, hi) = (ra.min(rb), ra.max(rb));
                root[hi] = lo;
                merged = true;
            }
        }
    }
    if !merged {
        return;
    }
    for g in 0..n {
        let r = find(&mut root, g);
        if assign.non_isolated[g] {
            assign.non_isolated[r] = true;
        }
    }
    for g in assign.of.iter_mut().flatten() {
        *g = find(&mut root, *g);
    }
}

/// `pci_device_group` as in mainline through 6.x.
fn legacy_group(ctx: &Ctx<'_, '_>, path_ok: &[bool], assign: &mut Assign, dev: NodeId) -> usize {
    // (1) pci_for_each_dma_alias + get_pci_alias_or_group: PCIe-to-PCI (and PCI-to-PCI)
    // bridges above the device are aliases; the topmost one is the last seen.
    let mut top = dev;
    let mut cur = dev;
    while let Some(bridge) = ctx.bus_self(cur) {
        if matches!(ctx.kind(bridge), NodeKind::PciBridge(_)) {
            top = bridge;
            if let Some(g) = assign.get(bridge) {
                return g;
            }
        }
        cur = bridge;
    }
    // DMA alias quirks (`pci_for_each_dma_alias`, `get_pci_alias_group`): a function
    // that aliases, or is aliased by, an already grouped function on its bus joins it.
    if let Some(g) = alias_group(ctx, assign, dev) {
        return g;
    }
    // (2) Climb from the alias while the bridge above lacks an isolating ACS path.
    let mut pdev = top;
    let mut cur = top;
    while let Some(bridge) = ctx.bus_self(cur) {
        if path_ok[bridge.index()] {
            break;
        }
        pdev = bridge;
        if let Some(g) = assign.get(bridge) {
            return g;
        }
        cur = bridge;
    }
    // (3) get_pci_alias_group: taken with (1) above (`alias_group`).
    // (4) get_pci_function_alias_group: non-isolated functions of the same slot.
    if ctx.multifunction(pdev) && !ctx.isolated(pdev) {
        for &f in slot_functions(ctx.topo, pdev) {
            if f != pdev && !ctx.isolated(f) {
                if let Some(g) = assign.get(f) {
                    return g;
                }
            }
        }
    }
    assign.alloc(false)
}

/// `pci_bus_isolated()` of the bus below `bus_self` (a host bridge: the root bus).
fn bus_isolated(ctx: &Ctx<'_, '_>, bus_self: NodeId) -> BusIsolation {
    let topo = ctx.topo;
    match ctx.kind(bus_self) {
        NodeKind::HostBridge(_) | NodeKind::SwitchDownstream(_) => BusIsolation::Isolated,
        NodeKind::RootPort(_) => {
            if topo.acs_cap(bus_self).is_some() && !ctx.isolated(bus_self) {
                BusIsolation::PcieNonIsolated
            } else {
                BusIsolation::Isolated
            }
        }
        NodeKind::SwitchUpstream(_) => {
            // pcie_switch_isolated(): any non-isolating DSP spoils the whole bus.
            for &d in topo.bus_devices(bus_self) {
                if !matches!(ctx.kind(d), NodeKind::SwitchDownstream(_)) {
                    return BusIsolation::PcieNonIsolated;
                }
                if !ctx.isolated(d) {
                    return BusIsolation::SwitchDspNonIsolated;
                }
            }
            BusIsolation::Isolated
        }
        // A PCIe-to-PCI bridge: the model gives bridges no BARs (no MMIO), so the bridge
        // stays out of its bus's group. A conventional bridge is part of it.
        NodeKind::PciBridge(_) if is_conventional(topo, bus_self) => {
            BusIsolation::PciBridgeNonIsolated
        }
        NodeKind::PciBridge(_) => BusIsolation::PciBusNonIsolated,
        // Endpoints have no secondary bus; never asked.
        NodeKind::Endpoint(_) => BusIsolation::PciBridgeNonIsolated,
    }
}

/// `pci_mfds_are_same_group` (DMA aliases are handled before, in `alias_group`).
/// Only called for functions of one slot.
fn mfds_same_group(ctx: &Ctx<'_, '_>, a: NodeId, b: NodeId) -> bool {
    if ctx.multifunction(a) != ctx.multifunction(b) {
        return true;
    }
    if !ctx.multifunction(a) {
        return false;
    }
    let loops = |f: NodeId| ctx.topo.acs_cap(f).is_some() && !ctx.isolated(f);
    loops(a) || loops(b)
}

/// `pci_reachable_set(dev, pci_devs_are_same_group)` minus `dev`, in BDF order.
fn reachable_functions(ctx: &Ctx<'_, '_>, dev: NodeId) -> Vec<NodeId> {
    let slot = slot_functions(ctx.topo, dev);
    let mut in_set = vec![false; slot.len()];
    let mut todo = vec![dev];
    while let Some(a) = todo.pop() {
        for (i, &b) in slot.iter().enumerate() {
            if b != dev && !in_set[i] && mfds_same_group(ctx, a, b) {
                in_set[i] = true;
                todo.push(b);
            }
        }
    }
    slot.iter()
        .zip(in_set)
        .filter_map(|(f, inside)| inside.then_some(*f))
        .collect()
}

/// A grouped DMA alias partner's group (quirks), if any.
fn alias_group(ctx: &Ctx<'_, '_>, assign: &Assign, dev: NodeId) -> Option<usize> {
    ctx.topo
        .dma_alias_partners(dev)
        .iter()
        .find_map(|a| assign.get(*a))
}

/// `pci_device_group` with the series applied.
fn reachable_group(
    ctx: &Ctx<'_, '_>,
    bus_iso: &[BusIsolation],
    assign: &mut Assign,
    dev: NodeId,
) -> usize {
    let parent = ctx.topo.parent(dev);
    // DMA alias quirks, as under `legacy` (the series keeps `pci_for_each_dma_alias`).
    if let Some(g) = alias_group(ctx, assign, dev) {
        return g;
    }
    // (1) pci_hierarchy_group.
    if let Some(bridge) = ctx.bus_self(dev) {
        if let Some(g) = assign.get(bridge) {
            if assign.non_isolated[g] {
                return g;
            }
        }
    }
    let iso = parent.map_or(BusIsolation::Isolated, |p| bus_iso[p.index()]);
    match iso {
        BusIsolation::Isolated => {
            let set = reachable_functions(ctx, dev);
            if set.is_empty() {
                return assign.alloc(false);
            }
            match set.iter().find_map(|f| assign.get(*f)) {
                Some(g) => assign.mark(g),
                None => assign.alloc(true),
            }
        }
        BusIsolation::PcieNonIsolated | BusIsolation::PciBridgeNonIsolated => {
            match ctx.bus_self(dev).and_then(|b| assign.get(b)) {
                Some(g) => assign.mark(g),
                // The bridge is probed first (enumeration order); unreachable.
                None => assign.alloc(true),
            }
        }
        BusIsolation::SwitchDspNonIsolated | BusIsolation::PciBusNonIsolated => {
            let on_bus = parent.map_or(&[][..], |p| ctx.topo.bus_devices(p));
            match on_bus.iter().find_map(|d| assign.get(*d)) {
                Some(g) => assign.mark(g),
                None => assign.alloc(true),
            }
        }
    }
}

/// Numbers the provisional groups by lowest BDF and sorts members by name.
fn finish(topo: &Topology<'_>, assign: &Assign) -> Groups {
    let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); assign.non_isolated.len()];
    for (i, g) in assign.of.iter().enumerate() {
        if let Some(g) = g {
            members[*g].push(NodeId(i as u32));
        }
    }
    let mut groups: Vec<(Option<peerpath_model::Bdf>, Vec<NodeId>)> = members
        .into_iter()
        .filter(|m| !m.is_empty())
        .map(|m| (m.iter().filter_map(|d| topo.bdf(*d)).min(), m))
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut of = vec![None; assign.of.len()];
    let groups = groups
        .into_iter()
        .enumerate()
        .map(|(id, (_, mut devices))| {
            for d in &devices {
                of[d.index()] = Some(id as u32);
            }
            devices.sort_by(|a, b| topo.name(*a).cmp(topo.name(*b)));
            Group {
                id: id as u32,
                devices,
            }
        })
        .collect();
    Groups { groups, of }
}

#[cfg(test)]
mod tests {
    use crate::Topology;
    use expect_test::{expect, Expect};
    use peerpath_model::{AcsFlags, GroupAlgorithm, IommuKind, NodeId, PlatformBuilder};
    use std::fmt::Write as _;

    /// An SMMU-translated host bridge hb0 on segment 0.
    fn base() -> (PlatformBuilder, NodeId) {
        let mut b = PlatformBuilder::new("groups");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
        b.host_bridge_mut(hb).iommu = Some(smmu);
        (b, hb)
    }

    /// One BAR per endpoint, 64 KiB apart.
    fn ep(b: &mut PlatformBuilder, name: &str, parent: NodeId, bdf: &str) -> NodeId {
        let n = b.platform_mut().nodes.len() as u64;
        b.endpoint(name, parent, bdf, 0x40_0000_0000 + n * 0x1_0000, 0x1000)
    }

    fn render(b: &PlatformBuilder, algorithm: GroupAlgorithm) -> String {
        let mut b = b.clone();
        b.kernel().group_algorithm = algorithm;
        let p = b.build();
        let t = Topology::new(&p);
        let mut out = String::new();
        for g in &t.groups().groups {
            let names: Vec<&str> = g.devices.iter().map(|d| t.name(*d)).collect();
            let _ = writeln!(out, "{}: {}", g.id, names.join(" "));
        }
        out
    }

    fn check(b: &PlatformBuilder, legacy: Expect, reachable: Expect) {
        legacy.assert_eq(&render(b, GroupAlgorithm::Legacy));
        reachable.assert_eq(&render(b, GroupAlgorithm::Reachable));
    }

    /// hb0 ─ rp0 ─ sw0 ─ sw0.dp0 ─ gpu0
    ///                 └ sw0.dp1 ─ nic0
    ///     └ rp1 ─ nvme0
    fn switch_fixture(rp0_acs: bool, dsp_acs: bool) -> PlatformBuilder {
        let (mut b, hb) = base();
        let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
        let rp1 = b.root_port("rp1", hb, "00:02.0", 512);
        b.acs(rp1, AcsFlags::REQ, None);
        if rp0_acs {
            b.acs(rp0, AcsFlags::REQ, None);
        }
        let (_, dps) = b.switch("sw0", rp0, "01:00.0", &["02:00.0", "02:01.0"], 512);
        if dsp_acs {
            for d in &dps {
                b.acs(*d, AcsFlags::all(), None);
            }
        }
        ep(&mut b, "gpu0", dps[0], "03:00.0");
        ep(&mut b, "nic0", dps[1], "04:00.0");
        ep(&mut b, "nvme0", rp1, "05:00.0");
        b
    }

    #[test]
    fn acs_everywhere_gives_one_group_per_function() {
        check(
            &switch_fixture(true, true),
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: sw0.dp0
                4: sw0.dp1
                5: gpu0
                6: nic0
                7: nvme0
            "#]],
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: sw0.dp0
                4: sw0.dp1
                5: gpu0
                6: nic0
                7: nvme0
            "#]],
        );
    }

    #[test]
    fn root_port_without_acs_takes_its_subtree_under_legacy_only() {
        // reachable: no ACS capability on a root port means no internal loopback.
        check(
            &switch_fixture(false, true),
            expect![[r#"
                0: gpu0 nic0 rp0 sw0 sw0.dp0 sw0.dp1
                1: rp1
                2: nvme0
            "#]],
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: sw0.dp0
                4: sw0.dp1
                5: gpu0
                6: nic0
                7: nvme0
            "#]],
        );
    }

    #[test]
    fn root_port_whose_acs_is_off_takes_its_subtree_under_both() {
        let mut b = switch_fixture(true, true);
        let rp0 = b.platform_mut().node_by_name("rp0").expect("rp0");
        b.acs(rp0, AcsFlags::REQ, Some(AcsFlags::empty()));
        check(
            &b,
            expect![[r#"
                0: gpu0 nic0 rp0 sw0 sw0.dp0 sw0.dp1
                1: rp1
                2: nvme0
            "#]],
            expect![[r#"
                0: gpu0 nic0 rp0 sw0 sw0.dp0 sw0.dp1
                1: rp1
                2: nvme0
            "#]],
        );
    }

    #[test]
    fn switch_downstream_ports_without_acs() {
        // legacy: each endpoint joins its own downstream port's group, the two subtrees
        // stay apart although gpu0 reaches nic0's MMIO untranslated (the hole).
        // reachable: the switch's internal bus is not isolated: one group below it.
        let b = switch_fixture(true, false);
        check(
            &b,
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: gpu0 sw0.dp0
                4: nic0 sw0.dp1
                5: nvme0
            "#]],
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: gpu0 nic0 sw0.dp0 sw0.dp1
                4: nvme0
            "#]],
        );
        let p = b.clone().build();
        let t = Topology::new(&p);
        let (g, n) = (
            p.node_by_name("gpu0").expect("gpu0"),
            p.node_by_name("nic0").expect("nic0"),
        );
        assert!(t.reachable_untranslated(g, n) && !t.groups().same_group(g, n));
    }

    #[test]
    fn disable_acs_redir_changes_groups_like_missing_acs() {
        let mut b = switch_fixture(true, true);
        let dps: Vec<NodeId> = ["sw0.dp0", "sw0.dp1"]
            .iter()
            .map(|n| b.platform_mut().node_by_name(n).expect("dsp"))
            .collect();
        b.kernel().disable_acs_redir = dps;
        let no_acs = switch_fixture(true, false);
        for algorithm in [GroupAlgorithm::Legacy, GroupAlgorithm::Reachable] {
            assert_eq!(
                render(&b, algorithm),
                render(&no_acs, algorithm),
                "{algorithm}"
            );
        }
        // One port is enough to spoil a switch's internal bus under `reachable`.
        let dp1 = b.platform_mut().node_by_name("sw0.dp1").expect("dp1");
        b.kernel().disable_acs_redir = vec![dp1];
        check(
            &b,
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: sw0.dp0
                4: nic0 sw0.dp1
                5: gpu0
                6: nvme0
            "#]],
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: gpu0 nic0 sw0.dp0 sw0.dp1
                4: nvme0
            "#]],
        );
    }

    /// Ampere Altra root ports: ACSCap SV TB UF (no RR, CR); GPU + audio functions.
    fn altra(rp_cap: AcsFlags) -> PlatformBuilder {
        let (mut b, hb) = base();
        let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
        let rp1 = b.root_port("rp1", hb, "00:03.0", 256);
        b.acs(rp0, rp_cap, None).acs(rp1, rp_cap, None);
        ep(&mut b, "gpu0", rp0, "01:00.0");
        ep(&mut b, "gpu0-audio", rp0, "01:00.1");
        ep(&mut b, "nvme0", rp1, "02:00.0");
        b
    }

    #[test]
    fn root_ports_with_hard_wired_rr_cr_isolate_like_ampere_altra() {
        // Matches shared/realdata (Altra, kernel 5.15): the GPU and its audio function
        // share a group, apart from the root port's. reachable splits the functions
        // (no ACS capability: no internal loopback).
        check(
            &altra(AcsFlags::SV | AcsFlags::TB | AcsFlags::UF),
            expect![[r#"
                0: rp0
                1: rp1
                2: gpu0 gpu0-audio
                3: nvme0
            "#]],
            expect![[r#"
                0: rp0
                1: rp1
                2: gpu0
                3: gpu0-audio
                4: nvme0
            "#]],
        );
        // Had the capability listed RR and CR, leaving them off would not isolate.
        let mut b = altra(AcsFlags::REQ | AcsFlags::TB);
        for rp in ["rp0", "rp1"] {
            let id = b.platform_mut().node_by_name(rp).expect("rp");
            b.acs(
                id,
                AcsFlags::REQ | AcsFlags::TB,
                Some(AcsFlags::SV | AcsFlags::UF),
            );
        }
        check(
            &b,
            expect![[r#"
                0: gpu0 gpu0-audio rp0
                1: nvme0 rp1
            "#]],
            expect![[r#"
                0: gpu0 gpu0-audio rp0
                1: nvme0 rp1
            "#]],
        );
    }

    #[test]
    fn multifunction_endpoint_without_acs_shares_one_group() {
        let (mut b, hb) = base();
        let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
        b.acs(rp0, AcsFlags::REQ, None);
        for (name, bdf) in [("nic0-p0", "01:00.0"), ("nic0-p1", "01:00.1")] {
            let id = ep(&mut b, name, rp0, bdf);
            b.endpoint_mut(id).multifunction = true;
        }
        check(
            &b,
            expect![[r#"
                0: rp0
                1: nic0-p0 nic0-p1
            "#]],
            expect![[r#"
                0: rp0
                1: nic0-p0
                2: nic0-p1
            "#]],
        );
        // With ACS on both functions (enabled by the kernel), each is isolated.
        let mut with_acs = b.clone();
        for n in ["nic0-p0", "nic0-p1"] {
            let id = with_acs.platform_mut().node_by_name(n).expect("fn");
            with_acs.acs(id, AcsFlags::REQ, None);
        }
        let expect_split = || {
            expect![[r#"
                0: rp0
                1: nic0-p0
                2: nic0-p1
            "#]]
        };
        check(&with_acs, expect_split(), expect_split());
        // Asymmetric: p0 has ACS but firmware left it off, p1's is enabled. p0 can reach
        // p1 through the device; legacy misses it, reachable groups them.
        let p0 = with_acs.platform_mut().node_by_name("nic0-p0").expect("p0");
        with_acs.acs(p0, AcsFlags::REQ, Some(AcsFlags::empty()));
        check(
            &with_acs,
            expect![[r#"
                0: rp0
                1: nic0-p0
                2: nic0-p1
            "#]],
            expect![[r#"
                0: rp0
                1: nic0-p0 nic0-p1
            "#]],
        );
    }

    #[test]
    fn pcie_to_pci_bridge_and_the_devices_below() {
        // legacy: the conventional devices DMA with the bridge's secondary bus number
        // (pci_for_each_dma_alias), so they join the bridge's group (shared/realdata:
        // AST1150 61:00.0 + VGA 62:00.0 in one group on EPYC). reachable: the bus below
        // a bridge without MMIO is one group, the bridge apart.
        let (mut b, hb) = base();
        let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
        b.acs(rp0, AcsFlags::REQ, None);
        let br = b.pci_bridge("ast-bridge", rp0, "01:00.0");
        ep(&mut b, "vga", br, "02:00.0");
        ep(&mut b, "serial", br, "02:01.0");
        check(
            &b,
            expect![[r#"
                0: rp0
                1: ast-bridge serial vga
            "#]],
            expect![[r#"
                0: rp0
                1: ast-bridge
                2: serial vga
            "#]],
        );
    }

    #[test]
    fn amd_dummy_host_bridge_gpp_bridge_and_functions_behind_share_a_group() {
        // shared/realdata EPYC Genoa: e0:07.0 (dummy host bridge), e0:07.1 (internal GPP
        // bridge, no ACS) and the functions behind it land in one group under legacy.
        let (mut b, hb) = base();
        let gpp1 = b.root_port("gpp1", hb, "00:01.1", 512);
        b.acs(gpp1, AcsFlags::REQ, None);
        let dummy = ep(&mut b, "dummy-hb", hb, "00:07.0");
        b.endpoint_mut(dummy).multifunction = true;
        let gpp7 = b.root_port("gpp7", hb, "00:07.1", 512);
        b.port_mut(gpp7).multifunction = true;
        ep(&mut b, "psp", gpp7, "01:00.0");
        ep(&mut b, "usb", gpp7, "01:00.4");
        ep(&mut b, "nvme0", gpp1, "02:00.0");
        check(
            &b,
            expect![[r#"
                0: gpp1
                1: dummy-hb gpp7 psp usb
                2: nvme0
            "#]],
            expect![[r#"
                0: gpp1
                1: dummy-hb
                2: gpp7
                3: psp
                4: usb
                5: nvme0
            "#]],
        );
    }

    #[test]
    fn multifunction_root_ports_without_acs_share_under_legacy() {
        // Intel PCH root ports 00:1c.0 and 00:1c.4, no ACS capability.
        let (mut b, hb) = base();
        let rp_a = b.root_port("pch-rp0", hb, "00:1c.0", 256);
        let rp_b = b.root_port("pch-rp4", hb, "00:1c.4", 256);
        ep(&mut b, "wifi", rp_a, "01:00.0");
        ep(&mut b, "eth", rp_b, "02:00.0");
        check(
            &b,
            expect![[r#"
                0: eth pch-rp0 pch-rp4 wifi
            "#]],
            expect![[r#"
                0: pch-rp0
                1: pch-rp4
                2: wifi
                3: eth
            "#]],
        );
        // With an ACS capability that is left off, reachable groups them too.
        for id in [rp_a, rp_b] {
            b.acs(id, AcsFlags::REQ, Some(AcsFlags::empty()));
        }
        let both = || {
            expect![[r#"
                0: eth pch-rp0 pch-rp4 wifi
            "#]]
        };
        check(&b, both(), both());
    }

    #[test]
    fn no_iommu_means_no_group_and_numbering_follows_bdf() {
        let (mut b, hb0) = base();
        let hb1 = b.host_bridge("hb1", 1, 0x50_0000_0000, 0x10_0000_0000);
        let rp_plain = b.root_port("rp-plain", hb1, "0001:00:01.0", 512);
        let plain = b.endpoint("plain", rp_plain, "0001:01:00.0", 0x50_0000_0000, 0x1000);
        let hb2 = b.host_bridge("hb2", 2, 0x60_0000_0000, 0x10_0000_0000);
        let smmu = b.platform_mut().iommus.len() as u32 - 1;
        b.host_bridge_mut(hb2).iommu = Some(peerpath_model::IommuId(smmu));
        // Its own StreamIDs: without them, a-rp2/z-ep2 would alias rp0/ep0 (H3).
        b.host_bridge_mut(hb2).stream_map = vec![peerpath_model::StreamMapEntry {
            rid_base: 0,
            sid_base: 0x2_0000,
            length: 0x1_0000,
        }];
        let rp2 = b.root_port("a-rp2", hb2, "0002:00:01.0", 512);
        ep(&mut b, "z-ep2", rp2, "0002:01:00.0");
        let rp0 = b.root_port("rp0", hb0, "00:01.0", 512);
        ep(&mut b, "ep0", rp0, "01:00.0");
        check(
            &b,
            expect![[r#"
                0: ep0 rp0
                1: a-rp2 z-ep2
            "#]],
            expect![[r#"
                0: rp0
                1: ep0
                2: a-rp2
                3: z-ep2
            "#]],
        );
        let p = b.build();
        let t = Topology::new(&p);
        assert_eq!(t.groups().group_of(plain), None);
        assert_eq!(t.groups().group_of(rp_plain), None);
        assert_eq!(t.groups().group_of(hb0), None);
    }

    #[test]
    fn stream_id_aliases_share_a_group_issue_22() {
        // hb0 and hb1 behind one SMMU, one identity map: rp0/rp1 and ep0/ep1 carry equal
        // RIDs on two segments, so equal StreamIDs (H3). `other` (0001:02:00.0) and rp2
        // have StreamIDs of their own.
        let (mut b, hb0) = base();
        let smmu = b.platform_mut().iommus.len() as u32 - 1;
        let hb1 = b.host_bridge("hb1", 1, 0x50_0000_0000, 0x10_0000_0000);
        b.host_bridge_mut(hb1).iommu = Some(peerpath_model::IommuId(smmu));
        let rp0 = b.root_port("rp0", hb0, "00:01.0", 512);
        ep(&mut b, "ep0", rp0, "01:00.0");
        let rp1 = b.root_port("rp1", hb1, "0001:00:01.0", 512);
        ep(&mut b, "ep1", rp1, "0001:01:00.0");
        let rp2 = b.root_port("rp2", hb1, "0001:00:02.0", 512);
        ep(&mut b, "other", rp2, "0001:02:00.0");
        check(
            &b,
            expect![[r#"
                0: ep0 ep1 rp0 rp1
                1: other rp2
            "#]],
            expect![[r#"
                0: rp0 rp1
                1: ep0 ep1
                2: rp2
                3: other
            "#]],
        );
        // A map for hb1 tells the segments apart again.
        b.host_bridge_mut(hb1).stream_map = vec![peerpath_model::StreamMapEntry {
            rid_base: 0,
            sid_base: 0x1_0000,
            length: 0x1_0000,
        }];
        check(
            &b,
            expect![[r#"
                0: ep0 rp0
                1: ep1 rp1
                2: other rp2
            "#]],
            expect![[r#"
                0: rp0
                1: ep0
                2: rp1
                3: rp2
                4: ep1
                5: other
            "#]],
        );
    }

    #[test]
    fn acs_isolated_follows_pci_acs_enabled() {
        let (mut b, hb) = base();
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        let br = b.pci_bridge("br", rp, "01:00.0");
        let conv = ep(&mut b, "conv", br, "02:00.0");
        let rp2 = b.root_port("rp2", hb, "00:02.0", 512);
        let single = ep(&mut b, "single", rp2, "03:00.0");
        let p = b.build();
        let t = Topology::new(&p);
        assert!(!t.acs_isolated(rp), "root port without ACS capability");
        assert!(!t.acs_isolated(br), "PCIe-to-PCI bridge");
        assert!(!t.acs_isolated(conv), "conventional PCI");
        assert!(t.acs_isolated(single), "single-function endpoint");
        assert!(!t.multifunction(single));
    }

    fn release(b: &PlatformBuilder, r: &str) -> PlatformBuilder {
        let mut b = b.clone();
        b.kernel().version = Some(r.parse().expect("release"));
        b
    }

    #[test]
    fn intel_pch_acs_quirk_isolates_root_ports_without_an_acs_capability() {
        // The multifunction PCH root ports of `multifunction_root_ports_without_acs_…`,
        // now with their ids: 8086:1c10/1c18 are in pci_quirk_intel_pch_acs_ids.
        let pch = |ids: [u16; 2]| {
            let (mut b, hb) = base();
            let rp_a = b.root_port("pch-rp0", hb, "00:1c.0", 256);
            let rp_b = b.root_port("pch-rp4", hb, "00:1c.4", 256);
            b.pci_id(rp_a, 0x8086, ids[0]).pci_id(rp_b, 0x8086, ids[1]);
            ep(&mut b, "wifi", rp_a, "01:00.0");
            ep(&mut b, "eth", rp_b, "02:00.0");
            b
        };
        let split = || {
            expect![[r#"
                0: pch-rp0
                1: pch-rp4
                2: wifi
                3: eth
            "#]]
        };
        check(&pch([0x1c10, 0x1c18]), split(), split());
        // The twin: ids the quirk does not list (Sunrise Point has its own quirk, not
        // modelled) keep the legacy sharing.
        check(
            &pch([0xa110, 0xa114]),
            expect![[r#"
                0: eth pch-rp0 pch-rp4 wifi
            "#]],
            split(),
        );
    }

    #[test]
    fn zhaoxin_port_quirk_came_in_5_7() {
        let mut b = switch_fixture(true, false);
        for d in ["sw0.dp0", "sw0.dp1"] {
            let id = b.platform_mut().node_by_name(d).expect("dsp");
            b.pci_id(id, 0x1d17, 0x0710);
        }
        let apart = || {
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: sw0.dp0
                4: sw0.dp1
                5: gpu0
                6: nic0
                7: nvme0
            "#]]
        };
        check(&release(&b, "5.7"), apart(), apart());
        check(
            &release(&b, "5.6"),
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: gpu0 sw0.dp0
                4: nic0 sw0.dp1
                5: nvme0
            "#]],
            expect![[r#"
                0: rp0
                1: rp1
                2: sw0
                3: gpu0 nic0 sw0.dp0 sw0.dp1
                4: nvme0
            "#]],
        );
        // The silicon honours the quirk too: the hole of 5.6 (gpu0 reaches nic0's MMIO
        // untranslated, in another group) is closed on 5.7.
        let hole = |r: &str| {
            let p = release(&b, r).build();
            let t = Topology::new(&p);
            let (g, n) = (
                p.node_by_name("gpu0").expect("gpu0"),
                p.node_by_name("nic0").expect("nic0"),
            );
            t.reachable_untranslated(g, n)
        };
        assert!(hole("5.6"));
        assert!(!hole("5.7"));
    }

    #[test]
    fn marvell_dma_alias_puts_both_functions_in_one_group() {
        // Two functions whose ACS (enabled by the kernel) isolates them; the Marvell
        // 88SE9128 issues DMA as function 1 (quirk_dma_func1_alias).
        let sata = |device: u16| {
            let (mut b, hb) = base();
            let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
            b.acs(rp0, AcsFlags::REQ, None);
            let f0 = ep(&mut b, "sata", rp0, "01:00.0");
            let f1 = ep(&mut b, "ide", rp0, "01:00.1");
            for f in [f0, f1] {
                b.acs(f, AcsFlags::REQ, None);
            }
            b.pci_id(f0, 0x1b4b, device).pci_id(f1, 0x1b4b, 0x91a4);
            b
        };
        let shared = || {
            expect![[r#"
                0: rp0
                1: ide sata
            "#]]
        };
        check(&sata(0x9128), shared(), shared());
        let apart = || {
            expect![[r#"
                0: rp0
                1: sata
                2: ide
            "#]]
        };
        check(&sata(0x9100), apart(), apart());
    }
}

//! The platform's graph, built once, and the queries the engine and rules need.
//!
//! `Topology::new` builds a petgraph `DiGraph` whose first `platform.nodes.len()` node
//! indices are the PCI nodes (so a `NodeId` is also a graph index), followed by one
//! graph node per IOMMU and per TBU. Edges point downstream (parent → child) for the
//! PCI hierarchy; host bridges point to their IOMMU, root ports to their TBU, TBUs to
//! their IOMMU. It then computes the derived state of platform-format.md ("Derived,
//! not written"): memory windows, effective MPS (K5), ACS Control (K4.1, K4.2), the
//! IOMMU groups (K4.3) and each device's IOMMU domain (K3.2), in the order the kernel
//! enumerates devices ([`Topology::enumeration_order`]). [`Topology::reachable_untranslated`]
//! answers whether one device reaches another's MMIO without passing the IOMMU.
//!
//! Architecture invariant: the topology does no IO and never formats user-facing text
//! beyond names; output order never depends on hash order.

pub mod acs;
mod domain;
mod groups;
mod mps;
mod path_class;
pub mod quirks;
mod reach;
mod stream;
mod windows;

pub use acs::{effective_acs_ctl, PortAcs};
pub use domain::{DeviceDomain, DomainSource};
pub use groups::{Group, Groups};
pub use path_class::{PathClass, NUMA_ASSUMPTION};

use peerpath_model::{
    AcsFlags, Bdf, BridgeWindows, Endpoint, HostBridge, IommuId, NodeId, NodeKind, Platform, Port,
    Rid, StreamId, TbuId,
};
use petgraph::graph::{DiGraph, NodeIndex};

/// What a graph node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vertex {
    /// A PCI node of `Platform::nodes`.
    Pci(NodeId),
    /// An IOMMU (its TCU for an SMMU).
    Iommu(IommuId),
    /// An SMMU TBU.
    Tbu(TbuId),
}

/// What a graph edge stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Parent → child in the PCI hierarchy (a PCIe link or the internal bus of a
    /// switch or root complex).
    Down,
    /// Host bridge → the IOMMU translating traffic from below it.
    TranslatedBy,
    /// Root port → the external TBU its upstream traffic passes.
    ThroughTbu,
    /// TBU → the IOMMU (TCU) it asks on a TLB miss.
    PartOf,
}

/// The graph and derived state of one validated platform.
#[derive(Debug)]
pub struct Topology<'p> {
    platform: &'p Platform,
    graph: DiGraph<Vertex, Link>,
    /// For each node: its host bridge.
    host_bridge: Vec<NodeId>,
    /// For each node: its depth below the host bridge (host bridge = 0).
    depth: Vec<u32>,
    /// For each node: its children sorted by BDF (the devices on its secondary bus,
    /// in the order the kernel scans them).
    bus_devices: Vec<Vec<NodeId>>,
    /// Every PCI function in the order Linux enumerates (and IOMMU-probes) them.
    order: Vec<NodeId>,
    /// For each node: its memory windows (the spans of the BARs below it).
    windows: Vec<BridgeWindows>,
    /// For each node: effective MPS (K5). Host bridges: 4096 (no limit of their own).
    mps: Vec<u32>,
    /// For each node: effective ACS Control (K4.1, K4.2); empty without a capability.
    acs_ctl: Vec<AcsFlags>,
    /// For each node: the device-specific ACS quirk that applies at the kernel release.
    acs_quirk: Vec<Option<&'static quirks::AcsQuirk>>,
    /// For each node: the functions it is a DMA alias of, or aliased by (quirks).
    dma_aliases: Vec<Vec<NodeId>>,
    /// For each node: its IOMMU domain (K3.2); `None` for non-endpoints.
    domains: Vec<Option<DeviceDomain>>,
    /// For each node: its StreamID (H3).
    sids: Vec<Option<StreamId>>,
    /// For each node: the other requesters behind its SMMU with its StreamID (H3).
    stream_aliases: Vec<Vec<NodeId>>,
    groups: Groups,
}

impl<'p> Topology<'p> {
    /// Builds the graph and derives everything from a validated platform.
    pub fn new(platform: &'p Platform) -> Self {
        let mut graph = DiGraph::with_capacity(platform.nodes.len(), platform.nodes.len());
        for id in platform.node_ids() {
            graph.add_node(Vertex::Pci(id));
        }
        let mut iommu_ix = Vec::with_capacity(platform.iommus.len());
        let mut tbu_ix: Vec<Vec<NodeIndex>> = Vec::with_capacity(platform.iommus.len());
        for (i, iommu) in platform.iommus.iter().enumerate() {
            let iid = IommuId(i as u32);
            let ix = graph.add_node(Vertex::Iommu(iid));
            iommu_ix.push(ix);
            let mut tbus = Vec::with_capacity(iommu.tbus.len());
            for t in 0..iommu.tbus.len() {
                let tix = graph.add_node(Vertex::Tbu(TbuId {
                    iommu: iid,
                    index: t as u32,
                }));
                graph.add_edge(tix, ix, Link::PartOf);
                tbus.push(tix);
            }
            tbu_ix.push(tbus);
        }
        let n = platform.nodes.len();
        let mut host_bridge = vec![NodeId(0); n];
        let mut depth = vec![0u32; n];
        for id in platform.node_ids() {
            let node = platform.node(id);
            match node.parent {
                Some(p) => {
                    graph.add_edge(
                        NodeIndex::new(p.index()),
                        NodeIndex::new(id.index()),
                        Link::Down,
                    );
                    // Parents come before children in `nodes` (a Platform invariant).
                    host_bridge[id.index()] = host_bridge[p.index()];
                    depth[id.index()] = depth[p.index()] + 1;
                }
                None => host_bridge[id.index()] = id,
            }
            match &node.kind {
                NodeKind::HostBridge(hb) => {
                    if let Some(iommu) = hb.iommu {
                        graph.add_edge(
                            NodeIndex::new(id.index()),
                            iommu_ix[iommu.index()],
                            Link::TranslatedBy,
                        );
                    }
                }
                NodeKind::RootPort(port) => {
                    if let Some(tbu) = port.tbu {
                        graph.add_edge(
                            NodeIndex::new(id.index()),
                            tbu_ix[tbu.iommu.index()][tbu.index as usize],
                            Link::ThroughTbu,
                        );
                    }
                }
                _ => {}
            }
        }
        let bus_devices = sorted_bus_devices(platform);
        let order = enumeration_order(platform, &bus_devices);
        let mut topo = Topology {
            platform,
            graph,
            host_bridge,
            depth,
            bus_devices,
            order,
            windows: Vec::new(),
            mps: Vec::new(),
            acs_ctl: Vec::new(),
            acs_quirk: Vec::new(),
            dma_aliases: Vec::new(),
            domains: Vec::new(),
            sids: Vec::new(),
            stream_aliases: Vec::new(),
            groups: Groups::default(),
        };
        topo.windows = windows::derive(&topo);
        topo.mps = mps::derive(&topo);
        topo.acs_ctl = acs::control::derive(&topo);
        let release = platform.kernel.release_version();
        topo.acs_quirk = platform
            .node_ids()
            .map(|id| quirks::acs_quirk(&topo, id, release))
            .collect();
        topo.dma_aliases = quirks::dma_alias_partners(&topo);
        topo.sids = stream::derive_sids(&topo);
        topo.stream_aliases = stream::derive_aliases(&topo, &topo.sids);
        // Groups before domains: the default domain type is chosen per group
        // (`iommu_get_default_domain_type`), so an untrusted member forces its whole group.
        topo.groups = groups::derive(&topo);
        topo.domains = domain::derive(&topo);
        topo
    }

    /// The platform this topology was built from.
    pub fn platform(&self) -> &'p Platform {
        self.platform
    }

    /// The petgraph graph (PCI nodes first, indices equal to `NodeId`s).
    pub fn graph(&self) -> &DiGraph<Vertex, Link> {
        &self.graph
    }

    /// The parent of a node (`None` for host bridges).
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.platform.node(id).parent
    }

    /// The children of a node, sorted by id (deterministic).
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self
            .graph
            .neighbors_directed(NodeIndex::new(id.index()), petgraph::Direction::Outgoing)
            .filter_map(|ix| match self.graph[ix] {
                Vertex::Pci(c) => Some(c),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    /// The devices on a node's secondary bus: its children sorted by BDF, the order
    /// the kernel scans them (`pci_scan_child_bus`). Empty for endpoints.
    pub fn bus_devices(&self, id: NodeId) -> &[NodeId] {
        &self.bus_devices[id.index()]
    }

    /// Every PCI function (host bridges excluded) in the order Linux enumerates them:
    /// per host bridge, all devices of a bus by BDF, then each bridge's secondary bus
    /// in turn, depth first (`pci_scan_child_bus_extend`). Devices are added, and
    /// IOMMU-probed, in this order; K5 and K4.3 depend on it.
    pub fn enumeration_order(&self) -> &[NodeId] {
        &self.order
    }

    /// The node and every node above it, nearest first, ending at the host bridge.
    pub fn upstream_chain(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(self.depth[id.index()] as usize + 1);
        let mut cur = Some(id);
        while let Some(c) = cur {
            out.push(c);
            cur = self.parent(c);
        }
        out
    }

    /// The chain the kernel walks with `pci_upstream_bridge()`: the device and its
    /// upstream PCI bridges, nearest first, **without** the host bridge (which is not a
    /// `pci_dev`). Used by K1.3.
    pub fn pci_upstream_chain(&self, id: NodeId) -> Vec<NodeId> {
        let mut chain = self.upstream_chain(id);
        if let Some(last) = chain.last() {
            if matches!(self.platform.node(*last).kind, NodeKind::HostBridge(_)) {
                chain.pop();
            }
        }
        chain
    }

    /// Depth below the host bridge (host bridge 0, root port 1, ...).
    pub fn depth(&self, id: NodeId) -> u32 {
        self.depth[id.index()]
    }

    /// The host bridge above a node (itself for a host bridge).
    pub fn host_bridge_of(&self, id: NodeId) -> NodeId {
        self.host_bridge[id.index()]
    }

    /// The host bridge's fields.
    pub fn host_bridge(&self, hb: NodeId) -> &'p HostBridge {
        match &self.platform.node(hb).kind {
            NodeKind::HostBridge(h) => h,
            // `host_bridge_of` only ever returns host bridges; the platform's roots are.
            _ => unreachable_host_bridge(),
        }
    }

    /// Where the upstream chains of two nodes meet: the first node both lie below
    /// (either of them, when one lies below the other), with the child of that node on
    /// each side. `None` across host bridges. No allocation: walked by depth.
    pub fn meeting(&self, a: NodeId, b: NodeId) -> Option<Meeting> {
        let (mut x, mut y) = (a, b);
        let (mut below_a, mut below_b) = (a, b);
        while self.depth(x) > self.depth(y) {
            below_a = x;
            x = self.parent(x)?;
        }
        while self.depth(y) > self.depth(x) {
            below_b = y;
            y = self.parent(y)?;
        }
        while x != y {
            (below_a, below_b) = (x, y);
            (x, y) = (self.parent(x)?, self.parent(y)?);
        }
        Some(Meeting {
            node: x,
            below_a,
            below_b,
        })
    }

    /// The nearest common upstream PCI device of two devices and the distance, as
    /// `calc_map_type_and_dist` walks them (K1.3): for each ancestor `a` of `provider`
    /// (itself first), for each ancestor `b` of `client` (itself first), the first
    /// `a == b` wins; distance = hops from provider + hops from client. Host bridges are
    /// not PCI devices, so peers that meet only there have no common upstream device.
    /// In a tree that first common ancestor is where the chains meet ([`Self::meeting`]).
    pub fn common_upstream(&self, provider: NodeId, client: NodeId) -> Option<(NodeId, u32)> {
        let m = self.meeting(provider, client)?;
        if matches!(self.platform.node(m.node).kind, NodeKind::HostBridge(_)) {
            return None;
        }
        let d = self.depth(m.node);
        Some((m.node, self.depth(provider) - d + self.depth(client) - d))
    }

    /// The port fields of a root port, switch port (else `None`).
    pub fn port(&self, id: NodeId) -> Option<&'p Port> {
        match &self.platform.node(id).kind {
            NodeKind::RootPort(p) | NodeKind::SwitchUpstream(p) | NodeKind::SwitchDownstream(p) => {
                Some(p)
            }
            _ => None,
        }
    }

    /// The endpoint fields (else `None`).
    pub fn endpoint(&self, id: NodeId) -> Option<&'p Endpoint> {
        match &self.platform.node(id).kind {
            NodeKind::Endpoint(e) => Some(e),
            _ => None,
        }
    }

    /// The BDF of a node (`None` for host bridges).
    pub fn bdf(&self, id: NodeId) -> Option<Bdf> {
        self.platform.node(id).bdf
    }

    /// The name of a node.
    pub fn name(&self, id: NodeId) -> &'p str {
        &self.platform.node(id).name
    }

    /// The IOMMU translating traffic from this node (its host bridge's), if any.
    pub fn iommu_of(&self, id: NodeId) -> Option<IommuId> {
        self.host_bridge(self.host_bridge_of(id)).iommu
    }

    /// The memory windows of a node: the spans of the non-prefetchable and of the
    /// prefetchable BARs at or below it (derived), in CPU physical addresses.
    pub fn windows(&self, id: NodeId) -> BridgeWindows {
        self.windows[id.index()]
    }

    /// Effective MPS of a node (K5).
    pub fn mps(&self, id: NodeId) -> u32 {
        self.mps[id.index()]
    }

    /// Effective ACS Control of a node (K4.1, K4.2): given `ctl`, else what the kernel
    /// enables; empty for nodes without an ACS capability.
    pub fn acs_ctl(&self, id: NodeId) -> AcsFlags {
        self.acs_ctl[id.index()]
    }

    /// The ACS capability of a node (ports and endpoints), if it has one.
    pub fn acs_cap(&self, id: NodeId) -> Option<AcsFlags> {
        match &self.platform.node(id).kind {
            NodeKind::RootPort(p) | NodeKind::SwitchUpstream(p) | NodeKind::SwitchDownstream(p) => {
                p.acs.map(|a| a.cap)
            }
            NodeKind::Endpoint(e) => e.acs.map(|a| a.cap),
            _ => None,
        }
    }

    /// A node's ACS state: capability, effective Control and the device-specific quirk.
    pub fn port_acs(&self, id: NodeId) -> PortAcs {
        PortAcs {
            cap: self.acs_cap(id),
            ctl: self.acs_ctl(id),
            quirk: self.acs_quirk(id).map(|q| acs::QuirkAcs {
                provides: q.provides,
                ignores: q.ignores,
            }),
        }
    }

    /// The device-specific ACS quirk that applies to a node at the platform's kernel
    /// release (`quirks::ACS_QUIRKS`), if any.
    pub fn acs_quirk(&self, id: NodeId) -> Option<&'static quirks::AcsQuirk> {
        self.acs_quirk.get(id.index()).copied().flatten()
    }

    /// The functions on a node's bus that it is a DMA alias of or aliased by
    /// (`quirks::DMA_ALIAS_QUIRKS`); they share its IOMMU group.
    pub fn dma_alias_partners(&self, id: NodeId) -> &[NodeId] {
        self.dma_aliases.get(id.index()).map_or(&[], Vec::as_slice)
    }

    /// What `id` does with a TLP that enters it from below, as `reader` reads its ACS
    /// ([`acs::decide`], the one ACS decision).
    pub fn acs_decide(&self, id: NodeId, reader: acs::Reader, tlp: acs::AcsTlp) -> acs::Decision {
        acs::decide(self.port_acs(id), reader, tlp)
    }

    /// The IOMMU domain of an endpoint (K3.2); `None` for other nodes.
    pub fn domain(&self, id: NodeId) -> Option<&DeviceDomain> {
        self.domains[id.index()].as_ref()
    }

    /// The requester ID a device's DMA carries on the wire: its own, or, below a
    /// PCIe-to-PCI bridge, the topmost such bridge's. `None` for host bridges.
    pub fn wire_rid(&self, dev: NodeId) -> Option<Rid> {
        stream::wire_rid(self, dev)
    }

    /// A device's StreamID (H3): its wire RID through its host bridge's `stream_map`,
    /// else its IOMMU's (identity when empty). `None` without a RID or outside the
    /// map; without an IOMMU, the RID.
    pub fn stream_id(&self, dev: NodeId) -> Option<StreamId> {
        self.sids[dev.index()]
    }

    /// The other requesters behind the same SMMUv3 whose StreamID equals this node's
    /// while their segment or wire RID differs (H3), sorted by node id.
    pub fn stream_aliases(&self, dev: NodeId) -> &[NodeId] {
        &self.stream_aliases[dev.index()]
    }

    /// The IOMMU groups (K4.3).
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// Every endpoint, in node order.
    pub fn endpoints(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.platform
            .node_ids()
            .filter(|id| matches!(self.platform.node(*id).kind, NodeKind::Endpoint(_)))
    }
}

/// Each node's children sorted by BDF (host bridges' children are the root bus).
fn sorted_bus_devices(platform: &Platform) -> Vec<Vec<NodeId>> {
    let mut out: Vec<Vec<NodeId>> = vec![Vec::new(); platform.nodes.len()];
    for id in platform.node_ids() {
        if let Some(p) = platform.node(id).parent {
            out[p.index()].push(id);
        }
    }
    for kids in &mut out {
        // Every non-root node has a BDF (a Platform invariant); the id breaks ties.
        kids.sort_by_key(|k| (platform.node(*k).bdf, *k));
    }
    out
}

/// Depth-first by bus, as `pci_scan_child_bus_extend` walks: all devices of a bus,
/// then the secondary bus of each of them in BDF order.
fn enumeration_order(platform: &Platform, bus_devices: &[Vec<NodeId>]) -> Vec<NodeId> {
    let mut order = Vec::with_capacity(platform.nodes.len());
    let mut stack: Vec<NodeId> = Vec::new();
    for root in platform.node_ids() {
        if platform.node(root).parent.is_some() {
            continue;
        }
        stack.push(root);
        while let Some(bus_self) = stack.pop() {
            let devs = &bus_devices[bus_self.index()];
            order.extend_from_slice(devs);
            stack.extend(devs.iter().rev().copied());
        }
    }
    order
}

#[cold]
fn unreachable_host_bridge() -> ! {
    // A validated Platform's roots are host bridges; reaching this is a bug in
    // peerpath-load, not a user error.
    panic!("internal error: a hierarchy root is not a host bridge")
}

/// Where two upstream chains meet ([`Topology::meeting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meeting {
    /// The first node both lie below (or one of the two themselves).
    pub node: NodeId,
    /// The child of `node` on the first node's side (the first node itself when it is
    /// `node` or `node`'s child).
    pub below_a: NodeId,
    /// The same on the second node's side.
    pub below_b: NodeId,
}

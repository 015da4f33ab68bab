//! Decide each shape once: pairings whose importer sits in the same place relative to
//! the same export, with the same attributes, get the same verdict (map type, DMA
//! path, outcome, finding codes) — only names differ. [`ClassKey`] states what "the
//! same" means; `for_each_verdict` decides one pairing per class and reuses the
//! verdict for the rest (the kernel itself caches its decision per pair, K1.9).
//!
//! **The key.** A pairing's verdict is a function of:
//! - the **export** (its device, BAR, range and `via`; and through the exporter, its
//!   whole upstream chain, domain, group and CC state) — the key holds the export id;
//! - the importer's **host bridge** (its id for the allow-list K1.7, translation agent
//!   and `forwards_p2p` H3/H6, windows the IOVA allocator reserves K3.5) — its id;
//! - **where the importer's chain meets the exporter's** (the index of the first common
//!   node in the exporter's upstream chain, or none across host bridges), which fixes
//!   the common upstream device and distance (K1.3), the exporter-side ports p2pdma
//!   reads (K1.4) and the route's way down;
//! - the importer-side **ports** from the importer up to that meeting point: kind, ACS
//!   state (the one ACS decision reads nothing else), effective MPS, multifunction,
//!   the IOMMU of a root port's TBU, `splits_oversized_writes`; and whether the two
//!   children of the meeting point are functions of one slot (internal loopback);
//! - the **importer** itself: MPS, DMA mask and bus limit, coherence, ATS, trust,
//!   driver, ACS, CC state, whether it has a BAR and a StreamID, its IOMMU domain;
//! - the pairing's relations the rules read from the topology: same IOMMU group,
//!   untranslated reach in each direction (K4.3);
//! - the import's flags (`allow_peer2peer`, `dynamic`).
//!
//! Platform-wide settings (kernel knobs, interconnect) are the same for every pairing.
//! A pairing with its own `traffic` entries has no class: it is decided alone.
//!
//! A property test holds the claim: on random platforms, the verdict through the class
//! cache equals the pairing's own evaluation, for every pairing.

use std::collections::{HashMap, HashSet};

use peerpath_model::{
    Acs, Bdf, DeviceCc, DomainType, Driver, ExportId, Import, IommuId, NodeId, NodeKind,
};
use peerpath_topology::{DomainSource, PortAcs, Topology};

/// What makes two pairings the same shape. See the module documentation. Plain
/// numbers: the shapes of the importer and of its chain of ports are interned by
/// [`Classes`] (the chain from the importer's parent up to its host bridge — above the
/// meeting point it is the exporter's own, so for one export and one meeting point the
/// whole chain says exactly what the part below the meeting point says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClassKey {
    export: ExportId,
    importer_hb: NodeId,
    /// Depth of the meeting node above the exporter (its index in the exporter's
    /// upstream chain, host bridge included); `None` across host bridges.
    meet: Option<u32>,
    /// The two children of the meeting node are functions of one slot.
    same_slot: bool,
    /// The interned shape of the chain above the importer.
    chain: u32,
    /// The interned shape of the importer.
    importer: u32,
    same_group: bool,
    reach_to: bool,
    reach_from: bool,
    allow_peer2peer: bool,
    dynamic: bool,
}

/// The attributes of one port (or bridge, or host bridge) above the importer that a
/// verdict reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PortShape {
    kind: u8,
    acs: PortAcs,
    mps: u32,
    multifunction: bool,
    tbu_iommu: Option<IommuId>,
    splits: bool,
}

/// The attributes of the importer that a verdict reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct EndpointShape {
    mps: u32,
    dma_mask_bits: u8,
    bus_dma_limit: Option<u64>,
    coherent: bool,
    ats: bool,
    trusted: bool,
    multifunction: bool,
    acs: Option<Acs>,
    acs_state: PortAcs,
    driver: Driver,
    cc: Option<DeviceCc>,
    has_bar: bool,
    has_sid: bool,
    domain: Option<(Option<IommuId>, DomainType, DomainSource, DomainType, bool)>,
}

fn kind(k: &NodeKind) -> u8 {
    match k {
        NodeKind::HostBridge(_) => 0,
        NodeKind::RootPort(_) => 1,
        NodeKind::SwitchUpstream(_) => 2,
        NodeKind::SwitchDownstream(_) => 3,
        NodeKind::PciBridge(_) => 4,
        NodeKind::Endpoint(_) => 5,
    }
}

/// Interns values into dense ids.
struct Interner<T> {
    ids: HashMap<T, u32>,
}

impl<T: std::hash::Hash + Eq> Interner<T> {
    fn new() -> Self {
        Self {
            ids: HashMap::new(),
        }
    }

    fn id(&mut self, v: T) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(v).or_insert(next)
    }
}

/// Everything per node that class keys need, computed once per topology.
#[derive(Debug)]
pub struct Classes<'a, 'p> {
    topo: &'a Topology<'p>,
    /// Per node: the interned shape of the chain from its parent up (`u32::MAX` for a
    /// host bridge).
    chain: Vec<u32>,
    /// Per node: the interned importer shape (endpoints only).
    endpoint: Vec<u32>,
    /// Pairings with their own `traffic` entries.
    with_traffic: HashSet<(NodeId, ExportId)>,
}

impl<'a, 'p> Classes<'a, 'p> {
    /// Interns every node's shapes.
    pub fn new(topo: &'a Topology<'p>) -> Self {
        let p = topo.platform();
        let mut ports = Interner::new();
        let mut endpoints = Interner::new();
        let n = p.nodes.len();
        let mut chain = vec![u32::MAX; n];
        // Per node: the interned shape of the chain from the node itself up.
        let mut through = vec![u32::MAX; n];
        let mut endpoint = vec![u32::MAX; n];
        for id in p.node_ids() {
            let node = p.node(id);
            let port = topo.port(id);
            let shape = PortShape {
                kind: kind(&node.kind),
                acs: topo.port_acs(id),
                mps: topo.mps(id),
                multifunction: topo.multifunction(id),
                tbu_iommu: port.and_then(|x| x.tbu).map(|t| t.iommu),
                splits: port.is_some_and(|x| x.splits_oversized_writes),
            };
            // Parents come before children in `nodes` (a Platform invariant).
            let above = node.parent.map_or(u32::MAX, |q| through[q.index()]);
            chain[id.index()] = above;
            through[id.index()] = ports.id((above, shape));
            if let Some(e) = topo.endpoint(id) {
                let domain = topo
                    .domain(id)
                    .map(|d| (d.iommu, d.ty, d.source, d.default_ty, d.explicit.is_some()));
                endpoint[id.index()] = endpoints.id(EndpointShape {
                    mps: topo.mps(id),
                    dma_mask_bits: e.dma_mask_bits,
                    bus_dma_limit: e.bus_dma_limit,
                    coherent: e.coherent,
                    ats: e.ats,
                    trusted: e.trusted,
                    multifunction: topo.multifunction(id),
                    acs: e.acs,
                    acs_state: topo.port_acs(id),
                    driver: e.driver,
                    cc: e.cc,
                    has_bar: !e.bars.is_empty(),
                    has_sid: peerpath_engine::stream_id(topo, id).is_some(),
                    domain,
                });
            }
        }
        Self {
            topo,
            chain,
            endpoint,
            with_traffic: p.traffic.iter().map(|t| (t.importer, t.export)).collect(),
        }
    }

    /// The class of a pairing; `None` when it must be decided alone (its own traffic,
    /// or an importer that is not an endpoint).
    pub fn key(&self, import: &Import) -> Option<ClassKey> {
        let topo = self.topo;
        let p = topo.platform();
        if self
            .with_traffic
            .contains(&(import.importer, import.export))
        {
            return None;
        }
        let (imp, exp) = (import.importer, p.export(import.export).device);
        let importer = *self.endpoint.get(imp.index())?;
        if importer == u32::MAX {
            return None;
        }
        // The meeting node: walk both up to one depth, then together.
        let (mut x, mut y) = (imp, exp);
        let (mut x_below, mut y_below) = (imp, exp);
        while topo.depth(x) > topo.depth(y) {
            x_below = x;
            x = topo.parent(x)?;
        }
        while topo.depth(y) > topo.depth(x) {
            y_below = y;
            y = topo.parent(y)?;
        }
        while x != y {
            match (topo.parent(x), topo.parent(y)) {
                (Some(px), Some(py)) => {
                    (x_below, y_below) = (x, y);
                    (x, y) = (px, py);
                }
                _ => break,
            }
        }
        let meet = (x == y).then(|| topo.depth(exp) - topo.depth(x));
        let slot = |n: NodeId| topo.bdf(n).map(|b: Bdf| (b.segment, b.bus, b.device));
        let same_slot = meet.is_some_and(|i| {
            i > 0
                && x_below != x
                && y_below != x_below
                && slot(x_below).is_some()
                && slot(x_below) == slot(y_below)
        });
        Some(ClassKey {
            export: import.export,
            importer_hb: topo.host_bridge_of(imp),
            meet,
            same_slot,
            chain: self.chain[imp.index()],
            importer,
            same_group: topo.groups().same_group(imp, exp),
            reach_to: topo.reachable_untranslated(imp, exp),
            reach_from: topo.reachable_untranslated(exp, imp),
            allow_peer2peer: import.allow_peer2peer,
            dynamic: import.dynamic,
        })
    }
}

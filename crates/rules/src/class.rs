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

use peerpath_model::{
    Acs, Bdf, DeviceCc, DomainType, Driver, ExportId, Import, IommuId, NodeId, NodeKind,
};
use peerpath_topology::{DomainSource, PortAcs, Topology};

/// What makes two pairings the same shape. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClassKey {
    export: ExportId,
    importer_hb: NodeId,
    /// Index of the meeting node in the exporter's upstream chain (host bridge
    /// included); `None` across host bridges.
    meet: Option<u32>,
    /// The two children of the meeting node are functions of one slot.
    same_slot: bool,
    /// From the importer's parent up to the node below the meeting point (or the
    /// root), nearest first.
    ports: Vec<PortShape>,
    importer: EndpointShape,
    same_group: bool,
    reach_to: bool,
    reach_from: bool,
    allow_peer2peer: bool,
    dynamic: bool,
}

/// The attributes of one port (or bridge) on the importer's side that a verdict reads.
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

/// The class of a pairing; `None` when it must be decided alone (its own traffic).
pub fn class_key(topo: &Topology<'_>, import: &Import) -> Option<ClassKey> {
    let p = topo.platform();
    if p.traffic
        .iter()
        .any(|t| t.importer == import.importer && t.export == import.export)
    {
        return None;
    }
    let export = p.export(import.export);
    let (imp, exp) = (import.importer, export.device);
    let e = topo.endpoint(imp)?;
    let exp_chain = topo.upstream_chain(exp);
    // Walk up from the importer until a node of the exporter's chain.
    let mut ports = Vec::new();
    let mut below = imp;
    let mut cur = imp;
    let meet = loop {
        if let Some(i) = exp_chain.iter().position(|n| *n == cur) {
            break u32::try_from(i).ok();
        }
        if cur != imp {
            let node = p.node(cur);
            let port = topo.port(cur);
            ports.push(PortShape {
                kind: kind(&node.kind),
                acs: topo.port_acs(cur),
                mps: topo.mps(cur),
                multifunction: topo.multifunction(cur),
                tbu_iommu: port.and_then(|x| x.tbu).map(|t| t.iommu),
                splits: port.is_some_and(|x| x.splits_oversized_writes),
            });
        }
        let Some(parent) = topo.parent(cur) else {
            break None;
        };
        below = cur;
        cur = parent;
    };
    let slot = |n: NodeId| topo.bdf(n).map(|b: Bdf| (b.segment, b.bus, b.device));
    let same_slot = match meet {
        Some(i) if i > 0 && below != cur => {
            let exp_side = exp_chain[i as usize - 1];
            exp_side != below && slot(below).is_some() && slot(below) == slot(exp_side)
        }
        _ => false,
    };
    let domain = topo
        .domain(imp)
        .map(|d| (d.iommu, d.ty, d.source, d.default_ty, d.explicit.is_some()));
    let importer = EndpointShape {
        mps: topo.mps(imp),
        dma_mask_bits: e.dma_mask_bits,
        bus_dma_limit: e.bus_dma_limit,
        coherent: e.coherent,
        ats: e.ats,
        trusted: e.trusted,
        multifunction: topo.multifunction(imp),
        acs: e.acs,
        acs_state: topo.port_acs(imp),
        driver: e.driver,
        cc: e.cc,
        has_bar: !e.bars.is_empty(),
        has_sid: peerpath_engine::stream_id(topo, imp).is_some(),
        domain,
    };
    Some(ClassKey {
        export: import.export,
        importer_hb: topo.host_bridge_of(imp),
        meet,
        same_slot,
        ports,
        importer,
        same_group: topo.groups().same_group(imp, exp),
        reach_to: topo.reachable_untranslated(imp, exp),
        reach_from: topo.reachable_untranslated(exp, imp),
        allow_peer2peer: import.allow_peer2peer,
        dynamic: import.dynamic,
    })
}

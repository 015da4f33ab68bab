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
//! - **where the importer's chain meets the exporter's** ([`Topology::meeting`]: the
//!   index of the meeting node in the exporter's upstream chain, or none across host
//!   bridges), which fixes the common upstream device and distance (K1.3), the
//!   exporter-side ports p2pdma reads (K1.4) and the route's way down;
//! - the importer-side **ports** from the importer up to that meeting point
//!   ([`PortShape`]) and the **importer** itself ([`EndpointShape`]);
//! - the pairing's relations the rules read from the topology: same IOMMU group,
//!   untranslated reach in each direction (K4.3), and whether the two children of the
//!   meeting node are functions of one slot (internal loopback);
//! - the import's flags (`allow_peer2peer`, `dynamic`).
//!
//! Platform-wide settings (kernel knobs, interconnect) are the same for every pairing.
//! A pairing with its own `traffic` entries has no class: it is decided alone.
//!
//! **A key that cannot go stale** (issue 20). The shapes are built by destructuring
//! every model type a rule can read per pairing — `Platform`, `Kernel`, `Node`, each
//! node kind, `Import`, the derived `DeviceDomain` — with no `..`: a field added to any
//! of them fails to compile here until it is classified, either keyed or named with the
//! reason it cannot change a verdict among pairings of one class. Two tests hold the
//! classification to the rules (module `tests`): on random platforms, every field of
//! one importer, one port of its chain and one import is changed in turn (the mutator
//! destructures the same types, so it too must learn a new field), and the class
//! verdict must still equal every pairing's own evaluation; and for each keyed field,
//! leaving that field out of the key ([`Field`], test builds only) makes the first
//! test fail — so a field the rules read but the key forgets is caught.

use std::collections::{HashMap, HashSet};

use peerpath_model::{
    Bdf, Endpoint, ExportId, HostBridge, IdeBinding, Import, IommuId, Kernel, Node, NodeId,
    NodeKind, PciBridge, Platform, Port,
};
use peerpath_topology::{DeviceDomain, DomainSource, Meeting, PortAcs, Topology};

#[cfg(test)]
mod tests;

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
    /// A P2P IDE stream between importer and exporter (C3): 0 none, 1 listed, 2
    /// assumed (the T bit of the importer's requests, and the evidence's `ide_stream`).
    ide: u8,
}

/// Each keyed value, by name: in test builds a test can leave one out of the key
/// ([`keyed`]) and show that the properties then fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    PortKind,
    PortAcs,
    PortMps,
    PortMultifunction,
    PortTbuIommu,
    PortSplits,
    Mps,
    DmaMaskBits,
    BusDmaLimit,
    Coherent,
    Ats,
    Trusted,
    Multifunction,
    Acs,
    AcsState,
    Driver,
    Cc,
    HasBar,
    HasSid,
    SidAlias,
    Domain,
    SameSlot,
    SameGroup,
    ReachTo,
    ReachFrom,
    AllowPeer2peer,
    Dynamic,
    Ide,
}

/// A keyed value. In test builds, the value of a field a test blinds is replaced by
/// its default, as if the key did not hold it.
#[inline]
fn keyed<T: Default>(field: Field, v: T) -> T {
    #[cfg(test)]
    if tests::blinded(field) {
        return T::default();
    }
    #[cfg(not(test))]
    let _ = field;
    v
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

/// The domain as the rules read it: IOMMU, type, why, default type, whether listed.
type DomainShape = Option<(
    Option<IommuId>,
    peerpath_model::DomainType,
    DomainSource,
    peerpath_model::DomainType,
    bool,
)>;

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
    acs: Option<peerpath_model::Acs>,
    acs_state: PortAcs,
    driver: peerpath_model::Driver,
    cc: Option<peerpath_model::DeviceCc>,
    has_bar: bool,
    has_sid: bool,
    /// Shares its StreamID with another requester behind its SMMU (`stream-id-alias`,
    /// H3): a property of the pair of devices, so no field of the importer says it.
    sid_alias: bool,
    domain: DomainShape,
}

/// The platform-wide part: every field of `Platform` and `Kernel` is either the same
/// for every pairing of one run or reaches the key through a per-node value.
fn classify_platform(p: &Platform) {
    let Platform {
        name: _,
        description: _,
        // Below, field by field.
        kernel,
        // Write merging and timing: platform-wide.
        interconnect: _,
        // DRAM: platform-wide (the IOVA allocator's reserved regions, K3.5).
        memory: _,
        // Each IOMMU is reached through the importer's domain (its id) or a root
        // port's TBU (its IOMMU's id); both are keyed by id, which covers every field.
        iommus: _,
        // Each node through `PortShape` / `EndpointShape` below.
        nodes: _,
        // Membership only: a switch port's kind is in `PortShape`.
        switches: _,
        // Through `topo.domain` (the importer's domain shape).
        domains: _,
        // The key holds the export id.
        exports: _,
        // Per pairing: `Classes::key`.
        imports: _,
        // A pairing with its own traffic is decided alone (`Classes::key`).
        traffic: _,
        // Each alternative is a whole platform, decided with its own classes
        // (`assume`): platform-wide or per host bridge, which the key holds by id.
        assumed: _,
        // A pairing of a device assigned to a VM is decided alone (`Classes::key`):
        // its verdict reads the VM's whole configuration (rules.md V).
        vms: _,
        // Per pairing: `ClassKey::ide` (the stream between importer and exporter).
        ide_streams: _,
    } = p;
    let Kernel {
        release: _,
        arch: _,
        cpu: _,
        default_domain: _,
        passthrough_from: _,
        swiotlb_force: _,
        noats: _,
        pcie_bus_config: _,
        // Per port: through the effective ACS Control, `topo.port_acs` (K4.2).
        disable_acs_redir: _,
        config_acs: _,
        acs_decision: _,
        group_algorithm: _,
        cc: _,
        ipa_bits: _,
        // The release and CONFIG_PCI_P2PDMA: platform-wide (an alternative release is
        // a platform of its own, `assume`).
        version: _,
        pci_p2pdma: _,
    } = kernel;
}

/// The shape of a node above the importer.
fn port_shape(topo: &Topology<'_>, id: NodeId) -> PortShape {
    let Node {
        // Names differ between the pairings of a class.
        name: _,
        // The chain interns the shape of every node above.
        parent: _,
        // Read for `same_slot` (K1.4) and the StreamID (`has_sid`); Source Validation
        // holds for every device below its port by construction.
        bdf: _,
        kind,
        // Timing only.
        link: _,
        // Read by the kernel's quirks only (`topology::quirks`): an ACS quirk is in
        // the port's ACS state (`PortAcs::quirk`), a DMA alias in the groups.
        pci_id: _,
    } = topo.platform().node(id);
    let (kind, tbu_iommu, splits) = match kind {
        NodeKind::HostBridge(h) => {
            // The key holds the importer's host bridge by id: every field.
            let HostBridge {
                segment: _,
                id: _,
                forwards_p2p: _,
                forwards_p2p_reads: _,
                direct_window: _,
                translation: _,
                iommu: _,
                // Covered by the id; its effect on other requesters' StreamIDs reaches the
                // importer through `has_sid`, `sid_alias` and the group relation.
                stream_map: _,
                windows: _,
                socket: _,
                numa_node: _,
                p2p_bandwidth_mbs: _,
            } = h;
            (0, None, false)
        }
        NodeKind::RootPort(p) | NodeKind::SwitchUpstream(p) | NodeKind::SwitchDownstream(p) => {
            let Port {
                // Through the effective MPS (`topo.mps`, K5).
                mpss: _,
                mps: _,
                // Through the effective ACS state (`topo.port_acs`, K4.1/K4.2).
                acs: _,
                // Its IOMMU: which TBU of it only decides TLB hits, not verdicts.
                tbu,
                splits_oversized_writes,
                // Through `topo.multifunction`.
                multifunction: _,
            } = p;
            let k = match kind {
                NodeKind::RootPort(_) => 1,
                NodeKind::SwitchUpstream(_) => 2,
                _ => 3,
            };
            (k, tbu.map(|t| t.iommu), *splits_oversized_writes)
        }
        NodeKind::PciBridge(b) => {
            // Through the effective MPS.
            let PciBridge { mpss: _ } = b;
            (4, None, false)
        }
        // Endpoints are never above another node.
        NodeKind::Endpoint(_) => (5, None, false),
    };
    PortShape {
        kind: keyed(Field::PortKind, kind),
        acs: keyed(Field::PortAcs, topo.port_acs(id)),
        mps: keyed(Field::PortMps, topo.mps(id)),
        multifunction: keyed(Field::PortMultifunction, topo.multifunction(id)),
        tbu_iommu: keyed(Field::PortTbuIommu, tbu_iommu),
        splits: keyed(Field::PortSplits, splits),
    }
}

/// The shape of an importer.
fn endpoint_shape(topo: &Topology<'_>, id: NodeId, e: &Endpoint) -> EndpointShape {
    let Endpoint {
        // A label for display.
        class: _,
        // Through the effective MPS (`topo.mps`, K5).
        mpss: _,
        mps: _,
        dma_mask_bits,
        bus_dma_limit,
        coherent,
        ats,
        trusted,
        // Through `topo.multifunction`.
        multifunction: _,
        acs,
        driver,
        // Whether it has one: an importer's own BARs are never the target.
        bars,
        cc,
        // Read by the kernel's quirks only (an RCiEP's ACS quirk): through the
        // importer's ACS state and the groups.
        pcie: _,
    } = e;
    let domain = topo.domain(id).map(|d| {
        let DeviceDomain {
            iommu,
            ty,
            source,
            // Whether listed; which entry adds nothing the type and IOMMU do not say.
            explicit,
            default_ty,
        } = d;
        (*iommu, *ty, *source, *default_ty, explicit.is_some())
    });
    EndpointShape {
        mps: keyed(Field::Mps, topo.mps(id)),
        dma_mask_bits: keyed(Field::DmaMaskBits, *dma_mask_bits),
        bus_dma_limit: keyed(Field::BusDmaLimit, *bus_dma_limit),
        coherent: keyed(Field::Coherent, *coherent),
        ats: keyed(Field::Ats, *ats),
        trusted: keyed(Field::Trusted, *trusted),
        multifunction: keyed(Field::Multifunction, topo.multifunction(id)),
        acs: keyed(Field::Acs, *acs),
        acs_state: keyed(Field::AcsState, topo.port_acs(id)),
        driver: keyed(Field::Driver, *driver),
        cc: keyed(Field::Cc, *cc),
        has_bar: keyed(Field::HasBar, !bars.is_empty()),
        has_sid: keyed(
            Field::HasSid,
            peerpath_engine::stream_id(topo, id).is_some(),
        ),
        sid_alias: keyed(Field::SidAlias, !topo.stream_aliases(id).is_empty()),
        domain: keyed(Field::Domain, domain),
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
    /// Devices assigned to a VM: their pairings are decided alone.
    assigned: HashSet<NodeId>,
}

impl<'a, 'p> Classes<'a, 'p> {
    /// Interns every node's shapes.
    pub fn new(topo: &'a Topology<'p>) -> Self {
        let p = topo.platform();
        classify_platform(p);
        let mut ports = Interner::new();
        let mut endpoints = Interner::new();
        let n = p.nodes.len();
        let mut chain = vec![u32::MAX; n];
        // Per node: the interned shape of the chain from the node itself up.
        let mut through = vec![u32::MAX; n];
        let mut endpoint = vec![u32::MAX; n];
        for id in p.node_ids() {
            let node = p.node(id);
            // Parents come before children in `nodes` (a Platform invariant).
            let above = node.parent.map_or(u32::MAX, |q| through[q.index()]);
            chain[id.index()] = above;
            if let NodeKind::Endpoint(e) = &node.kind {
                endpoint[id.index()] = endpoints.id(endpoint_shape(topo, id, e));
            } else {
                through[id.index()] = ports.id((above, port_shape(topo, id)));
            }
        }
        Self {
            topo,
            chain,
            endpoint,
            with_traffic: p.traffic.iter().map(|t| (t.importer, t.export)).collect(),
            assigned: p
                .vms
                .iter()
                .flat_map(|v| v.devices.iter().map(|d| d.device))
                .collect(),
        }
    }

    /// The class of a pairing; `None` when it must be decided alone (its own traffic,
    /// a device assigned to a VM on either side, or an importer that is not an
    /// endpoint).
    pub fn key(&self, import: &Import) -> Option<ClassKey> {
        if self
            .with_traffic
            .contains(&(import.importer, import.export))
        {
            return None;
        }
        if !self.assigned.is_empty()
            && (self.assigned.contains(&import.importer)
                || self
                    .assigned
                    .contains(&self.topo.platform().export(import.export).device))
        {
            return None;
        }
        self.shape_of(import)
    }

    /// The class a pairing would have without its own traffic.
    fn shape_of(&self, import: &Import) -> Option<ClassKey> {
        let Import {
            importer: imp,
            export,
            allow_peer2peer,
            dynamic,
        } = *import;
        let topo = self.topo;
        let exp = topo.platform().export(export).device;
        let importer = *self.endpoint.get(imp.index())?;
        if importer == u32::MAX {
            return None;
        }
        let m = topo.meeting(imp, exp);
        let meet = m.map(|m| topo.depth(exp) - topo.depth(m.node));
        let slot = |n: NodeId| topo.bdf(n).map(|b: Bdf| (b.segment, b.bus, b.device));
        let same_slot = m.is_some_and(
            |Meeting {
                 node,
                 below_a,
                 below_b,
             }| {
                node != exp
                    && below_a != node
                    && below_b != below_a
                    && slot(below_a).is_some()
                    && slot(below_a) == slot(below_b)
            },
        );
        Some(ClassKey {
            export,
            importer_hb: topo.host_bridge_of(imp),
            meet,
            same_slot: keyed(Field::SameSlot, same_slot),
            chain: self.chain[imp.index()],
            importer,
            same_group: keyed(Field::SameGroup, topo.groups().same_group(imp, exp)),
            reach_to: keyed(Field::ReachTo, topo.reachable_untranslated(imp, exp)),
            reach_from: keyed(Field::ReachFrom, topo.reachable_untranslated(exp, imp)),
            allow_peer2peer: keyed(Field::AllowPeer2peer, allow_peer2peer),
            dynamic: keyed(Field::Dynamic, dynamic),
            ide: keyed(
                Field::Ide,
                match topo.platform().ide_binding(imp, exp) {
                    IdeBinding::None => 0,
                    IdeBinding::Listed(_) => 1,
                    IdeBinding::Assumed => 2,
                },
            ),
        })
    }
}

//! A programmatic way to build a valid `Platform`, for tests and random platforms.
//!
//! The loader (`peerpath-load`) is how users' files become platforms; this builder is
//! how Rust code does. It upholds the `Platform` invariants that construction order
//! can give for free (parents before children, names unique) and asserts the rest in
//! `build`, because a builder misuse is a bug in a test, not user input.

use std::collections::HashSet;

use crate::{
    Acs, AcsFlags, Bar, Bdf, DeviceClass, Domain, DomainType, Driver, Endpoint, Export, ExportId,
    ForwardsP2p, HostBridge, Import, Interconnect, Iommu, IommuId, IommuKind, Kernel, MemRegion,
    Node, NodeId, NodeKind, PciBridge, PciId, PhysAddr, PhysRange, Platform, Port, Switch, Tbu,
    TbuId, Translation, Via, Window,
};

/// Builds a `Platform` node by node.
#[derive(Debug, Clone)]
pub struct PlatformBuilder {
    p: Platform,
    explicit_imports: bool,
    /// The names of the nodes added so far: a duplicate is found without scanning
    /// every node (platforms of 100,000 endpoints are built this way).
    names: HashSet<String>,
}

impl PlatformBuilder {
    /// An empty platform with the default kernel (arm64, `dma` default domain).
    pub fn new(name: &str) -> Self {
        Self {
            p: Platform {
                name: name.to_owned(),
                description: None,
                kernel: Kernel {
                    ipa_bits: 48,
                    ..Kernel::default()
                },
                interconnect: Interconnect::default(),
                memory: Vec::new(),
                iommus: Vec::new(),
                nodes: Vec::new(),
                switches: Vec::new(),
                domains: Vec::new(),
                exports: Vec::new(),
                imports: Vec::new(),
                traffic: Vec::new(),
                assumed: Vec::new(),
                vms: Vec::new(),
                ide_streams: None,
            },
            explicit_imports: false,
            names: HashSet::new(),
        }
    }

    /// Mutable access to the kernel settings.
    pub fn kernel(&mut self) -> &mut Kernel {
        &mut self.p.kernel
    }

    /// Mutable access to the whole platform under construction (for fields the
    /// builder has no method for).
    pub fn platform_mut(&mut self) -> &mut Platform {
        &mut self.p
    }

    /// Adds a DRAM region.
    pub fn memory(&mut self, name: &str, base: u64, size: u64) -> &mut Self {
        let range = PhysRange::from_start_and_size(PhysAddr(base), size)
            .expect("builder: memory range wraps");
        self.p.memory.push(MemRegion {
            name: name.to_owned(),
            range,
        });
        self
    }

    /// Adds an IOMMU with defaults (`disable_bypass: true`, no ATS, identity stream map).
    pub fn iommu(&mut self, name: &str, kind: IommuKind) -> IommuId {
        self.p.iommus.push(Iommu {
            name: name.to_owned(),
            kind,
            ats: false,
            disable_bypass: true,
            tbus: Vec::new(),
            stream_map: Vec::new(),
        });
        IommuId(self.p.iommus.len() as u32 - 1)
    }

    /// Mutable access to an IOMMU.
    pub fn iommu_mut(&mut self, id: IommuId) -> &mut Iommu {
        &mut self.p.iommus[id.index()]
    }

    /// Adds a TBU to an SMMU.
    pub fn tbu(&mut self, iommu: IommuId, name: &str, entries: u32, ways: u32) -> TbuId {
        let tbus = &mut self.p.iommus[iommu.index()].tbus;
        tbus.push(Tbu {
            name: name.to_owned(),
            tlb_entries: entries,
            tlb_ways: ways,
        });
        TbuId {
            iommu,
            index: tbus.len() as u32 - 1,
        }
    }

    fn push(
        &mut self,
        name: &str,
        parent: Option<NodeId>,
        bdf: Option<&str>,
        kind: NodeKind,
    ) -> NodeId {
        // Nodes added or removed through `platform_mut` leave `names` behind: rebuild it
        // (a rename through `platform_mut` is not seen).
        if self.names.len() != self.p.nodes.len() {
            self.names = self.p.nodes.iter().map(|n| n.name.clone()).collect();
        }
        assert!(
            self.names.insert(name.to_owned()),
            "builder: duplicate name {name}"
        );
        let bdf = bdf.map(|b| b.parse::<Bdf>().expect("builder: bad BDF"));
        self.p.nodes.push(Node {
            name: name.to_owned(),
            parent,
            bdf,
            kind,
            link: None,
            pci_id: None,
        });
        NodeId(self.p.nodes.len() as u32 - 1)
    }

    /// Sets a node's own vendor/device id (`id`, read by the quirks).
    pub fn pci_id(&mut self, id: NodeId, vendor: u16, device: u16) -> &mut Self {
        self.p.nodes[id.index()].pci_id = Some(crate::PciId { vendor, device });
        self
    }

    /// Adds a host bridge with one window mapping `cpu_base..+size` to the same bus
    /// addresses, `forwards_p2p: same-host-bridge`, `translation: integrated`.
    pub fn host_bridge(
        &mut self,
        name: &str,
        segment: u16,
        window_base: u64,
        window_size: u64,
    ) -> NodeId {
        let cpu = PhysRange::from_start_and_size(PhysAddr(window_base), window_size)
            .expect("builder: window wraps");
        self.push(
            name,
            None,
            None,
            NodeKind::HostBridge(HostBridge {
                segment,
                id: None,
                forwards_p2p: ForwardsP2p::SameHostBridge,
                forwards_p2p_reads: None,
                direct_window: None,
                translation: Translation::Integrated,
                iommu: None,
                stream_map: Vec::new(),
                windows: vec![Window {
                    cpu,
                    bus: crate::BusAddr(window_base),
                }],
                socket: None,
                numa_node: None,
                p2p_bandwidth_mbs: None,
            }),
        )
    }

    /// Mutable access to a host bridge's fields.
    pub fn host_bridge_mut(&mut self, id: NodeId) -> &mut HostBridge {
        match &mut self.p.nodes[id.index()].kind {
            NodeKind::HostBridge(h) => h,
            _ => panic!("builder: not a host bridge"),
        }
    }

    /// Sets a host bridge's allow-list id.
    pub fn host_bridge_id(&mut self, id: NodeId, vendor: u16, device: u16) -> &mut Self {
        self.host_bridge_mut(id).id = Some(PciId { vendor, device });
        self
    }

    /// Sets what a port's or endpoint's link supports (`link:`).
    pub fn link(&mut self, id: NodeId, link: crate::Link) -> &mut Self {
        self.p.nodes[id.index()].link = Some(link);
        self
    }

    /// A port with the given MPSS (MPS 128) and no ACS capability.
    pub fn port_fields(mpss: u32) -> Port {
        Port {
            mpss,
            mps: 128,
            acs: None,
            tbu: None,
            splits_oversized_writes: false,
            multifunction: false,
        }
    }

    /// Adds a root port.
    pub fn root_port(&mut self, name: &str, hb: NodeId, bdf: &str, mpss: u32) -> NodeId {
        self.push(
            name,
            Some(hb),
            Some(bdf),
            NodeKind::RootPort(Self::port_fields(mpss)),
        )
    }

    /// Adds a switch below `parent`: an upstream port named `name` and one downstream
    /// port per BDF in `downstream`, named `{name}.dp{i}`. Returns (upstream, downstream ports).
    pub fn switch(
        &mut self,
        name: &str,
        parent: NodeId,
        up_bdf: &str,
        downstream: &[&str],
        mpss: u32,
    ) -> (NodeId, Vec<NodeId>) {
        let up = self.push(
            name,
            Some(parent),
            Some(up_bdf),
            NodeKind::SwitchUpstream(Self::port_fields(mpss)),
        );
        let dps: Vec<NodeId> = downstream
            .iter()
            .enumerate()
            .map(|(i, bdf)| {
                self.push(
                    &format!("{name}.dp{i}"),
                    Some(up),
                    Some(bdf),
                    NodeKind::SwitchDownstream(Self::port_fields(mpss)),
                )
            })
            .collect();
        self.p.switches.push(Switch {
            name: name.to_owned(),
            upstream: up,
            downstream: dps.clone(),
        });
        (up, dps)
    }

    /// Adds a PCIe-to-PCI bridge.
    pub fn pci_bridge(&mut self, name: &str, parent: NodeId, bdf: &str) -> NodeId {
        self.push(
            name,
            Some(parent),
            Some(bdf),
            NodeKind::PciBridge(PciBridge { mpss: 128 }),
        )
    }

    /// Mutable access to a port's fields (root port or switch port).
    pub fn port_mut(&mut self, id: NodeId) -> &mut Port {
        match &mut self.p.nodes[id.index()].kind {
            NodeKind::RootPort(p) | NodeKind::SwitchUpstream(p) | NodeKind::SwitchDownstream(p) => {
                p
            }
            _ => panic!("builder: not a port"),
        }
    }

    /// Gives a port (or endpoint) an ACS capability, with `ctl` derived by the kernel.
    pub fn acs(&mut self, id: NodeId, cap: AcsFlags, ctl: Option<AcsFlags>) -> &mut Self {
        let acs = Some(Acs { cap, ctl });
        match &mut self.p.nodes[id.index()].kind {
            NodeKind::RootPort(p) | NodeKind::SwitchUpstream(p) | NodeKind::SwitchDownstream(p) => {
                p.acs = acs
            }
            NodeKind::Endpoint(e) => e.acs = acs,
            _ => panic!("builder: node cannot have ACS"),
        }
        self
    }

    /// Adds an endpoint with one 64-bit BAR 0 at `bar_addr` of `bar_size` bytes (skip
    /// the BAR with `bar_size == 0`), MPSS 256, mask 64, coherent, trusted, kernel driver.
    pub fn endpoint(
        &mut self,
        name: &str,
        parent: NodeId,
        bdf: &str,
        bar_addr: u64,
        bar_size: u64,
    ) -> NodeId {
        let bars = if bar_size == 0 {
            Vec::new()
        } else {
            vec![Bar {
                index: 0,
                range: PhysRange::from_start_and_size(PhysAddr(bar_addr), bar_size)
                    .expect("builder: BAR wraps"),
                prefetchable: true,
            }]
        };
        self.push(
            name,
            Some(parent),
            Some(bdf),
            NodeKind::Endpoint(Endpoint {
                class: DeviceClass::Other,
                mpss: 256,
                mps: 128,
                dma_mask_bits: 64,
                bus_dma_limit: None,
                coherent: true,
                ats: false,
                trusted: true,
                multifunction: false,
                acs: None,
                driver: Driver::Kernel,
                bars,
                cc: None,
                pcie: true,
            }),
        )
    }

    /// Mutable access to an endpoint's fields.
    pub fn endpoint_mut(&mut self, id: NodeId) -> &mut Endpoint {
        match &mut self.p.nodes[id.index()].kind {
            NodeKind::Endpoint(e) => e,
            _ => panic!("builder: not an endpoint"),
        }
    }

    /// Adds an explicit domain.
    pub fn domain(&mut self, name: &str, ty: DomainType, devices: &[NodeId]) -> &mut Self {
        self.p.domains.push(Domain {
            name: name.to_owned(),
            ty,
            devices: devices.to_vec(),
        });
        self
    }

    /// Exports a whole BAR.
    pub fn export(&mut self, name: &str, device: NodeId, bar: u8, via: Via) -> ExportId {
        let size = match &self.p.nodes[device.index()].kind {
            NodeKind::Endpoint(e) => e
                .bar(bar)
                .and_then(|b| b.range.size())
                .expect("builder: export of a missing BAR"),
            _ => panic!("builder: exporter is not an endpoint"),
        };
        self.p.exports.push(Export {
            name: name.to_owned(),
            device,
            bar,
            offset: 0,
            size,
            via,
            revoke: None,
        });
        ExportId(self.p.exports.len() as u32 - 1)
    }

    /// Adds one explicit import pairing (once any is added, the default "everyone
    /// imports everything" expansion is off).
    pub fn import(&mut self, importer: NodeId, export: ExportId) -> &mut Import {
        self.explicit_imports = true;
        self.p.imports.push(Import {
            importer,
            export,
            allow_peer2peer: true,
            dynamic: true,
        });
        self.p.imports.last_mut().expect("just pushed")
    }

    /// Finishes: expands default imports and sorts pairings.
    pub fn build(mut self) -> Platform {
        if !self.explicit_imports {
            self.p.imports = self.p.default_imports();
        }
        self.p.sort_imports();
        self.p
    }

    /// Finishes without expanding the default imports: `imports` holds only the
    /// pairings added with [`PlatformBuilder::import`] (none: empty). For platforms
    /// whose default expansion is too large to hold, written out with `imports`
    /// omitted so that the loader expands it, and for an explicit empty list.
    pub fn build_without_default_imports(mut self) -> Platform {
        self.p.sort_imports();
        self.p
    }
}

impl Platform {
    /// The default pairings: every endpoint imports every export it does not own,
    /// with `allow_peer2peer` and `dynamic` set (platform-format.md, `imports`).
    pub fn default_imports(&self) -> Vec<Import> {
        let mut out = Vec::new();
        for id in self.node_ids() {
            if !matches!(self.node(id).kind, NodeKind::Endpoint(_)) {
                continue;
            }
            for (i, e) in self.exports.iter().enumerate() {
                if e.device != id {
                    out.push(Import {
                        importer: id,
                        export: ExportId(i as u32),
                        allow_peer2peer: true,
                        dynamic: true,
                    });
                }
            }
        }
        out
    }

    /// Sorts `imports` by (importer name, export name) and drops exact duplicates.
    pub fn sort_imports(&mut self) {
        let mut imports = std::mem::take(&mut self.imports);
        // Names are unique, so their ranks order the pairings as the names do: one
        // sort of the names instead of string comparisons in a sort of every pairing.
        let rank_of = |names: Vec<&str>| {
            let mut order: Vec<usize> = (0..names.len()).collect();
            order.sort_unstable_by(|&a, &b| names[a].cmp(names[b]).then(a.cmp(&b)));
            let mut rank = vec![0u64; names.len()];
            for (r, i) in order.into_iter().enumerate() {
                rank[i] = r as u64;
            }
            rank
        };
        // Only importers are ranked (the endpoints of a large platform are a sixth of
        // its nodes); the others keep rank 0 and are never looked up.
        let mut importer = vec![false; self.nodes.len()];
        for i in &imports {
            if let Some(slot) = importer.get_mut(i.importer.index()) {
                *slot = true;
            }
        }
        let ranked: Vec<usize> = (0..self.nodes.len()).filter(|&n| importer[n]).collect();
        let mut node_rank = vec![0u64; self.nodes.len()];
        let ranks = rank_of(
            ranked
                .iter()
                .map(|&n| self.nodes[n].name.as_str())
                .collect(),
        );
        for (&n, r) in ranked.iter().zip(ranks) {
            node_rank[n] = r;
        }
        let export_rank = rank_of(self.exports.iter().map(|e| e.name.as_str()).collect());
        imports
            .sort_by_key(|i| (node_rank[i.importer.index()] << 32) | export_rank[i.export.index()]);
        imports.dedup_by(|a, b| a.importer == b.importer && a.export == b.export);
        self.imports = imports;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_imports_orders_by_names_and_keeps_the_first_of_a_pairing() {
        let mut b = PlatformBuilder::new("t");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        let (_, dps) = b.switch("sw0", rp, "01:00.0", &["02:00.0", "02:01.0"], 512);
        let z = b.endpoint("zz", dps[0], "03:00.0", 0x40_0000_0000, 0x1000_0000);
        let a = b.endpoint("aa", dps[1], "04:00.0", 0x40_1000_0000, 0x10_0000);
        b.export("x1", z, 0, Via::VfioDmabuf);
        b.export("x0", a, 0, Via::VfioDmabuf);
        let mut p = b.build();
        let imp = |importer, export: u32, allow_peer2peer| Import {
            importer,
            export: ExportId(export),
            allow_peer2peer,
            dynamic: true,
        };
        // zz←x0 twice (the first says no peer2peer), aa←x1, zz←x1 (its own export).
        p.imports = vec![
            imp(z, 1, false),
            imp(a, 0, true),
            imp(z, 1, true),
            imp(z, 0, true),
        ];
        p.sort_imports();
        let got: Vec<(&str, &str, bool)> = p
            .imports
            .iter()
            .map(|i| {
                (
                    p.node(i.importer).name.as_str(),
                    p.exports[i.export.index()].name.as_str(),
                    i.allow_peer2peer,
                )
            })
            .collect();
        assert_eq!(
            got,
            [("aa", "x1", true), ("zz", "x0", false), ("zz", "x1", true)]
        );
    }

    #[test]
    fn builder_makes_a_switch_platform_with_default_imports() {
        let mut b = PlatformBuilder::new("t");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        let (_, dps) = b.switch("sw0", rp, "01:00.0", &["02:00.0", "02:01.0"], 512);
        let g = b.endpoint("gpu0", dps[0], "03:00.0", 0x40_0000_0000, 0x1000_0000);
        let n = b.endpoint("nic0", dps[1], "04:00.0", 0x40_1000_0000, 0x10_0000);
        b.export("gpu0-bar0", g, 0, Via::VfioDmabuf);
        let p = b.build();
        assert_eq!(p.nodes.len(), 7);
        assert_eq!(p.imports.len(), 1);
        assert_eq!(p.imports[0].importer, n);
        assert_eq!(p.switches[0].downstream.len(), 2);
    }

    #[test]
    fn build_without_default_imports_keeps_only_the_added_pairings() {
        let mut b = PlatformBuilder::new("t");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        let g = b.endpoint("gpu0", rp, "01:00.0", 0x40_0000_0000, 0x1000_0000);
        b.export("gpu0-bar0", g, 0, Via::VfioDmabuf);
        let mut again = b.clone();
        assert!(b.build_without_default_imports().imports.is_empty());
        let n = again.endpoint("nic0", rp, "01:00.1", 0x40_1000_0000, 0x10_0000);
        again.import(n, ExportId(0));
        let p = again.build_without_default_imports();
        assert_eq!(p.imports.len(), 1);
        assert_eq!(p.imports[0].importer, n);
    }

    #[test]
    #[should_panic(expected = "duplicate name rp0")]
    fn a_duplicate_name_is_refused() {
        let mut b = PlatformBuilder::new("t");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        b.root_port("rp0", hb, "00:01.0", 512);
        b.root_port("rp0", hb, "00:02.0", 512);
    }
}

//! The path class between two devices, as NCCL and `nvidia-smi topo -m` name it:
//! PIX, PXB, PHB, NODE, SYS (NCCL `src/graph/topo.h`, `PATH_PIX`…`PATH_SYS`, computed
//! in `src/graph/paths.cc`; `nvidia-smi topo -m`'s legend adds NODE).
//!
//! Defined from the nearest common upstream device (K1.3, [`Topology::common_upstream`])
//! and the host bridges:
//! - **PIX**: the devices meet below a PCIe bridge, and the path crosses at most one
//!   bridge unit — a switch (its upstream and downstream ports count as one, as NCCL
//!   merges them), a root port or a PCIe-to-PCI bridge — and no host bridge. Two
//!   functions of one device, and a device with itself, are PIX.
//! - **PXB**: they meet below a PCIe bridge and the path crosses more than one bridge
//!   unit (e.g. two switch levels), but no host bridge.
//! - **PHB**: they share no upstream PCI bridge but one host bridge: the path goes
//!   through the root complex (`PATH_PHB`, "typically the CPU").
//! - **NODE**: they sit below different host bridges of one NUMA node (socket).
//! - **SYS**: they sit below host bridges of different NUMA nodes: the path crosses
//!   the SMP interconnect between sockets.
//!
//! The NUMA node comes from `host_bridges[].numa_node` (issue 24, what an import reads
//! from `NUMA node:` lines), else from `host_bridges[].socket` (issue 11, timing): both
//! are peerpath additions (docs/status.md 23 and 24). Two host bridges that both give a
//! `numa_node` are compared by it (nvidia-smi's SYS is "between NUMA nodes", so NPS2/NPS4
//! parts have SYS within a socket); otherwise by `socket` when both give one.
//! Assumption: platform-format.md itself names neither, so two host bridges that do not
//! both state one are taken to share a NUMA node (NODE).

use peerpath_model::{NodeId, NodeKind};

use crate::Topology;

/// NCCL's / `nvidia-smi topo -m`'s class of the path between two devices, nearest
/// first (the order NCCL's `PATH_*` values have).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathClass {
    /// At most one PCIe bridge (switch), no host bridge.
    Pix,
    /// Several PCIe bridges, no host bridge.
    Pxb,
    /// Through one PCIe host bridge (the root complex).
    Phb,
    /// Between host bridges within one NUMA node.
    Node,
    /// Across the SMP interconnect between NUMA nodes.
    Sys,
}

impl PathClass {
    /// Every class, nearest first.
    pub const ALL: [PathClass; 5] = [
        PathClass::Pix,
        PathClass::Pxb,
        PathClass::Phb,
        PathClass::Node,
        PathClass::Sys,
    ];

    /// The name NCCL and `nvidia-smi topo -m` print.
    pub fn as_str(self) -> &'static str {
        match self {
            PathClass::Pix => "PIX",
            PathClass::Pxb => "PXB",
            PathClass::Phb => "PHB",
            PathClass::Node => "NODE",
            PathClass::Sys => "SYS",
        }
    }

    /// One line for a legend: the name and what it means here.
    pub fn meaning(self) -> &'static str {
        match self {
            PathClass::Pix => "at most one PCIe bridge or switch between them, no host bridge",
            PathClass::Pxb => "several PCIe bridges or switches, no host bridge",
            PathClass::Phb => "through the PCIe host bridge (root complex) both sit below",
            PathClass::Node => "between host bridges of one NUMA node (socket)",
            PathClass::Sys => "across the SMP interconnect between NUMA nodes (sockets)",
        }
    }
}

/// What [`Topology::path_class`] assumes where the platform format is silent, for
/// legends.
pub const NUMA_ASSUMPTION: &str =
    "host bridges without host_bridges[].numa_node or socket count as one NUMA node: NODE, not SYS";

impl std::fmt::Display for PathClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Topology<'_> {
    /// The path class between devices `a` and `b` (symmetric). See the module comment.
    pub fn path_class(&self, a: NodeId, b: NodeId) -> PathClass {
        let Some((common, _)) = self.common_upstream(a, b) else {
            let (ha, hb) = (self.host_bridge_of(a), self.host_bridge_of(b));
            let (x, y) = (self.host_bridge(ha), self.host_bridge(hb));
            let apart = match (x.numa_node, y.numa_node, x.socket, y.socket) {
                (Some(m), Some(n), _, _) => m != n,
                (_, _, Some(s), Some(t)) => s != t,
                _ => false,
            };
            return if ha == hb {
                PathClass::Phb
            } else if apart {
                PathClass::Sys
            } else {
                PathClass::Node
            };
        };
        let mut units: Vec<NodeId> = Vec::new();
        for end in [a, b] {
            // The bridges between the device and the common device, and the common
            // device itself when it is a bridge (the device itself is not crossed).
            for n in self.pci_upstream_chain(end) {
                if n != end {
                    if let Some(u) = self.bridge_unit(n) {
                        if !units.contains(&u) {
                            units.push(u);
                        }
                    }
                }
                if n == common {
                    break;
                }
            }
        }
        if units.len() <= 1 {
            PathClass::Pix
        } else {
            PathClass::Pxb
        }
    }

    /// The bridge unit a node belongs to: a switch (named by its upstream port) for
    /// either of its ports, the node itself for a root port or a PCIe-to-PCI bridge;
    /// `None` for endpoints and host bridges.
    fn bridge_unit(&self, n: NodeId) -> Option<NodeId> {
        match self.platform().node(n).kind {
            NodeKind::SwitchDownstream(_) => self.parent(n),
            NodeKind::SwitchUpstream(_) | NodeKind::RootPort(_) | NodeKind::PciBridge(_) => Some(n),
            NodeKind::Endpoint(_) | NodeKind::HostBridge(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};
    use peerpath_model::{Platform, PlatformBuilder};

    use crate::{PathClass, Topology};

    fn load(file: &str) -> Platform {
        let path = format!("{}/../../topologies/{file}", env!("CARGO_MANIFEST_DIR"));
        peerpath_load::load_file(std::path::Path::new(&path))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    /// Every importer/exporter pair of the platform's imports with its class.
    fn check(file: &str, expect: Expect) {
        let p = load(file);
        let topo = Topology::new(&p);
        let mut lines: Vec<String> = p
            .imports
            .iter()
            .map(|i| {
                let exporter = p.export(i.export).device;
                format!(
                    "{} {} {}",
                    p.node(i.importer).name,
                    p.node(exporter).name,
                    topo.path_class(i.importer, exporter)
                )
            })
            .collect();
        lines.dedup();
        expect.assert_eq(&(lines.join("\n") + "\n"));
    }

    #[test]
    fn arm_external_tbu_switch_siblings_and_another_host_bridge() {
        check(
            "arm-external-tbu.yaml",
            expect![[r#"
            nic0 gpu0 PIX
            nic1 gpu0 NODE
        "#]],
        );
    }

    #[test]
    fn host_bridges_on_two_sockets_are_sys() {
        check(
            "timing-two-sockets.yaml",
            expect![[r#"
            gpu0 gpu1 PIX
            gpu0 gpu2 SYS
            gpu0 gpu3 SYS
            gpu1 gpu0 PIX
            gpu1 gpu2 SYS
            gpu1 gpu3 SYS
            gpu2 gpu0 SYS
            gpu2 gpu1 SYS
            gpu2 gpu3 PIX
            gpu3 gpu0 SYS
            gpu3 gpu1 SYS
            gpu3 gpu2 PIX
            nic0 gpu0 PHB
            nic0 gpu1 PHB
            nic0 gpu2 SYS
            nic0 gpu3 SYS
        "#]],
        );
    }

    #[test]
    fn dgx_like_switch_siblings_and_other_root_complexes() {
        check(
            "dgx-like.yaml",
            expect![[r#"
            nic0 gpu0 PIX
            nic0 gpu1 PIX
            nic0 gpu2 NODE
            nic0 gpu3 NODE
            nic0 gpu4 NODE
            nic0 gpu5 NODE
            nic0 gpu6 NODE
            nic0 gpu7 NODE
            nic1 gpu0 PIX
            nic1 gpu1 PIX
            nic1 gpu2 NODE
            nic1 gpu3 NODE
            nic1 gpu4 NODE
            nic1 gpu5 NODE
            nic1 gpu6 NODE
            nic1 gpu7 NODE
            nic2 gpu0 NODE
            nic2 gpu1 NODE
            nic2 gpu2 PIX
            nic2 gpu3 PIX
            nic2 gpu4 NODE
            nic2 gpu5 NODE
            nic2 gpu6 NODE
            nic2 gpu7 NODE
            nic3 gpu0 NODE
            nic3 gpu1 NODE
            nic3 gpu2 PIX
            nic3 gpu3 PIX
            nic3 gpu4 NODE
            nic3 gpu5 NODE
            nic3 gpu6 NODE
            nic3 gpu7 NODE
            nic4 gpu0 NODE
            nic4 gpu1 NODE
            nic4 gpu2 NODE
            nic4 gpu3 NODE
            nic4 gpu4 PIX
            nic4 gpu5 PIX
            nic4 gpu6 NODE
            nic4 gpu7 NODE
            nic5 gpu0 NODE
            nic5 gpu1 NODE
            nic5 gpu2 NODE
            nic5 gpu3 NODE
            nic5 gpu4 PIX
            nic5 gpu5 PIX
            nic5 gpu6 NODE
            nic5 gpu7 NODE
            nic6 gpu0 NODE
            nic6 gpu1 NODE
            nic6 gpu2 NODE
            nic6 gpu3 NODE
            nic6 gpu4 NODE
            nic6 gpu5 NODE
            nic6 gpu6 PIX
            nic6 gpu7 PIX
            nic7 gpu0 NODE
            nic7 gpu1 NODE
            nic7 gpu2 NODE
            nic7 gpu3 NODE
            nic7 gpu4 NODE
            nic7 gpu5 NODE
            nic7 gpu6 PIX
            nic7 gpu7 PIX
        "#]],
        );
    }

    #[test]
    fn intel_same_host_bridge() {
        check(
            "intel-same-host-bridge.yaml",
            expect![[r#"
            nic0 gpu0 PHB
            nic1 gpu0 NODE
        "#]],
        );
    }

    #[test]
    fn amd_zen_switch() {
        check(
            "amd-zen-switch.yaml",
            expect![[r#"
            gpu1 gpu0 PIX
            gpu1 gpu2 NODE
            nic0 gpu0 PIX
            nic0 gpu2 NODE
            nic1 gpu0 PIX
            nic1 gpu2 NODE
        "#]],
        );
    }

    /// hb0 ─ rp0 ─ sw0 ─ { sw0.dp0 ─ sw1 ─ { gpu0, gpu1 }, sw0.dp1 ─ nic0 }, and a
    /// PCIe-to-PCI bridge below rp1 of the same host bridge with two conventional
    /// devices.
    #[test]
    fn two_switch_levels_are_pxb_one_is_pix() {
        let mut b = PlatformBuilder::new("two-levels");
        b.memory("dram0", 0x8000_0000, 0x1_0000_0000);
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp0 = b.root_port("rp0", hb, "00:01.0", 256);
        let (_, dps) = b.switch("sw0", rp0, "01:00.0", &["02:00.0", "02:01.0"], 256);
        let (_, dps1) = b.switch("sw1", dps[0], "03:00.0", &["04:00.0", "04:01.0"], 256);
        let gpu0 = b.endpoint("gpu0", dps1[0], "05:00.0", 0x40_0000_0000, 0x100_0000);
        let gpu1 = b.endpoint("gpu1", dps1[1], "06:00.0", 0x40_0100_0000, 0x100_0000);
        let nic0 = b.endpoint("nic0", dps[1], "07:00.0", 0x40_0200_0000, 0x100_0000);
        let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
        let br = b.pci_bridge("br0", rp1, "08:00.0");
        let pci0 = b.endpoint("pci0", br, "09:00.0", 0x40_0300_0000, 0x100_0000);
        let pci1 = b.endpoint("pci1", br, "09:01.0", 0x40_0400_0000, 0x100_0000);
        let p = b.build();
        let topo = Topology::new(&p);
        let class = |a, b| topo.path_class(a, b);
        assert_eq!(class(gpu0, gpu1), PathClass::Pix, "one switch");
        assert_eq!(class(gpu0, nic0), PathClass::Pxb, "sw1 and sw0");
        assert_eq!(class(pci0, pci1), PathClass::Pix, "one PCIe-to-PCI bridge");
        assert_eq!(class(pci0, gpu0), PathClass::Phb, "two root ports");
        assert_eq!(class(nic0, pci1), PathClass::Phb, "two root ports");
    }

    /// Issue 24: NUMA nodes decide NODE and SYS before sockets (NPS2: two nodes on one
    /// socket are SYS, as nvidia-smi says).
    #[test]
    fn numa_nodes_before_sockets() {
        let mut b = PlatformBuilder::new("numa");
        b.memory("dram0", 0x8000_0000, 0x1_0000_0000);
        let mut gpus = Vec::new();
        for i in 0..3u8 {
            let base = 0x40_0000_0000 + u64::from(i) * 0x10_0000_0000;
            let hb = b.host_bridge(&format!("hb{i}"), 0, base, 0x10_0000_0000);
            let bus = 0x20 * (i + 1);
            let rp = b.root_port(&format!("rp{i}"), hb, &format!("{bus:02x}:01.0"), 256);
            let ep = format!("{:02x}:00.0", bus + 1);
            gpus.push((
                hb,
                b.endpoint(&format!("gpu{i}"), rp, &ep, base, 0x100_0000),
            ));
        }
        // hb0 and hb1: one socket, NUMA nodes 0 and 1 (NPS2); hb2: socket 1, node 2.
        for (i, (socket, node)) in [(0, 0), (0, 1), (1, 2)].into_iter().enumerate() {
            let h = b.host_bridge_mut(gpus[i].0);
            h.socket = Some(socket);
            h.numa_node = Some(node);
        }
        let p = b.build();
        let topo = Topology::new(&p);
        let class = |i: usize, j: usize| topo.path_class(gpus[i].1, gpus[j].1);
        assert_eq!(class(0, 1), PathClass::Sys, "one socket, two NUMA nodes");
        assert_eq!(class(0, 2), PathClass::Sys);
        // Without NUMA nodes, the sockets decide.
        let mut p = p;
        for n in &mut p.nodes {
            if let peerpath_model::NodeKind::HostBridge(h) = &mut n.kind {
                h.numa_node = None;
            }
        }
        let topo = Topology::new(&p);
        let class = |i: usize, j: usize| topo.path_class(gpus[i].1, gpus[j].1);
        assert_eq!(class(0, 1), PathClass::Node, "one socket");
        assert_eq!(class(0, 2), PathClass::Sys, "two sockets");
    }

    #[test]
    fn symmetric_on_every_pair_of_endpoints() {
        for file in ["dgx-like.yaml", "arm-external-tbu.yaml", "power9-tce.yaml"] {
            let p = load(file);
            let topo = Topology::new(&p);
            let eps: Vec<_> = topo.endpoints().collect();
            for a in &eps {
                assert_eq!(
                    topo.path_class(*a, *a),
                    PathClass::Pix,
                    "{file}: a device with itself"
                );
                for b in &eps {
                    assert_eq!(topo.path_class(*a, *b), topo.path_class(*b, *a), "{file}");
                }
            }
        }
    }
}

//! Derived memory windows (platform-format.md, "Derived, not written"): each node's
//! non-prefetchable and prefetchable windows are the spans of the non-prefetchable and
//! prefetchable BARs at or below it [PCI-to-PCI Bridge Architecture §3.2.5.8–3.2.5.9;
//! Linux sizes the two separately in `pci_bus_size_bridges`]. A bridge forwards a
//! memory TLP downstream when its address falls in either window.
//!
//! One span over all BARs (as platform-format.md words it) is wrong on real machines:
//! a GPU's 32-bit register BAR and its 64-bit VRAM BAR would make its root port claim
//! every peer BAR allocated between them (found importing the Threadripper WRX90 and
//! ASUS ESC8000A dumps).

use crate::Topology;
use peerpath_model::{BridgeWindows, NodeKind};

pub(crate) fn derive(topo: &Topology<'_>) -> Vec<BridgeWindows> {
    let p = topo.platform();
    let mut out = vec![BridgeWindows::default(); p.nodes.len()];
    // Children come after parents, so a reverse pass folds each child into its parent.
    for id in p.node_ids().rev() {
        let node = p.node(id);
        if let NodeKind::Endpoint(ep) = &node.kind {
            for bar in &ep.bars {
                out[id.index()].add(bar.range, bar.prefetchable);
            }
        }
        if let Some(parent) = node.parent {
            let child = out[id.index()];
            out[parent.index()].merge(&child);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::Topology;
    use peerpath_model::{PhysAddr, PlatformBuilder, Via};

    /// Regression (issue 4, Threadripper import): a peer BAR allocated between one
    /// GPU's register BAR and its VRAM BAR is outside that GPU's root port windows.
    #[test]
    fn a_root_port_does_not_claim_a_peer_bar_between_its_own_two_bars() {
        let mut b = PlatformBuilder::new("t");
        let hb = b.host_bridge("hb0", 0, 0x8000_0000, 0x200_0000_0000);
        let rp0 = b.root_port("rp0", hb, "00:01.0", 256);
        let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
        let g0 = b.endpoint("gpu0", rp0, "01:00.0", 0x130_0000_0000, 0x10_0000_0000);
        let g1 = b.endpoint("gpu1", rp1, "02:00.0", 0x110_0000_0000, 0x10_0000_0000);
        let mut reg = b.endpoint_mut(g0).bars[0];
        reg.index = 1;
        b.endpoint_mut(g0).bars.push(reg);
        let regs = b.endpoint_mut(g0);
        regs.bars[0].range =
            peerpath_model::PhysRange::from_start_and_size(PhysAddr(0xb400_0000), 0x100_0000)
                .expect("range");
        regs.bars[0].prefetchable = false;
        b.export("gpu1-vram", g1, 0, Via::VfioDmabuf);
        let p = b.build();
        let t = Topology::new(&p);
        assert!(t.windows(rp0).contains(PhysAddr(0xb400_0000)));
        assert!(t.windows(rp0).contains(PhysAddr(0x130_0000_0000)));
        assert!(!t.windows(rp0).contains(PhysAddr(0x110_0000_0000)));
        assert!(t.windows(rp1).contains(PhysAddr(0x110_0000_0000)));
        assert!(t.windows(hb).contains(PhysAddr(0x110_0000_0000)));
    }
}

//! K4.3/H1 — untranslated reachability: can one device reach another's MMIO without
//! passing the IOMMU? The question the `reachable` grouping algorithm answers with
//! groups, asked per pair; the `group-isolation-hole` finding raises it where `legacy`
//! put the two devices in different groups ([PCIe §6.12, §7.7.8]; the cover letter of
//! "Fix incorrect iommu_groups with PCIe ACS": "if device A is permitted to access
//! device B's MMIO then A and B must be grouped together").
//!
//! An untranslated memory request (AT=00b) from `a` to a BAR of `b` goes where the
//! engine routes it ([`Turn`]): every decision is the one ACS decision
//! ([`crate::acs::decide`], `Reader::Hardware`), and the climb is the engine's own, so
//! reach, the route and the groups cannot part silently (a property test on random
//! platforms holds the route and reach equal).
//!
//! - **inside a multifunction device** (`a` and `b` are functions of one slot): the
//!   requester function keeps the request inside the device (`Dest::PeerFunction`)
//!   only if its ACS capability implements RR, RR is not enabled and EC is clear
//!   [PCIe §6.12.1.2: functions that support peer-to-peer with other functions must
//!   implement RR, so without it there is no internal path]; EC alone blocks it;
//!   otherwise it goes out on the link.
//! - **climbing**, each port the request enters from below decides with where address
//!   decode would send it: a root or downstream port whose own subtree holds `b`
//!   sends it back down unless UF sends it up (a *hairpin*: two functions without an
//!   internal path reach each other so); a downstream port whose sibling holds `b`
//!   forwards it across the switch's internal bus unless RR redirects it or EC blocks
//!   it — a port without an ACS capability, or whose capability lacks RR, forwards;
//!   anything else goes up, and a redirected request may still turn at a port above.
//! - **a conventional PCI bus** (a PCIe-to-PCI bridge above `b`): any device on the
//!   bus may claim it.
//! - **the root complex**: the request enters it, where the IOMMU (or the root port's
//!   TBU) sits; whether it is then forwarded is H6's business. Never "untranslated" in
//!   this sense.
//!
//! The answer is directional (ACS is egress control: `a` may reach `b` while `b`
//! cannot reach `a`). Where the kernel's grouping reads a port differently — a
//! capability bit the port lacks taken as hard-wired on, or (`reachable`) a root port
//! without ACS taken to keep its link's requests — [`Topology::isolation_assumed`]
//! names it, and `group-isolation-hole` reports the two devices it splits.

use crate::acs::{AcsTlp, Decision, Dest, Reader};
use crate::Topology;

/// Where and how an untranslated request turns back down below the root complex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// On a switch's internal bus: `ingress` (a downstream port) forwards it to a peer.
    SwitchBus {
        /// The switch upstream port whose internal bus carries it.
        usp: NodeId,
        /// The downstream port it entered by.
        ingress: NodeId,
    },
    /// Inside a multifunction device: `function` loops it back to a sibling.
    Loopback {
        /// The function on the requester's side.
        function: NodeId,
    },
    /// At a root or downstream port that sends a request for its own link back down
    /// (UF clear): the requester's link is the target's.
    Hairpin {
        /// The port.
        port: NodeId,
    },
    /// On a conventional PCI bus, where any device may claim it.
    PciBus {
        /// The PCIe-to-PCI bridge above the bus.
        bridge: NodeId,
    },
}
use peerpath_model::{GroupAlgorithm, NodeId, NodeKind};

impl Topology<'_> {
    /// Where an untranslated request from `a` to `b`'s MMIO turns back down without
    /// passing the IOMMU: the switch upstream port whose internal bus carries it, the
    /// function of a multifunction device that loops it back, or the PCIe-to-PCI bridge
    /// whose bus it crosses. `None` when it cannot: it is redirected or blocked by ACS,
    /// it must go through the root complex, `b` has no BAR, or `a == b`. See the module
    /// documentation for the rules.
    pub fn untranslated_turnaround(&self, a: NodeId, b: NodeId) -> Option<NodeId> {
        self.turn(a, b).map(|t| match t {
            Turn::SwitchBus { usp, .. } => usp,
            Turn::Loopback { function } => function,
            Turn::Hairpin { port } => port,
            Turn::PciBus { bridge } => bridge,
        })
    }

    /// How an untranslated request from `a` to `b`'s MMIO turns back down below the
    /// root complex, if it does. See the module documentation.
    pub fn turn(&self, a: NodeId, b: NodeId) -> Option<Turn> {
        if a == b || self.endpoint(b).is_none_or(|e| e.bars.is_empty()) {
            return None;
        }
        if self.host_bridge_of(a) != self.host_bridge_of(b) {
            return None;
        }
        let (lca, a_side, b_side) = self.lowest_common_ancestor(a, b)?;
        if matches!(
            self.platform().node(lca).kind,
            NodeKind::RootPort(_) | NodeKind::SwitchDownstream(_)
        ) {
            let same_device = matches!(
                (self.bdf(a_side), self.bdf(b_side)),
                (Some(x), Some(y)) if x.same_slot(&y)
            );
            // A function sends a request for a sibling function's BAR inside the device,
            // blocks it, or puts it on the link (as the engine's `loopback`).
            if same_device && a_side == a && b_side == b {
                match self.acs_decide(a, Reader::Hardware, AcsTlp::request(Dest::PeerFunction)) {
                    Decision::Peer { .. } => return Some(Turn::Loopback { function: a }),
                    Decision::Block(_) => return None,
                    Decision::Up { .. } | Decision::TurnBack => {}
                }
            }
        }
        // Climb as the engine routes: each port the request enters from below decides
        // by the one ACS decision, with where address decode would send it.
        let mut cur = a;
        loop {
            let port = self.parent(cur)?;
            match &self.platform().node(port).kind {
                NodeKind::HostBridge(_) | NodeKind::Endpoint(_) => return None,
                // The downstream port below already sent it up.
                NodeKind::SwitchUpstream(_) => {}
                NodeKind::PciBridge(_) if self.is_above(port, b) => {
                    return Some(Turn::PciBus { bridge: port });
                }
                NodeKind::PciBridge(_) => {}
                NodeKind::RootPort(_) | NodeKind::SwitchDownstream(_) => {
                    let switch_bus = self.parent(port).filter(|u| {
                        matches!(self.platform().node(*u).kind, NodeKind::SwitchUpstream(_))
                    });
                    let dest = if self.is_above(port, b) {
                        Dest::Own
                    } else if switch_bus.is_some_and(|u| self.is_above(u, b)) {
                        Dest::PeerPort
                    } else {
                        Dest::Up
                    };
                    match self.acs_decide(port, Reader::Hardware, AcsTlp::request(dest)) {
                        Decision::TurnBack => return Some(Turn::Hairpin { port }),
                        Decision::Peer { .. } => {
                            return switch_bus.map(|usp| Turn::SwitchBus { usp, ingress: port });
                        }
                        Decision::Block(_) => return None,
                        Decision::Up { .. } => {}
                    }
                }
            }
            cur = port;
        }
    }

    /// Whether `x` is a proper ancestor of `y`.
    fn is_above(&self, x: NodeId, y: NodeId) -> bool {
        let mut cur = y;
        while let Some(p) = self.parent(cur) {
            if p == x {
                return true;
            }
            cur = p;
        }
        false
    }

    /// Whether `a` can reach `b`'s MMIO without passing the IOMMU (the request turns
    /// back down below the root complex): `untranslated_turnaround(a, b).is_some()`.
    /// Used by the `group-isolation-hole` finding: exporter and importer in different
    /// groups, yet one reaches the other untranslated.
    pub fn reachable_untranslated(&self, a: NodeId, b: NodeId) -> bool {
        self.turn(a, b).is_some()
    }

    /// The port (or function) where `a`'s request to `b` turns that the kernel's
    /// grouping takes as keeping it from turning: its isolation test reads a
    /// capability bit the port lacks (RR, UF) as hard-wired on, or — `reachable`
    /// only — a root port without an ACS capability is taken to have no loopback,
    /// while the silicon sends its link's requests back down. Where the kernel's IOMMU
    /// groups and the hardware part. Empty when they agree or `a` does not reach `b`.
    pub fn isolation_assumed(&self, a: NodeId, b: NodeId) -> Vec<NodeId> {
        let (port, dest) = match self.turn(a, b) {
            Some(Turn::SwitchBus { ingress, .. }) => (ingress, Dest::PeerPort),
            Some(Turn::Loopback { function }) => (function, Dest::PeerFunction),
            Some(Turn::Hairpin { port }) => (port, Dest::Own),
            Some(Turn::PciBus { .. }) | None => return Vec::new(),
        };
        let tlp = AcsTlp::request(dest);
        let kernel = self.acs_decide(port, Reader::Isolation, tlp);
        let rp_without_acs = dest == Dest::Own
            && self.acs_cap(port).is_none()
            && matches!(self.platform().node(port).kind, NodeKind::RootPort(_))
            && self.platform().kernel.group_algorithm == GroupAlgorithm::Reachable;
        if kernel.redirected() || rp_without_acs {
            vec![port]
        } else {
            Vec::new()
        }
    }

    /// The port through which a request from `from` enters `turn` (the child of `turn`
    /// on `from`'s side), if `turn` is above `from`.
    pub fn ingress_below(&self, from: NodeId, turn: NodeId) -> Option<NodeId> {
        let mut cur = from;
        loop {
            let parent = self.parent(cur)?;
            if parent == turn {
                return Some(cur);
            }
            cur = parent;
        }
    }

    /// The lowest common ancestor of two nodes of one hierarchy, with the child of it on
    /// each side (each node itself when it is that child); `None` when one node is an
    /// ancestor of the other.
    fn lowest_common_ancestor(&self, a: NodeId, b: NodeId) -> Option<(NodeId, NodeId, NodeId)> {
        let (mut x, mut y) = (a, b);
        while self.depth(x) > self.depth(y) {
            x = self.parent(x)?;
        }
        while self.depth(y) > self.depth(x) {
            y = self.parent(y)?;
        }
        if x == y {
            return None;
        }
        loop {
            let (px, py) = (self.parent(x)?, self.parent(y)?);
            if px == py {
                return Some((px, x, y));
            }
            x = px;
            y = py;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Topology;
    use peerpath_model::{AcsFlags, GroupAlgorithm, IommuKind, NodeId, Platform, PlatformBuilder};
    use proptest::prelude::*;

    fn switch_platform(
        dsp_acs: Option<(AcsFlags, Option<AcsFlags>)>,
    ) -> (Platform, NodeId, NodeId) {
        let mut b = PlatformBuilder::new("reach");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
        b.host_bridge_mut(hb).iommu = Some(smmu);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        b.acs(rp, AcsFlags::REQ, None);
        let (_, dps) = b.switch("sw0", rp, "01:00.0", &["02:00.0", "02:01.0"], 512);
        if let Some((cap, ctl)) = dsp_acs {
            for d in &dps {
                b.acs(*d, cap, ctl);
            }
        }
        let g = b.endpoint("gpu0", dps[0], "03:00.0", 0x40_0000_0000, 0x100_0000);
        let n = b.endpoint("nic0", dps[1], "04:00.0", 0x40_1000_0000, 0x10_0000);
        (b.build(), g, n)
    }

    #[test]
    fn switch_without_acs_turns_at_the_upstream_port() {
        let (p, g, n) = switch_platform(None);
        let t = Topology::new(&p);
        let sw0 = p.node_by_name("sw0").expect("sw0");
        assert_eq!(t.untranslated_turnaround(g, n), Some(sw0));
        assert!(t.reachable_untranslated(n, g));
        // Legacy grouping puts them apart: the hole.
        assert!(!t.groups().same_group(g, n));
    }

    #[test]
    fn rr_or_ec_at_the_ingress_port_sends_it_upstream_or_blocks_it() {
        let all = AcsFlags::all();
        let (p, g, n) = switch_platform(Some((all, None)));
        assert!(
            !Topology::new(&p).reachable_untranslated(g, n),
            "kernel enables RR"
        );
        let (p, g, n) = switch_platform(Some((all, Some(AcsFlags::EC))));
        assert!(!Topology::new(&p).reachable_untranslated(g, n), "EC blocks");
        let (p, g, n) = switch_platform(Some((
            all,
            Some(AcsFlags::SV | AcsFlags::CR | AcsFlags::UF),
        )));
        assert!(
            Topology::new(&p).reachable_untranslated(g, n),
            "CR alone: requests pass"
        );
    }

    /// Issue 8: downstream ports whose ACS capability lacks RR. The silicon does not
    /// implement RR, so peer requests cross the switch — as the engine routes them —
    /// while the kernel's isolation test takes RR as hard-wired on and groups the two
    /// devices apart (both algorithms).
    #[test]
    fn a_capability_without_rr_forwards_though_the_kernel_assumes_it_isolates() {
        let no_rr = AcsFlags::SV | AcsFlags::UF;
        for algorithm in [GroupAlgorithm::Legacy, GroupAlgorithm::Reachable] {
            let (mut p, g, n) = switch_platform(Some((no_rr, None)));
            p.kernel.group_algorithm = algorithm;
            let t = Topology::new(&p);
            let dp1 = p.node_by_name("sw0.dp1").expect("dp1");
            assert_eq!(t.acs_ctl(dp1), no_rr, "the kernel enables what is there");
            assert!(t.reachable_untranslated(n, g), "{algorithm:?}");
            assert!(t.acs_isolated(dp1), "{algorithm:?}");
            assert!(!t.groups().same_group(g, n), "{algorithm:?}");
        }
    }

    #[test]
    fn asymmetric_acs_is_directional() {
        let (mut p, g, n) = switch_platform(Some((AcsFlags::all(), None)));
        let dp0 = p.node_by_name("sw0.dp0").expect("dp0");
        p.kernel.disable_acs_redir = vec![dp0];
        let t = Topology::new(&p);
        assert!(
            t.reachable_untranslated(g, n),
            "gpu0 enters by dp0, which forwards"
        );
        assert!(
            !t.reachable_untranslated(n, g),
            "nic0 enters by dp1, which redirects"
        );
    }

    #[test]
    fn root_complex_self_and_bar_less_targets_are_not_reached() {
        let mut b = PlatformBuilder::new("rc");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
        let rp1 = b.root_port("rp1", hb, "00:02.0", 512);
        let a = b.endpoint("a", rp0, "01:00.0", 0x40_0000_0000, 0x1000);
        let c = b.endpoint("c", rp1, "02:00.0", 0x40_0001_0000, 0x1000);
        let nobar = b.endpoint("nobar", rp1, "02:00.1", 0, 0);
        let p = b.build();
        let t = Topology::new(&p);
        assert!(
            !t.reachable_untranslated(a, c),
            "meets only at the host bridge"
        );
        assert!(!t.reachable_untranslated(a, a));
        assert!(!t.reachable_untranslated(c, nobar));
        assert!(!t.reachable_untranslated(c, rp1), "a port has no BAR");
    }

    #[test]
    fn multifunction_loopback_needs_an_acs_capability_without_rr() {
        let uf = AcsFlags::SV | AcsFlags::UF;
        let build = |acs: Option<(AcsFlags, Option<AcsFlags>)>| {
            let mut b = PlatformBuilder::new("mfd");
            let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
            let rp = b.root_port("rp0", hb, "00:01.0", 512);
            // UF on the root port: a request for its own link goes up, not back down.
            b.acs(rp, uf, Some(uf));
            let f0 = b.endpoint("f0", rp, "01:00.0", 0x40_0000_0000, 0x1000);
            let f1 = b.endpoint("f1", rp, "01:00.1", 0x40_0001_0000, 0x1000);
            if let Some((cap, ctl)) = acs {
                b.acs(f0, cap, ctl);
            }
            (b.build(), f0, f1)
        };
        let (p, f0, f1) = build(None);
        assert!(
            !Topology::new(&p).reachable_untranslated(f0, f1),
            "no ACS: no loopback"
        );
        let (p, f0, f1) = build(Some((AcsFlags::REQ, Some(AcsFlags::SV))));
        let t = Topology::new(&p);
        assert_eq!(t.turn(f0, f1), Some(super::Turn::Loopback { function: f0 }));
        assert!(
            !t.reachable_untranslated(f1, f0),
            "f1 has no ACS: no loopback"
        );
    }

    /// Property 1 of issue 8 found it: two functions without an internal path send
    /// each other's requests out on the link, and a port without UF sends them back
    /// down (as the engine routes them); only UF sends them up to the root complex.
    #[test]
    fn a_port_without_uf_sends_its_links_requests_back_down() {
        let mut b = PlatformBuilder::new("hairpin");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        let f0 = b.endpoint("f0", rp, "01:00.0", 0x40_0000_0000, 0x1000);
        let f1 = b.endpoint("f1", rp, "01:00.1", 0x40_0001_0000, 0x1000);
        let p = b.build();
        let t = Topology::new(&p);
        assert_eq!(t.turn(f0, f1), Some(super::Turn::Hairpin { port: rp }));
        assert!(t.reachable_untranslated(f1, f0));
    }

    #[test]
    fn devices_on_a_conventional_pci_bus_reach_each_other() {
        let mut b = PlatformBuilder::new("pci");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        let br = b.pci_bridge("bridge", rp, "01:00.0");
        let x = b.endpoint("x", br, "02:00.0", 0x40_0000_0000, 0x1000);
        let y = b.endpoint("y", br, "02:01.0", 0x40_0001_0000, 0x1000);
        let p = b.build();
        assert_eq!(Topology::new(&p).untranslated_turnaround(x, y), Some(br));
    }

    /// Random platforms whose host bridges all have an IOMMU (groups exist) and whose
    /// kernel forms groups with `reachable`.
    fn reachable_cases() -> impl Strategy<Value = peerpath_testkit::Case> {
        use peerpath_testkit::strategy::{cases_with, knobs};
        use peerpath_testkit::{IommuKnob, Knobs};
        cases_with(knobs().prop_map(|k| Knobs {
            iommu: IommuKnob::Flavor,
            group_algorithm: GroupAlgorithm::Reachable,
            ..k
        }))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Under `reachable`, reaching a peer's MMIO untranslated implies a shared
        /// group — unless the port the request turns through is one the kernel's
        /// isolation reading takes as isolating while the silicon forwards (a
        /// capability without RR): the gap `group-isolation-hole` reports.
        /// (That groups partition the devices is a property across models, in
        /// peerpath-testkit's tests/cross_model.rs.)
        #[test]
        fn reachable_groups_cover_every_untranslated_path(case in reachable_cases()) {
            let p = case.platform();
            let t = Topology::new(&p);
            let eps: Vec<NodeId> = t.endpoints().collect();
            for &a in &eps {
                for &b in &eps {
                    let Some(turn) = t.untranslated_turnaround(a, b) else { continue };
                    if t.groups().same_group(a, b) {
                        continue;
                    }
                    let _ = turn;
                    let assumed = t.isolation_assumed(a, b);
                    prop_assert!(
                        !assumed.is_empty(),
                        "{} reaches {} untranslated but the groups differ", t.name(a), t.name(b)
                    );
                }
            }
        }
    }
}

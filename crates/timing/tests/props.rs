//! Properties of the timing model (issue 11): a faster or wider link never predicts
//! less bandwidth, on testkit's random platforms with random links; a switch added on
//! the route never predicts less latency.

use peerpath_model::{
    Arch, CpuVendor, Link, LinkSpeed, NodeKind, Platform, PlatformBuilder, Via, LINK_WIDTHS,
};
use peerpath_testkit::strategy::cases;
use peerpath_timing::matrix::Matrix;
use peerpath_topology::Topology;
use proptest::prelude::*;

/// Links for every port and endpoint: `None` or (speed, width) indices, by node.
fn links() -> impl Strategy<Value = Vec<Option<(usize, usize)>>> {
    prop::collection::vec(prop::option::weighted(0.8, (0..6usize, 0..7usize)), 64)
}

fn link_of(c: (usize, usize)) -> Link {
    Link {
        speed: LinkSpeed::ALL[c.0 % 6],
        width: LINK_WIDTHS[c.1 % 7],
    }
}

/// Sets each port's and endpoint's link from `choice` (cycled).
fn with_links(mut p: Platform, choice: &[Option<(usize, usize)>]) -> Platform {
    for (i, n) in p.nodes.iter_mut().enumerate() {
        if !matches!(n.kind, NodeKind::HostBridge(_) | NodeKind::PciBridge(_)) {
            n.link = choice
                .get(i % choice.len().max(1))
                .copied()
                .flatten()
                .map(link_of);
        }
    }
    p
}

/// Every cell's one-way and both-ways bandwidth.
fn bandwidths(p: &Platform) -> Vec<(Option<f64>, Option<f64>)> {
    let topo = Topology::new(p);
    let m = Matrix::build(&topo, 1);
    let n = m.devices.len();
    let mut out = Vec::new();
    for i in 0..n {
        for j in 0..n {
            out.push((m.unidirectional(i, j), m.bidirectional(i, j)));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_faster_or_wider_link_never_predicts_less_bandwidth(
        case in cases(),
        choice in links().boxed(),
        pick in any::<prop::sample::Index>(),
        faster in any::<bool>(),
    ) {
        let before = with_links(case.platform(), &choice);
        let linked: Vec<usize> = before
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.link.is_some())
            .map(|(i, _)| i)
            .collect();
        prop_assume!(!linked.is_empty());
        let k = linked[pick.index(linked.len())];
        let mut after = before.clone();
        let l = after.nodes[k].link.as_mut().expect("linked");
        if faster {
            l.speed = LinkSpeed::ALL[(l.speed.generation() as usize).min(5)];
        } else {
            let w = LINK_WIDTHS.iter().position(|&w| w == l.width).unwrap_or(0);
            l.width = LINK_WIDTHS[(w + 1).min(6)];
        }
        for (a, b) in bandwidths(&before).into_iter().zip(bandwidths(&after)) {
            if let (Some(x), Some(y)) = (a.0, b.0) {
                prop_assert!(y >= x - 1e-9, "one way {x} -> {y}");
            }
            if let (Some(x), Some(y)) = (a.1, b.1) {
                prop_assert!(y >= x - 1e-9, "both ways {x} -> {y}");
            }
            prop_assert_eq!(a.0.is_some(), b.0.is_some());
        }
    }

    #[test]
    fn a_switch_added_on_the_route_never_lowers_latency(
        depth in 0usize..4,
        choice in links().boxed(),
        same_root_port in any::<bool>(),
    ) {
        let shallow = with_links(chain(depth, same_root_port), &choice);
        let deep = with_links(chain(depth + 1, same_root_port), &choice);
        let lat = |p: &Platform| {
            let topo = Topology::new(p);
            let m = Matrix::build(&topo, 1);
            let t = m.timings.iter().find(|t| topo.name(t.importer) == "gpu0").map(|t| t.latency_ns);
            t.expect("gpu0 writes into gpu1")
        };
        let (a, b) = (lat(&shallow), lat(&deep));
        prop_assert!(b >= a, "{depth} switches: {a} ns, one more: {b} ns");
    }
}

/// gpu0 under rp0; gpu1 under `depth` switches in a chain below rp0 (or rp1).
fn chain(depth: usize, same_root_port: bool) -> Platform {
    let mut b = PlatformBuilder::new("chain");
    let k = b.kernel();
    k.arch = Arch::X86_64;
    k.cpu.vendor = CpuVendor::Amd;
    k.cpu.family = Some(0x19);
    let hb = b.host_bridge("hb0", 0, 0x10_0000_0000, 0x10_0000_0000);
    let rp0 = b.root_port("rp0", hb, "00:01.0", 256);
    let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
    let g0 = b.endpoint("gpu0", rp0, "01:00.0", 0x10_0000_0000, 0x100_0000);
    let mut parent = if same_root_port { rp0 } else { rp1 };
    for d in 0..depth {
        let (_, dps) = b.switch(
            &format!("sw{d}"),
            parent,
            &format!("{:02x}:00.0", 0x10 + 2 * d),
            &[&format!("{:02x}:00.0", 0x11 + 2 * d)],
            256,
        );
        parent = dps[0];
    }
    let g1 = b.endpoint("gpu1", parent, "40:00.0", 0x11_0000_0000, 0x100_0000);
    b.export("x0", g0, 0, Via::VfioDmabuf);
    b.export("x1", g1, 0, Via::VfioDmabuf);
    b.build()
}

//! Unit tests of the model on small built platforms.

use peerpath_model::{Arch, CpuVendor, Link, LinkSpeed, PlatformBuilder, Via};
use peerpath_topology::Topology;

use crate::matrix::Matrix;

/// Two GPUs on two root ports of one host bridge, links as given.
fn two_gpus(links: Option<(Link, Link)>) -> peerpath_model::Platform {
    let mut b = PlatformBuilder::new("t");
    let k = b.kernel();
    k.arch = Arch::X86_64;
    k.cpu.vendor = CpuVendor::Amd;
    k.cpu.family = Some(0x19);
    let hb = b.host_bridge("hb0", 0, 0x10_0000_0000, 0x10_0000_0000);
    let rp0 = b.root_port("rp0", hb, "00:01.0", 256);
    let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
    let g0 = b.endpoint("gpu0", rp0, "01:00.0", 0x10_0000_0000, 0x1000_0000);
    let g1 = b.endpoint("gpu1", rp1, "02:00.0", 0x11_0000_0000, 0x1000_0000);
    b.export("x0", g0, 0, Via::VfioDmabuf);
    b.export("x1", g1, 0, Via::VfioDmabuf);
    if let Some((a, c)) = links {
        b.link(g0, a).link(rp0, c).link(g1, a).link(rp1, c);
    }
    b.build()
}

const G4X16: Link = Link {
    speed: LinkSpeed::Gen4,
    width: 16,
};

#[test]
fn a_link_bounds_the_write_and_is_named() {
    let p = two_gpus(Some((G4X16, G4X16)));
    let topo = Topology::new(&p);
    let m = Matrix::build(&topo, 1);
    let uni = m.unidirectional(0, 1).expect("a bandwidth");
    let raw = crate::protocol::raw_gbps(G4X16);
    assert!(uni < raw && uni > 0.8 * raw, "{uni}");
    let t = m.timing(0, 1).expect("timed");
    let w = t.write.as_ref().expect("write");
    assert!(
        w.bottleneck.why.contains("payload efficiency"),
        "{}",
        w.bottleneck.why
    );
    let bi = m.bidirectional(0, 1).expect("both ways");
    assert!(bi > 1.9 * uni * 0.98 && bi <= 2.0 * uni, "{bi} vs {uni}");
    assert!(t.assumptions.is_empty(), "{:?}", t.assumptions);
}

#[test]
fn a_missing_link_is_an_assumption_and_no_link_is_no_bandwidth() {
    let p = two_gpus(None);
    let topo = Topology::new(&p);
    let m = Matrix::build(&topo, 1);
    assert_eq!(m.unidirectional(0, 1), None);
    assert!(m
        .assumptions()
        .iter()
        .any(|a| a.contains("no `link` on either end")));
}

#[test]
fn a_slower_end_trains_the_link_down() {
    let slow = Link {
        speed: LinkSpeed::Gen3,
        width: 16,
    };
    let fast = two_gpus(Some((G4X16, G4X16)));
    let mixed = two_gpus(Some((G4X16, slow)));
    let a = Matrix::build(&Topology::new(&fast), 1).unidirectional(0, 1);
    let b = Matrix::build(&Topology::new(&mixed), 1).unidirectional(0, 1);
    assert!(b < a, "{b:?} < {a:?}");
}

/// Two GPUs below two host bridges of one socket, Gen4 x16 everywhere, on `vendor`
/// `family`; `efficiency` stated on `same_socket` or not.
fn two_host_bridges(
    vendor: CpuVendor,
    family: u32,
    efficiency: Option<u16>,
) -> peerpath_model::Platform {
    let mut b = PlatformBuilder::new("t");
    let k = b.kernel();
    k.arch = Arch::X86_64;
    k.cpu.vendor = vendor;
    k.cpu.family = Some(family);
    let h0 = b.host_bridge("hb0", 0, 0x10_0000_0000, 0x10_0000_0000);
    let h1 = b.host_bridge("hb1", 0, 0x20_0000_0000, 0x10_0000_0000);
    for h in [h0, h1] {
        b.host_bridge_id(h, 0x8086, 0x09a2);
        let hb = b.host_bridge_mut(h);
        hb.forwards_p2p = peerpath_model::ForwardsP2p::Any;
        hb.socket = Some(0);
    }
    let rp0 = b.root_port("rp0", h0, "00:01.0", 256);
    let rp1 = b.root_port("rp1", h1, "80:01.0", 256);
    let g0 = b.endpoint("gpu0", rp0, "01:00.0", 0x10_0000_0000, 0x1000_0000);
    let g1 = b.endpoint("gpu1", rp1, "81:00.0", 0x20_0000_0000, 0x1000_0000);
    b.export("x0", g0, 0, Via::VfioDmabuf);
    b.export("x1", g1, 0, Via::VfioDmabuf);
    b.link(g0, G4X16)
        .link(rp0, G4X16)
        .link(g1, G4X16)
        .link(rp1, G4X16);
    b.platform_mut()
        .interconnect
        .fabric
        .same_socket
        .efficiency_permille = efficiency;
    b.build()
}

/// Issue 23: a write crossing between host bridges reaches the CPU generation's
/// forwarding share of its links' rate (Intel family 6: the corpus fit), named as
/// the bottleneck and stated; reads are not bounded by it (it was fitted on writes).
#[test]
fn forwarding_between_host_bridges_takes_the_cpu_generations_share() {
    let link_only = two_host_bridges(CpuVendor::Amd, 0x15, None);
    let intel = two_host_bridges(CpuVendor::Intel, 6, None);
    let (a, b) = (Topology::new(&link_only), Topology::new(&intel));
    let (ma, mb) = (Matrix::build(&a, 1), Matrix::build(&b, 1));
    let full = ma.unidirectional(0, 1).expect("timed");
    let fwd = mb.unidirectional(0, 1).expect("timed");
    let share = crate::cpus::forwarding(&intel.kernel.cpu)
        .expect("an Intel row")
        .efficiency_permille;
    let want = full * f64::from(share) / 1000.0;
    assert!((fwd - want).abs() < 1e-9, "{fwd} vs {want}");
    let w = mb
        .timing(0, 1)
        .and_then(|t| t.write.as_ref())
        .expect("write");
    assert_eq!(w.bottleneck.place, "hb0⇄hb1 forwarding");
    assert!(mb
        .assumptions()
        .iter()
        .any(|x| x.contains("root-complex forwarding") && x.contains("intel family 0x6")));
    // Both ways: each direction keeps the share of its own lanes.
    let bi = mb.bidirectional(0, 1).expect("both ways");
    let bi_full = ma.bidirectional(0, 1).expect("both ways");
    assert!(
        (bi - bi_full * f64::from(share) / 1000.0).abs() < 1e-6,
        "{bi} vs {bi_full}"
    );
    assert_eq!(mb.read(0, 1), ma.read(0, 1));
    // A generation the table lacks: no such bound, nothing stated.
    assert!(!ma.assumptions().iter().any(|x| x.contains("forwarding")));
}

/// A stated `efficiency` wins over the CPU generation's fit and is not restated.
#[test]
fn a_stated_forwarding_efficiency_wins() {
    let stated = two_host_bridges(CpuVendor::Intel, 6, Some(500));
    let none = two_host_bridges(CpuVendor::Amd, 0x15, None);
    let s = Matrix::build(&Topology::new(&stated), 1);
    let n = Matrix::build(&Topology::new(&none), 1);
    let (x, y) = (
        s.unidirectional(0, 1).expect("a"),
        n.unidirectional(0, 1).expect("b"),
    );
    assert!((x - y / 2.0).abs() < 1e-9, "{x} vs {y}");
    assert!(!s.assumptions().iter().any(|a| a.contains("forwarding")));
}

/// Issue 23: across sockets, a file that states no `cross_socket` bandwidth gets its
/// CPU generation's figure (`cpus::cross_socket_default`: the corpus fit, else a
/// published one), named as the bound and stated; a stated bandwidth wins.
#[test]
fn cross_socket_bandwidth_not_stated_takes_the_cpu_generations_figure() {
    let two_sockets = |stated: bool| {
        let mut p = two_host_bridges(CpuVendor::Intel, 6, None);
        let hb1 = p.nodes.iter().position(|n| n.name == "hb1").expect("hb1");
        if let peerpath_model::NodeKind::HostBridge(h) = &mut p.nodes[hb1].kind {
            h.socket = Some(1);
        }
        p.interconnect.fabric.cross_socket.bandwidth_stated = stated;
        p
    };
    let (unstated, stated) = (two_sockets(false), two_sockets(true));
    let m = Matrix::build(&Topology::new(&unstated), 1);
    let s = Matrix::build(&Topology::new(&stated), 1);
    let want = crate::cpus::cross_socket_default(&unstated.kernel.cpu)
        .expect("an Intel row")
        .bandwidth_mbs as f64
        / 1000.0;
    assert_eq!(m.unidirectional(0, 1), Some(want));
    let w = m
        .timing(0, 1)
        .and_then(|t| t.write.as_ref())
        .expect("write");
    assert_eq!(w.bottleneck.place, "hb0→hb1");
    assert!(m.assumptions().iter().any(|x| x
        .starts_with("fabric cross_socket: no `bandwidth` given")
        && x.contains("intel family 0x6")));
    // Stated (here the format's 64 GB/s): the links and forwarding bound it instead.
    assert!(s.unidirectional(0, 1).expect("timed") > want);
    assert!(!s.assumptions().iter().any(|x| x.contains("cross_socket")));
}

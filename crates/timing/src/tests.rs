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

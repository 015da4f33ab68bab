//! The timing fields (issue 11): links, sockets, the fabric and the latencies load
//! into the model, and bad values are located errors saying what would be right.

use expect_test::expect;
use peerpath_model::{Link, LinkSpeed};

use crate::{check, load};

const TIMED: &str = "format: 1
name: t
interconnect:
  fabric:
    same_socket: {bandwidth: 100GB/s, latency: 80ns}
    pairs: [{between: [hb0, hb1], bandwidth: 40GB/s, latency: 0.2us}]
  latency: {endpoint: 900ns, switch: 100ns}
host_bridges:
- name: hb0
  socket: 0
  p2p_bandwidth: 25GB/s
  windows: [{cpu: 0x1000_0000, bus: 0x1000_0000, size: 256MiB}]
  root_ports:
  - {name: rp0, bdf: 00:01.0, mpss: 256, link: {speed: 32GT/s, width: 16}}
- name: hb1
  segment: 1
  socket: 1
  windows: [{cpu: 0x2000_0000, bus: 0x2000_0000, size: 256MiB}]
endpoints:
- {name: ep0, parent: rp0, bdf: 01:00.0, link: {speed: gen4, width: 8}, id: {vendor: 0x10de, device: 0x2bb5}}
";

#[test]
fn timing_fields_load_into_the_model() {
    let p = load(TIMED);
    let ep = p.node_by_name("ep0").expect("ep0");
    let rp = p.node_by_name("rp0").expect("rp0");
    assert_eq!(
        p.node(ep).link,
        Some(Link {
            speed: LinkSpeed::Gen4,
            width: 8
        })
    );
    assert_eq!(p.node(rp).link.map(|l| l.speed), Some(LinkSpeed::Gen5));
    // Issue 23: the endpoint's PCI id (the device generation's timing parameters).
    assert_eq!(
        p.node(ep).pci_id.map(|i| i.to_string()),
        Some("10de:2bb5".to_owned())
    );
    let f = &p.interconnect.fabric;
    assert_eq!(f.same_socket.bandwidth_mbs, 100_000);
    assert_eq!(f.same_socket.latency_ns, 80);
    assert_eq!(f.pairs.len(), 1);
    assert_eq!(f.pairs[0].hop.latency_ns, 200);
    assert_eq!(f.pairs[0].hop.bandwidth_mbs, 40_000);
    // Issue 23: whether a bandwidth is stated (unstated `cross_socket`: the timing
    // model takes the CPU generation's figure).
    assert!(f.same_socket.bandwidth_stated && f.pairs[0].hop.bandwidth_stated);
    assert!(!f.cross_socket.bandwidth_stated);
    assert_eq!(p.interconnect.latency.endpoint_ns, Some(900));
    assert_eq!(p.interconnect.latency.switch_ns, 100);
    assert_eq!(
        p.interconnect.latency.link_ns,
        peerpath_model::Latencies::default().link_ns
    );
    match &p.node(p.node_by_name("hb0").expect("hb0")).kind {
        peerpath_model::NodeKind::HostBridge(h) => {
            assert_eq!((h.socket, h.p2p_bandwidth_mbs), (Some(0), Some(25_000)));
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn bad_links_are_located_with_what_would_be_right() {
    check(
        &TIMED
            .replace("speed: gen4, width: 8", "speed: 12GT/s, width: 3")
            .replace("latency: 80ns", "latency: 80"),
        expect![[r#"
            error: t.yaml:5:48: interconnect.fabric.same_socket.latency: `80` is not a duration
              expected: a duration such as `150ns`, `1.2us` or `1us`

            error: t.yaml:20:56: endpoints[0].link.speed: `12GT/s` is not a PCIe link speed
              expected: 2.5GT/s, 5GT/s, 8GT/s, 16GT/s, 32GT/s or 64GT/s (or gen1 to gen6)
              help: lspci prints it as `LnkCap: … Speed 16GT/s`

            error: t.yaml:20:71: endpoints[0].link.width: x3 is not a PCIe link width
              expected: one of 1, 2, 4, 8, 12, 16, 32
              help: lspci prints it as `LnkCap: … Width x16`; write the number"#]],
    );
}

#[test]
fn a_fabric_pair_names_host_bridges() {
    check(
        &TIMED
            .replace("between: [hb0, hb1]", "between: [hb0, rp0]")
            .replace("25GB/s", "25GiB/s"),
        expect![[r#"
            error: t.yaml:6:29: interconnect.fabric.pairs[0].between[1]: `rp0` is a root port
              expected: the name of a host bridge

            error: t.yaml:11:18: host_bridges[0].p2p_bandwidth: `25GiB/s` is not a bandwidth
              expected: a bandwidth such as `64GB/s` or `500MB/s` (decimal units)"#]],
    );
}

/// Issue 23: a fabric crossing's `efficiency` (root-complex forwarding share) loads as
/// thousandths, on `same_socket`, `cross_socket` and pairs; not stated stays `None`;
/// a value outside (0, 100%] is a located error.
#[test]
fn fabric_efficiency_loads_and_bad_ones_are_located() {
    let p = load(
        &TIMED
            .replace("latency: 80ns}", "latency: 80ns, efficiency: 72%}")
            .replace("latency: 0.2us}", "latency: 0.2us, efficiency: 0.9}"),
    );
    let f = &p.interconnect.fabric;
    assert_eq!(f.same_socket.efficiency_permille, Some(720));
    assert_eq!(f.pairs[0].hop.efficiency_permille, Some(900));
    assert_eq!(f.cross_socket.efficiency_permille, None);
    check(
        &TIMED.replace("latency: 80ns}", "latency: 80ns, efficiency: 120%}"),
        expect![[r#"
            error: t.yaml:5:66: interconnect.fabric.same_socket.efficiency: `120%` is not a share of the links' rate
              expected: a percentage above 0 and at most 100 (`72%`) or a fraction (`0.72`)"#]],
    );
}

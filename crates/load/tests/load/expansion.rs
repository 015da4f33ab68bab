//! Defaults and expansion rules: imports, domains, kernel knobs, node order.

use peerpath_model::{
    AcsDecision, AcsFlags, Arch, AtsUse, CcKind, CpuVendor, DeviceClass, DomainType, Driver,
    ForwardsP2p, GroupAlgorithm, NodeKind, Op, Pattern, PcieBusConfig, Translation, Via,
};

use crate::{load, EP};

#[test]
fn every_default() {
    let p = load(&format!(
        "{EP}exports:\n- {{name: x0, device: ep0, bar: 0, offset: 4KiB}}\nbridges: []\ntraffic: []\n"
    ));
    let k = &p.kernel;
    assert_eq!(k.release, None);
    assert_eq!(k.version, None);
    assert!(k.release_assumed());
    assert_eq!(k.release_version(), peerpath_model::Release::NEWEST);
    assert_eq!(k.arch, Arch::Arm64);
    assert_eq!((k.cpu.vendor, k.cpu.family), (CpuVendor::Other, None));
    assert_eq!(k.default_domain, DomainType::Dma);
    assert!(!k.swiotlb_force && !k.noats);
    assert_eq!(k.pcie_bus_config, PcieBusConfig::Default);
    assert!(k.disable_acs_redir.is_empty() && k.config_acs.is_empty());
    assert_eq!(k.acs_decision, AcsDecision::Mainline);
    assert_eq!(k.group_algorithm, GroupAlgorithm::Legacy);
    assert_eq!(k.cc, CcKind::None);
    assert_eq!(k.ipa_bits, 48);
    assert_eq!(p.interconnect.write_merge_bytes, 64);

    let NodeKind::HostBridge(hb) = &p.nodes[0].kind else {
        panic!("hb first")
    };
    assert_eq!(hb.segment, 0);
    assert_eq!(hb.id, None);
    assert_eq!(hb.forwards_p2p, ForwardsP2p::SameHostBridge);
    assert_eq!(hb.translation, Translation::Integrated);
    assert_eq!(hb.iommu, None);

    let NodeKind::RootPort(rp) = &p.nodes[1].kind else {
        panic!("rp second")
    };
    assert_eq!((rp.mps, rp.acs, rp.tbu), (128, None, None));
    assert!(!rp.splits_oversized_writes && !rp.multifunction);

    let NodeKind::Endpoint(ep) = &p.nodes[2].kind else {
        panic!("ep third")
    };
    assert_eq!(ep.class, DeviceClass::Other);
    assert_eq!((ep.mpss, ep.mps, ep.dma_mask_bits), (128, 128, 64));
    assert_eq!(ep.bus_dma_limit, None);
    assert!(ep.coherent && ep.trusted && !ep.ats && !ep.multifunction);
    assert_eq!(ep.acs, None);
    assert_eq!(ep.driver, Driver::Kernel);
    assert!(!ep.bars[0].prefetchable);
    assert_eq!(ep.cc, None);

    // size defaults to the rest of the BAR after the offset.
    let x = &p.exports[0];
    assert_eq!(
        (x.offset, x.size, x.via),
        (4096, (1 << 20) - 4096, Via::VfioDmabuf)
    );
    // ep0 owns x0: no default pairing.
    assert!(p.imports.is_empty());
}

#[test]
fn iommu_defaults() {
    let p = load("format: 1\nname: t\niommus: [{name: smmu0, kind: smmuv3}]\n");
    let m = &p.iommus[0];
    assert!(!m.ats && m.disable_bypass);
    assert!(m.tbus.is_empty() && m.stream_map.is_empty());
}

const TWO_EXPORTERS: &str = "format: 1
name: t
host_bridges:
- name: hb0
  windows: [{cpu: 0x1000_0000, bus: 0x1000_0000, size: 256MiB}]
  root_ports: [{name: rp0, bdf: 00:01.0, mpss: 256}, {name: rp1, bdf: 00:02.0, mpss: 256}]
endpoints:
- {name: c, parent: rp0, bdf: 01:00.0}
- {name: b, parent: rp0, bdf: 01:00.1, bars: [{index: 0, addr: 0x1000_0000, size: 1MiB}]}
- {name: a, parent: rp1, bdf: 02:00.0, bars: [{index: 2, addr: 0x1010_0000, size: 1MiB}]}
exports:
- {name: xb, device: b, bar: 0}
- {name: xa, device: a, bar: 2, via: p2pdma-pages}
";

fn pairs(p: &peerpath_model::Platform) -> Vec<(String, String, bool, bool)> {
    p.imports
        .iter()
        .map(|i| {
            (
                p.node(i.importer).name.clone(),
                p.export(i.export).name.clone(),
                i.allow_peer2peer,
                i.dynamic,
            )
        })
        .collect()
}

#[test]
fn absent_imports_pair_every_endpoint_with_every_export_it_does_not_own() {
    let p = load(TWO_EXPORTERS);
    let s = |a: &str, b: &str| (a.to_owned(), b.to_owned(), true, true);
    // Sorted by (importer name, export name).
    assert_eq!(
        pairs(&p),
        [s("a", "xb"), s("b", "xa"), s("c", "xa"), s("c", "xb")]
    );
}

#[test]
fn explicit_imports_with_all_and_flags() {
    let p = load(&format!(
        "{TWO_EXPORTERS}imports:\n- {{device: c, exports: all, allow_peer2peer: false}}\n- {{device: a, exports: [xb], dynamic: false}}\n"
    ));
    let s = |a: &str, b: &str, ap: bool, d: bool| (a.to_owned(), b.to_owned(), ap, d);
    assert_eq!(
        pairs(&p),
        [
            s("a", "xb", true, false),
            s("c", "xa", false, true),
            s("c", "xb", false, true)
        ]
    );
}

#[test]
fn empty_imports_means_no_pairings() {
    let p = load(&format!("{TWO_EXPORTERS}imports: []\n"));
    assert!(p.imports.is_empty());
}

#[test]
fn traffic_defaults() {
    let p = load(&format!(
        "{TWO_EXPORTERS}traffic:\n- {{importer: c, export: xa}}\n- {{importer: c, export: xb, op: read, bytes: 1MiB, payload: 128, pattern: random, ats: on}}\n"
    ));
    let t = &p.traffic[0];
    assert_eq!(
        (t.op, t.bytes, t.payload, t.pattern, t.ats),
        (Op::Write, 4096, None, Pattern::Sequential, AtsUse::Auto)
    );
    let t = &p.traffic[1];
    assert_eq!(
        (t.op, t.bytes, t.payload, t.pattern, t.ats),
        (Op::Read, 1 << 20, Some(128), Pattern::Random, AtsUse::On)
    );
}

#[test]
fn domains_disable_acs_redir_and_config_acs_resolve() {
    let p = load(&format!(
        "{TWO_EXPORTERS}domains:\n- {{name: d, type: unmanaged, devices: [a, c]}}\nkernel:\n  disable_acs_redir: [rp0, 0000:00:02.0, '02:00.0']\n  config_acs: [{{port: rp1, set: [dt], clear: [rr, cr]}}]\n"
    ));
    let id = |n: &str| p.node_by_name(n).expect(n);
    assert_eq!(p.domains[0].ty, DomainType::Unmanaged);
    assert_eq!(p.domains[0].devices, vec![id("a"), id("c")]);
    assert_eq!(p.explicit_domain(id("c")).map(|d| d.index()), Some(0));
    assert_eq!(
        p.kernel.disable_acs_redir,
        vec![id("rp0"), id("rp1"), id("a")]
    );
    let c = &p.kernel.config_acs[0];
    assert_eq!(
        (c.port, c.set, c.clear),
        (id("rp1"), AcsFlags::DT, AcsFlags::RR | AcsFlags::CR)
    );
}

/// Children listed before their parents, a chain of PCI bridges, an RCiEP and a
/// switch below another switch: `nodes` still comes out parents first.
#[test]
fn nodes_are_parents_first_whatever_the_file_order() {
    let p = load(
        "format: 1
name: t
endpoints:
- {name: legacy, parent: pb1, bdf: 05:00.0}
- {name: deep, parent: swb.dp0, bdf: 09:00.0}
- {name: rciep, parent: hb0, bdf: 00:1f.0}
bridges:
- {name: pb1, parent: pb0, bdf: 04:00.0}
- {name: pb0, parent: rp0, bdf: 03:00.0}
switches:
- {name: swb, parent: swa.dp0, upstream: {bdf: 08:00.0, mpss: 256}, downstream: [{name: swb.dp0, bdf: 08:01.0, mpss: 256}]}
- {name: swa, parent: rp1, upstream: {bdf: 06:00.0, mpss: 256}, downstream: [{name: swa.dp0, bdf: 07:00.0, mpss: 256}]}
host_bridges:
- name: hb0
  root_ports: [{name: rp0, bdf: 00:01.0, mpss: 256}, {name: rp1, bdf: 00:02.0, mpss: 256, multifunction: true}]
",
    );
    let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "hb0", "rp0", "pb0", "pb1", "legacy", "rp1", "swa", "swa.dp0", "swb", "swb.dp0",
            "deep", "rciep"
        ]
    );
    for (i, n) in p.nodes.iter().enumerate() {
        if let Some(parent) = n.parent {
            assert!(parent.index() < i, "{} comes before its parent", n.name);
        }
    }
    let kind = |n: &str| &p.node(p.node_by_name(n).expect(n)).kind;
    assert!(matches!(kind("pb0"), NodeKind::PciBridge(b) if b.mpss == 128));
    assert!(matches!(kind("swa"), NodeKind::SwitchUpstream(_)));
    assert!(matches!(kind("swb.dp0"), NodeKind::SwitchDownstream(_)));
    assert!(matches!(kind("rp1"), NodeKind::RootPort(r) if r.multifunction));
    assert_eq!(
        p.node(p.node_by_name("rciep").expect("rciep")).parent,
        p.node_by_name("hb0")
    );
    let up = p.switches.iter().find(|s| s.name == "swb").expect("swb");
    assert_eq!(p.node(up.upstream).parent, p.node_by_name("swa.dp0"));
}

#[test]
fn numbers_in_every_accepted_spelling() {
    let p = load(
        "format: 1
name: t
kernel: {release: 6.10, cpu: {vendor: amd, family: 0x19}}
memory:
- {name: m0, base: '0x8000_0000', size: '2GiB'}
- {name: m1, base: 4294967296, size: 4294967296}
- {name: m2, base: \"1_000_000_000_000\", size: 64TiB}
",
    );
    assert_eq!(
        p.kernel.release.as_deref(),
        Some("6.10"),
        "the spelling, not a float"
    );
    assert_eq!(
        p.kernel.version,
        Some(peerpath_model::Release::new(6, 10)),
        "6.10, not 6.1"
    );
    assert_eq!(p.kernel.cpu.family, Some(0x19));
    let r: Vec<(u64, Option<u64>)> = p
        .memory
        .iter()
        .map(|m| (m.range.start.0, m.range.size()))
        .collect();
    assert_eq!(
        r,
        [
            (0x8000_0000, Some(2 << 30)),
            (1 << 32, Some(1 << 32)),
            (1_000_000_000_000, Some(64 << 40))
        ]
    );
}

#[test]
fn aliases_and_merge_keys_work() {
    let p = load(
        "format: 1
name: t
host_bridges:
- name: hb0
  root_ports:
  - &rp {name: rp0, bdf: 00:01.0, mpss: 512, acs: &acs {cap: [sv, rr, cr, uf]}}
  - {<<: *rp, name: rp1, bdf: 00:02.0}
  - {name: rp2, bdf: 00:03.0, mpss: 256, acs: *acs}
",
    );
    let ports: Vec<(u32, Option<AcsFlags>)> = p
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::RootPort(r) => Some((r.mpss, r.acs.map(|a| a.cap))),
            _ => None,
        })
        .collect();
    assert_eq!(ports.len(), 3);
    assert!(ports.iter().all(|(_, a)| *a == Some(AcsFlags::REQ)));
    assert_eq!(ports[1].0, 512);
}

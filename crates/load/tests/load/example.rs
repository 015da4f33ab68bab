//! The full example of platform-format.md.

use peerpath_model::{AcsFlags, ExportId, ForwardsP2p, IommuId, NodeKind, TbuId, Translation, Via};

use crate::fixture;

/// The example as printed in the spec: gpu0's 32 GiB BAR 0 at 0x40_0000_0000 covers
/// nic0's BAR 0 at 0x40_0800_0000 (the spec's own "overlapping BARs" rule), and
/// dram0 (256 GiB from 0x8000_0000) runs into hb0's window at 0x40_0000_0000. This
/// test pins that down; `spec-example-fixed.yaml` moves nic0's BAR to 0x48_0000_0000
/// and shrinks dram0 to 254 GiB, like `topologies/arm-external-tbu.yaml`, and is
/// otherwise identical.
#[test]
fn the_verbatim_spec_example_has_overlaps() {
    let err = peerpath_load::load_file(&fixture("spec-example.yaml"))
        .expect_err("the verbatim example overlaps");
    let got: Vec<(usize, usize, &str)> = err
        .items
        .iter()
        .map(|d| (d.line, d.column, d.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (47, 16, "host_bridges[0].windows[0].cpu"),
            (97, 27, "endpoints[1].bars[0].addr")
        ],
        "{err}"
    );
    assert!(
        err.items[0].message.contains("overlaps memory `dram0`"),
        "{err}"
    );
    assert!(err.items[1].message.contains("overlaps BAR 0"), "{err}");
}

#[test]
fn the_spec_example_loads() {
    let p = peerpath_load::load_file(&fixture("spec-example-fixed.yaml")).expect("valid");
    assert_eq!(p.name, "arm-external-tbu");
    assert!(p
        .description
        .as_deref()
        .is_some_and(|d| d.starts_with("Arm server")));

    // hb0, rp0, sw0 (upstream), sw0.dp0, gpu0, sw0.dp1, nic0, hb1, rp1, nic1.
    let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["hb0", "rp0", "sw0", "sw0.dp0", "gpu0", "sw0.dp1", "nic0", "hb1", "rp1", "nic1"]
    );
    for (i, n) in p.nodes.iter().enumerate() {
        if let Some(parent) = n.parent {
            assert!(parent.index() < i, "{} before its parent", n.name);
        } else {
            assert!(matches!(n.kind, NodeKind::HostBridge(_)));
        }
    }

    let hb0 = p.node(p.node_by_name("hb0").expect("hb0"));
    let NodeKind::HostBridge(hb) = &hb0.kind else {
        panic!("hb0 kind")
    };
    assert_eq!(hb.forwards_p2p, ForwardsP2p::None);
    assert_eq!(hb.translation, Translation::ExternalTbu);
    assert_eq!(hb.iommu, Some(IommuId(0)));
    assert_eq!(hb.id.map(|i| (i.vendor, i.device)), Some((0x13b5, 0x0001)));
    assert_eq!(hb.windows.len(), 1);
    assert_eq!(hb.windows[0].cpu.start.0, 0x40_0000_0000);
    assert_eq!(hb.windows[0].cpu.size(), Some(64 << 30));
    assert_eq!(hb.windows[0].bus_offset(), 0);
    let NodeKind::HostBridge(hb1) = &p.node(p.node_by_name("hb1").expect("hb1")).kind else {
        panic!("hb1 kind")
    };
    assert_eq!(hb1.segment, 1);
    assert_eq!(hb1.forwards_p2p, ForwardsP2p::SameHostBridge, "the default");

    let NodeKind::RootPort(rp0) = &p.node(p.node_by_name("rp0").expect("rp0")).kind else {
        panic!("rp0 kind")
    };
    assert_eq!((rp0.mpss, rp0.mps), (512, 256));
    assert_eq!(
        rp0.tbu,
        Some(TbuId {
            iommu: IommuId(0),
            index: 0
        })
    );
    let acs = rp0.acs.expect("rp0 has ACS");
    assert_eq!(
        acs.cap,
        AcsFlags::SV | AcsFlags::RR | AcsFlags::CR | AcsFlags::UF | AcsFlags::DT
    );
    assert_eq!(acs.ctl, None);
    let NodeKind::RootPort(rp1) = &p.node(p.node_by_name("rp1").expect("rp1")).kind else {
        panic!("rp1 kind")
    };
    assert_eq!(
        rp1.tbu,
        Some(TbuId {
            iommu: IommuId(0),
            index: 1
        })
    );
    assert_eq!(rp1.mps, 128, "the default");

    assert_eq!(p.switches.len(), 1);
    let sw = &p.switches[0];
    assert_eq!(p.node(sw.upstream).name, "sw0");
    let dps: Vec<&str> = sw
        .downstream
        .iter()
        .map(|d| p.node(*d).name.as_str())
        .collect();
    assert_eq!(dps, ["sw0.dp0", "sw0.dp1"]);

    let NodeKind::Endpoint(gpu) = &p.node(p.node_by_name("gpu0").expect("gpu0")).kind else {
        panic!("gpu0 kind")
    };
    assert_eq!(gpu.bars[0].range.size(), Some(32 << 30));
    assert!(gpu.bars[0].prefetchable);
    assert!(gpu.cc.is_some());
    let NodeKind::Endpoint(nic1) = &p.node(p.node_by_name("nic1").expect("nic1")).kind else {
        panic!("nic1 kind")
    };
    assert_eq!(nic1.dma_mask_bits, 32);
    assert_eq!(nic1.dma_mask(), 0xffff_ffff);

    assert_eq!(p.iommus[0].tbus.len(), 2);
    assert_eq!(p.iommus[0].stream_map[0].length, 0x10000);
    assert_eq!(p.memory[0].range.size(), Some(254 << 30));
    assert_eq!(p.interconnect.write_merge_bytes, 512);

    assert_eq!(p.domains.len(), 1);
    assert_eq!(
        p.domains[0].devices,
        vec![p.node_by_name("nic1").expect("nic1")]
    );

    assert_eq!(p.exports.len(), 1);
    let x = &p.exports[0];
    assert_eq!(
        (x.bar, x.offset, x.size, x.via),
        (0, 0, 1 << 30, Via::VfioDmabuf)
    );

    // nic0 -> gpu0-vram listed; nic1 -> all = gpu0-vram.
    let pairs: Vec<(&str, &str)> = p
        .imports
        .iter()
        .map(|i| {
            (
                p.node(i.importer).name.as_str(),
                p.export(i.export).name.as_str(),
            )
        })
        .collect();
    assert_eq!(pairs, [("nic0", "gpu0-vram"), ("nic1", "gpu0-vram")]);

    assert_eq!(p.traffic.len(), 1);
    let t = &p.traffic[0];
    assert_eq!(p.node(t.importer).name, "nic0");
    assert_eq!(t.export, ExportId(0));
    assert_eq!((t.bytes, t.payload), (64 << 10, Some(256)));
}

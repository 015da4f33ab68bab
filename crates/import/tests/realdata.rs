//! The importer against the real dumps in `../shared/realdata` (see its SOURCES.md), used
//! in place. Not part of `cargo test --workspace` (`test = false` in Cargo.toml): `cargo
//! xtask realdata` runs it. A missing file fails the test and names the file: these are
//! the fixtures the importer is built on.

mod common;

use common::check;
use peerpath_import::{
    extract_fenced_blocks, is_tree_block, kernel_groups, parse_dmesg, parse_lspci,
    parse_lspci_tree, parse_markdown, to_platform_yaml, CapsSeen, DeviceKind, HierarchySource,
    ImportOptions, Machine, P2pdmaReason, WarningKind,
};
use peerpath_load::raw::{AcsBit, ExportSel, RawAcs, RawEndpoint, RawPlatform};
use peerpath_model::{AcsFlags, Arch, Bdf, CpuVendor, DeviceClass, DomainType, IommuKind};

const ALTRA: &str = "ampere-altra-adlink-devplatform-2gpu.lspci-vvnn-with-iommu-groups.txt";
const GENOA_DMESG: &str = "epyc-genoa-as4125gs-tnrt-2xh100.dmesg-iommu-groups.txt";
const GENOA_LSPCI: &str = "epyc-genoa-as4125gs-tnrt-2xh100.lspci.txt";
const WRX90: &str = "threadripper-pro-wrx90-2gpu.lspci-tv.topo-m.p2p.md";
const ESC8000A: &str = "epyc-genoa-esc8000a-e12-4gpu.lspci-tv.topo-m.p2p.md";
const INTEL_B70: &str = "intel-client-2xarc-b70-separate-rootports.p2pdma-refused.log";
const AM5_B70: &str = "amd-am5-2xarc-b70-separate-rootports.p2p-works.log";
const NAPLES: &str = "epyc-naples-8xvega20-4xpex8747.lspci.txt";

fn realdata(name: &str) -> String {
    let path = format!(
        "{}/../../../shared/realdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {path}: {e}; the realdata tests (`cargo xtask realdata`) need the \
             project's shared folder beside the checkout, as CI has it"
        )
    })
}

/// The emitted file as the loader reads it (before validation).
fn raw(y: &str) -> RawPlatform {
    peerpath_load::load_raw_str("import.yaml", y).unwrap_or_else(|d| panic!("{d}\n---\n{y}"))
}

fn endpoint<'a>(p: &'a RawPlatform, name: &str) -> &'a RawEndpoint {
    p.endpoints
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no endpoint {name}"))
}

/// Every `acs` of the file: root ports, switch ports, endpoints.
fn all_acs(p: &RawPlatform) -> Vec<&RawAcs> {
    let mut v: Vec<&RawAcs> = Vec::new();
    for hb in &p.host_bridges {
        v.extend(hb.root_ports.iter().filter_map(|r| r.acs.as_ref()));
    }
    for sw in &p.switches {
        v.extend(sw.upstream.acs.as_ref());
        v.extend(sw.downstream.iter().filter_map(|d| d.acs.as_ref()));
    }
    v.extend(p.endpoints.iter().filter_map(|e| e.acs.as_ref()));
    v
}

fn has_acs(p: &RawPlatform, cap: &[AcsBit], ctl: Option<&[AcsBit]>) -> bool {
    all_acs(p)
        .iter()
        .any(|a| a.cap == cap && a.ctl.as_deref() == ctl)
}

fn has_export(p: &RawPlatform, name: &str, device: &str, bar: u8) -> bool {
    p.exports
        .iter()
        .any(|x| x.name == name && x.device == device && x.bar == bar)
}

fn has_bridge(p: &RawPlatform, name: &str, parent: &str, bdf: &str, mpss: Option<u32>) -> bool {
    p.bridges
        .iter()
        .any(|b| b.name == name && b.parent == parent && b.bdf.to_string() == bdf && b.mpss == mpss)
}

fn has_host_id(p: &RawPlatform, vendor: u16, device: u16) -> bool {
    p.host_bridges
        .iter()
        .filter_map(|h| h.id.as_ref())
        .any(|id| (id.vendor, id.device) == (vendor, device))
}

fn bdf(s: &str) -> Bdf {
    s.parse().expect("valid bdf in test")
}

fn kind(m: &Machine, s: &str) -> DeviceKind {
    m.device(bdf(s))
        .unwrap_or_else(|| panic!("{s} missing"))
        .kind
}

fn parent(m: &Machine, s: &str) -> Option<Bdf> {
    m.device(bdf(s))
        .unwrap_or_else(|| panic!("{s} missing"))
        .parent
}

fn chain(m: &Machine, s: &str) -> Vec<String> {
    m.ancestors(bdf(s)).iter().map(Bdf::to_string).collect()
}

/// Lines starting with a BDF and a space: the record headers of an lspci dump.
fn count_headers(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let b = l.as_bytes();
            let at = if b.get(4) == Some(&b':') { 5 } else { 0 };
            b.len() > at + 8
                && b[at + 2] == b':'
                && b[at + 5] == b'.'
                && b[at + 7] == b' '
                && b[at..at + 2].iter().all(u8::is_ascii_hexdigit)
        })
        .count()
}

// ---------------------------------------------------------------- Ampere Altra lspci -vvnn

#[test]
fn altra_every_device_parsed() {
    let text = realdata(ALTRA);
    let m = parse_lspci(&text, None);
    assert_eq!(count_headers(&text), 27);
    assert_eq!(m.devices.len(), 27);
    assert_eq!(m.root_buses.len(), 6, "six PCI domains");
    let segments: Vec<u16> = m.root_buses.iter().map(|r| r.segment).collect();
    assert_eq!(segments, vec![0x0, 0x2, 0x4, 0x5, 0xc, 0xd]);
    // Every device has ids and a class from `-nn`.
    assert!(m
        .devices
        .iter()
        .all(|d| d.vendor.is_some() && d.class.is_some()));
}

#[test]
fn altra_root_port_acs_is_sv_tb_uf_without_rr_cr() {
    let m = parse_lspci(&realdata(ALTRA), None);
    let ports: Vec<_> = m
        .devices
        .iter()
        .filter(|d| d.vendor == Some(0x1def) && d.kind == DeviceKind::RootPort)
        .collect();
    assert_eq!(ports.len(), 12);
    for p in ports {
        let acs = p.acs.unwrap_or_else(|| panic!("{} has no ACS", p.bdf));
        assert_eq!(
            acs.cap,
            AcsFlags::SV | AcsFlags::TB | AcsFlags::UF,
            "{}",
            p.bdf
        );
        assert!(!acs.cap.intersects(AcsFlags::RR | AcsFlags::CR));
        assert_eq!(acs.ctl, Some(AcsFlags::SV | AcsFlags::UF), "{}", p.bdf);
        assert_eq!(p.caps, CapsSeen::Full);
    }
    let ids: std::collections::BTreeSet<u16> = m
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::RootPort)
        .filter_map(|d| d.device)
        .collect();
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        vec![0xe101, 0xe111, 0xe113, 0xe115, 0xe117]
    );
}

#[test]
fn altra_iommu_groups_captured_and_missing_one_warned() {
    let text = realdata(ALTRA);
    let m = parse_lspci(&text, None);
    let lines = text
        .lines()
        .filter(|l| l.trim().starts_with("IOMMU group:"))
        .count();
    let groups = kernel_groups(&m);
    assert_eq!(lines, 20);
    assert_eq!(groups.len(), lines);
    assert_eq!(groups.get(&bdf("0000:01:00.0")), Some(&17));
    assert_eq!(groups.get(&bdf("0000:01:00.1")), Some(&17));
    assert_eq!(groups.get(&bdf("000c:01:00.0")), Some(&16));
    assert_eq!(groups.get(&bdf("0004:01:00.0")), Some(&8));
    // The ASPEED VGA behind the AST1150 has no group line: a warning, not a panic.
    let vga = bdf("0004:02:00.0");
    assert_eq!(m.device(vga).and_then(|d| d.iommu_group), None);
    let no_group: Vec<_> = m
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::NoGroup)
        .collect();
    assert_eq!(no_group.len(), 1, "{no_group:?}");
    assert_eq!(no_group[0].bdf, Some(vga));
    assert_eq!(no_group[0].line, Some(703));
}

#[test]
fn altra_multifunction_gpu_and_hierarchy() {
    let m = parse_lspci(&realdata(ALTRA), None);
    assert_eq!(m.hierarchy, HierarchySource::BusNumbers);
    for f in [
        "0000:01:00.0",
        "0000:01:00.1",
        "000c:01:00.0",
        "000c:01:00.1",
    ] {
        assert!(m.is_multifunction(bdf(f)), "{f}");
    }
    assert!(!m.is_multifunction(bdf("0004:04:00.0")));
    assert_eq!(parent(&m, "0000:01:00.0"), Some(bdf("0000:00:01.0")));
    assert_eq!(parent(&m, "0000:01:00.1"), Some(bdf("0000:00:01.0")));
    assert_eq!(parent(&m, "000c:01:00.0"), Some(bdf("000c:00:01.0")));
    assert_eq!(kind(&m, "0000:00:01.0"), DeviceKind::RootPort);
    assert_eq!(kind(&m, "0000:00:00.0"), DeviceKind::HostBridge);
    assert_eq!(kind(&m, "0004:01:00.0"), DeviceKind::PcieToPciBridge);
    assert_eq!(
        chain(&m, "0004:02:00.0"),
        vec!["0004:01:00.0", "0004:00:01.0"]
    );
    assert_eq!(parent(&m, "0004:04:00.0"), Some(bdf("0004:00:05.0")));
    let rp = m.device(bdf("0000:00:01.0")).expect("rp");
    assert_eq!((rp.mpss, rp.mps), (Some(512), Some(128)));
    let gpu = m.device(bdf("0000:01:00.0")).expect("gpu");
    let bar1 = gpu.bars.iter().find(|b| b.index == 1).expect("bar 1");
    assert_eq!(
        (bar1.addr, bar1.size),
        (Some(0x3c00_0000_0000), Some(256 << 20))
    );
    assert!(bar1.prefetchable);
}

#[test]
fn altra_platform_yaml() {
    let m = parse_lspci(&realdata(ALTRA), None);
    let y = to_platform_yaml(&m, &ImportOptions::default());
    for needle in [
        "# - kernel.arch: arm64, derived from the Ampere vendor id of 0000:00:00.0 (1def:e100, dump line 1) on a root bus",
        "no IOMMU group in the dump for 1a03:2000",
    ] {
        assert!(y.contains(needle), "missing `{needle}` in:\n{y}");
    }
    let p = raw(&y);
    let k = p.kernel.as_ref().expect("kernel");
    assert_eq!(k.arch, Some(Arch::Arm64));
    assert_eq!(p.iommus.len(), 1);
    assert_eq!(p.iommus[0].kind, IommuKind::Smmuv3);
    assert!(p
        .host_bridges
        .iter()
        .flat_map(|h| &h.root_ports)
        .any(|r| r.name == "rp-0000-00-01-0"));
    use AcsBit::{Sv, Tb, Uf};
    assert!(has_acs(&p, &[Sv, Tb, Uf], Some(&[Sv, Uf])), "{y}");
    assert!(has_bridge(
        &p,
        "br-0004-01-00-0",
        "rp-0004-00-01-0",
        "0004:01:00.0",
        Some(256)
    ));
    let gpu = endpoint(&p, "gpu-0000-01-00-0");
    assert_eq!(gpu.parent, "rp-0000-00-01-0");
    assert_eq!(gpu.bdf.to_string(), "0000:01:00.0");
    assert_eq!(gpu.class, Some(DeviceClass::Gpu));
    // The ASPEED display behind the AST1150 bridge is the BMC's (issue 24): no GPU.
    let bmc = endpoint(&p, "ep-0004-02-00-0");
    assert_eq!(bmc.parent, "br-0004-01-00-0");
    assert_eq!(bmc.class, Some(DeviceClass::Other));
    assert!(p.exports.iter().all(|e| e.device != "ep-0004-02-00-0"));
    assert!(p
        .endpoints
        .iter()
        .flat_map(|e| &e.bars)
        .any(|b| b.index == 1
            && b.addr.0 == 0x3c00_0000_0000
            && b.size.0 == 256 << 20
            && b.prefetchable == Some(true)));
    assert!(has_export(
        &p,
        "gpu-0000-01-00-0-bar1",
        "gpu-0000-01-00-0",
        1
    ));
    assert!(has_host_id(&p, 0x1def, 0xe100));
    // GPUs, NICs, NVMe and accelerators import every export.
    let imports = p.imports.as_ref().expect("imports");
    assert!(imports
        .iter()
        .any(|i| i.device == "gpu-0000-01-00-0" && i.exports == ExportSel::All));
    // Host bridges' own functions are the hosts' ids, not endpoints.
    assert!(!y.contains("ep-0000-00-00-0"));
}

// ---------------------------------------------------------------- EPYC Genoa dmesg

#[test]
fn genoa_dmesg_groups_and_devices() {
    let text = realdata(GENOA_DMESG);
    let m = parse_dmesg(&text);
    let adding = text.matches("Adding to iommu group").count();
    assert_eq!(adding, 133);
    let groups = kernel_groups(&m);
    assert_eq!(groups.len(), 133);
    let enumerated = text.lines().filter(|l| l.contains("] type 0")).count();
    assert_eq!(enumerated, 149);
    assert_eq!(m.devices.len(), 149);
    // Group 54: the dummy host bridge, its internal GPP bridge and the functions behind it.
    let g54: Vec<String> = groups
        .iter()
        .filter(|(_, g)| **g == 54)
        .map(|(b, _)| b.to_string())
        .collect();
    assert_eq!(
        g54,
        vec![
            "0000:e0:07.0",
            "0000:e0:07.1",
            "0000:e2:00.0",
            "0000:e2:00.1",
            "0000:e2:00.4"
        ]
    );
    assert_eq!(
        groups.get(&bdf("0000:61:00.0")),
        groups.get(&bdf("0000:62:00.0"))
    );
    // Devices the kernel gave no group are exactly the root complexes' 00.0 and the IOMMUs' 00.2.
    assert!(
        !m.warnings.iter().any(|w| w.kind == WarningKind::NoGroup),
        "{:?}",
        m.warnings
    );
    let without: Vec<_> = m
        .devices
        .iter()
        .filter(|d| d.iommu_group.is_none())
        .collect();
    assert_eq!(without.len(), 16);
    assert!(without
        .iter()
        .all(|d| d.bdf.device == 0 && (d.bdf.function == 0 || d.bdf.function == 2)));
}

#[test]
fn genoa_dmesg_hierarchy_from_enumeration() {
    let m = parse_dmesg(&realdata(GENOA_DMESG));
    assert_eq!(m.hierarchy, HierarchySource::BusNumbers);
    assert_eq!(m.root_buses.len(), 8);
    assert!(m.root_buses.iter().all(|r| !r.windows.is_empty()));
    assert_eq!(chain(&m, "0000:c1:00.0"), vec!["0000:c0:01.1"]);
    assert_eq!(chain(&m, "0000:e1:00.0"), vec!["0000:e0:01.1"]);
    assert_eq!(kind(&m, "0000:c0:01.1"), DeviceKind::RootPort);
    assert_eq!(
        chain(&m, "0000:62:00.0"),
        vec!["0000:61:00.0", "0000:60:05.2"]
    );
    assert_eq!(kind(&m, "0000:61:00.0"), DeviceKind::PcieToPciBridge);
    assert_eq!(kind(&m, "0000:60:00.3"), DeviceKind::RcEventCollector);
    let h100 = m.device(bdf("0000:c1:00.0")).expect("h100");
    assert_eq!(
        h100.bars.len(),
        3,
        "VF BARs and the ROM are not BARs of the function"
    );
    assert_eq!(
        h100.bars.iter().find(|b| b.index == 2).and_then(|b| b.size),
        Some(128 << 30)
    );
    assert_eq!(m.kernel.cpu_family, Some(0x19));
    assert_eq!(
        m.kernel.release.as_deref(),
        Some("5.14.0-570.23.1.el9_6.x86_64")
    );
    assert_eq!(
        m.kernel.default_domain,
        Some(peerpath_model::DomainType::DmaFq)
    );
}

#[test]
fn genoa_dmesg_dummy_host_bridges_are_rcieps() {
    let m = parse_dmesg(&realdata(GENOA_DMESG));
    let dummies: Vec<_> = m
        .devices
        .iter()
        .filter(|d| d.vendor == Some(0x1022) && d.device == Some(0x149f))
        .collect();
    assert_eq!(dummies.len(), 48);
    for d in &dummies {
        assert_eq!(d.kind, DeviceKind::HostBridge, "{}", d.bdf);
        assert_eq!(d.class, Some(0x060000));
        assert_eq!(d.parent, None, "{} sits on its root bus", d.bdf);
        assert!(!d.is_own_host_bridge_function());
    }
    assert!(m
        .device(bdf("0000:e0:00.0"))
        .is_some_and(|d| d.is_own_host_bridge_function()));
    let y = to_platform_yaml(&m, &ImportOptions::default());
    let p = raw(&y);
    assert_eq!(endpoint(&p, "ep-0000-e0-07-0").parent, "hb-0000-e0");
    assert_eq!(endpoint(&p, "ep-0000-60-01-0").parent, "hb-0000-60");
    assert!(has_host_id(&p, 0x1022, 0x14a4));
    let k = p.kernel.as_ref().expect("kernel");
    let cpu = k.cpu.as_ref().expect("cpu");
    assert_eq!((cpu.vendor, cpu.family), (Some(CpuVendor::Amd), Some(25)));
    assert_eq!(k.default_domain, Some(DomainType::DmaFq));
    assert_eq!(p.iommus[0].kind, IommuKind::AmdVi);
    assert!(p
        .host_bridges
        .iter()
        .flat_map(|h| &h.windows)
        .any(|w| w.cpu.0 == 0xd200_0000 && w.bus.0 == 0xd200_0000 && w.size.0 == 21 << 20));
    assert!(has_bridge(
        &p,
        "br-0000-61-00-0",
        "rp-0000-60-05-2",
        "0000:61:00.0",
        None
    ));
    assert!(has_export(
        &p,
        "gpu-0000-c1-00-0-bar2",
        "gpu-0000-c1-00-0",
        2
    ));
    assert!(
        !y.contains("ep-0000-e0-00-0"),
        "root complex function is the host bridge id"
    );
    assert!(
        !y.contains("ep-0000-e0-00-2"),
        "the IOMMU function is not a node"
    );
}

#[test]
fn genoa_lspci_merged_with_dmesg() {
    let mut m = parse_dmesg(&realdata(GENOA_DMESG));
    let names = parse_lspci(&realdata(GENOA_LSPCI), None);
    assert_eq!(names.devices.len(), 149);
    assert_eq!(names.hierarchy, HierarchySource::Unknown);
    m.merge(names);
    assert_eq!(m.devices.len(), 149);
    assert_eq!(
        m.root_buses.len(),
        8,
        "buses the plain lspci could not place are not host bridges"
    );
    assert_eq!(m.hierarchy, HierarchySource::BusNumbers);
    let h100 = m.device(bdf("0000:c1:00.0")).expect("h100");
    assert_eq!(
        h100.name.as_deref(),
        Some("NVIDIA Corporation GH100 [H100L 94GB]")
    );
    assert_eq!(h100.parent, Some(bdf("0000:c0:01.1")));
    assert_eq!(kernel_groups(&m).len(), 133);
}

// ---------------------------------------------------------------- markdown reports (lspci -tv)

#[test]
fn wrx90_tree_block_and_switch_cascade() {
    let text = realdata(WRX90);
    let blocks = extract_fenced_blocks(&text);
    let trees: Vec<_> = blocks.iter().filter(|b| is_tree_block(b)).collect();
    assert_eq!(trees.len(), 1);
    let tree = parse_lspci_tree(trees[0].body);
    assert!(tree.warnings.is_empty(), "{:?}", tree.warnings);
    assert_eq!(tree.entries.len(), 113);
    assert_eq!(
        tree.root_buses,
        vec![(0, 0x00), (0, 0x20), (0, 0xc0), (0, 0xe0)]
    );

    let m = parse_markdown(&text);
    assert_eq!(m.hierarchy, HierarchySource::Tree);
    assert_eq!(m.devices.len(), 113);
    // GPUs directly under their root ports.
    assert_eq!(chain(&m, "0000:c1:00.0"), vec!["0000:c0:01.1"]);
    assert_eq!(chain(&m, "0000:c2:00.0"), vec!["0000:c0:03.1"]);
    assert_eq!(kind(&m, "0000:c0:01.1"), DeviceKind::RootPort);
    // The HighPoint SSD7540: two switch levels below root port 00:03.1.
    assert_eq!(
        chain(&m, "0000:05:00.0"),
        vec![
            "0000:04:10.0",
            "0000:03:00.0",
            "0000:02:00.0",
            "0000:01:00.0",
            "0000:00:03.1"
        ]
    );
    assert_eq!(
        chain(&m, "0000:11:00.0"),
        vec![
            "0000:10:14.0",
            "0000:0f:00.0",
            "0000:02:0c.0",
            "0000:01:00.0",
            "0000:00:03.1"
        ]
    );
    for (b, k) in [
        ("0000:01:00.0", DeviceKind::SwitchUpstream),
        ("0000:02:00.0", DeviceKind::SwitchDownstream),
        ("0000:02:1c.0", DeviceKind::SwitchDownstream),
        ("0000:03:00.0", DeviceKind::SwitchUpstream),
        ("0000:04:10.0", DeviceKind::SwitchDownstream),
        ("0000:e1:00.0", DeviceKind::PcieToPciBridge),
    ] {
        assert_eq!(kind(&m, b), k, "{b}");
    }
    // `lspci -vvv -s c1:00.0` details merged into the tree's device.
    let gpu = m.device(bdf("0000:c1:00.0")).expect("gpu");
    assert_eq!((gpu.mpss, gpu.mps), (Some(256), Some(256)));
    assert!(gpu
        .bars
        .iter()
        .any(|b| b.size == Some(64 << 30) && b.prefetchable));
    // GRUB says amd_iommu=off.
    assert!(m.kernel.iommu_off);

    let y = to_platform_yaml(&m, &ImportOptions::default());
    let p = raw(&y);
    assert_eq!(p.switches.len(), 6, "{y}");
    assert!(p
        .switches
        .iter()
        .any(|sw| sw.name == "sw-0000-03-00-0" && sw.parent == "dp-0000-02-00-0"));
    assert_eq!(endpoint(&p, "gpu-0000-c1-00-0").parent, "rp-0000-c0-01-1");
    assert!(p.iommus.is_empty());
    assert!(p.host_bridges.iter().all(|h| h.iommu.is_none()));
    assert!(has_export(
        &p,
        "gpu-0000-c1-00-0-bar1",
        "gpu-0000-c1-00-0",
        1
    ));
}

#[test]
fn esc8000a_tree_with_two_highpoint_cascades() {
    let m = parse_markdown(&realdata(ESC8000A));
    assert_eq!(m.devices.len(), 198);
    assert_eq!(m.root_buses.len(), 8);
    for (gpu, rp) in [
        ("0000:01:00.0", "0000:00:01.1"),
        ("0000:41:00.0", "0000:40:01.1"),
        ("0000:c1:00.0", "0000:c0:01.1"),
        ("0000:e1:00.0", "0000:e0:01.1"),
    ] {
        assert_eq!(chain(&m, gpu), vec![rp], "{gpu}");
        assert_eq!(kind(&m, rp), DeviceKind::RootPort);
        assert_eq!(kind(&m, gpu), DeviceKind::Endpoint);
    }
    assert_eq!(
        chain(&m, "0000:65:00.0"),
        vec![
            "0000:64:10.0",
            "0000:63:00.0",
            "0000:62:00.0",
            "0000:61:00.0",
            "0000:60:01.1"
        ]
    );
    assert_eq!(
        chain(&m, "0000:ae:00.0"),
        vec![
            "0000:aa:0c.0",
            "0000:a9:00.0",
            "0000:a2:04.0",
            "0000:a1:00.0",
            "0000:a0:01.1"
        ]
    );
    // Endpoint ACS from `lspci -vvv -s 21:00.0`: ConnectX-7 has an ACS capability with no bits.
    let cx7 = m.device(bdf("0000:21:00.0")).expect("cx7");
    assert_eq!(cx7.acs.map(|a| a.cap), Some(AcsFlags::empty()));
    let y = to_platform_yaml(&m, &ImportOptions::default());
    let p = raw(&y);
    assert_eq!(p.switches.len(), 8, "two cards, four switch chips each");
    assert!(has_acs(&p, &[], Some(&[])), "{y}");
}

#[test]
fn lspci_details_with_a_separate_tree_file() {
    // `peerpath import --lspci details.txt --tree tree.txt`: the report's blocks as two files.
    let text = realdata(ESC8000A);
    let blocks = extract_fenced_blocks(&text);
    let tree = blocks
        .iter()
        .find(|b| is_tree_block(b))
        .expect("tree block")
        .body;
    let details: String = blocks
        .iter()
        .filter(|b| peerpath_import::is_lspci_detail_block(b))
        .map(|b| format!("{}\n", b.body))
        .collect();
    let m = parse_lspci(&details, Some(tree));
    let md = parse_markdown(&text);
    assert_eq!(m.devices.len(), 198);
    assert_eq!(m.hierarchy, HierarchySource::Tree);
    for d in &md.devices {
        assert_eq!(parent(&m, &d.bdf.to_string()), d.parent, "{}", d.bdf);
        assert_eq!(kind(&m, &d.bdf.to_string()), d.kind, "{}", d.bdf);
    }
    // Without the tree, the eight detail records stand alone on "root buses".
    let alone = parse_lspci(&details, None);
    assert_eq!(alone.devices.len(), 8);
}

// ---------------------------------------------------------------- Arc B70 logs

#[test]
fn intel_b70_log_groups_and_p2pdma_refusal() {
    let m = parse_dmesg(&realdata(INTEL_B70));
    let g = kernel_groups(&m);
    assert_eq!(g.len(), 2);
    assert_eq!(g.get(&bdf("0000:03:00.0")), Some(&19));
    assert_eq!(g.get(&bdf("0000:07:00.0")), Some(&24));
    assert_eq!(m.p2pdma.len(), 1);
    let v = &m.p2pdma[0];
    assert_eq!(v.client, bdf("0000:07:00.0"));
    assert_eq!(v.provider, Some(bdf("0000:03:00.0")));
    assert_eq!(v.reason, P2pdmaReason::NoCommonUpstream);
    assert_eq!(m.hierarchy, HierarchySource::Unknown);
    assert!(m.warnings.iter().any(|w| w.kind == WarningKind::Hierarchy));
    let y = to_platform_yaml(&m, &ImportOptions::default());
    assert!(y.contains("client 0000:07:00.0, provider 0000:03:00.0: not-supported"));
}

#[test]
fn am5_b70_log_tree_excerpt() {
    let text = realdata(AM5_B70);
    let tree = parse_lspci_tree(&text);
    assert!(tree.warnings.is_empty(), "{:?}", tree.warnings);
    assert_eq!(tree.entries.len(), 9);
    let m = tree.to_machine();
    assert_eq!(
        chain(&m, "0000:03:00.0"),
        vec!["0000:02:01.0", "0000:01:00.0", "0000:00:01.1"]
    );
    assert_eq!(
        chain(&m, "0000:08:00.0"),
        vec!["0000:07:01.0", "0000:06:00.0", "0000:00:01.3"]
    );
    assert_eq!(kind(&m, "0000:00:01.1"), DeviceKind::RootPort);
    assert_eq!(kind(&m, "0000:01:00.0"), DeviceKind::SwitchUpstream);
    assert_eq!(kind(&m, "0000:02:01.0"), DeviceKind::SwitchDownstream);
    assert_eq!(
        kind(&m, "0000:00:00.0"),
        DeviceKind::HostBridge,
        "named Root Complex"
    );
    // The two cards meet only at the root complex (separate root ports).
    let a = m.ancestors(bdf("0000:03:00.0"));
    assert!(m
        .ancestors(bdf("0000:08:00.0"))
        .iter()
        .all(|x| !a.contains(x)));
    // parse_dmesg on the same log finds no kernel lines, and says so.
    let d = parse_dmesg(&text);
    assert!(d.devices.is_empty());
    assert!(!d.warnings.is_empty());
}

// ---------------------------------------------------------------- plain lspci, non-root, truncated

#[test]
fn plain_lspci_without_hierarchy() {
    let text = realdata(NAPLES);
    let m = parse_lspci(&text, None);
    assert_eq!(m.devices.len(), count_headers(&text));
    assert_eq!(m.devices.len(), 143);
    assert_eq!(m.hierarchy, HierarchySource::Unknown);
    assert!(m.warnings.iter().any(|w| w.kind == WarningKind::Hierarchy));
    assert!(m.devices.iter().all(|d| d.caps == CapsSeen::Unknown));
    let y = to_platform_yaml(&m, &ImportOptions::default());
    // The root complex's name is its pci.ids name (1022:1450), which the knowledge base
    // knows as family 17h (issue 24).
    assert!(
        y.contains("kernel.cpu.family: 0x17, Zen/Zen+ (Naples, Summit Ridge, Pinnacle Ridge, Threadripper 1000/2000), derived from host bridge 0000:00:00.0 (1022:1450, ids from its name, dump line 1)"),
        "{y}"
    );
}

/// What `lspci -vvnn` prints without root: the same records, `<access denied>` for the
/// capabilities.
fn as_non_root(text: &str) -> String {
    let mut out = String::new();
    let mut denied = false;
    for l in text.lines() {
        if l.starts_with("\t\t") {
            continue;
        }
        if l.starts_with("\tCapabilities:") {
            if !denied {
                out.push_str("\tCapabilities: <access denied>\n");
                denied = true;
            }
            continue;
        }
        if !l.starts_with('\t') {
            denied = false;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[test]
fn non_root_dump_warns_and_assumes() {
    let m = parse_lspci(&as_non_root(&realdata(ALTRA)), None);
    assert_eq!(m.devices.len(), 27);
    assert_eq!(kernel_groups(&m).len(), 20);
    let denied = m
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::Unknown && w.message.contains("access denied"))
        .count();
    assert_eq!(denied, 21, "every device that has capabilities");
    assert!(m.devices.iter().all(|d| d.acs.is_none()));
    // The hierarchy still comes from the Bus: lines, the roles from the shape.
    assert_eq!(kind(&m, "0000:00:01.0"), DeviceKind::RootPort);
    assert_eq!(parent(&m, "0000:01:00.0"), Some(bdf("0000:00:01.0")));
    let y = to_platform_yaml(&m, &ImportOptions::default());
    assert!(y.contains(
        "inferred from the kernel's groups for ports whose children sit in other groups"
    ));
    assert!(y.contains("mpss 256 assumed"));
}

#[test]
fn truncated_dumps_never_panic() {
    for name in [ALTRA, GENOA_DMESG, WRX90, AM5_B70] {
        let text = realdata(name);
        let mut cut = 0;
        while cut < text.len() {
            let end = (0..4)
                .map(|k| cut + k)
                .find(|e| text.is_char_boundary(*e))
                .unwrap_or(text.len());
            let part = &text[..end];
            let a = parse_lspci(part, Some(part));
            let b = parse_dmesg(part);
            let c = parse_markdown(part);
            let _ = to_platform_yaml(&a, &ImportOptions::default());
            let _ = to_platform_yaml(&b, &ImportOptions::default());
            let _ = to_platform_yaml(&c, &ImportOptions::default());
            cut += 4099;
        }
    }
}

// ------------------------------------------------ every import reads back and loads

fn assert_valid(what: &str, m: &Machine) {
    let y = to_platform_yaml(m, &ImportOptions::default());
    let errs = check(&y);
    assert!(errs.is_empty(), "{what}:\n{}\n---\n{y}", errs.join("\n"));
}

#[test]
fn every_realdata_import_reads_back_valid() {
    let altra = realdata("ampere-altra-adlink-devplatform-2gpu.lspci-vvnn-with-iommu-groups.txt");
    assert_valid("altra", &parse_lspci(&altra, None));
    let genoa = realdata("epyc-genoa-as4125gs-tnrt-2xh100.dmesg-iommu-groups.txt");
    let mut g = parse_dmesg(&genoa);
    assert_valid("genoa dmesg", &g);
    g.merge(parse_lspci(
        &realdata("epyc-genoa-as4125gs-tnrt-2xh100.lspci.txt"),
        None,
    ));
    assert_valid("genoa dmesg + lspci", &g);
    for md in [
        "threadripper-pro-wrx90-2gpu.lspci-tv.topo-m.p2p.md",
        "epyc-genoa-esc8000a-e12-4gpu.lspci-tv.topo-m.p2p.md",
    ] {
        assert_valid(md, &parse_markdown(&realdata(md)));
    }
    let am5 = realdata("amd-am5-2xarc-b70-separate-rootports.p2p-works.log");
    assert_valid("am5", &parse_lspci_tree(&am5).to_machine());
    let intel = realdata("intel-client-2xarc-b70-separate-rootports.p2pdma-refused.log");
    assert_valid("intel", &parse_dmesg(&intel));
    for plain in [
        "epyc-naples-8xvega20-4xpex8747.lspci.txt",
        "epyc-genoa-as4125gs-tnrt-2xh100.lspci.txt",
    ] {
        assert_valid(plain, &parse_lspci(&realdata(plain), None));
    }
    assert_valid("nothing", &parse_lspci("", None));
}

/// Every realdata import, as the CLI would produce it.
fn realdata_imports() -> Vec<(&'static str, Machine)> {
    let altra = realdata("ampere-altra-adlink-devplatform-2gpu.lspci-vvnn-with-iommu-groups.txt");
    let genoa = parse_dmesg(&realdata(
        "epyc-genoa-as4125gs-tnrt-2xh100.dmesg-iommu-groups.txt",
    ));
    let mut genoa_merged = genoa.clone();
    genoa_merged.merge(parse_lspci(
        &realdata("epyc-genoa-as4125gs-tnrt-2xh100.lspci.txt"),
        None,
    ));
    vec![
        ("altra", parse_lspci(&altra, None)),
        ("genoa", genoa),
        ("genoa+lspci", genoa_merged),
        (
            "wrx90",
            parse_markdown(&realdata(
                "threadripper-pro-wrx90-2gpu.lspci-tv.topo-m.p2p.md",
            )),
        ),
        (
            "esc8000a",
            parse_markdown(&realdata(
                "epyc-genoa-esc8000a-e12-4gpu.lspci-tv.topo-m.p2p.md",
            )),
        ),
        (
            "am5",
            parse_lspci_tree(&realdata(
                "amd-am5-2xarc-b70-separate-rootports.p2p-works.log",
            ))
            .to_machine(),
        ),
        (
            "intel",
            parse_dmesg(&realdata(
                "intel-client-2xarc-b70-separate-rootports.p2pdma-refused.log",
            )),
        ),
        (
            "naples",
            parse_lspci(&realdata("epyc-naples-8xvega20-4xpex8747.lspci.txt"), None),
        ),
        ("nothing", parse_lspci("", None)),
    ]
}

#[test]
fn every_realdata_import_loads() {
    for (name, m) in realdata_imports() {
        let y = to_platform_yaml(&m, &ImportOptions::default());
        match peerpath_load::load_str(name, &y) {
            Ok(p) => assert!(p.nodes.len() <= m.devices.len() + m.root_buses.len()),
            Err(d) => panic!("{name} does not load:\n{d:?}\n---\n{y}"),
        }
        // The comment header lists every node (ids, name and group from the dump).
        let raw = peerpath_load::load_raw_str(name, &y).expect("raw");
        let header: Vec<&str> = y.lines().take_while(|l| l.starts_with('#')).collect();
        let listed = |n: &str| header.iter().any(|l| l.starts_with(&format!("# - {n}: ")));
        for n in raw
            .endpoints
            .iter()
            .map(|e| &e.name)
            .chain(raw.bridges.iter().map(|b| &b.name))
            .chain(raw.switches.iter().map(|s| &s.name))
        {
            assert!(listed(n), "{name}: {n} not in the header:\n{y}");
        }
        // Without measured ACS Control and without exports it loads too.
        let opts = ImportOptions {
            measured_acs_ctl: false,
            export_gpu_bars: false,
            acs_from_groups: false,
            ..ImportOptions::default()
        };
        let y = to_platform_yaml(&m, &opts);
        assert!(
            peerpath_load::load_str(name, &y).is_ok(),
            "{name} with other options"
        );
    }
}

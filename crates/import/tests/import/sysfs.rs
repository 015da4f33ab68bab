//! `parse_sysfs` on a synthetic `/sys` tree written to a temporary directory
//! (`peerpath_import::test_support::machine_tree`: real-looking binary config spaces,
//! `resource` files, `iommu_group` links and `kernel/iommu_groups`).

use std::fs;

use peerpath_import::test_support::{machine_tree, Config};
use peerpath_import::{
    decode_config, kernel_groups, parse_sysfs, to_platform_yaml, BarKind, CapsSeen, DeviceKind,
    HierarchySource, ImportOptions, WarningKind,
};
use peerpath_model::{AcsFlags, Bdf, DomainType};

fn bdf(s: &str) -> Bdf {
    s.parse().expect("bdf")
}

#[test]
fn synthetic_sysfs_tree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    machine_tree(tmp.path(), true).expect("tree written");
    let m = parse_sysfs(tmp.path());
    assert_eq!(m.devices.len(), 6);
    assert_eq!(m.hierarchy, HierarchySource::SysfsPaths);

    let rp = m.device(bdf("0000:00:01.0")).expect("rp");
    assert_eq!(rp.kind, DeviceKind::RootPort);
    assert_eq!(rp.kind_from, peerpath_import::KindEvidence::PcieCapability);
    assert_eq!((rp.mpss, rp.mps), (Some(512), Some(128)));
    let acs = rp.acs.expect("acs");
    assert_eq!(acs.cap, AcsFlags::SV | AcsFlags::TB | AcsFlags::UF);
    assert_eq!(acs.ctl, Some(AcsFlags::SV | AcsFlags::UF));
    assert_eq!(rp.multifunction, Some(true));
    assert_eq!(
        rp.bus_range.map(|r| (r.secondary, r.subordinate)),
        Some((1, 1))
    );
    assert_eq!(rp.caps, CapsSeen::Full);
    let rp1 = m.device(bdf("0000:00:01.1")).expect("rp1");
    assert_eq!(rp1.acs, None, "no ACS capability");
    assert_eq!(rp1.caps, CapsSeen::Full);

    let gpu = m.device(bdf("0000:01:00.0")).expect("gpu");
    assert_eq!(gpu.parent, Some(bdf("0000:00:01.0")));
    assert_eq!(gpu.kind, DeviceKind::Endpoint);
    assert_eq!((gpu.mpss, gpu.mps), (Some(256), Some(128)));
    assert_eq!(gpu.ats.and_then(|a| a.enabled), Some(true));
    assert_eq!(
        gpu.bars.len(),
        4,
        "three memory BARs and one I/O BAR; the ROM line is not a BAR"
    );
    assert_eq!(gpu.bars[1].addr, Some(0x3c00_0000_0000));
    assert_eq!(gpu.bars[1].size, Some(256 << 20));
    assert!(gpu.bars[1].prefetchable && gpu.bars[1].is_64bit);
    assert_eq!(gpu.bars[3].kind, BarKind::Io);
    assert_eq!(gpu.multifunction, Some(true));

    let audio = m.device(bdf("0000:01:00.1")).expect("audio");
    assert_eq!(audio.caps, CapsSeen::NoExtended);
    assert_eq!(audio.acs, None);

    let rciep = m.device(bdf("0000:00:02.0")).expect("rciep");
    assert_eq!(rciep.kind, DeviceKind::RcEndpoint);
    assert!(m
        .warnings
        .iter()
        .any(|w| w.bdf == Some(rciep.bdf) && w.message.contains("loop")));

    let nonroot = m.device(bdf("0000:00:03.0")).expect("nonroot");
    assert_eq!(nonroot.caps, CapsSeen::Unknown);
    assert_eq!(nonroot.vendor, Some(0x8086));
    assert!(m.warnings.iter().any(|w| w.bdf == Some(nonroot.bdf)
        && w.kind == WarningKind::Unknown
        && w.message.contains("64 bytes")));

    let g = kernel_groups(&m);
    assert_eq!(g.len(), 5);
    assert_eq!(g.get(&bdf("0000:01:00.1")), Some(&17));
    assert_eq!(m.kernel.default_domain, Some(DomainType::DmaFq));
    assert_eq!(m.kernel.iommu, Some(peerpath_model::IommuKind::Smmuv3));
    assert!(m.kernel.noats);
    assert_eq!(m.kernel.release.as_deref(), Some("6.18.0-1-arm64"));

    let y = to_platform_yaml(&m, &ImportOptions::default());
    let p = peerpath_load::load_raw_str("sysfs", &y).unwrap_or_else(|d| panic!("{d}\n{y}"));
    let rp = p
        .host_bridges
        .iter()
        .flat_map(|h| &h.root_ports)
        .find(|r| r.name == "rp-0000-00-01-0")
        .expect("root port");
    assert_eq!(rp.bdf.to_string(), "0000:00:01.0");
    assert_eq!((rp.mpss, rp.mps), (512, Some(128)));
    use peerpath_load::raw::AcsBit::{Sv, Tb, Uf};
    let acs = rp.acs.as_ref().expect("acs");
    assert_eq!(
        (acs.cap.as_slice(), acs.ctl.as_deref()),
        (&[Sv, Tb, Uf][..], Some(&[Sv, Uf][..]))
    );
    assert_eq!(rp.multifunction, Some(true));
    let ep = p
        .endpoints
        .iter()
        .find(|e| e.name == "gpu-0000-01-00-0")
        .expect("endpoint");
    assert_eq!(ep.parent, "rp-0000-00-01-0");
    // Endpoints are named after their class and BDF, exports after their device (issue 10).
    let names: Vec<&str> = p.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ep-0000-00-02-0",
            "nic-0000-00-03-0",
            "gpu-0000-01-00-0",
            "ep-0000-01-00-1"
        ]
    );
    let exports: Vec<(&str, &str)> = p
        .exports
        .iter()
        .map(|x| (x.name.as_str(), x.device.as_str()))
        .collect();
    assert_eq!(exports, [("gpu-0000-01-00-0-bar1", "gpu-0000-01-00-0")]);
    assert!(p.endpoints.iter().any(|e| e.ats == Some(true)));
    let k = p.kernel.as_ref().expect("kernel");
    assert_eq!(k.noats, Some(true));
    assert_eq!(k.default_domain, Some(DomainType::DmaFq));
    assert_eq!(p.iommus[0].kind, peerpath_model::IommuKind::Smmuv3);
    if let Err(d) = peerpath_load::load_str("sysfs", &y) {
        panic!("does not load: {d:?}\n{y}");
    }
}

#[test]
fn copied_sysfs_without_links_uses_bus_numbers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    machine_tree(tmp.path(), false).expect("tree written");
    let m = parse_sysfs(tmp.path());
    assert_eq!(m.devices.len(), 6);
    assert_eq!(m.hierarchy, HierarchySource::BusNumbers);
    assert_eq!(
        m.device(bdf("0000:01:00.1")).and_then(|d| d.parent),
        Some(bdf("0000:00:01.0"))
    );
    // Groups from the iommu_groups directory (its links resolve to nothing here; the
    // names are enough).
    assert_eq!(kernel_groups(&m).len(), 5);
}

#[test]
fn missing_or_odd_sysfs_roots_warn() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let m = parse_sysfs(&tmp.path().join("does-not-exist"));
    assert!(m.devices.is_empty());
    assert!(m.warnings.iter().any(|w| w.kind == WarningKind::Io));
    // A directory with junk entries and a device without any files.
    let devs = tmp.path().join("sys/bus/pci/devices");
    fs::create_dir_all(devs.join("not-a-bdf")).expect("mkdir");
    fs::create_dir_all(devs.join("0000:00:1f.7")).expect("mkdir");
    let m = parse_sysfs(tmp.path());
    assert_eq!(m.devices.len(), 1);
    assert!(m.warnings.iter().any(|w| w.kind == WarningKind::Io));
    assert!(m.warnings.iter().any(|w| w.message.contains("not-a-bdf")));
}

#[test]
fn config_decoding_edges() {
    // Header only: ids, class and the bridge's buses, nothing else.
    let (f, notes) = decode_config(
        &Config::new(64, 0x1022, 0x14ab, 0x060400, 0x01)
            .buses(0, 1, 4)
            .0,
    );
    let f = f.expect("facts");
    assert_eq!((f.vendor, f.device, f.class), (0x1022, 0x14ab, 0x060400));
    assert_eq!(
        f.bridge_buses.map(|(_, r)| (r.secondary, r.subordinate)),
        Some((1, 4))
    );
    assert_eq!(f.caps, CapsSeen::Unknown);
    assert_eq!(notes.len(), 1);
    // Too short for a header.
    let (f, notes) = decode_config(&[0u8; 10]);
    assert!(f.is_none() && !notes.is_empty());
    // A capability pointer past the end of a 256-byte image.
    let mut c = Config::new(256, 1, 2, 0x020000, 0);
    c.w16(0x06, 0x0010);
    c.w8(0x34, 0xfc);
    let (f, _) = decode_config(&c.0);
    assert!(f.is_some());
    // An extended capability list that loops back on itself.
    let c = Config::new(4096, 1, 2, 0x020000, 0)
        .pcie(0x40, 0, 0, 0, 0)
        .ext(0x100, 0x000d, 0x100, 0x001f, 0x001f);
    let (f, notes) = decode_config(&c.0);
    assert_eq!(
        f.and_then(|f| f.acs).map(|a| a.cap),
        Some(AcsFlags::REQ | AcsFlags::TB)
    );
    assert!(notes.iter().any(|n| n.contains("loop")));
}

/// Issue 24: `numa_node` gives a function its NUMA node (`-1`: the firmware gives none),
/// and the host bridge above gets it.
#[test]
fn numa_node_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    machine_tree(tmp.path(), true).expect("tree written");
    let devs = tmp.path().join("sys/bus/pci/devices");
    fs::write(devs.join("0000:01:00.0/numa_node"), "1\n").expect("written");
    fs::write(devs.join("0000:00:03.0/numa_node"), "-1\n").expect("written");
    let m = parse_sysfs(tmp.path());
    let numa = |b: &str| m.device(bdf(b)).and_then(|d| d.numa_node).map(|n| n.0);
    assert_eq!(numa("0000:01:00.0"), Some(1));
    assert_eq!(numa("0000:00:03.0"), None);
    assert_eq!(numa("0000:00:01.0"), None, "no file");
    let y = to_platform_yaml(&m, &ImportOptions::default());
    assert!(y.contains("numa_node: 1"), "{y}");
    assert!(
        y.contains("hb-0000-00 1 (0000:01:00.0, 1 function(s))"),
        "{y}"
    );
}

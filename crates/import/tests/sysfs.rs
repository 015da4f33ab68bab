//! `parse_sysfs` on a synthetic `/sys` tree written to a temporary directory: real-looking
//! binary config spaces (type-0 and type-1 headers, the PCI Express capability, ACS and
//! ATS extended capabilities, a looping capability list, truncated non-root reads),
//! `resource` files, `iommu_group` links and `kernel/iommu_groups`.

use std::fs;
use std::path::Path;

use peerpath_import::{
    decode_config, kernel_groups, parse_sysfs, to_platform_yaml, BarKind, CapsSeen, DeviceKind,
    HierarchySource, ImportOptions, WarningKind,
};
use peerpath_model::{AcsFlags, Bdf, DomainType};

/// A configuration space image under construction [PCIe §7.5].
struct Config(Vec<u8>);

impl Config {
    fn new(len: usize, vendor: u16, device: u16, class: u32, header_type: u8) -> Self {
        let mut c = Config(vec![0; len]);
        c.w16(0x00, vendor);
        c.w16(0x02, device);
        c.w16(0x04, 0x0006); // Memory Space + Bus Master
        c.w8(0x09, class as u8);
        c.w8(0x0a, (class >> 8) as u8);
        c.w8(0x0b, (class >> 16) as u8);
        c.w8(0x0e, header_type);
        c
    }
    fn w8(&mut self, off: usize, v: u8) {
        if let Some(b) = self.0.get_mut(off) {
            *b = v;
        }
    }
    fn w16(&mut self, off: usize, v: u16) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.w8(off + i, b);
        }
    }
    fn w32(&mut self, off: usize, v: u32) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.w8(off + i, b);
        }
    }
    /// Type-1 bus numbers (0x18 primary, 0x19 secondary, 0x1a subordinate).
    fn buses(mut self, primary: u8, secondary: u8, subordinate: u8) -> Self {
        self.w8(0x18, primary);
        self.w8(0x19, secondary);
        self.w8(0x1a, subordinate);
        self
    }
    /// The PCI Express capability at `at` (ID 0x10): version 2, the device/port type,
    /// Device Capabilities MPSS and Device Control MPS as encodings (0 = 128 bytes).
    fn pcie(mut self, at: u8, next: u8, port_type: u16, mpss_enc: u32, mps_enc: u16) -> Self {
        self.w16(0x06, 0x0010); // Status: Capabilities List
        self.w8(0x34, at);
        let a = usize::from(at);
        self.w8(a, 0x10);
        self.w8(a + 1, next);
        self.w16(a + 2, 0x0002 | port_type << 4);
        self.w32(a + 4, mpss_enc);
        self.w16(a + 8, mps_enc << 5);
        self
    }
    /// An extended capability header at `at`: ID, version 1, next offset.
    fn ext(mut self, at: usize, id: u16, next: u16, reg0: u16, reg1: u16) -> Self {
        self.w32(at, u32::from(id) | 1 << 16 | u32::from(next) << 20);
        self.w16(at + 4, reg0);
        self.w16(at + 6, reg1);
        self
    }
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, bytes).expect("write");
}

fn symlink(target: &str, link: &Path) {
    fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// One device: its directory under `sys/devices/<path>`, the `bus/pci/devices` link
/// (when `linked`), ids, config, resource and group.
#[allow(clippy::too_many_arguments)]
fn device(
    root: &Path,
    path: &str,
    linked: bool,
    cfg: &Config,
    class: u32,
    resource: &str,
    group: Option<u32>,
) {
    let bdf = path.rsplit('/').next().expect("bdf");
    let dir = if linked {
        let d = root.join("sys/devices").join(path);
        symlink(
            &format!("../../../devices/{path}"),
            &root.join("sys/bus/pci/devices").join(bdf),
        );
        d
    } else {
        root.join("sys/bus/pci/devices").join(bdf)
    };
    let vendor = u16::from_le_bytes([cfg.0[0], cfg.0[1]]);
    let dev = u16::from_le_bytes([cfg.0[2], cfg.0[3]]);
    write(&dir.join("vendor"), format!("{vendor:#06x}\n").as_bytes());
    write(&dir.join("device"), format!("{dev:#06x}\n").as_bytes());
    write(&dir.join("class"), format!("{class:#08x}\n").as_bytes());
    write(&dir.join("config"), &cfg.0);
    write(&dir.join("resource"), resource.as_bytes());
    if let Some(g) = group {
        let depth = path.matches('/').count() + 2;
        let up = "../".repeat(depth);
        symlink(
            &format!("{up}kernel/iommu_groups/{g}"),
            &dir.join("iommu_group"),
        );
        let gdir = root.join(format!("sys/kernel/iommu_groups/{g}"));
        symlink(
            &format!("../../../../devices/{path}"),
            &gdir.join("devices").join(bdf),
        );
        write(&gdir.join("type"), b"DMA-FQ\n");
    }
}

const NO_BARS: &str = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";

fn machine_tree(root: &Path, linked: bool) {
    // Root port 0000:00:01.0: multifunction with 00:01.1; ACS cap SV TB UF, ctl SV UF;
    // MPSS 512, MPS 128.
    let rp = Config::new(4096, 0x1def, 0xe101, 0x060400, 0x81)
        .buses(0, 1, 1)
        .pcie(0x40, 0, 4, 2, 0)
        .ext(0x100, 0x000d, 0, 0x0013, 0x0011);
    device(
        root,
        "pci0000:00/0000:00:01.0",
        linked,
        &rp,
        0x060400,
        NO_BARS,
        Some(2),
    );
    // Root port 0000:00:01.1 without an ACS capability, and an empty slot.
    let rp1 = Config::new(4096, 0x1def, 0xe101, 0x060400, 0x81)
        .buses(0, 2, 2)
        .pcie(0x40, 0, 4, 1, 0);
    device(
        root,
        "pci0000:00/0000:00:01.1",
        linked,
        &rp1,
        0x060400,
        NO_BARS,
        Some(3),
    );
    // GPU 0000:01:00.0, function 0 of a multifunction device; ATS enabled.
    let gpu = Config::new(4096, 0x10de, 0x2204, 0x030000, 0x80)
        .pcie(0x60, 0, 0, 1, 0)
        .ext(0x100, 0x000f, 0, 0x0000, 0x8000);
    let gpu_res = "0x0000000070000000 0x0000000070ffffff 0x0000000000040200\n\
                   0x00003c0000000000 0x00003c000fffffff 0x000000000014220c\n\
                   0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                   0x00003c0010000000 0x00003c0011ffffff 0x000000000014220c\n\
                   0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                   0x0000000000005000 0x000000000000507f 0x0000000000040101\n\
                   0x0000000071000000 0x000000007107ffff 0x0000000000046200\n";
    device(
        root,
        "pci0000:00/0000:00:01.0/0000:01:00.0",
        linked,
        &gpu,
        0x030000,
        gpu_res,
        Some(17),
    );
    // Its audio function: only 256 bytes of config (no extended space).
    let audio = Config::new(256, 0x10de, 0x1aef, 0x040300, 0x80).pcie(0x60, 0, 0, 1, 0);
    let audio_res = "0x0000000071080000 0x0000000071083fff 0x0000000000040200\n";
    device(
        root,
        "pci0000:00/0000:00:01.0/0000:01:00.1",
        linked,
        &audio,
        0x040300,
        audio_res,
        Some(17),
    );
    // An RCiEP whose capability list points at itself.
    let mut looping = Config::new(4096, 0x1def, 0xe100, 0x088000, 0x00).pcie(0x40, 0x40, 9, 0, 0);
    looping.w32(0x100, 0xffff_ffff);
    device(
        root,
        "pci0000:00/0000:00:02.0",
        linked,
        &looping,
        0x088000,
        NO_BARS,
        Some(4),
    );
    // A device read without root: 64 bytes of config.
    let nonroot = Config::new(64, 0x8086, 0x1533, 0x020000, 0x00);
    device(
        root,
        "pci0000:00/0000:00:03.0",
        linked,
        &nonroot,
        0x020000,
        NO_BARS,
        None,
    );
    write(
        &root.join("proc/cmdline"),
        b"BOOT_IMAGE=/vmlinuz ro pci=noats\n",
    );
    write(&root.join("proc/sys/kernel/osrelease"), b"6.18.0-1-arm64\n");
    fs::create_dir_all(root.join("sys/class/iommu/smmu3.0x0000000010000000")).expect("mkdir");
}

fn bdf(s: &str) -> Bdf {
    s.parse().expect("bdf")
}

#[test]
fn synthetic_sysfs_tree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    machine_tree(tmp.path(), true);
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
    machine_tree(tmp.path(), false);
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

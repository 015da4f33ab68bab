//! A synthetic `/sys` tree for tests (this crate's and `peerpath-cli`'s), behind the
//! `test-support` feature: real-looking binary config spaces (type-0 and type-1
//! headers, the PCI Express capability, ACS and ATS extended capabilities, a looping
//! capability list, truncated non-root reads), `resource` files, `iommu_group` links and
//! `kernel/iommu_groups`. Not for users: the API may change with the tests.

use std::fs;
use std::io;
use std::path::Path;

/// A configuration space image under construction [PCIe §7.5].
#[derive(Clone, Debug)]
pub struct Config(pub Vec<u8>);

impl Config {
    /// A header of `len` bytes: ids, class, header type, Memory Space and Bus Master.
    pub fn new(len: usize, vendor: u16, device: u16, class: u32, header_type: u8) -> Self {
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
    /// Writes a byte (past the end: ignored).
    pub fn w8(&mut self, off: usize, v: u8) {
        if let Some(b) = self.0.get_mut(off) {
            *b = v;
        }
    }
    /// Writes a little-endian u16.
    pub fn w16(&mut self, off: usize, v: u16) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.w8(off + i, b);
        }
    }
    /// Writes a little-endian u32.
    pub fn w32(&mut self, off: usize, v: u32) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.w8(off + i, b);
        }
    }
    /// Type-1 bus numbers (0x18 primary, 0x19 secondary, 0x1a subordinate).
    pub fn buses(mut self, primary: u8, secondary: u8, subordinate: u8) -> Self {
        self.w8(0x18, primary);
        self.w8(0x19, secondary);
        self.w8(0x1a, subordinate);
        self
    }
    /// The PCI Express capability at `at` (ID 0x10): version 2, the device/port type,
    /// Device Capabilities MPSS and Device Control MPS as encodings (0 = 128 bytes).
    pub fn pcie(mut self, at: u8, next: u8, port_type: u16, mpss_enc: u32, mps_enc: u16) -> Self {
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
    pub fn ext(mut self, at: usize, id: u16, next: u16, reg0: u16, reg1: u16) -> Self {
        self.w32(at, u32::from(id) | 1 << 16 | u32::from(next) << 20);
        self.w16(at + 4, reg0);
        self.w16(at + 6, reg1);
        self
    }
}

fn parent_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(p) => fs::create_dir_all(p),
        None => Ok(()),
    }
}

fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    parent_dir(path)?;
    fs::write(path, bytes)
}

fn symlink(target: &str, link: &Path) -> io::Result<()> {
    parent_dir(link)?;
    std::os::unix::fs::symlink(target, link)
}

/// One device: its directory under `sys/devices/<path>`, the `bus/pci/devices` link
/// (when `linked`), ids, config, resource and group.
#[allow(clippy::too_many_arguments)]
pub fn device(
    root: &Path,
    path: &str,
    linked: bool,
    cfg: &Config,
    class: u32,
    resource: &str,
    group: Option<u32>,
) -> io::Result<()> {
    let bdf = path.rsplit('/').next().unwrap_or(path);
    let dir = if linked {
        let d = root.join("sys/devices").join(path);
        symlink(
            &format!("../../../devices/{path}"),
            &root.join("sys/bus/pci/devices").join(bdf),
        )?;
        d
    } else {
        root.join("sys/bus/pci/devices").join(bdf)
    };
    let id = |at: usize| {
        let b = |i: usize| cfg.0.get(i).copied().unwrap_or(0);
        u16::from_le_bytes([b(at), b(at + 1)])
    };
    let (vendor, dev) = (id(0), id(2));
    write(&dir.join("vendor"), format!("{vendor:#06x}\n").as_bytes())?;
    write(&dir.join("device"), format!("{dev:#06x}\n").as_bytes())?;
    write(&dir.join("class"), format!("{class:#08x}\n").as_bytes())?;
    write(&dir.join("config"), &cfg.0)?;
    write(&dir.join("resource"), resource.as_bytes())?;
    if let Some(g) = group {
        let depth = path.matches('/').count() + 2;
        let up = "../".repeat(depth);
        symlink(
            &format!("{up}kernel/iommu_groups/{g}"),
            &dir.join("iommu_group"),
        )?;
        let gdir = root.join(format!("sys/kernel/iommu_groups/{g}"));
        symlink(
            &format!("../../../../devices/{path}"),
            &gdir.join("devices").join(bdf),
        )?;
        write(&gdir.join("type"), b"DMA-FQ\n")?;
    }
    Ok(())
}

/// A `resource` file without BARs.
const NO_BARS: &str = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";

/// A small Arm machine under `root` (`root/sys/...`, `root/proc/...`): root port
/// 00:01.0 (ACS cap SV TB UF, ctl SV UF; MPSS 512, MPS 128; multifunction with 00:01.1,
/// which has no ACS) with a GPU 01:00.0 (ATS, three memory BARs and an I/O BAR) and its
/// audio function 01:00.1 (256 bytes of config); an RCiEP 00:02.0 whose capability list
/// loops; a NIC 00:03.0 read without root (64 bytes of config, no group). `linked`:
/// `bus/pci/devices` entries are links into `devices/` as on a live system, else plain
/// directories (a copied tree). The kernel: `pci=noats`, release 6.18.0-1-arm64, an
/// SMMUv3, DMA-FQ groups.
pub fn machine_tree(root: &Path, linked: bool) -> io::Result<()> {
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
    )?;
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
    )?;
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
    )?;
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
    )?;
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
    )?;
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
    )?;
    write(
        &root.join("proc/cmdline"),
        b"BOOT_IMAGE=/vmlinuz ro pci=noats\n",
    )?;
    write(&root.join("proc/sys/kernel/osrelease"), b"6.18.0-1-arm64\n")?;
    fs::create_dir_all(root.join("sys/class/iommu/smmu3.0x0000000010000000"))
}

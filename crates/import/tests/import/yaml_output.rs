//! The emitted platform YAML, read back: well-formed, and consistent the way
//! spec/platform-format.md's validation demands (unique names and BDFs, parents that
//! exist and are ports/bridges/host bridges, BARs inside their host bridge's windows and
//! not overlapping, windows of host bridges apart, MPS ≤ MPSS, ACS ctl ⊆ cap, exports of
//! existing BARs).
//!
//! `peerpath_load::load_str` is the authority on validity and every import must load
//! (`every_realdata_import_loads` in `realdata.rs`); the read-back check (`common::check`)
//! takes only the loader's raw structs (`load_raw_str`, no validation) and stays as a
//! second, independent check of what the importer decides.

use crate::common;

use common::check;
use peerpath_import::{parse_lspci, to_platform_yaml, ImportOptions};

#[test]
fn odd_names_are_quoted() {
    let m = parse_lspci("", None);
    let opts = ImportOptions {
        name: Some("My Box: \"lab\" #2".to_string()),
        description: Some("line one\nline two: \"quoted\" # not a comment".to_string()),
        ..ImportOptions::default()
    };
    let y = to_platform_yaml(&m, &opts);
    let doc = peerpath_load::load_raw_str("odd.yaml", &y).expect("readable");
    assert_eq!(doc.name, "my-box---lab---2");
    assert_eq!(
        doc.description.as_deref(),
        Some("line one\nline two: \"quoted\" # not a comment")
    );
    assert!(peerpath_load::load_str("odd.yaml", &y).is_ok());
}

#[test]
fn the_checker_catches_broken_files() {
    let bad = r#"format: 1
name: x
description: d
kernel: { arch: arm64, cpu: { vendor: arm } }
endpoints:
  - { name: ep0, parent: rp9, bdf: "0000:01:00.0", mpss: 256, class: other }
  - name: ep1
    parent: rp0
    bdf: "0000:01:00.0"
    class: gpu
    mpss: 256
    bars: [{ index: 0, addr: 0x2000_0000, size: 4KiB }]
memory: []
iommus: []
host_bridges:
  - name: hb0
    windows: [{ cpu: 0x1000_0000, bus: 0x1000_0000, size: 1MiB }]
    root_ports: [{ name: rp0, bdf: "0000:00:01.0", mpss: 256, mps: 512 }]
  - name: hb1
    windows: [{ cpu: 0x1008_0000, bus: 0x1008_0000, size: 1MiB }]
    root_ports: []
switches: []
bridges: []
exports: [{ name: e, device: ep1, bar: 3 }]
"#;
    let errs = check(bad);
    for want in [
        "mps",
        "parent rp9 does not exist",
        "duplicate bdf",
        "outside every window",
        "overlap",
        "does not exist",
    ] {
        assert!(
            errs.iter().any(|e| e.contains(want)),
            "{want} not caught: {errs:?}"
        );
    }
}

/// Issue 24: the functions' own ids (`lspci -nn`) reach the platform, where the kernel's
/// ACS and DMA alias quirks read them, and dmesg's release is kept.
#[test]
fn function_ids_and_the_release_are_written() {
    let lspci = "\
00:1c.0 PCI bridge [0604]: Intel Corporation 6 Series/C200 Series Chipset Family PCI Express Root Port 1 [8086:1c10] (rev b5)
01:00.0 SATA controller [0106]: Marvell Technology Group Ltd. 88SE9128 [1b4b:9128] (rev 11)
";
    let mut m = parse_lspci(lspci, None);
    m.kernel.release = Some("5.15.0-105-generic".to_owned());
    let y = to_platform_yaml(&m, &ImportOptions::default());
    let p = peerpath_load::load_str("ids.yaml", &y).expect("loads");
    let id = |name: &str| {
        let n = p
            .node_by_name(name)
            .unwrap_or_else(|| panic!("{name}:\n{y}"));
        p.node(n).pci_id.map(|i| i.to_string())
    };
    assert_eq!(id("rp-0000-00-1c-0").as_deref(), Some("8086:1c10"), "{y}");
    assert_eq!(id("ep-0000-01-00-0").as_deref(), Some("1b4b:9128"), "{y}");
    assert_eq!(
        p.kernel.version,
        Some(peerpath_model::Release::new(5, 15)),
        "{y}"
    );
}

/// Issue 17: a device name from the dump with characters YAML does not allow (U+FFFF, a
/// noncharacter; NUL; U+FEFF; C1 controls; line separators) went into the header's
/// comment lines as it was, and the file did not load.
#[test]
fn issue_17_odd_characters_in_a_dump_never_break_the_file() {
    for odd in [
        "\u{ffff}",
        "\u{fffe}",
        "\u{feff}",
        "\0",
        "\u{85}",
        "\u{9b}",
        "\u{2028}",
        "\u{2029}",
        "\u{1b}[31m",
        "\r",
        "\u{d7ff}\u{e000}\u{10ffff}",
        "\u{fdd0}",
        "\u{1ffff}",
        "\t#",
    ] {
        let dump = format!(
            "00:01.0 PCI bridge [0604]: Root Port {odd} [1def:e101]\n\
             01:00.0 VGA compatible controller [0300]: NVIDIA{odd} GPU [10de:2230] (rev a1)\n\
             \tIOMMU group: 3\n\
             \tRegion 0: Memory at 3c0000000000 (64-bit, prefetchable) [size=256M]\n"
        );
        let m = parse_lspci(&dump, None);
        let y = to_platform_yaml(&m, &ImportOptions::default());
        if let Err(d) = peerpath_load::load_str("odd.yaml", &y) {
            panic!("{odd:?}: the import does not load:\n{d}\n{y}");
        }
        assert!(y.contains("NVIDIA"), "the name is kept: {y}");
    }
}

/// Issue 18: a device bound to vfio-pci is written `driver: vfio-pci`, and the header
/// says which VM-side facts the dump cannot show; a device on its kernel driver is not
/// listed.
#[test]
fn vfio_bound_devices_are_marked_and_the_vm_side_is_said_unknown() {
    let lspci = "\
00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:1c10]
01:00.0 3D controller [0302]: NVIDIA Corporation GA100 [A100 PCIe 40GB] [10de:20f1] (rev a1)
\tKernel driver in use: vfio-pci
00:02.0 PCI bridge [0604]: Intel Corporation Device [8086:1c12]
02:00.0 Ethernet controller [0200]: Mellanox Technologies MT2892 Family [ConnectX-6 Dx] [15b3:101d]
\tKernel driver in use: mlx5_core
";
    let m = parse_lspci(lspci, None);
    let y = to_platform_yaml(&m, &ImportOptions::default());
    let p = peerpath_load::load_str("vfio.yaml", &y).expect("loads");
    let driver = |bdf: &str| {
        let n = p
            .nodes
            .iter()
            .find(|n| n.bdf.map(|b| b.to_string()).as_deref() == Some(bdf))
            .unwrap_or_else(|| panic!("{bdf}:\n{y}"));
        match &n.kind {
            peerpath_model::NodeKind::Endpoint(e) => e.driver,
            k => panic!("{bdf} is {k:?}"),
        }
    };
    assert_eq!(
        driver("0000:01:00.0"),
        peerpath_model::Driver::VfioPci,
        "{y}"
    );
    assert_eq!(
        driver("0000:02:00.0"),
        peerpath_model::Driver::Kernel,
        "{y}"
    );
    let note = y
        .lines()
        .find(|l| l.contains("bound to vfio-pci"))
        .unwrap_or_else(|| panic!("no vfio-pci note:\n{y}"));
    assert!(
        note.contains("0000:01:00.0") && !note.contains("0000:02:00.0"),
        "{note}"
    );
    assert!(y.contains("add a `vms:` entry"), "{y}");
}

//! Issue 24: IOMMU groups computed from the dump's ACS readings alone
//! (`--no-acs-from-groups`) against the kernel's own `IOMMU group:` lines, on public
//! `lspci -vvvnn` dumps taken as root (`tests/dumps/`, provenance in
//! `tests/dumps/SOURCES.md`). The files are kept byte for byte as published; the test
//! runs the real binary, as a user would, and reads its comparison table.

use crate::common;

use std::path::{Path, PathBuf};

use common::{peerpath, repo, stderr, stdout};

/// A dump of `tests/dumps/`, which must exist.
fn dump(name: &str) -> PathBuf {
    let p = repo().join("crates/cli/tests/dumps").join(name);
    assert!(p.exists(), "missing {}", p.display());
    p
}

/// One comparison: the dump, its number of `IOMMU group:` lines, and the table rows
/// (`BDF`, `agree?`) the import printed.
struct Compared {
    lines: usize,
    rows: Vec<(String, bool)>,
    summary: String,
}

/// `peerpath import --lspci FILE --compare-groups --no-acs-from-groups`, which must
/// exit with `code` (0 when every group agrees, 1 when one differs).
fn compare(name: &str, code: i32) -> Compared {
    let file = dump(name);
    let dir = std::env::temp_dir().join(format!(
        "peerpath-groups-found-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("out.yaml");
    let o = peerpath(&[
        "import",
        "--lspci",
        &s(&file),
        "--compare-groups",
        "--no-acs-from-groups",
        "-o",
        &s(&out),
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(code), "{text}\n{}", stderr(&o));
    let rows = text
        .lines()
        .filter(|l| !l.starts_with(' ') && (l.ends_with("  yes") || l.ends_with("  NO")))
        .map(|l| {
            let bdf = l.split_whitespace().nth(1).unwrap_or("").to_string();
            (bdf, l.ends_with("  yes"))
        })
        .collect();
    let summary = text
        .lines()
        .find(|l| l.starts_with("groups agree") || l.starts_with("groups disagree"))
        .unwrap_or("")
        .to_string();
    let lines = std::fs::read_to_string(&file)
        .expect("readable")
        .lines()
        .filter(|l| l.trim().starts_with("IOMMU group:"))
        .count();
    let _ = std::fs::remove_dir_all(&dir);
    Compared {
        lines,
        rows,
        summary,
    }
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Every device with a kernel group is compared, and every one agrees.
fn assert_all_agree(name: &str) {
    let c = compare(name, 0);
    assert!(c.lines > 0, "{name}: no IOMMU group lines");
    assert_eq!(c.rows.len(), c.lines, "{name}: {:?}", c.rows);
    let disagree: Vec<&String> = c.rows.iter().filter(|r| !r.1).map(|r| &r.0).collect();
    assert!(disagree.is_empty(), "{name}: disagree on {disagree:?}");
    assert_eq!(
        c.summary,
        format!(
            "groups agree: {n} of {n} devices with a kernel group, partition for partition",
            n = c.lines
        ),
        "{name}"
    );
}

/// AMD AM5 (Ryzen 7000 "Raphael", B650 chipset): the data fabric's dummy host bridge
/// functions (00:0x.0) each in a group of their own, the Promontory 21 switch whose
/// downstream ports have no ACS capability (each device below shares its port's group),
/// an AST1150 PCIe-to-PCI bridge and the VGA behind it in one group, and the integrated
/// GPU's functions, whose ACS capability implements nothing (so the kernel takes every
/// bit as hard-wired on and puts each function apart).
#[test]
fn amd_b650_groups_agree_device_by_device() {
    assert_all_agree("asrockrack-b650d4u-ryzen-raphael.lspci.txt");
}

/// Arm (Ampere Altra, eight PCI domains): root ports that implement every ACS bit, an
/// X550 whose two functions sit in groups of their own (an ACS capability that
/// implements nothing counts as hard-wired on), and the AST1150 bridge's VGA, which the
/// dump gives no group and so is not compared.
#[test]
fn ampere_altra_d8ud_groups_agree_device_by_device() {
    assert_all_agree("asrockrack-altrad8ud-ampere-altra.lspci.txt");
}

/// AMD server (EPYC 7003 "Milan", four root complexes on one segment): the FCH SMBus and
/// LPC functions (00:14.0/00:14.3) and the eight data-fabric functions (00:18.x) each in
/// one multifunction group, no ACS; the Starship dummy, PTDMA and SPP functions on the
/// internal GPP bridges, whose ACS capability implements nothing, each apart; a Radeon
/// Pro W5700 behind its own Navi 10 switch (a downstream port with ACS, four GPU
/// functions with an empty ACS capability, each apart); the AST1150 bridge and its VGA in
/// one group.
#[test]
fn amd_epyc_milan_groups_agree_device_by_device() {
    assert_all_agree("asrockrack-romed8-2t-epyc-milan.lspci.txt");
}

/// Intel server (Xeon E-2400 "Raptor Lake-E", C266 PCH; ASRock Rack EC266D4-4L, kernel
/// 6.11): the client-style host bridge 00:00.0 in a group of its own, PCH root ports
/// with ACS, an AST2600 behind its bridge in one group, and the PCH's own functions.
///
/// The PCH's conventional-PCI multifunction devices on the root bus (00:14.0/.2,
/// 00:15.0/.1, 00:16.0/.1/.4, 00:1f.0/.4/.5: no PCI Express capability) share a group
/// per slot, as the kernel puts them: `pci_acs_enabled()` is false for a non-PCIe
/// function and no quirk answers, since `pci_quirk_rciep_acs` (the
/// `PCI_VENDOR_ID_INTEL, PCI_ANY_ID` row) returns `-ENOTTY` unless
/// `pci_pcie_type(dev) == PCI_EXP_TYPE_RC_END`. Regression (issue 24): the quirk row
/// applied to every endpoint below a host bridge and put each function apart, 26 of 36;
/// the import now writes `pcie: false` for a conventional function, which the row reads.
#[test]
fn intel_xeon_e2400_groups_agree_device_by_device() {
    assert_all_agree("asrockrack-ec266d4-4l-xeon-e2400.lspci.txt");
}

//! `peerpath import` on inputs made here (no shared folder needed): garbage, and what
//! each file given without a flag is detected as (issue 10). The same detection on every
//! real-machine dump is in `realdata.rs`.

mod common;

use std::path::Path;

use common::{peerpath, stderr, stdout};

/// A fresh directory for inputs and outputs, removed at the end of the test.
fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `lspci -vvnn` of a root port with a GPU below it.
const LSPCI: &str = "\
0000:00:01.0 PCI bridge [0604]: Ampere Computing, LLC Altra PCI Express Root Port a0 [1def:e101] (rev 04)
\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0
\tMemory behind bridge: 70000000-710fffff [size=17M] [32-bit]
\tPrefetchable memory behind bridge: 3c0000000000-3c0011ffffff [size=288M] [32-bit]
\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00
\t\tDevCap:\tMaxPayload 512 bytes, PhantFunc 0

0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204] (rev a1)
\tRegion 0: Memory at 70000000 (32-bit, non-prefetchable) [size=16M]
\tRegion 1: Memory at 3c0000000000 (64-bit, prefetchable) [size=256M]
\tCapabilities: [60] Express (v2) Legacy Endpoint, MSI 00
\t\tDevCap:\tMaxPayload 256 bytes, PhantFunc 0, Latency L0s unlimited, L1 <64us
";

/// `lspci -tv` of a machine with a switch.
const TREE: &str = "\
-[0000:00]-+-00.0  Ampere Computing, LLC Altra PCI Express Root Complex A
           \\-01.0-[01-03]----00.0-[02-03]--+-00.0-[03]----00.0  NVIDIA Corporation GA102 [GeForce RTX 3090]
                                          \\-01.0-[04]--
";

/// A kernel log: enumeration, a bridge window, groups.
const DMESG: &str = "\
[    0.912345] pci 0000:00:01.0: [1def:e101] type 01 class 0x060400 PCIe Root Port
[    0.912400] pci 0000:00:01.0: PCI bridge to [bus 01]
[    0.913000] pci 0000:01:00.0: [10de:2204] type 00 class 0x030000 PCIe Legacy Endpoint
[    1.263328] pci 0000:00:01.0: Adding to iommu group 2
[    1.263400] pci 0000:01:00.0: Adding to iommu group 3
";

/// A markdown report: the tree and the details in fenced blocks, prose around them.
fn report() -> String {
    format!(
        "# My box\n\nTwo GPUs, one switch.\n\n```\n$ user@box:~$ lspci -tv\n{TREE}```\n\n\
         Details:\n\n```console\n$ sudo lspci -vvnn\n{LSPCI}```\n"
    )
}

/// Writes `name` with `text` into `dir`; returns its path as a string.
fn file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    s(&p)
}

/// A file given without a flag imports exactly as with the flag of its kind, and the
/// detection is said on stderr.
#[test]
fn files_are_detected_and_import_like_their_flags() {
    let dir = tmp();
    let cases = [
        (
            file(dir.path(), "lspci.txt", LSPCI),
            "--lspci",
            "lspci output",
        ),
        (
            file(dir.path(), "tree.txt", TREE),
            "--tree",
            "an lspci -t tree",
        ),
        (
            file(dir.path(), "kern.log", DMESG),
            "--dmesg",
            "a kernel or script log",
        ),
        (
            file(dir.path(), "box.md", &report()),
            "--markdown",
            "a markdown report",
        ),
    ];
    for (path, flag, what) in &cases {
        let detected = peerpath(&["import", path]);
        let flagged = peerpath(&["import", flag, path]);
        let err = stderr(&detected);
        assert_eq!(detected.status.code(), Some(0), "{path}: {err}");
        assert_eq!(
            flagged.status.code(),
            Some(0),
            "{path}: {}",
            stderr(&flagged)
        );
        assert!(
            err.contains(&format!("{path}: detected {what} ("))
                && err.contains(&format!("read as {flag}")),
            "{path}: {err}"
        );
        assert!(
            stdout(&detected).contains("\nhost_bridges:\n"),
            "{path}: {}",
            stdout(&detected)
        );
        assert_eq!(stdout(&detected), stdout(&flagged), "{path}");
        // The flag is an override and detects nothing.
        assert!(
            !stderr(&flagged).contains("detected"),
            "{}",
            stderr(&flagged)
        );
    }
}

/// The inputs of one machine merge in one fixed order, whatever the order of the files.
#[test]
fn files_in_any_order_give_one_platform() {
    let dir = tmp();
    let lspci = file(dir.path(), "lspci.txt", LSPCI);
    let tree = file(dir.path(), "tree.txt", TREE);
    let log = file(dir.path(), "kern.log", DMESG);
    let flagged = peerpath(&[
        "import", "--lspci", &lspci, "--tree", &tree, "--dmesg", &log,
    ]);
    assert_eq!(flagged.status.code(), Some(0), "{}", stderr(&flagged));
    for order in [
        [&tree, &log, &lspci],
        [&lspci, &tree, &log],
        [&log, &lspci, &tree],
    ] {
        let o = peerpath(&["import", order[0], order[1], order[2]]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout(&o), stdout(&flagged), "{order:?}");
    }
    // A detected file and a flag of another kind go together too.
    let o = peerpath(&["import", &tree, "--lspci", &lspci, &log]);
    assert_eq!(stdout(&o), stdout(&flagged));
}

#[test]
fn a_file_of_no_known_kind_is_an_error_naming_it() {
    let dir = tmp();
    let notes = file(
        dir.path(),
        "notes.txt",
        "bought two GPUs\nneed to check P2P\n",
    );
    let o = peerpath(&["import", &notes]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("error: {notes}: not a dump peerpath reads")),
        "{err}"
    );
    assert!(
        err.contains("--lspci, --tree, --dmesg or --markdown"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
    // A directory that holds no /sys tree.
    let o = peerpath(&["import", &s(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a sysfs root"), "{}", stderr(&o));
    // A file that cannot be read.
    let o = peerpath(&["import", &s(&dir.path().join("missing.txt"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}

#[test]
fn two_dumps_of_one_kind_are_an_error() {
    let dir = tmp();
    let a = file(dir.path(), "a.txt", LSPCI);
    let b = file(dir.path(), "b.txt", LSPCI);
    for args in [vec!["import", &a, &b], vec!["import", "--lspci", &a, &b]] {
        let o = peerpath(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&a) && err.contains(&b) && err.contains("both lspci output"),
            "{err}"
        );
    }
}

/// The mistake of issue 10: a markdown report given to `--lspci` is read as lspci (the
/// flag wins) but the user is told what it looks like and which flag reads it.
#[test]
fn a_report_given_to_lspci_warns_and_names_the_right_flag() {
    let dir = tmp();
    let md = file(dir.path(), "box.md", &report());
    let o = peerpath(&["import", "--lspci", &md]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("warning: {md} looks like a markdown report (")),
        "{err}"
    );
    assert!(
        err.contains("not lspci output: --markdown reads it"),
        "{err}"
    );
}

/// A directory holding a /sys tree is read as `--sysfs`; so is its `sys` directory.
#[test]
fn a_directory_is_a_sysfs_root() {
    let dir = tmp();
    peerpath_import::test_support::machine_tree(dir.path(), true).expect("tree written");
    let root = s(dir.path());
    let flagged = peerpath(&["import", "--sysfs", &root]);
    assert_eq!(flagged.status.code(), Some(0), "{}", stderr(&flagged));
    assert!(
        stdout(&flagged).contains("name: gpu-0000-01-00-0"),
        "{}",
        stdout(&flagged)
    );
    for given in [root.clone(), s(&dir.path().join("sys"))] {
        let o = peerpath(&["import", &given]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{err}");
        assert!(
            err.contains(&format!(
                "{given}: detected a sysfs root ({root}/sys), read as --sysfs"
            )),
            "{err}"
        );
        assert_eq!(stdout(&o), stdout(&flagged));
    }
}

/// Garbage is imported as what could be read (here: nothing), with warnings and exit 0:
/// the result is a valid, empty platform whose header says why. Asking to compare groups
/// the input does not carry is invalid input (exit 2).
#[test]
fn garbage_input_warns_and_never_panics() {
    let tmp = tmp();
    let dir = tmp.path();
    let junk = dir.join("junk.txt");
    let mut bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    bytes.extend_from_slice(b"\n00:01.0 PCI bridge: truncated\n\tBus: primary=00, secondary=");
    std::fs::write(&junk, &bytes).expect("write");
    for flag in ["--lspci", "--dmesg", "--markdown", "--tree"] {
        let out = dir.join(format!("out{flag}.yaml"));
        let o = peerpath(&["import", flag, &s(&junk), "-o", &s(&out)]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{flag}: {err}");
        assert!(!err.contains("panicked"), "{flag}: {err}");
        assert!(err.contains("warning:"), "{flag}: {err}");
        let c = peerpath(&["check", &s(&out)]);
        assert_eq!(c.status.code(), Some(0), "{flag}: {}", stderr(&c));
    }
    let o = peerpath(&["import", "--dmesg", &s(&junk), "--compare-groups"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("carries no IOMMU groups"),
        "{}",
        stderr(&o)
    );
    let o = peerpath(&["import", "--lspci", &s(&dir.join("missing.txt"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}

/// `simulate`, `explain`, `groups` and `dot --sysfs ROOT` import the machine in memory and
/// answer as they would from the file `import --sysfs ROOT` writes (issue 10).
#[test]
fn sysfs_commands_answer_from_the_machine_in_memory() {
    let dir = tmp();
    let root = dir.path().join("machine");
    peerpath_import::test_support::machine_tree(&root, true).expect("tree written");
    let root = s(&root);
    let file = s(&dir.path().join("box.yaml"));
    let o = peerpath(&["import", "--sysfs", &root, "-o", &file]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let runs: [&[&str]; 5] = [
        &["simulate", "--format", "json"],
        &["simulate", "--summary"],
        &["explain", "nic-0000-00-03-0", "gpu-0000-01-00-0-bar1"],
        &["groups"],
        &["dot"],
    ];
    for args in runs {
        let mut from_file = args.to_vec();
        from_file.push(&file);
        let mut in_memory = args.to_vec();
        in_memory.extend(["--sysfs", &root]);
        let f = peerpath(&from_file);
        let m = peerpath(&in_memory);
        assert_eq!(f.status.code(), Some(0), "{args:?}: {}", stderr(&f));
        assert_eq!(m.status.code(), Some(0), "{args:?}: {}", stderr(&m));
        assert!(!stdout(&m).is_empty(), "{args:?}");
        assert_eq!(stdout(&m), stdout(&f), "{args:?}");
        assert!(
            stderr(&m).contains(&format!("imported {root}/sys in memory: 6 PCI functions")),
            "{}",
            stderr(&m)
        );
    }
    // The pairing the synthetic machine offers: the NIC imports the GPU's BAR 1.
    let o = peerpath(&["simulate", "--sysfs", &root, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let pairs: Vec<(&str, &str)> = v["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            (
                p["importer"].as_str().unwrap_or_default(),
                p["export"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        pairs.contains(&("nic-0000-00-03-0", "gpu-0000-01-00-0-bar1")),
        "{pairs:?}"
    );
}

#[test]
fn sysfs_commands_reject_a_wrong_root_and_a_platform_file_besides() {
    let dir = tmp();
    let o = peerpath(&["simulate", "--sysfs", &s(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("has no sys/bus/pci/devices directory"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    let o = peerpath(&["groups", "topologies/dgx-like.yaml", "--sysfs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

/// Issue 17: `--default-mpss 0`, `1` or `8192` was accepted and written, and the written
/// platform did not load (exit 3, "a bug in the importer"). The flag is now checked by
/// the loader's rule: exit 2, saying what would be right; a valid value still imports.
#[test]
fn issue_17_default_mpss_is_checked_like_the_format_checks_mpss() {
    let dir = tmp();
    let dump = file(dir.path(), "lspci.txt", LSPCI);
    for bad in ["0", "1", "8192", "300", "lots"] {
        let o = peerpath(&["import", "--lspci", &dump, "--default-mpss", bad]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "--default-mpss {bad}: {err}");
        assert!(err.contains("128") && err.contains("4096"), "{bad}: {err}");
        assert!(!err.contains("bug in the importer"), "{bad}: {err}");
    }
    for good in ["128", "4096"] {
        let o = peerpath(&[
            "import",
            "--tree",
            &file(dir.path(), "t.txt", TREE),
            "--default-mpss",
            good,
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "--default-mpss {good}: {}",
            stderr(&o)
        );
        assert!(
            stdout(&o).contains(&format!("mpss: {good}")),
            "{good}: {}",
            stdout(&o)
        );
    }
}

/// Issue 17: a device name with U+FFFF, end to end: the file is written and loads.
#[test]
fn issue_17_a_noncharacter_in_a_device_name_imports() {
    let dir = tmp();
    let dump = file(
        dir.path(),
        "lspci.txt",
        &LSPCI.replace("GA102", "GA\u{ffff}102"),
    );
    let out = dir.path().join("box.yaml");
    let o = peerpath(&["import", "--lspci", &dump, "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = peerpath(&["check", &s(&out)]);
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
}

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

mod common;

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

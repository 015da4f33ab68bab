//! Scenario files.

use peerpath_load::scenario::load_scenario;
use peerpath_model::{Code, MapType, Outcome};

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("peerpath-load-scenarios")
        .join(format!("{}-{name}", std::process::id()));
    std::fs::create_dir_all(d.join("scenarios")).expect("dir");
    std::fs::create_dir_all(d.join("topologies")).expect("dir");
    d
}

#[test]
fn a_scenario_with_a_relative_platform_path() {
    let d = dir("relative");
    std::fs::copy(
        crate::fixture("spec-example-fixed.yaml"),
        d.join("topologies/arm.yaml"),
    )
    .expect("copy");
    let s = d.join("scenarios/cross.yaml");
    std::fs::write(
        &s,
        "description: Cross-root-port P2P on Arm without an allow-listed host bridge is refused.
platform: ../topologies/arm.yaml
expect:
  - importer: nic1
    export: gpu0-vram
    map_type: not-supported
    outcome: fails
    findings: [p2p-not-supported]
    absent: [mps-write-merge]
  - {importer: nic0, export: gpu0-vram}
",
    )
    .expect("write");
    let sc = load_scenario(&s).unwrap_or_else(|e| panic!("{e}"));
    assert!(sc.description.starts_with("Cross-root-port"));
    assert_eq!(sc.platform.name, "arm-external-tbu");
    assert!(
        sc.platform_source.ends_with("topologies/arm.yaml"),
        "{}",
        sc.platform_source
    );
    assert_eq!(sc.expect.len(), 2);
    let e = &sc.expect[0];
    assert_eq!(
        (e.importer.as_str(), e.export.as_str()),
        ("nic1", "gpu0-vram")
    );
    assert_eq!(e.map_type, Some(MapType::NotSupported));
    assert_eq!(e.outcome, Some(Outcome::Fails));
    assert_eq!(e.findings, [Code::P2pNotSupported]);
    assert_eq!(e.absent, [Code::MpsWriteMerge]);
    assert_eq!(e.line, 4);
    assert_eq!(
        (sc.expect[1].map_type.as_ref(), sc.expect[1].line),
        (None, 10)
    );
}

#[test]
fn a_scenario_with_an_inline_platform_reports_errors_in_the_scenario_file() {
    let d = dir("inline");
    let s = d.join("scenarios/inline.yaml");
    std::fs::write(
        &s,
        "description: inline
platform:
  format: 1
  name: t
  host_bridges:
  - name: hb0
    root_ports: [{name: rp0, bdf: 00:01.0, mpss: 384}]
expect: []
",
    )
    .expect("write");
    let err = load_scenario(&s).expect_err("bad mpss");
    assert_eq!(err.items.len(), 1, "{err}");
    let i = &err.items[0];
    assert_eq!(i.path, "platform.host_bridges[0].root_ports[0].mpss");
    assert_eq!((i.line, i.column), (7, 50));
    assert_eq!(i.file, s.display().to_string());
}

#[test]
fn a_valid_inline_platform() {
    let d = dir("inline-ok");
    let s = d.join("scenarios/ok.yaml");
    std::fs::write(
        &s,
        "description: ok
platform: {format: 1, name: t, host_bridges: [{name: hb0, windows: [{cpu: 0x1000, bus: 0x1000, size: 64KiB}], root_ports: [{name: rp0, bdf: 00:01.0, mpss: 256}]}],
  endpoints: [{name: a, parent: rp0, bdf: 01:00.0, bars: [{index: 0, addr: 0x1000, size: 4KiB}]}, {name: b, parent: rp0, bdf: 01:00.1}],
  exports: [{name: xa, device: a, bar: 0}]}
expect:
- {importer: b, export: xa, map_type: bus-addr, outcome: works}
",
    )
    .expect("write");
    let sc = load_scenario(&s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.platform_source, s.display().to_string());
    assert_eq!(sc.platform.imports.len(), 1);
}

#[test]
fn bad_expectations_are_located() {
    let d = dir("bad-expect");
    std::fs::copy(
        crate::fixture("spec-example-fixed.yaml"),
        d.join("topologies/arm.yaml"),
    )
    .expect("copy");
    let s = d.join("scenarios/bad.yaml");
    std::fs::write(
        &s,
        "description: bad
platform: ../topologies/arm.yaml
expect:
- {importer: nic9, export: gpu0-vram, map_type: bus-adr, outcome: broken}
- {importer: gpu0, export: gpu0-vram}
- {importer: nic0, export: gpu0-vram, findngs: []}
",
    )
    .expect("write");
    let err = load_scenario(&s).expect_err("bad");
    let text = err.to_string();
    let got: Vec<(usize, usize, &str)> = err
        .items
        .iter()
        .map(|d| (d.line, d.column, d.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (4, 14, "expect[0].importer"),
            (4, 49, "expect[0].map_type"),
            (4, 67, "expect[0].outcome"),
            (5, 28, "expect[1].export"),
            (6, 39, "expect[2].findngs"),
        ],
        "{text}"
    );
    assert!(text.contains("help: did you mean `nic0`?"), "{text}");
    assert!(text.contains("help: did you mean `bus-addr`?"), "{text}");
    assert!(
        text.contains("the platform has no pairing `gpu0` imports `gpu0-vram`"),
        "{text}"
    );
    assert!(text.contains("help: did you mean `findings`?"), "{text}");
}

#[test]
fn a_missing_platform_file_is_reported_with_its_path() {
    let d = dir("missing");
    let s = d.join("scenarios/missing.yaml");
    std::fs::write(
        &s,
        "description: x\nplatform: ../topologies/nope.yaml\nexpect: []\n",
    )
    .expect("write");
    let err = load_scenario(&s).expect_err("missing");
    assert_eq!(err.items.len(), 1, "{err}");
    assert!(err.items[0].file.ends_with("nope.yaml"));
    assert!(err.items[0].message.starts_with("cannot open"));
}

/// Issue 8: a typo in a finding code used to pass silently (`absent` of a code that
/// can never be raised is always true). It is a located load error with the closest
/// code.
#[test]
fn unknown_finding_codes_are_located_errors_with_the_closest_code() {
    let d = dir("bad-code");
    std::fs::copy(
        crate::fixture("spec-example-fixed.yaml"),
        d.join("topologies/arm.yaml"),
    )
    .expect("copy");
    let s = d.join("scenarios/typo.yaml");
    std::fs::write(
        &s,
        "description: typo
platform: ../topologies/arm.yaml
expect:
- importer: nic1
  export: gpu0-vram
  findings: [p2p-not-supported, mps-exceded]
  absent: [p2p-not-suported]
",
    )
    .expect("write");
    let err = load_scenario(&s).expect_err("typo");
    let text = err.to_string();
    let got: Vec<(usize, usize, &str)> = err
        .items
        .iter()
        .map(|d| (d.line, d.column, d.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (6, 33, "expect[0].findings[1]"),
            (7, 12, "expect[0].absent[0]")
        ],
        "{text}"
    );
    assert!(
        text.contains("unknown finding code `p2p-not-suported`"),
        "{text}"
    );
    assert!(
        text.contains("help: did you mean `p2p-not-supported`?"),
        "{text}"
    );
    assert!(
        text.contains("help: did you mean `mps-exceeded`?"),
        "{text}"
    );
}

//! Integration tests of `peerpath-load`, in one binary (one link on a 2-core CI).

mod conversion;
mod dump;
mod example;
mod expansion;
mod paths;
mod robustness;
mod roundtrip;
mod scale;
mod scenario;
mod timing;
mod validation;

use expect_test::Expect;
use peerpath_model::Platform;

/// A host bridge with one 256 MiB window and one root port (7 lines).
pub const HB: &str = "format: 1
name: t
host_bridges:
- name: hb0
  windows: [{cpu: 0x1000_0000, bus: 0x1000_0000, size: 256MiB}]
  root_ports:
  - {name: rp0, bdf: 00:01.0, mpss: 256}
";

/// `HB` plus an endpoint with one BAR (9 lines).
pub const EP: &str = "format: 1
name: t
host_bridges:
- name: hb0
  windows: [{cpu: 0x1000_0000, bus: 0x1000_0000, size: 256MiB}]
  root_ports:
  - {name: rp0, bdf: 00:01.0, mpss: 256}
endpoints:
- {name: ep0, parent: rp0, bdf: 01:00.0, bars: [{index: 0, addr: 0x1000_0000, size: 1MiB}]}
";

/// The plain-text diagnostics of loading `yaml`, or `ok`.
pub fn diagnostics(yaml: &str) -> String {
    match peerpath_load::load_str("t.yaml", yaml) {
        Ok(_) => "ok".to_owned(),
        Err(d) => d.to_string(),
    }
}

/// Asserts the plain-text diagnostics of loading `yaml`.
pub fn check(yaml: &str, expect: Expect) {
    expect.assert_eq(&diagnostics(yaml));
}

/// Loads `yaml`, which must be valid.
pub fn load(yaml: &str) -> Platform {
    match peerpath_load::load_str("t.yaml", yaml) {
        Ok(p) => p,
        Err(d) => panic!("expected a valid platform, got:\n{d}"),
    }
}

/// The path of a fixture file.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

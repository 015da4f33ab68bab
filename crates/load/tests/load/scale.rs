//! Large platforms load in time linear in their size: files may be up to 64 MiB
//! (platform-format.md), tens of thousands of endpoints (issue 10).

use std::fmt::Write;
use std::time::{Duration, Instant};

/// A platform of `endpoints` endpoints with one 1 MiB BAR each, hanging below the 32
/// downstream ports of one switch per PCI segment (each segment has its own host
/// bridge with one root port); `exports` exports of the first endpoints' BARs, no
/// `imports` (every endpoint imports every export it does not own), and `traffic`
/// entries for distinct pairings of the other endpoints.
pub(crate) fn generated_platform(endpoints: usize, exports: usize, traffic: usize) -> String {
    // Buses 3..=199 of each segment, 8 functions of 32 devices on each.
    const PER_SEGMENT: usize = 197 * 256;
    let segments = endpoints.div_ceil(PER_SEGMENT).max(1);
    let window = |s: usize| 0x100_0000_0000u64 * (s as u64 + 1);
    let mut y = String::from("format: 1\nname: generated\nhost_bridges:\n");
    for s in 0..segments {
        let w = window(s);
        let _ = write!(
            y,
            "- name: hb{s}\n  segment: {s}\n  windows: [{{cpu: {w:#x}, bus: {w:#x}, size: 1TiB}}]\n  \
             root_ports:\n  - {{name: rp{s}, bdf: {s:04x}:00:01.0, mpss: 256}}\n"
        );
    }
    y.push_str("switches:\n");
    for s in 0..segments {
        let _ = write!(
            y,
            "- name: sw{s}\n  parent: rp{s}\n  upstream: {{bdf: {s:04x}:01:00.0, mpss: 256}}\n  downstream:\n"
        );
        for d in 0..32 {
            let _ = writeln!(
                y,
                "  - {{name: dp{s}-{d}, bdf: {s:04x}:02:{d:02x}.0, mpss: 256}}"
            );
        }
    }
    y.push_str("endpoints:\n");
    for i in 0..endpoints {
        let (s, k) = (i / PER_SEGMENT, i % PER_SEGMENT);
        let (bus, dev, func) = (3 + k / 256, (k % 256) / 8, k % 8);
        let addr = window(s) + (k as u64) * 0x10_0000;
        let _ = writeln!(
            y,
            "- {{name: ep{i}, parent: dp{s}-{}, bdf: {s:04x}:{bus:02x}:{dev:02x}.{func}, \
             bars: [{{index: 0, addr: {addr:#x}, size: 1MiB}}]}}",
            k % 32
        );
    }
    y.push_str("exports:\n");
    for x in 0..exports {
        let _ = writeln!(y, "- {{name: x{x}, device: ep{x}, bar: 0}}");
    }
    if traffic > 0 {
        y.push_str("traffic:\n");
        let importers = endpoints - exports;
        for t in 0..traffic {
            let _ = writeln!(
                y,
                "- {{importer: ep{}, export: x{}}}",
                exports + t % importers,
                t / importers
            );
        }
    }
    y
}

#[test]
fn issue_10_traffic_against_a_million_default_pairings() {
    // 10,000 endpoints × 100 exports: 999,900 default pairings. Checking each
    // traffic entry against the pairings one by one made 20,000 entries cost 2·10^10
    // comparisons; with a set it is linear.
    let yaml = generated_platform(10_000, 100, 20_000);
    let start = Instant::now();
    let p = crate::load(&yaml);
    let took = start.elapsed();
    assert_eq!(p.imports.len(), 10_000 * 100 - 100);
    assert_eq!(p.traffic.len(), 20_000);
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn generated_platforms_are_valid_and_complete() {
    // Two segments' worth of endpoints, so the second host bridge is used too.
    let p = crate::load(&generated_platform(51_000, 3, 5));
    assert_eq!(p.nodes.len(), 2 + 2 + 2 * 33 + 51_000);
    assert_eq!(p.exports.len(), 3);
    assert_eq!(p.imports.len(), 51_000 * 3 - 3);
    assert_eq!(p.traffic.len(), 5);
}

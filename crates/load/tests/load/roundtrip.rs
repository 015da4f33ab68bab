//! `to_yaml` and the raw structs.

use peerpath_load::raw::{
    AcsBit, Addr, ExportSel, RawAcs, RawBar, RawEndpoint, RawExport, RawHostBridge, RawImport,
    RawLink, RawPciId, RawPlatform, RawRootPort, RawWindow, Size,
};
use peerpath_load::{load_raw_str, load_str, to_yaml, validate_raw};

use crate::fixture;

#[test]
fn the_spec_example_round_trips() {
    let text = std::fs::read_to_string(fixture("spec-example-fixed.yaml")).expect("fixture");
    let raw = load_raw_str("spec.yaml", &text).expect("raw");
    let yaml = to_yaml(&raw);
    let again = load_raw_str("again.yaml", &yaml).unwrap_or_else(|d| panic!("{d}\n{yaml}"));
    assert_eq!(raw, again);
    assert_eq!(
        load_str("spec.yaml", &text).expect("valid"),
        load_str("again.yaml", &yaml).expect("valid")
    );
    // Readable numbers.
    assert!(yaml.contains("0x40_0000_0000"), "{yaml}");
    assert!(yaml.contains("32GiB"), "{yaml}");
}

fn built_in_code() -> RawPlatform {
    let mut p = RawPlatform::new("built");
    p.description = Some("made by a test: 'quotes', \"double\", #hash, key: value".to_owned());
    p.host_bridges.push(RawHostBridge {
        name: "hb0".to_owned(),
        segment: Some(2),
        id: None,
        forwards_p2p: None,
        forwards_p2p_reads: None,
        direct_window: None,
        translation: None,
        iommu: None,
        stream_map: Vec::new(),
        socket: Some(1),
        numa_node: Some(3),
        p2p_bandwidth: Some("20GB/s".to_owned()),
        windows: vec![RawWindow {
            cpu: Addr(0xffff_0000_0000),
            bus: Addr(0),
            size: Size(1 << 32),
        }],
        root_ports: vec![RawRootPort {
            name: "rp0".to_owned(),
            bdf: "0002:00:01.0".parse().expect("bdf"),
            id: Some(RawPciId {
                vendor: 0x8086,
                device: 0x1c10,
            }),
            mpss: 256,
            mps: None,
            acs: Some(RawAcs {
                cap: vec![AcsBit::Sv, AcsBit::Rr],
                ctl: Some(vec![]),
            }),
            tbu: None,
            splits_oversized_writes: Some(true),
            multifunction: None,
            link: Some(RawLink {
                speed: "gen5".to_owned(),
                width: 8,
            }),
        }],
    });
    for (i, name) in ["e0", "e1"].into_iter().enumerate() {
        p.endpoints.push(RawEndpoint {
            name: name.to_owned(),
            parent: "rp0".to_owned(),
            bdf: format!("0002:01:00.{i}").parse().expect("bdf"),
            id: None,
            class: None,
            mpss: None,
            mps: None,
            dma_mask_bits: Some(40),
            bus_dma_limit: None,
            coherent: None,
            ats: None,
            trusted: None,
            multifunction: Some(true),
            acs: None,
            driver: None,
            bars: vec![RawBar {
                index: 0,
                addr: Addr(0xffff_0000_0000 + ((i as u64) << 20)),
                size: Size(12345),
                prefetchable: None,
            }],
            cc: None,
            pcie: None,
            link: None,
        });
    }
    p.exports.push(RawExport {
        name: "x".to_owned(),
        device: "e0".to_owned(),
        bar: 0,
        offset: None,
        size: Some(Size(4096)),
        via: None,
        revoke: None,
        revoke_when: None,
    });
    p.imports = Some(vec![RawImport {
        device: "e1".to_owned(),
        exports: ExportSel::All,
        allow_peer2peer: None,
        dynamic: Some(false),
    }]);
    p
}

#[test]
fn a_platform_built_in_code_serializes_and_loads_back() {
    let raw = built_in_code();
    let yaml = to_yaml(&raw);
    let again = load_raw_str("built.yaml", &yaml).unwrap_or_else(|d| panic!("{d}\n{yaml}"));
    assert_eq!(raw, again, "{yaml}");
    let loaded = load_str("built.yaml", &yaml).unwrap_or_else(|d| panic!("{d}\n{yaml}"));
    assert_eq!(loaded, validate_raw("built", &raw).expect("valid"));
    assert_eq!(loaded.imports.len(), 1);
    assert!(!loaded.imports[0].dynamic);
}

#[test]
fn an_empty_imports_list_survives_serialization() {
    let mut raw = built_in_code();
    raw.imports = Some(Vec::new());
    let again = load_raw_str("x.yaml", &to_yaml(&raw)).expect("loads");
    assert_eq!(again.imports, Some(Vec::new()));
}

#[test]
fn validate_raw_reports_paths_without_lines() {
    let mut raw = built_in_code();
    raw.endpoints[1].parent = "rp9".to_owned();
    let d = validate_raw("built", &raw).expect_err("dangling");
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.items[0].path, "endpoints[1].parent");
    assert_eq!(d.items[0].line, 0);
    assert_eq!(
        d.to_string(),
        "error: built: endpoints[1].parent: `rp9` is not defined\n  expected: the name of a root port, switch downstream port, bridge or host bridge (RCiEP)\n  help: did you mean `rp0`?"
    );
}

/// Issue 17: strings with characters YAML does not allow in a file as they are (U+FFFF,
/// NUL, other C0 and C1 controls) or that a reader may drop (U+FEFF) are written so
/// that they load back unchanged.
#[test]
fn issue_17_odd_characters_in_strings_round_trip() {
    for odd in [
        "\u{ffff}",
        "\u{fffe}",
        "\u{feff}",
        "\0",
        "\u{7}",
        "\u{1b}[0m",
        "\u{85}",
        "\u{9f}",
        "\u{2028}",
        "\t",
        "\r\n",
        "\u{10ffff}",
        "a: b # c",
        "'\"",
    ] {
        let mut raw = built_in_code();
        raw.description = Some(format!("gpu {odd} name"));
        raw.name = format!("n{odd}");
        let yaml = to_yaml(&raw);
        let again =
            load_raw_str("again.yaml", &yaml).unwrap_or_else(|d| panic!("{odd:?}: {d}\n{yaml}"));
        assert_eq!(raw, again, "{odd:?}:\n{yaml}");
    }
}

//! The emitted platform YAML, read back: well-formed, and consistent the way
//! spec/platform-format.md's validation demands (unique names and BDFs, parents that
//! exist and are ports/bridges/host bridges, BARs inside their host bridge's windows and
//! not overlapping, windows of host bridges apart, MPS ≤ MPSS, ACS ctl ⊆ cap, exports of
//! existing BARs).
//!
//! `peerpath_load::load_str` is the authority on validity and every import must load
//! (`every_realdata_import_loads`); the read-back checks here take only the loader's raw
//! structs (`load_raw_str`, no validation) and stay as a second, independent check of
//! what the importer decides.

use std::collections::{BTreeMap, BTreeSet};

use peerpath_import::{
    parse_dmesg, parse_lspci, parse_lspci_tree, parse_markdown, to_platform_yaml, ImportOptions,
    Machine,
};
use peerpath_load::raw::{AcsBit, RawAcs, RawPlatform};

/// A port's or endpoint's fields the checks look at.
struct Port<'a> {
    bdf: String,
    mpss: u32,
    mps: Option<u32>,
    acs: Option<&'a RawAcs>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Node {
    HostBridge,
    RootPort,
    Upstream,
    Downstream,
    Bridge,
    Endpoint,
}

fn check_port(p: &Port<'_>, errs: &mut Vec<String>) {
    const MPS: [u32; 6] = [128, 256, 512, 1024, 2048, 4096];
    if !MPS.contains(&p.mpss) {
        errs.push(format!("{}: mpss {}", p.bdf, p.mpss));
    }
    if p.mps.is_some_and(|m| m > p.mpss || !MPS.contains(&m)) {
        errs.push(format!("{}: mps {:?} vs mpss {}", p.bdf, p.mps, p.mpss));
    }
    if let Some(a) = p.acs {
        if let Some(ctl) = &a.ctl {
            if !ctl.iter().all(|c: &AcsBit| a.cap.contains(c)) {
                errs.push(format!("{}: acs ctl {ctl:?} not in cap {:?}", p.bdf, a.cap));
            }
        }
    }
}

/// Every validation problem of the emitted text.
fn check(yaml: &str) -> Vec<String> {
    let doc: RawPlatform = match peerpath_load::load_raw_str("emitted.yaml", yaml) {
        Ok(d) => d,
        Err(e) => return vec![format!("not readable: {e}")],
    };
    let mut errs = Vec::new();
    assert_eq!(doc.format, 1);
    assert!(doc.description.as_deref().is_some_and(|d| !d.is_empty()));
    let kernel = doc.kernel.as_ref().expect("kernel");
    assert!(kernel.arch.is_some());
    assert!(kernel.cpu.as_ref().is_some_and(|c| c.vendor.is_some()));
    let valid_name = |n: &str| {
        n.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    };
    let mut nodes: BTreeMap<String, (Node, Option<String>)> = BTreeMap::new();
    let mut bdfs = BTreeSet::new();
    let mut add = |name: &str,
                   kind: Node,
                   parent: Option<&str>,
                   bdf: Option<&str>,
                   errs: &mut Vec<String>| {
        if !valid_name(name) {
            errs.push(format!("bad name {name}"));
        }
        if nodes
            .insert(name.to_string(), (kind, parent.map(str::to_string)))
            .is_some()
        {
            errs.push(format!("duplicate name {name}"));
        }
        if let Some(b) = bdf {
            if b.parse::<peerpath_model::Bdf>().is_err() || !bdfs.insert(b.to_string()) {
                errs.push(format!("bad or duplicate bdf {b}"));
            }
        }
    };
    for i in &doc.iommus {
        add(&i.name, Node::Bridge, None, None, &mut errs);
    }
    let iommu_names: BTreeSet<&str> = doc.iommus.iter().map(|i| i.name.as_str()).collect();
    let mut windows: Vec<(u64, u64, String)> = Vec::new();
    for hb in &doc.host_bridges {
        add(&hb.name, Node::HostBridge, None, None, &mut errs);
        if hb
            .iommu
            .as_deref()
            .is_some_and(|i| !iommu_names.contains(i))
        {
            errs.push(format!("{}: unknown iommu", hb.name));
        }
        for w in &hb.windows {
            let (cpu, size) = (w.cpu.0, w.size.0);
            match size.checked_sub(1).and_then(|s| cpu.checked_add(s)) {
                Some(end) => windows.push((cpu, end, hb.name.clone())),
                None => errs.push(format!("{}: window overflows", hb.name)),
            }
        }
        for rp in &hb.root_ports {
            let bdf = rp.bdf.to_string();
            check_port(
                &Port {
                    bdf: bdf.clone(),
                    mpss: rp.mpss,
                    mps: rp.mps,
                    acs: rp.acs.as_ref(),
                },
                &mut errs,
            );
            add(
                &rp.name,
                Node::RootPort,
                Some(&hb.name),
                Some(&bdf),
                &mut errs,
            );
        }
    }
    for sw in &doc.switches {
        let up = sw.upstream.bdf.to_string();
        check_port(
            &Port {
                bdf: up.clone(),
                mpss: sw.upstream.mpss,
                mps: sw.upstream.mps,
                acs: sw.upstream.acs.as_ref(),
            },
            &mut errs,
        );
        add(
            &sw.name,
            Node::Upstream,
            Some(&sw.parent),
            Some(&up),
            &mut errs,
        );
        for dp in &sw.downstream {
            let bdf = dp.bdf.to_string();
            check_port(
                &Port {
                    bdf: bdf.clone(),
                    mpss: dp.mpss,
                    mps: dp.mps,
                    acs: dp.acs.as_ref(),
                },
                &mut errs,
            );
            add(
                &dp.name,
                Node::Downstream,
                Some(&sw.name),
                Some(&bdf),
                &mut errs,
            );
        }
    }
    for b in &doc.bridges {
        add(
            &b.name,
            Node::Bridge,
            Some(&b.parent),
            Some(&b.bdf.to_string()),
            &mut errs,
        );
    }
    for e in &doc.endpoints {
        let bdf = e.bdf.to_string();
        // The importer writes every endpoint's class and mpss, though the format has
        // defaults for both.
        if e.class.is_none() {
            errs.push(format!("{}: no class", e.name));
        }
        let Some(mpss) = e.mpss else {
            errs.push(format!("{}: no mpss", e.name));
            continue;
        };
        check_port(
            &Port {
                bdf: bdf.clone(),
                mpss,
                mps: e.mps,
                acs: e.acs.as_ref(),
            },
            &mut errs,
        );
        add(
            &e.name,
            Node::Endpoint,
            Some(&e.parent),
            Some(&bdf),
            &mut errs,
        );
    }
    // Parents exist and may have children of that kind; walk up to the host bridge.
    let host_of = |name: &str| -> Option<String> {
        let mut cur = name.to_string();
        for _ in 0..64 {
            let (k, p) = nodes.get(&cur)?;
            if *k == Node::HostBridge {
                return Some(cur);
            }
            cur = p.clone()?;
        }
        None
    };
    for (name, (kind, parent)) in &nodes {
        let Some(p) = parent else { continue };
        let Some((pk, _)) = nodes.get(p) else {
            errs.push(format!("{name}: parent {p} does not exist"));
            continue;
        };
        let ok = match kind {
            Node::RootPort => *pk == Node::HostBridge,
            Node::Upstream => matches!(pk, Node::RootPort | Node::Downstream),
            Node::Downstream => *pk == Node::Upstream,
            Node::Bridge => matches!(pk, Node::RootPort | Node::Downstream | Node::Bridge),
            Node::Endpoint => matches!(
                pk,
                Node::HostBridge | Node::RootPort | Node::Downstream | Node::Bridge
            ),
            Node::HostBridge => false,
        };
        if !ok {
            errs.push(format!("{name} ({kind:?}) below {p} ({pk:?})"));
        }
        if host_of(name).is_none() {
            errs.push(format!("{name}: no host bridge above"));
        }
    }
    windows.sort();
    for w in windows.windows(2) {
        if w[1].0 <= w[0].1 && w[0].2 != w[1].2 {
            errs.push(format!("windows of {} and {} overlap", w[0].2, w[1].2));
        }
    }
    let mut bars: Vec<(u64, u64, String)> = Vec::new();
    let mut bar_index: BTreeSet<(String, u8)> = BTreeSet::new();
    for e in &doc.endpoints {
        let hb = host_of(&e.name).unwrap_or_default();
        for b in &e.bars {
            let (a, s) = (b.addr.0, b.size.0);
            let end = a + (s - 1);
            bar_index.insert((e.name.clone(), b.index));
            bars.push((a, end, e.name.clone()));
            if !windows
                .iter()
                .any(|(ws, we, h)| *h == hb && *ws <= a && end <= *we)
            {
                errs.push(format!(
                    "{} BAR {} outside every window of {hb}",
                    e.name, b.index
                ));
            }
        }
    }
    bars.sort();
    for w in bars.windows(2) {
        if w[1].0 <= w[0].1 {
            errs.push(format!("BARs of {} and {} overlap", w[0].2, w[1].2));
        }
    }
    let mut export_names = BTreeSet::new();
    for x in &doc.exports {
        if !export_names.insert(x.name.clone()) || !valid_name(&x.name) {
            errs.push(format!("export name {}", x.name));
        }
        if !bar_index.contains(&(x.device.clone(), x.bar)) {
            errs.push(format!("export {} of a BAR that does not exist", x.name));
        }
    }
    assert!(valid_name(&doc.name));
    errs
}

fn realdata(name: &str) -> String {
    let path = format!(
        "{}/../../../shared/realdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("realdata fixture {path} is required and could not be read: {e}")
    })
}

fn assert_valid(what: &str, m: &Machine) {
    let y = to_platform_yaml(m, &ImportOptions::default());
    let errs = check(&y);
    assert!(errs.is_empty(), "{what}:\n{}\n---\n{y}", errs.join("\n"));
}

#[test]
fn every_realdata_import_reads_back_valid() {
    let altra = realdata("ampere-altra-adlink-devplatform-2gpu.lspci-vvnn-with-iommu-groups.txt");
    assert_valid("altra", &parse_lspci(&altra, None));
    let genoa = realdata("epyc-genoa-as4125gs-tnrt-2xh100.dmesg-iommu-groups.txt");
    let mut g = parse_dmesg(&genoa);
    assert_valid("genoa dmesg", &g);
    g.merge(parse_lspci(
        &realdata("epyc-genoa-as4125gs-tnrt-2xh100.lspci.txt"),
        None,
    ));
    assert_valid("genoa dmesg + lspci", &g);
    for md in [
        "threadripper-pro-wrx90-2gpu.lspci-tv.topo-m.p2p.md",
        "epyc-genoa-esc8000a-e12-4gpu.lspci-tv.topo-m.p2p.md",
    ] {
        assert_valid(md, &parse_markdown(&realdata(md)));
    }
    let am5 = realdata("amd-am5-2xarc-b70-separate-rootports.p2p-works.log");
    assert_valid("am5", &parse_lspci_tree(&am5).to_machine());
    let intel = realdata("intel-client-2xarc-b70-separate-rootports.p2pdma-refused.log");
    assert_valid("intel", &parse_dmesg(&intel));
    for plain in [
        "epyc-naples-8xvega20-4xpex8747.lspci.txt",
        "epyc-genoa-as4125gs-tnrt-2xh100.lspci.txt",
    ] {
        assert_valid(plain, &parse_lspci(&realdata(plain), None));
    }
    assert_valid("nothing", &parse_lspci("", None));
}

/// Every realdata import, as the CLI would produce it.
fn realdata_imports() -> Vec<(&'static str, Machine)> {
    let altra = realdata("ampere-altra-adlink-devplatform-2gpu.lspci-vvnn-with-iommu-groups.txt");
    let genoa = parse_dmesg(&realdata(
        "epyc-genoa-as4125gs-tnrt-2xh100.dmesg-iommu-groups.txt",
    ));
    let mut genoa_merged = genoa.clone();
    genoa_merged.merge(parse_lspci(
        &realdata("epyc-genoa-as4125gs-tnrt-2xh100.lspci.txt"),
        None,
    ));
    vec![
        ("altra", parse_lspci(&altra, None)),
        ("genoa", genoa),
        ("genoa+lspci", genoa_merged),
        (
            "wrx90",
            parse_markdown(&realdata(
                "threadripper-pro-wrx90-2gpu.lspci-tv.topo-m.p2p.md",
            )),
        ),
        (
            "esc8000a",
            parse_markdown(&realdata(
                "epyc-genoa-esc8000a-e12-4gpu.lspci-tv.topo-m.p2p.md",
            )),
        ),
        (
            "am5",
            parse_lspci_tree(&realdata(
                "amd-am5-2xarc-b70-separate-rootports.p2p-works.log",
            ))
            .to_machine(),
        ),
        (
            "intel",
            parse_dmesg(&realdata(
                "intel-client-2xarc-b70-separate-rootports.p2pdma-refused.log",
            )),
        ),
        (
            "naples",
            parse_lspci(&realdata("epyc-naples-8xvega20-4xpex8747.lspci.txt"), None),
        ),
        ("nothing", parse_lspci("", None)),
    ]
}

#[test]
fn every_realdata_import_loads() {
    for (name, m) in realdata_imports() {
        let y = to_platform_yaml(&m, &ImportOptions::default());
        match peerpath_load::load_str(name, &y) {
            Ok(p) => assert!(p.nodes.len() <= m.devices.len() + m.root_buses.len()),
            Err(d) => panic!("{name} does not load:\n{d:?}\n---\n{y}"),
        }
        // The comment header lists every node (ids, name and group from the dump).
        let raw = peerpath_load::load_raw_str(name, &y).expect("raw");
        let header: Vec<&str> = y.lines().take_while(|l| l.starts_with('#')).collect();
        let listed = |n: &str| header.iter().any(|l| l.starts_with(&format!("# - {n}: ")));
        for n in raw
            .endpoints
            .iter()
            .map(|e| &e.name)
            .chain(raw.bridges.iter().map(|b| &b.name))
            .chain(raw.switches.iter().map(|s| &s.name))
        {
            assert!(listed(n), "{name}: {n} not in the header:\n{y}");
        }
        // Without measured ACS Control and without exports it loads too.
        let opts = ImportOptions {
            measured_acs_ctl: false,
            export_gpu_bars: false,
            acs_from_groups: false,
            ..ImportOptions::default()
        };
        let y = to_platform_yaml(&m, &opts);
        assert!(
            peerpath_load::load_str(name, &y).is_ok(),
            "{name} with other options"
        );
    }
}

#[test]
fn odd_names_are_quoted() {
    let m = parse_lspci(
        &realdata("ampere-altra-adlink-devplatform-2gpu.lspci-vvnn-with-iommu-groups.txt"),
        None,
    );
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

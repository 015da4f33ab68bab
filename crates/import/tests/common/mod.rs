//! The read-back check of emitted platform YAML, shared by `yaml_output.rs` and
//! `realdata.rs`.

use std::collections::{BTreeMap, BTreeSet};

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
#[allow(
    clippy::too_many_lines,
    reason = "test support: one check per section of the emitted file"
)]
pub(crate) fn check(yaml: &str) -> Vec<String> {
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

//! The class key against the rules (issue 20): a field the rules read but the key
//! forgets is caught.
//!
//! - [`mutated_fields_keep_class_verdicts_equal_direct`]: on random platforms, every
//!   field of one importer, of one port above it and of one import is changed in turn
//!   (the mutator destructures the model types with no `..`, so a new field fails to
//!   compile here until it gets a mutation), and the verdict handed out through the
//!   class cache must still equal each pairing's own evaluation. A changed field makes
//!   exactly the pairings that differ only in it, which is where a stale key shows.
//! - [`a_field_left_out_of_the_key_is_caught`]: for each keyed field a mutation
//!   reaches, the key is built without it ([`blinded`]) and the first property must
//!   find a pairing whose class verdict is wrong.

use std::cell::Cell;

use peerpath_model::{
    Acs, AcsFlags, DeviceCc, DeviceClass, Driver, Endpoint, Import, Link, LinkSpeed, Node, NodeId,
    NodeKind, Platform, Port, TbuId,
};
use peerpath_testkit::{dump, strategy, Case};
use peerpath_topology::Topology;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use std::collections::BTreeMap;
use std::sync::Arc;

use peerpath_engine::{AcsReader, Engine, Hardware};

use super::{Classes, Field};
use crate::for_each_verdict;
use crate::pair::evaluate_import;
use crate::report::Verdict;
use crate::routes::Routes;

thread_local! {
    static BLIND: Cell<&'static [Field]> = const { Cell::new(&[]) };
}

/// Whether a test has left `field` out of the key on this thread.
pub(super) fn blinded(field: Field) -> bool {
    BLIND.with(|b| b.get().contains(&field))
}

/// Runs `f` with `fields` left out of the key on this thread.
fn with_blind<T>(fields: &'static [Field], f: impl FnOnce() -> T) -> T {
    BLIND.with(|b| b.set(fields));
    let out = f();
    BLIND.with(|b| b.set(&[]));
    out
}

/// The deterministic cases: random platforms of the cross-model properties' knobs.
fn cases(n: usize) -> Vec<Case> {
    let mut runner = TestRunner::deterministic();
    let strategy = strategy::cases();
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// What a mutant changed, for messages and for matching blinded fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Changed {
    Class,
    Pcie,
    PciId,
    PortPciId,
    Mpss,
    Mps,
    DmaMaskBits,
    BusDmaLimit,
    Coherent,
    Ats,
    Trusted,
    Multifunction,
    Acs,
    Driver,
    Bars,
    Cc,
    Link,
    PortMpss,
    PortMps,
    PortAcs,
    PortTbu,
    PortSplits,
    PortMultifunction,
    AllowPeer2peer,
    Dynamic,
    IdeStreams,
}

impl Changed {
    const ALL: &[Changed] = &[
        Changed::Class,
        Changed::Pcie,
        Changed::PciId,
        Changed::PortPciId,
        Changed::Mpss,
        Changed::Mps,
        Changed::DmaMaskBits,
        Changed::BusDmaLimit,
        Changed::Coherent,
        Changed::Ats,
        Changed::Trusted,
        Changed::Multifunction,
        Changed::Acs,
        Changed::Driver,
        Changed::Bars,
        Changed::Cc,
        Changed::Link,
        Changed::PortMpss,
        Changed::PortMps,
        Changed::PortAcs,
        Changed::PortTbu,
        Changed::PortSplits,
        Changed::PortMultifunction,
        Changed::AllowPeer2peer,
        Changed::Dynamic,
        Changed::IdeStreams,
    ];
}

fn endpoint_mut(p: &mut Platform, id: NodeId) -> &mut Endpoint {
    match &mut p.nodes[id.index()].kind {
        NodeKind::Endpoint(e) => e,
        _ => unreachable!("an importer is an endpoint"),
    }
}

fn port_mut(p: &mut Platform, id: NodeId) -> Option<&mut Port> {
    match &mut p.nodes[id.index()].kind {
        NodeKind::RootPort(q) | NodeKind::SwitchUpstream(q) | NodeKind::SwitchDownstream(q) => {
            Some(q)
        }
        _ => None,
    }
}

fn other_mps(v: u32) -> u32 {
    if v == 128 {
        4096
    } else {
        128
    }
}

/// Every single-field change of the importer `e`: one mutant per field of `Node` and
/// `Endpoint`.
fn endpoint_mutants(p: &Platform, id: NodeId, out: &mut Vec<(Changed, Platform)>) {
    let Node {
        // Names differ between the pairings of a class by definition.
        name: _,
        // Moving a node is not one field's change: the chain's shape covers it.
        parent: _,
        // Renumbering needs the whole segment renumbered; `same_slot` is exercised by
        // the generator's multifunction devices and slots.
        bdf: _,
        kind: _,
        link,
        pci_id,
    } = p.node(id);
    let NodeKind::Endpoint(e) = &p.node(id).kind else {
        return;
    };
    let Endpoint {
        class,
        mpss,
        mps,
        dma_mask_bits,
        bus_dma_limit,
        coherent,
        ats,
        trusted,
        multifunction,
        acs,
        driver,
        bars,
        cc,
        pcie,
    } = e;
    let mut m = |what: Changed, f: &dyn Fn(&mut Platform)| {
        let mut q = p.clone();
        f(&mut q);
        out.push((what, q));
    };
    let next = |all: &[DeviceClass], v: DeviceClass| {
        all[(all.iter().position(|c| *c == v).unwrap_or(0) + 1) % all.len()]
    };
    let class = next(DeviceClass::ALL, *class);
    m(Changed::Class, &|q| endpoint_mut(q, id).class = class);
    let (mpss, mps) = (other_mps(*mpss), *mps);
    m(Changed::Mpss, &|q| {
        let e = endpoint_mut(q, id);
        e.mpss = mpss;
        e.mps = mps.min(mpss);
    });
    let mps = if e.mps == 128 { e.mpss } else { 128 };
    m(Changed::Mps, &|q| endpoint_mut(q, id).mps = mps);
    let bits = if *dma_mask_bits == 64 { 32 } else { 64 };
    m(Changed::DmaMaskBits, &|q| {
        endpoint_mut(q, id).dma_mask_bits = bits
    });
    let limit = match bus_dma_limit {
        None => Some(0xffff_ffff),
        Some(_) => None,
    };
    m(Changed::BusDmaLimit, &|q| {
        endpoint_mut(q, id).bus_dma_limit = limit
    });
    m(Changed::Coherent, &|q| {
        endpoint_mut(q, id).coherent = !coherent
    });
    m(Changed::Ats, &|q| endpoint_mut(q, id).ats = !ats);
    m(Changed::Trusted, &|q| {
        endpoint_mut(q, id).trusted = !trusted
    });
    m(Changed::Multifunction, &|q| {
        endpoint_mut(q, id).multifunction = !multifunction
    });
    let acs = match acs {
        None => Some(Acs {
            cap: AcsFlags::all(),
            ctl: None,
        }),
        Some(_) => None,
    };
    m(Changed::Acs, &|q| endpoint_mut(q, id).acs = acs);
    let all = Driver::ALL;
    let driver = all[(all.iter().position(|d| d == driver).unwrap_or(0) + 1) % all.len()];
    m(Changed::Driver, &|q| endpoint_mut(q, id).driver = driver);
    if !bars.is_empty() && !p.exports.iter().any(|x| x.device == id) {
        m(Changed::Bars, &|q| endpoint_mut(q, id).bars.clear());
    }
    let cc = match cc {
        None => Some(DeviceCc {
            state: peerpath_model::CcState::Private,
            tdisp: peerpath_model::TdispState::Run,
        }),
        Some(_) => None,
    };
    m(Changed::Cc, &|q| endpoint_mut(q, id).cc = cc);
    m(Changed::Pcie, &|q| endpoint_mut(q, id).pcie = !pcie);
    let link = match link {
        None => Some(Link {
            speed: LinkSpeed::ALL[0],
            width: 1,
        }),
        Some(_) => None,
    };
    m(Changed::Link, &|q| q.nodes[id.index()].link = link);
    // An id a kernel quirk matches (an Intel multifunction NIC: ACS for its functions;
    // a Marvell SATA controller: DMA as function 1), or none.
    let quirked = match pci_id {
        None if e.multifunction => Some(peerpath_model::PciId {
            vendor: 0x8086,
            device: 0x10fb,
        }),
        None => Some(peerpath_model::PciId {
            vendor: 0x1b4b,
            device: 0x9120,
        }),
        Some(_) => None,
    };
    m(Changed::PciId, &|q| q.nodes[id.index()].pci_id = quirked);
}

/// Every single-field change of the port `id`: one mutant per field of `Port`.
fn port_mutants(p: &Platform, id: NodeId, out: &mut Vec<(Changed, Platform)>) {
    let (NodeKind::RootPort(port)
    | NodeKind::SwitchUpstream(port)
    | NodeKind::SwitchDownstream(port)) = &p.node(id).kind
    else {
        return;
    };
    let Port {
        mpss,
        mps,
        acs,
        tbu,
        splits_oversized_writes,
        multifunction,
    } = port;
    // A root port quirked as isolating (an Intel PCH root port), or no id.
    let quirked = match p.node(id).pci_id {
        None => Some(peerpath_model::PciId {
            vendor: 0x8086,
            device: 0x1c10,
        }),
        Some(_) => None,
    };
    let mut m = |what: Changed, f: &dyn Fn(&mut Platform)| {
        let mut q = p.clone();
        f(&mut q);
        out.push((what, q));
    };
    let (mpss, mps) = (other_mps(*mpss), *mps);
    m(Changed::PortMpss, &|q| {
        if let Some(x) = port_mut(q, id) {
            x.mpss = mpss;
            x.mps = mps.min(mpss);
        }
    });
    let mps = if port.mps == 128 { port.mpss } else { 128 };
    m(Changed::PortMps, &|q| {
        if let Some(x) = port_mut(q, id) {
            x.mps = mps;
        }
    });
    // Redirect on where it was off (or no capability), off where it was on.
    let acs = match acs {
        None => Some(Acs {
            cap: AcsFlags::all(),
            ctl: Some(AcsFlags::SV | AcsFlags::RR | AcsFlags::CR | AcsFlags::UF),
        }),
        Some(a) => Some(Acs {
            cap: a.cap | AcsFlags::RR | AcsFlags::CR,
            ctl: Some(if a.ctl.is_some_and(|c| c.contains(AcsFlags::RR)) {
                AcsFlags::empty()
            } else {
                AcsFlags::RR | AcsFlags::CR
            }),
        }),
    };
    m(Changed::PortAcs, &|q| {
        q.kernel.disable_acs_redir.retain(|n| *n != id);
        q.kernel.config_acs.retain(|c| c.port != id);
        if let Some(x) = port_mut(q, id) {
            x.acs = acs;
        }
    });
    // No TBU where there was one; where there was none, the first of the host
    // bridge's IOMMU (the loader allows no other).
    let hb_iommu = {
        let mut cur = id;
        while let Some(up) = p.node(cur).parent {
            cur = up;
        }
        match &p.node(cur).kind {
            NodeKind::HostBridge(h) => h.iommu,
            _ => None,
        }
    };
    let other_tbu = match tbu {
        Some(_) => None,
        None => hb_iommu
            .filter(|i| !p.iommu(*i).tbus.is_empty())
            .map(|iommu| TbuId { iommu, index: 0 }),
    };
    m(Changed::PortTbu, &|q| {
        if let Some(x) = port_mut(q, id) {
            x.tbu = other_tbu;
        }
    });
    m(Changed::PortSplits, &|q| {
        if let Some(x) = port_mut(q, id) {
            x.splits_oversized_writes = !splits_oversized_writes;
        }
    });
    m(Changed::PortPciId, &|q| {
        q.nodes[id.index()].pci_id = quirked
    });
    m(Changed::PortMultifunction, &|q| {
        if let Some(x) = port_mut(q, id) {
            x.multifunction = !multifunction;
        }
    });
}

/// Both flags of import `k`.
fn import_mutants(p: &Platform, k: usize, out: &mut Vec<(Changed, Platform)>) {
    let Import {
        // Which pairing: the mutation is of one pairing's flags.
        importer: _,
        export: _,
        allow_peer2peer,
        dynamic,
    } = p.imports[k];
    let mut q = p.clone();
    q.imports[k].allow_peer2peer = !allow_peer2peer;
    out.push((Changed::AllowPeer2peer, q));
    let mut q = p.clone();
    q.imports[k].dynamic = !dynamic;
    out.push((Changed::Dynamic, q));
}

/// The mutants of one case: the importer of one pairing, one port above it and that
/// pairing's flags, each field in turn. Only mutants that load back are kept (dumped
/// and loaded: the loader is the judge of validity).
fn mutants(p: &Platform, seed: u64) -> Vec<(Changed, Platform)> {
    if p.imports.is_empty() {
        return Vec::new();
    }
    let k = (seed % p.imports.len() as u64) as usize;
    let imp = p.imports[k].importer;
    let exporter = p.export(p.imports[k].export).device;
    let mut out = Vec::new();
    endpoint_mutants(p, imp, &mut out);
    // Every port above the importer or the exporter.
    let mut ports = Vec::new();
    for start in [imp, exporter] {
        let mut cur = p.node(start).parent;
        while let Some(c) = cur {
            if !ports.contains(&c) {
                ports.push(c);
            }
            cur = p.node(c).parent;
        }
    }
    for port in ports {
        port_mutants(p, port, &mut out);
    }
    import_mutants(p, k, &mut out);
    // `ide_streams` (C3): listed and empty, or not stated (then two private TDIs in
    // RUN are assumed to share a stream).
    let mut q = p.clone();
    q.ide_streams = match &p.ide_streams {
        None => Some(Vec::new()),
        Some(_) => None,
    };
    out.push((Changed::IdeStreams, q));
    out.into_iter()
        .filter_map(|(what, q)| {
            let text = dump::to_yaml(&q);
            peerpath_load::load_str("mutant.yaml", &text)
                .ok()
                .map(|q| (what, q))
        })
        .collect()
}

/// Each pairing's own verdict, by (importer, export) name, with the key's values:
/// the class key with the interned shapes spelled out, so that keys of two platforms
/// can be compared.
struct Evaluated {
    pairs: BTreeMap<(String, String), (Option<KeyValue>, Verdict)>,
}

/// A [`super::ClassKey`] by value: names for ids, shapes for interned numbers.
#[derive(Debug, PartialEq)]
struct KeyValue {
    export: String,
    /// Within one platform the export id stands for its device and the device's chain;
    /// across two platforms their shapes must be compared.
    exporter: super::EndpointShape,
    exporter_chain: Vec<super::PortShape>,
    importer_hb: String,
    meet: Option<u32>,
    same_slot: bool,
    chain: Vec<super::PortShape>,
    importer: super::EndpointShape,
    flags: [bool; 5],
}

fn evaluate(p: &Platform) -> Evaluated {
    let topo = Topology::new(p);
    let mut engine = Engine::on(Arc::new(Hardware::new(&topo, AcsReader::Hardware)));
    let places = crate::Places::of(p);
    let verdicts = p.imports.iter().map(|i| {
        Verdict::of(
            &evaluate_import(&topo, &mut engine, i, Routes::None),
            &places,
        )
    });
    let pairs = keys(p)
        .into_iter()
        .zip(verdicts)
        .map(|((names, key), verdict)| (names, (key, verdict)))
        .collect();
    Evaluated { pairs }
}

/// Each pairing's key by value, by (importer, export) name, in import order.
fn keys(p: &Platform) -> Vec<((String, String), Option<KeyValue>)> {
    let topo = Topology::new(p);
    let classes = Classes::new(&topo);
    let chain = |from: NodeId| {
        let mut out = Vec::new();
        let mut cur = p.node(from).parent;
        while let Some(c) = cur {
            out.push(super::port_shape(&topo, c));
            cur = p.node(c).parent;
        }
        out
    };
    let shape = |id: NodeId| match &p.node(id).kind {
        NodeKind::Endpoint(e) => Some(super::endpoint_shape(&topo, id, e)),
        _ => None,
    };
    p.imports
        .iter()
        .map(|import| {
            let exporter = p.export(import.export).device;
            let key = classes.shape_of(import).and_then(|k| {
                Some(KeyValue {
                    export: p.export(k.export).name.clone(),
                    exporter: shape(exporter)?,
                    exporter_chain: chain(exporter),
                    importer_hb: p.node(k.importer_hb).name.clone(),
                    meet: k.meet,
                    same_slot: k.same_slot,
                    chain: chain(import.importer),
                    importer: shape(import.importer)?,
                    flags: [
                        k.same_group,
                        k.reach_to,
                        k.reach_from,
                        k.allow_peer2peer,
                        k.dynamic,
                    ],
                })
            });
            let names = (
                p.node(import.importer).name.clone(),
                p.export(import.export).name.clone(),
            );
            (names, key)
        })
        .collect()
}

/// `e` with its keys made again (under whatever the thread has blinded).
fn rekeyed(p: &Platform, e: &Evaluated) -> Evaluated {
    let pairs = keys(p)
        .into_iter()
        .filter_map(|(names, key)| {
            let verdict = e.pairs.get(&names)?.1.clone();
            Some((names, (key, verdict)))
        })
        .collect();
    Evaluated { pairs }
}

/// The first pairing whose class verdict differs from its own evaluation.
fn stale_class(p: &Platform, own: &Evaluated) -> Option<String> {
    let topo = Topology::new(p);
    let r: Result<(), String> = for_each_verdict(&topo, 1, |import, v| {
        let names = (
            p.node(import.importer).name.clone(),
            p.export(import.export).name.clone(),
        );
        match own.pairs.get(&names) {
            Some((_, alone)) if alone == v => Ok(()),
            alone => Err(format!(
                "{} <- {}: class verdict {v:?}, alone {alone:?}",
                names.0, names.1
            )),
        }
    });
    r.err()
}

/// The first pairing whose key is the same on the platform before and after one
/// field changed, while its verdict is not: the key misses what changed it.
fn stale_key(before: &Evaluated, after: &Evaluated) -> Option<String> {
    after.pairs.iter().find_map(|(names, (key, verdict))| {
        let (key_before, verdict_before) = before.pairs.get(names)?;
        (key.is_some() && key == key_before && verdict != verdict_before).then(|| {
            format!(
                "{} <- {}: same key, verdict {verdict_before:?} became {verdict:?}",
                names.0, names.1
            )
        })
    })
}

/// A mutant with what changed and its evaluation.
type Mutant = (Changed, Platform, Evaluated);

/// Cases for the first property; `PROPTEST_CASES` raises it.
fn count() -> usize {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(24, |n: usize| n.max(24))
}

/// The platforms of the repository: its topologies and the scenarios' platforms,
/// made to raise every finding.
fn repository_platforms() -> Vec<Platform> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["topologies", "scenarios"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for f in files {
            let p = if dir == "scenarios" {
                peerpath_load::scenario::load_scenario(&f).map(|s| s.platform)
            } else {
                peerpath_load::load_file(&f)
            };
            out.push(p.unwrap_or_else(|e| panic!("{e}")));
        }
    }
    out
}

#[test]
fn mutated_fields_keep_class_verdicts_equal_direct() {
    let mut kinds = Vec::new();
    let mut checked = 0;
    for case in cases(count()) {
        let p = case.platform();
        let before = evaluate(&p);
        for (what, q) in mutants(&p, case.seed) {
            let after = evaluate(&q);
            if let Some(e) = stale_class(&q, &after).or_else(|| stale_key(&before, &after)) {
                panic!("{what:?} changed on {case:?}: {e}\n{}", dump::to_yaml(&q));
            }
            checked += 1;
            if !kinds.contains(&what) {
                kinds.push(what);
            }
        }
    }
    // Non-vacuous: hundreds of mutants, and every kind of change made at least once.
    assert!(checked >= 300, "only {checked} mutants loaded");
    for what in Changed::ALL {
        assert!(kinds.contains(what), "no mutant changed {what:?}");
    }
}

/// For each keyed field a mutation reaches: the key without it is caught by the
/// first property — on the repository's platforms (each finding raised somewhere)
/// and on random ones. Where a field also reaches the verdict through a derived
/// value that is keyed too (`trusted` through the domain it forces, an endpoint's
/// `acs` through its effective ACS state), both are left out. Not here: `coherent`,
/// which only chooses between two mergeable memory types (K2.3: Normal write-back
/// or Normal non-cacheable), so no verdict depends on it today — it stays keyed
/// because the mapping's attributes are shown; and a root port's TBU, which only
/// moves the translation from the SMMU to the TBU (another TLB, the same tables).
#[test]
fn a_field_left_out_of_the_key_is_caught() {
    let fields: [(&[Field], Changed); 14] = [
        (&[Field::Mps], Changed::Mpss),
        (&[Field::DmaMaskBits], Changed::DmaMaskBits),
        (&[Field::BusDmaLimit], Changed::BusDmaLimit),
        (&[Field::Ats], Changed::Ats),
        (&[Field::Trusted, Field::Domain], Changed::Trusted),
        (&[Field::Acs, Field::AcsState], Changed::Acs),
        (&[Field::Driver], Changed::Driver),
        (&[Field::Cc], Changed::Cc),
        (&[Field::PortAcs], Changed::PortAcs),
        (&[Field::PortMps], Changed::PortMpss),
        (&[Field::PortSplits], Changed::PortSplits),
        (&[Field::AllowPeer2peer], Changed::AllowPeer2peer),
        (&[Field::Dynamic], Changed::Dynamic),
        (&[Field::Ide], Changed::IdeStreams),
    ];
    let bases: Vec<(Platform, u64)> = repository_platforms()
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p, i as u64))
        .chain(cases(24).into_iter().map(|c| (c.platform(), c.seed)))
        .collect();
    // Verdicts do not depend on the key: evaluate every base and mutant once.
    let evaluated: Vec<(Platform, Evaluated, Vec<Mutant>)> = bases
        .into_iter()
        .map(|(p, seed)| {
            let mutated = mutants(&p, seed)
                .into_iter()
                .map(|(what, q)| {
                    let e = evaluate(&q);
                    (what, q, e)
                })
                .collect();
            let e = evaluate(&p);
            (p, e, mutated)
        })
        .collect();
    let mut missed = Vec::new();
    for (fields, change) in fields {
        let caught = evaluated.iter().any(|(p, before, mutated)| {
            mutated
                .iter()
                .filter(|(what, _, _)| *what == change)
                .any(|(_, q, after)| {
                    with_blind(fields, || {
                        stale_key(&rekeyed(p, before), &rekeyed(q, after)).is_some()
                    })
                })
        });
        if !caught {
            missed.push(fields);
        }
    }
    assert!(
        missed.is_empty(),
        "left out of the key but not caught: {missed:?}"
    );
}

/// Issue 22: two importers of one shape, one of which shares its StreamID with a third
/// device (not the exporter, so `same_group` does not tell them apart). Only
/// `sid_alias` separates their keys; without it they share a class and a verdict
/// that is wrong for one of them.
#[test]
fn stream_id_alias_needs_its_own_key_field() {
    use peerpath_model::{IommuKind, PlatformBuilder, Via};
    let mut b = PlatformBuilder::new("alias");
    b.memory("dram0", 0x8000_0000, 16 << 30);
    let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
    let hb0 = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
    let hb1 = b.host_bridge("hb1", 1, 0x50_0000_0000, 0x10_0000_0000);
    b.host_bridge_mut(hb0).iommu = Some(smmu);
    b.host_bridge_mut(hb1).iommu = Some(smmu);
    let rp0 = b.root_port("rp0", hb0, "00:01.0", 256);
    b.endpoint("nic0", rp0, "01:00.0", 0x40_1000_0000, 1 << 20);
    let rp1 = b.root_port("rp1", hb0, "00:02.0", 256);
    let gpu = b.endpoint("gpu0", rp1, "02:00.0", 0x40_0000_0000, 256 << 20);
    let rp2 = b.root_port("rp2", hb1, "0001:00:04.0", 256);
    let nic_a = b.endpoint("nic-a", rp2, "0001:01:00.0", 0x50_0000_0000, 1 << 20);
    let rp3 = b.root_port("rp3", hb1, "0001:00:05.0", 256);
    let nic_b = b.endpoint("nic-b", rp3, "0001:05:00.0", 0x50_1000_0000, 1 << 20);
    let e = b.export("gpu0-bar0", gpu, 0, Via::VfioDmabuf);
    b.import(nic_a, e);
    b.import(nic_b, e);
    let p = b.build();
    let own = evaluate(&p);
    let codes = |who: &str| {
        let (_, v) = &own.pairs[&(who.to_owned(), "gpu0-bar0".to_owned())];
        format!("{v:?}")
    };
    assert!(
        codes("nic-a").contains("StreamIdAlias"),
        "{}",
        codes("nic-a")
    );
    assert!(
        !codes("nic-b").contains("StreamIdAlias"),
        "{}",
        codes("nic-b")
    );
    let clash = |e: &Evaluated| {
        let v: Vec<_> = e.pairs.values().collect();
        v.iter()
            .any(|a| v.iter().any(|b| a.0.is_some() && a.0 == b.0 && a.1 != b.1))
    };
    assert!(!clash(&rekeyed(&p, &own)), "keys clash with sid_alias");
    assert!(
        with_blind(&[Field::SidAlias], || clash(&rekeyed(&p, &own))),
        "without sid_alias the two importers should share a key"
    );
    assert_eq!(stale_class(&p, &own), None);
}

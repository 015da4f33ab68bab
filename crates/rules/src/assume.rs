//! Every assumed fact tried both ways (issue 24): a verdict is definite only when it
//! rests on facts.
//!
//! A platform lists in `assumed` the facts it does not know (an import writes the
//! ones its dump did not show). Each is decided with the value the file gives (or the
//! format's default); here the pairings are decided again under the alternatives,
//! and every alternative under which a pairing's outcome changes is reported with
//! it as `depends_on`. The alternatives of each fact:
//! - `kernel.cpu.vendor` (x86 only: K1.6's CPU rule is x86's): AMD (family 0x19 where
//!   the family is not given) or Intel, whichever the file does not say;
//! - `kernel.cpu.family` (AMD only): the other side of `cpu_supports_p2pdma`'s
//!   0x17 — 0x19 for a family below it or not given, 0x15 for one from it;
//! - `kernel.default_domain`: `identity` for a translated default, `dma` for
//!   `identity` (`iommu.passthrough`);
//! - a host bridge's `id`: an allow-listed id (K1.7, [`k1_map_type::listed_example`])
//!   for one not listed or not given, none for a listed one;
//! - a host bridge's `forwards_p2p`: each of the two other values (H6);
//! - a root port's `splits_oversized_writes`: the other value (H4);
//! - `kernel.release`: the releases distributions ship, 4.18, 5.4, 5.15, 6.1, 6.8, and
//!   the newest modelled (`peerpath kernels` goes through every modelled boundary).
//!
//! A node's fact is tried only for pairings whose importer or exporter lies below
//! the node. Alternatives are decided per class (module `class`): pairings of one
//! class stay one class under any alternative, since the key holds the importer's
//! host bridge and the export by identity.

use std::sync::Mutex;

use rustc_hash::FxHashMap;

use peerpath_engine::Engine;
use peerpath_model::{
    Arch, CpuVendor, DomainType, Fact, ForwardsP2p, Import, NodeKind, PciId, Platform, Release,
};
use peerpath_topology::Topology;

use crate::class::ClassKey;
use crate::finding::Outcome;
use crate::k1_map_type::{self, HostBridgeMatch};
use crate::pair::evaluate_import;
use crate::report::DependsOn;
use crate::routes::Routes;

/// The releases an unknown `kernel.release` is tried as: those distributions ship
/// (RHEL 8's 4.18, Ubuntu 20.04's 5.4, 22.04's 5.15, Debian 12's 6.1, Ubuntu 24.04's
/// 6.8) and the newest modelled.
const RELEASES_TRIED: [Release; 6] = [
    Release::new(4, 18),
    Release::new(5, 4),
    Release::new(5, 15),
    Release::new(6, 1),
    Release::new(6, 8),
    Release::NEWEST,
];

/// One alternative: a fact with another value, as a whole platform.
#[derive(Debug)]
struct Alternative {
    fact: Fact,
    name: String,
    assumed: String,
    alternative: String,
    platform: Platform,
}

/// The alternatives of a platform's assumed facts.
#[derive(Debug)]
pub(crate) struct Alternatives {
    list: Vec<Alternative>,
}

fn hex_family(f: Option<u32>) -> String {
    f.map_or_else(|| "not given".to_owned(), |f| format!("{f:#x}"))
}

fn id_text(id: Option<PciId>, r: Release) -> String {
    match id {
        None => "none".to_owned(),
        Some(id) => match HostBridgeMatch::of(Some(id), r) {
            HostBridgeMatch::Listed { .. } => format!("{id} (allow-listed)"),
            _ => format!("{id} (not allow-listed)"),
        },
    }
}

impl Alternatives {
    /// The alternatives of every fact `p.assumed` lists.
    #[allow(
        clippy::too_many_lines,
        reason = "a table-like dispatcher: one arm per assumed fact (docs/architecture.md)"
    )]
    pub(crate) fn of(p: &Platform) -> Self {
        let mut list = Vec::new();
        for &fact in &p.assumed {
            let mut push = |assumed: String, alternative: String, f: &dyn Fn(&mut Platform)| {
                let mut q = p.clone();
                q.assumed.clear();
                f(&mut q);
                let name = match fact.node() {
                    Some(n) => format!("{}.{}", p.node(n).name, fact.field()),
                    None => fact.field().to_owned(),
                };
                list.push(Alternative {
                    fact,
                    name,
                    assumed,
                    alternative,
                    platform: q,
                });
            };
            let cpu = p.kernel.cpu;
            match fact {
                Fact::CpuVendor if p.kernel.arch == Arch::X86_64 => {
                    for v in [CpuVendor::Amd, CpuVendor::Intel] {
                        if v == cpu.vendor {
                            continue;
                        }
                        let family = match v {
                            CpuVendor::Amd => cpu.family.or(Some(0x19)),
                            _ => cpu.family,
                        };
                        push(cpu.vendor.to_string(), v.to_string(), &|q| {
                            q.kernel.cpu.vendor = v;
                            q.kernel.cpu.family = family;
                        });
                    }
                }
                Fact::CpuFamily if cpu.vendor == CpuVendor::Amd => {
                    let other = if cpu.family.is_some_and(|f| f >= 0x17) {
                        0x15
                    } else {
                        0x19
                    };
                    push(hex_family(cpu.family), hex_family(Some(other)), &|q| {
                        q.kernel.cpu.family = Some(other)
                    });
                }
                Fact::DefaultDomain => {
                    let d = p.kernel.default_domain;
                    let other = match d {
                        DomainType::Identity => DomainType::Dma,
                        _ => DomainType::Identity,
                    };
                    push(d.to_string(), other.to_string(), &|q| {
                        q.kernel.default_domain = other
                    });
                }
                Fact::HostBridgeId(n) => {
                    let NodeKind::HostBridge(h) = &p.node(n).kind else {
                        continue;
                    };
                    let r = p.kernel.release_version();
                    let other = match HostBridgeMatch::of(h.id, r) {
                        HostBridgeMatch::Listed { .. } => None,
                        _ => k1_map_type::listed_example(
                            h.id.map(|i| i.vendor).or(match cpu.vendor {
                                CpuVendor::Intel => Some(0x8086),
                                _ => None,
                            }),
                            r,
                        ),
                    };
                    if other.is_none() && h.id.is_none() {
                        // Before the allow-list there is nothing to try.
                        continue;
                    }
                    push(id_text(h.id, r), id_text(other, r), &|q| {
                        if let NodeKind::HostBridge(h) = &mut q.nodes[n.index()].kind {
                            h.id = other;
                        }
                    });
                }
                Fact::ForwardsP2p(n) => {
                    let NodeKind::HostBridge(h) = &p.node(n).kind else {
                        continue;
                    };
                    for other in ForwardsP2p::ALL.iter().copied() {
                        if other == h.forwards_p2p {
                            continue;
                        }
                        push(h.forwards_p2p.to_string(), other.to_string(), &|q| {
                            if let NodeKind::HostBridge(h) = &mut q.nodes[n.index()].kind {
                                h.forwards_p2p = other;
                            }
                        });
                    }
                }
                Fact::SplitsOversizedWrites(n) => {
                    let NodeKind::RootPort(port) = &p.node(n).kind else {
                        continue;
                    };
                    let now = port.splits_oversized_writes;
                    push(now.to_string(), (!now).to_string(), &|q| {
                        if let NodeKind::RootPort(port) = &mut q.nodes[n.index()].kind {
                            port.splits_oversized_writes = !now;
                        }
                    });
                }
                Fact::KernelRelease => {
                    let now = p.kernel.release_version();
                    for r in RELEASES_TRIED {
                        if r == now {
                            continue;
                        }
                        push(now.to_string(), r.to_string(), &|q| {
                            q.kernel.version = Some(r);
                            q.kernel.release = Some(r.to_string());
                        });
                    }
                }
                // A CPU fact of another vendor or architecture decides nothing (K1.6
                // is x86's).
                Fact::CpuVendor | Fact::CpuFamily => {}
            }
        }
        Self { list }
    }

    /// Whether nothing is assumed that could change a verdict.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The alternatives, compiled, with what was decided per class.
#[derive(Debug)]
pub(crate) struct Tried<'a> {
    alternatives: Vec<(&'a Alternative, Topology<'a>)>,
    by_class: Mutex<FxHashMap<ClassKey, Vec<DependsOn>>>,
}

impl<'a> Tried<'a> {
    /// Compiles each alternative platform once.
    pub(crate) fn new(alternatives: &'a Alternatives) -> Self {
        let alternatives: Vec<(&Alternative, Topology<'a>)> = alternatives
            .list
            .iter()
            .map(|a| (a, Topology::new(&a.platform)))
            .collect();
        Self {
            alternatives,
            by_class: Mutex::new(FxHashMap::default()),
        }
    }

    /// The alternatives under which `import`'s outcome differs from `outcome`.
    /// `key`: its class, whose answer is shared.
    pub(crate) fn depends_on(
        &self,
        topo: &Topology<'_>,
        import: &Import,
        key: Option<ClassKey>,
        outcome: Outcome,
    ) -> Vec<DependsOn> {
        if self.alternatives.is_empty() {
            return Vec::new();
        }
        if let Some(k) = key {
            if let Some(v) = self.lock().get(&k) {
                return v.clone();
            }
        }
        let p = topo.platform();
        let exporter = p.export(import.export).device;
        let below = |n| {
            let above = |mut cur| loop {
                if cur == n {
                    return true;
                }
                match p.node(cur).parent {
                    Some(up) => cur = up,
                    None => return false,
                }
            };
            above(import.importer) || above(exporter)
        };
        let mut out = Vec::new();
        for (a, t) in &self.alternatives {
            if a.fact.node().is_some_and(|n| !below(n)) {
                continue;
            }
            let mut engine = Engine::new(t);
            let other = evaluate_import(t, &mut engine, import, Routes::None).outcome;
            if other != outcome {
                out.push(DependsOn {
                    fact: a.fact,
                    name: a.name.clone(),
                    assumed: a.assumed.clone(),
                    alternative: a.alternative.clone(),
                    outcome: other,
                });
            }
        }
        if let Some(k) = key {
            self.lock().insert(k, out.clone());
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FxHashMap<ClassKey, Vec<DependsOn>>> {
        // A worker that panicked while holding the lock left a map that is still
        // whole (inserts are single calls).
        self.by_class
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use peerpath_model::{Fact, Platform};
    use peerpath_topology::Topology;

    use crate::finding::Outcome;
    use crate::run::verdict_alone;
    use crate::{evaluate, for_each_verdict};

    fn zen(f: impl FnOnce(&mut Platform)) -> Platform {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../topologies/amd-zen-switch.yaml"
        );
        let mut p =
            peerpath_load::load_file(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
        f(&mut p);
        p
    }

    fn node(p: &Platform, name: &str) -> peerpath_model::NodeId {
        p.node_by_name(name).unwrap_or_else(|| panic!("{name}"))
    }

    /// (importer, export) → (outcome, [(fact, alternative, outcome)]).
    /// A pairing's name, outcome and (fact, alternative, outcome) triples.
    type Row = (String, Outcome, Vec<(String, String, Outcome)>);

    fn table(p: &Platform) -> Vec<Row> {
        let topo = Topology::new(p);
        evaluate(&topo)
            .pairs
            .into_iter()
            .map(|x| {
                let deps = x
                    .depends_on
                    .iter()
                    .map(|d| (d.name.clone(), d.alternative.clone(), d.outcome))
                    .collect();
                (format!("{} <- {}", x.importer, x.export), x.outcome, deps)
            })
            .collect()
    }

    #[test]
    fn an_unknown_amd_family_makes_cross_root_port_verdicts_depend_on_it() {
        let p = zen(|p| {
            p.kernel.cpu.family = None;
            p.assumed = vec![Fact::CpuFamily];
        });
        let t = table(&p);
        let gpu = t
            .iter()
            .find(|(n, ..)| n == "gpu1 <- gpu2-vram")
            .expect("pairing");
        assert_eq!(gpu.1, Outcome::Fails);
        assert_eq!(
            gpu.2,
            [(
                "kernel.cpu.family".to_owned(),
                "0x19".to_owned(),
                Outcome::Works
            )]
        );
        // Stated, the same platform has no depends_on at all.
        let stated = zen(|p| p.kernel.cpu.family = None);
        assert!(table(&stated).iter().all(|(_, _, d)| d.is_empty()));
    }

    #[test]
    fn a_known_family_assumed_is_tried_below_0x17() {
        let p = zen(|p| p.assumed = vec![Fact::CpuFamily]);
        let t = table(&p);
        let gpu = t
            .iter()
            .find(|(n, ..)| n == "gpu1 <- gpu2-vram")
            .expect("pairing");
        assert_eq!(gpu.1, Outcome::Works);
        assert_eq!(gpu.2[0].1, "0x15");
        assert_eq!(gpu.2[0].2, Outcome::Fails);
    }

    #[test]
    fn a_host_bridge_fact_is_tried_only_for_pairings_below_it() {
        // The importer's root complex forwards its peer request (H6): with hb0's
        // `forwards_p2p` unknown, gpu1's pairing with gpu2 (below hb1) changes
        // under `none`.
        let p = zen(|p| {
            let hb0 = node(p, "hb0");
            p.assumed = vec![Fact::ForwardsP2p(hb0)];
        });
        let t = table(&p);
        let across = t
            .iter()
            .find(|(n, ..)| n == "gpu1 <- gpu2-vram")
            .expect("pairing");
        assert!(
            across
                .2
                .iter()
                .any(|(f, a, o)| f == "hb0.forwards_p2p" && a == "none" && *o == Outcome::Fails),
            "{across:?}"
        );
        // hb1's forwarding: gpu1 and gpu0, both below hb0, are not tried.
        let p = zen(|p| {
            let hb1 = node(p, "hb1");
            p.assumed = vec![Fact::ForwardsP2p(hb1), Fact::ForwardsP2p(node(p, "hb0"))];
        });
        let t = table(&p);
        let within = t
            .iter()
            .find(|(n, ..)| n == "gpu1 <- gpu0-vram")
            .expect("pairing");
        assert!(
            within.2.iter().all(|(f, ..)| f != "hb1.forwards_p2p"),
            "{within:?}"
        );
    }

    #[test]
    fn class_verdicts_carry_the_same_depends_on_as_each_pairing_alone() {
        let p = zen(|p| {
            p.kernel.cpu.family = None;
            let (hb0, hb1) = (node(p, "hb0"), node(p, "hb1"));
            p.assumed = vec![
                Fact::CpuFamily,
                Fact::DefaultDomain,
                Fact::HostBridgeId(hb0),
                Fact::ForwardsP2p(hb1),
            ];
        });
        let topo = Topology::new(&p);
        let mut resting = 0;
        let r: Result<(), String> = for_each_verdict(&topo, 2, |import, v| {
            let alone = verdict_alone(&topo, import);
            resting += usize::from(!v.depends_on.is_empty());
            if *v == alone {
                Ok(())
            } else {
                Err(format!("{v:?} != {alone:?}"))
            }
        });
        r.unwrap_or_else(|e| panic!("{e}"));
        assert!(resting > 0);
    }
}

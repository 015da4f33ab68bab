//! Raw platform → validated [`Platform`], reporting every violation of
//! `platform-format.md` "Validation" with its location.
//!
//! Architecture invariant: a `Platform` is returned only when no diagnostic was
//! reported, by this pass or by the conversion before it.

use std::collections::{HashMap, HashSet};

use peerpath_model::{
    Acs, AddrRange, Bar, Bdf, ConfigAcs, Cpu, DeviceCc, Domain, Endpoint, Export, ExportId,
    HostBridge, Import, Interconnect, Iommu, IommuId, IommuKind, Kernel, MemRegion, Node as PNode,
    NodeId, NodeKind, PciBridge, PciId, Platform, Port, StreamMapEntry, Switch, Tbu, TbuId,
    Traffic, Window, MPS_VALUES,
};

use crate::num::format_addr;
use crate::raw::{AcsBit, ExportSel, Origins, RawAcs, RawPlatform};
use crate::source::{ypath, Msg, Node, Path, Seg, Sink};
use crate::suggest::did_you_mean;

fn at(v: &[usize], i: usize) -> usize {
    v.get(i).copied().unwrap_or(i)
}

/// A named thing, by its index in the raw platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ent {
    Memory(usize),
    Iommu(usize),
    Tbu(usize, usize),
    HostBridge(usize),
    RootPort(usize, usize),
    /// A switch, which is also its upstream port.
    Switch(usize),
    Downstream(usize, usize),
    Bridge(usize),
    Endpoint(usize),
    Domain(usize),
    Export(usize),
}

impl Ent {
    fn what(self) -> &'static str {
        match self {
            Ent::Memory(_) => "a memory region",
            Ent::Iommu(_) => "an IOMMU",
            Ent::Tbu(..) => "a TBU",
            Ent::HostBridge(_) => "a host bridge",
            Ent::RootPort(..) => "a root port",
            Ent::Switch(_) => "a switch (its upstream port)",
            Ent::Downstream(..) => "a switch downstream port",
            Ent::Bridge(_) => "a PCI bridge",
            Ent::Endpoint(_) => "an endpoint",
            Ent::Domain(_) => "a domain",
            Ent::Export(_) => "an export",
        }
    }

    /// Whether this is a PCI node with a BDF.
    fn has_bdf(self) -> bool {
        matches!(
            self,
            Ent::RootPort(..)
                | Ent::Switch(_)
                | Ent::Downstream(..)
                | Ent::Bridge(_)
                | Ent::Endpoint(_)
        )
    }
}

/// A name and what it names.
type Named<'a> = (&'a str, Ent);

/// How a node hangs in the hierarchy before ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parent {
    /// A host bridge: a root.
    Root,
    /// The proto node at this index.
    Idx(usize),
    /// The parent did not resolve (already reported).
    Broken,
}

/// A node before topological ordering.
struct Proto {
    name: String,
    ent: Ent,
    parent: Parent,
    bdf: Option<Bdf>,
    kind: NodeKind,
}

struct V<'a, 't> {
    raw: &'a RawPlatform,
    sink: &'a mut Sink<'t>,
    root: Option<&'a Node>,
    prefix: Path,
    o: Origins,
    /// Names defined in the file whose element failed to convert; references to them
    /// are not reported again.
    broken: HashSet<String>,
    names: HashMap<&'a str, Ent>,
    /// Later definitions of duplicated names (reported); a reference that does not
    /// fit the first definition may fit one of these, and is then not reported again.
    duplicates: HashMap<&'a str, Vec<Ent>>,
    /// `names` sorted, for deterministic suggestions; built on the first miss.
    sorted_names: Option<Vec<(&'a str, Ent)>>,
    /// The model id of each raw export that validated.
    export_ids: Vec<Option<ExportId>>,
}

/// Validates `raw`. `root` is the located tree it came from (the platform mapping),
/// `prefix` the display path of that mapping (`platform` inside a scenario file).
pub(crate) fn validate(
    raw: &RawPlatform,
    sink: &mut Sink<'_>,
    root: Option<&Node>,
    prefix: Path,
    origins: Origins,
    converted_cleanly: bool,
) -> Option<Platform> {
    let mut broken = HashSet::new();
    if let (Some(root), false) = (root, converted_cleanly) {
        let src = sink.text;
        root.walk(|n| {
            if let Some(name) = n.get("name", src).and_then(|v| v.text(src)) {
                broken.insert(name.into_owned());
            }
        });
    }
    let mut v = V {
        raw,
        sink,
        root,
        prefix,
        o: origins,
        broken,
        names: HashMap::new(),
        duplicates: HashMap::new(),
        sorted_names: None,
        export_ids: Vec::new(),
    };
    let before = v.sink.count();
    let platform = v.run();
    (v.sink.count() == before && converted_cleanly).then_some(platform)
}

impl<'a> V<'a, '_> {
    fn report(&mut self, path: Path, msg: Msg) {
        if self.sink.full() {
            // Counted, not kept: do not spend time locating it.
            self.sink.at(Default::default(), &[], msg);
            return;
        }
        let mut full = self.prefix.clone();
        full.extend(path.iter().cloned());
        let loc = match self.root {
            Some(root) => root.locate(&path, self.sink.text).0.loc,
            None => Default::default(),
        };
        self.sink.at(loc, &full, msg);
    }

    /// The file position of the node at `path`, as `line:column`.
    fn position(&self, path: &Path) -> Option<String> {
        let root = self.root?;
        let (n, _) = root.locate(path, self.sink.text);
        Some(format!("{}:{}", n.loc.line, n.loc.col))
    }

    fn ent_path(&self, e: Ent) -> Path {
        let o = &self.o;
        match e {
            Ent::Memory(i) => ypath!["memory", at(&o.memory, i)],
            Ent::Iommu(i) => ypath!["iommus", at(&o.iommus, i)],
            Ent::Tbu(i, j) => ypath!["iommus", at(&o.iommus, i), "tbus", j],
            Ent::HostBridge(i) => ypath!["host_bridges", at(&o.host_bridges, i)],
            Ent::RootPort(i, j) => {
                ypath!["host_bridges", at(&o.host_bridges, i), "root_ports", j]
            }
            Ent::Switch(i) => ypath!["switches", at(&o.switches, i)],
            Ent::Downstream(i, j) => ypath!["switches", at(&o.switches, i), "downstream", j],
            Ent::Bridge(i) => ypath!["bridges", at(&o.bridges, i)],
            Ent::Endpoint(i) => ypath!["endpoints", at(&o.endpoints, i)],
            Ent::Domain(i) => ypath!["domains", at(&o.domains, i)],
            Ent::Export(i) => ypath!["exports", at(&o.exports, i)],
        }
    }

    /// The path of a node's port fields (`bdf`, `mpss`, `acs`): a switch's are under
    /// `upstream`.
    fn port_path(&self, e: Ent) -> Path {
        let mut p = self.ent_path(e);
        if let Ent::Switch(_) = e {
            p.push(Seg::from("upstream"));
        }
        p
    }

    fn run(&mut self) -> Platform {
        let raw = self.raw;
        if raw.format != 1 {
            self.report(
                ypath!["format"],
                Msg::new(format!("format {} is not supported", raw.format)).expected("1"),
            );
        }
        if self.o.converted("name") {
            self.check_name(&raw.name, ypath!["name"]);
        }
        self.register_names();

        let iommus = self.iommus();
        let memory = self.memory();
        let mut protos = self.protos();
        self.resolve_parents(&mut protos);
        let (order, ids) = self.order(&protos);
        self.check_bdfs(&protos, &order);
        self.check_address_map(&memory);
        self.check_bars(&protos, &order);

        let nodes: Vec<PNode> = order
            .iter()
            .filter_map(|&p| {
                let pr = protos.get(p)?;
                Some(PNode {
                    name: pr.name.clone(),
                    parent: match pr.parent {
                        Parent::Idx(q) => ids.get(q).copied().flatten(),
                        _ => None,
                    },
                    bdf: pr.bdf,
                    kind: pr.kind.clone(),
                })
            })
            .collect();
        let ent_node: HashMap<Ent, NodeId> = protos
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((p.ent, ids.get(i).copied().flatten()?)))
            .collect();

        let switches = raw
            .switches
            .iter()
            .enumerate()
            .filter_map(|(i, sw)| {
                Some(Switch {
                    name: sw.name.clone(),
                    upstream: *ent_node.get(&Ent::Switch(i))?,
                    downstream: (0..sw.downstream.len())
                        .map(|j| ent_node.get(&Ent::Downstream(i, j)).copied())
                        .collect::<Option<Vec<_>>>()?,
                })
            })
            .collect();

        let kernel = self.kernel(&ent_node, &nodes);
        let interconnect = self.interconnect();
        let domains = self.domains(&ent_node);
        let exports = self.exports(&ent_node);
        let listed = self.imports(&ent_node, &exports);

        let mut platform = Platform {
            name: raw.name.clone(),
            description: raw.description.clone(),
            kernel,
            interconnect,
            memory,
            iommus,
            nodes,
            switches,
            domains,
            exports,
            imports: Vec::new(),
            traffic: Vec::new(),
        };
        // The default expansion and the output order are the model's, shared with
        // `PlatformBuilder`.
        platform.imports = listed.unwrap_or_else(|| platform.default_imports());
        platform.sort_imports();
        platform.traffic = self.traffic(&ent_node, &platform.imports);
        platform
    }

    fn check_name(&mut self, name: &str, p: Path) {
        let valid = |s: &str| {
            let mut chars = s.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
                && chars.all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        };
        if !valid(name) {
            let lower = name.to_ascii_lowercase();
            let help = (valid(&lower) && lower != name).then(|| format!("did you mean `{lower}`?"));
            self.report(
                p,
                Msg::new(format!(
                    "`{}` is not a valid name",
                    crate::source::shorten(name)
                ))
                .expected("`[a-z0-9][a-z0-9._-]*`: lower-case letters, digits, `.`, `_`, `-`")
                .help_opt(help),
            );
        }
    }

    /// Every named thing, in one namespace; duplicates and bad spellings reported.
    fn register_names(&mut self) {
        let raw = self.raw;
        let mut all: Vec<(&'a str, Ent)> = Vec::new();
        for (i, m) in raw.memory.iter().enumerate() {
            all.push((&m.name, Ent::Memory(i)));
        }
        for (i, m) in raw.iommus.iter().enumerate() {
            all.push((&m.name, Ent::Iommu(i)));
            for (j, t) in m.tbus.iter().enumerate() {
                all.push((&t.name, Ent::Tbu(i, j)));
            }
        }
        for (i, hb) in raw.host_bridges.iter().enumerate() {
            all.push((&hb.name, Ent::HostBridge(i)));
            for (j, rp) in hb.root_ports.iter().enumerate() {
                all.push((&rp.name, Ent::RootPort(i, j)));
            }
        }
        for (i, sw) in raw.switches.iter().enumerate() {
            all.push((&sw.name, Ent::Switch(i)));
            for (j, dp) in sw.downstream.iter().enumerate() {
                all.push((&dp.name, Ent::Downstream(i, j)));
            }
        }
        for (i, b) in raw.bridges.iter().enumerate() {
            all.push((&b.name, Ent::Bridge(i)));
        }
        for (i, e) in raw.endpoints.iter().enumerate() {
            all.push((&e.name, Ent::Endpoint(i)));
        }
        for (i, d) in raw.domains.iter().enumerate() {
            all.push((&d.name, Ent::Domain(i)));
        }
        for (i, e) in raw.exports.iter().enumerate() {
            all.push((&e.name, Ent::Export(i)));
        }
        // The first definition in the file is the one others duplicate.
        if let Some(root) = self.root {
            let src = self.sink.text;
            let mut keyed: Vec<((u32, u32), Named<'a>)> = all
                .into_iter()
                .map(|(name, ent)| {
                    let mut p = self.ent_path(ent);
                    p.push(Seg::from("name"));
                    let loc = root.locate(&p, src).0.loc;
                    ((loc.line, loc.col), (name, ent))
                })
                .collect();
            keyed.sort_by_key(|(at, _)| *at);
            all = keyed.into_iter().map(|(_, v)| v).collect();
        }
        for (name, ent) in all {
            let mut p = self.ent_path(ent);
            p.push(Seg::from("name"));
            self.check_name(name, p.clone());
            if let Some(first) = self.names.get(name).copied() {
                self.duplicates.entry(name).or_default().push(ent);
                let mut fp = self.ent_path(first);
                fp.push(Seg::from("name"));
                let where_ = self
                    .position(&fp)
                    .map(|s| format!(" at {s}"))
                    .unwrap_or_default();
                self.report(
                    p,
                    Msg::new(format!("duplicate name `{name}`"))
                        .expected("names unique across the whole file")
                        .help(format!(
                            "`{name}` is already {}{where_} ({})",
                            first.what(),
                            crate::source::path_string(&fp)
                        )),
                );
            } else {
                self.names.insert(name, ent);
            }
        }
    }

    /// Resolves a reference; reports it if undefined or of the wrong kind.
    fn resolve(
        &mut self,
        name: &str,
        p: Path,
        ok: impl Fn(Ent) -> bool,
        expected: &str,
    ) -> Option<Ent> {
        match self.names.get(name).copied() {
            Some(e) if ok(e) => Some(e),
            Some(_)
                if self
                    .duplicates
                    .get(name)
                    .is_some_and(|d| d.iter().any(|e| ok(*e))) =>
            {
                self.duplicates
                    .get(name)
                    .and_then(|d| d.iter().copied().find(|e| ok(*e)))
            }
            Some(e) => {
                let help = match e {
                    Ent::Switch(i) if ok(Ent::Downstream(i, 0)) => {
                        let dps: Vec<&str> = self
                            .raw
                            .switches
                            .get(i)
                            .map(|sw| sw.downstream.iter().map(|d| d.name.as_str()).collect())
                            .unwrap_or_default();
                        Some(if dps.is_empty() {
                            format!(
                                "things hang below a switch's downstream ports; `{name}` has none"
                            )
                        } else {
                            format!(
                                "things hang below a switch's downstream ports: {}",
                                dps.join(", ")
                            )
                        })
                    }
                    _ => None,
                };
                self.report(
                    p,
                    Msg::new(format!("`{name}` is {}", e.what()))
                        .expected(expected)
                        .help_opt(help),
                );
                None
            }
            None if self.broken.contains(name) => None,
            None => {
                // Suggestions cost a scan of every name: skip them once no more
                // diagnostics are kept.
                let help = if self.sink.full() {
                    None
                } else {
                    let names = &self.names;
                    let sorted = self.sorted_names.get_or_insert_with(|| {
                        let mut v: Vec<(&'a str, Ent)> =
                            names.iter().map(|(n, e)| (*n, *e)).collect();
                        v.sort_unstable_by_key(|(n, _)| *n);
                        v
                    });
                    did_you_mean(name, sorted.iter().filter(|(_, e)| ok(*e)).map(|(n, _)| *n))
                };
                self.report(
                    p,
                    Msg::new(format!("`{}` is not defined", crate::source::shorten(name)))
                        .expected(expected)
                        .help_opt(help),
                );
                None
            }
        }
    }

    fn memory(&mut self) -> Vec<MemRegion> {
        let raw = self.raw;
        let mut out = Vec::new();
        for (i, m) in raw.memory.iter().enumerate() {
            let p = self.ent_path(Ent::Memory(i));
            if let Some(range) = self.range(m.base.0, m.size.0, p, "base") {
                out.push(MemRegion {
                    name: m.name.clone(),
                    range,
                });
            }
        }
        out
    }

    /// `[start, start + size)`, or a located error: zero size at `size`, wrapping at
    /// `size` too (naming `start_key`).
    fn range(
        &mut self,
        start: u64,
        size: u64,
        p: Path,
        start_key: &'static str,
    ) -> Option<AddrRange> {
        match AddrRange::from_start_and_size(start, size) {
            Some(r) => Some(r),
            None => {
                let mut sp = p;
                sp.push(Seg::from("size"));
                let msg = if size == 0 {
                    Msg::new("size is 0").expected("a size of at least 1 byte")
                } else {
                    Msg::new(format!(
                        "`{start_key}` {} + `size` {size:#x} wraps past 2^64",
                        format_addr(start)
                    ))
                    .expected(format!("a size of at most {:#x}", u64::MAX - start + 1))
                };
                self.report(sp, msg);
                None
            }
        }
    }

    fn iommus(&mut self) -> Vec<Iommu> {
        let raw = self.raw;
        let mut out = Vec::new();
        for (i, m) in raw.iommus.iter().enumerate() {
            let p = self.ent_path(Ent::Iommu(i));
            if m.kind != IommuKind::Smmuv3 && !m.tbus.is_empty() {
                let mut tp = p.clone();
                tp.push(Seg::from("tbus"));
                self.report(
                    tp,
                    Msg::new(format!("a {} IOMMU has no TBUs", m.kind))
                        .expected("`tbus` only on `kind: smmuv3`"),
                );
            }
            let mut tbus = Vec::new();
            for (j, t) in m.tbus.iter().enumerate() {
                let tp = self.ent_path(Ent::Tbu(i, j));
                if t.tlb_ways == 0 || t.tlb_entries == 0 || t.tlb_entries % t.tlb_ways != 0 {
                    let mut ep = tp.clone();
                    ep.push(Seg::from(if t.tlb_ways == 0 {
                        "tlb_ways"
                    } else {
                        "tlb_entries"
                    }));
                    self.report(
                        ep,
                        Msg::new(format!(
                            "a TLB of {} entries in {} ways",
                            t.tlb_entries, t.tlb_ways
                        ))
                        .expected("at least one way, and entries a multiple of the ways"),
                    );
                }
                tbus.push(Tbu {
                    name: t.name.clone(),
                    tlb_entries: t.tlb_entries,
                    tlb_ways: t.tlb_ways,
                });
            }
            let mut stream_map = Vec::new();
            for (j, s) in m.stream_map.iter().enumerate() {
                let mut sp = p.clone();
                sp.extend(ypath!["stream_map", j]);
                let rid_end = u64::from(s.rid_base) + u64::from(s.length);
                let sid_end = u64::from(s.sid_base) + u64::from(s.length);
                if s.length == 0 || rid_end > 0x1_0000 || sid_end > 1 << 32 {
                    sp.push(Seg::from("length"));
                    self.report(
                        sp,
                        Msg::new(format!(
                            "length {:#x} from rid_base {:#x} / sid_base {:#x}",
                            s.length, s.rid_base, s.sid_base
                        ))
                        .expected(
                            "at least 1, with RIDs within 0..=0xffff and StreamIDs within 32 bits",
                        ),
                    );
                }
                stream_map.push(StreamMapEntry {
                    rid_base: s.rid_base,
                    sid_base: s.sid_base,
                    length: s.length,
                });
            }
            out.push(Iommu {
                name: m.name.clone(),
                kind: m.kind,
                ats: m.ats.unwrap_or(false),
                disable_bypass: m.disable_bypass.unwrap_or(true),
                tbus,
                stream_map,
            });
        }
        out
    }

    fn check_mps(&mut self, p: &Path, mpss: u32, mps: Option<u32>) {
        let mut ok = true;
        if !MPS_VALUES.contains(&mpss) {
            ok = false;
            let mut pp = p.clone();
            pp.push(Seg::from("mpss"));
            self.report(
                pp,
                Msg::new(format!("{mpss} is not a valid MPSS"))
                    .expected("one of 128, 256, 512, 1024, 2048, 4096"),
            );
        }
        if let Some(mps) = mps {
            let mut pp = p.clone();
            pp.push(Seg::from("mps"));
            if !MPS_VALUES.contains(&mps) {
                self.report(
                    pp,
                    Msg::new(format!("{mps} is not a valid MPS"))
                        .expected("one of 128, 256, 512, 1024, 2048, 4096"),
                );
            } else if ok && mps > mpss {
                self.report(
                    pp,
                    Msg::new(format!("MPS {mps} is above the MPSS {mpss}"))
                        .expected(format!("at most {mpss}"))
                        .help("MPS is what firmware programmed; it cannot exceed what the device supports"),
                );
            }
        }
    }

    fn acs(&mut self, p: &Path, acs: &Option<RawAcs>) -> Option<Acs> {
        let acs = acs.as_ref()?;
        let cap = AcsBit::to_flags(&acs.cap);
        let ctl = acs.ctl.as_ref().map(|c| AcsBit::to_flags(c));
        if let (Some(bits), Some(ctl_flags)) = (&acs.ctl, ctl) {
            let extra = ctl_flags - cap;
            if !extra.is_empty() {
                let first = bits
                    .iter()
                    .position(|b| extra.contains(b.flag()))
                    .unwrap_or(0);
                let mut pp = p.clone();
                pp.extend(ypath!["acs", "ctl", first]);
                let names = extra.names();
                self.report(
                    pp,
                    Msg::new(format!(
                        "ACS Control sets {} not in the capability {cap}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .expected(format!("a subset of cap {cap}")),
                );
            }
        }
        Some(Acs { cap, ctl })
    }

    fn port(
        &mut self,
        e: Ent,
        mpss: u32,
        mps: Option<u32>,
        acs: &Option<RawAcs>,
        mf: Option<bool>,
    ) -> Port {
        let p = self.port_path(e);
        self.check_mps(&p, mpss, mps);
        let acs = self.acs(&p, acs);
        Port {
            mpss,
            mps: mps.unwrap_or(128),
            acs,
            tbu: None,
            splits_oversized_writes: false,
            multifunction: mf.unwrap_or(false),
        }
    }

    /// Proto nodes in declaration order: host bridges, root ports, switch ports,
    /// bridges, endpoints. Parents of switches, bridges and endpoints are resolved
    /// later.
    fn protos(&mut self) -> Vec<Proto> {
        let raw = self.raw;
        let mut out = Vec::new();
        for (i, hb) in raw.host_bridges.iter().enumerate() {
            let hp = self.ent_path(Ent::HostBridge(i));
            let iommu = hb.iommu.as_deref().and_then(|name| {
                let mut ip = hp.clone();
                ip.push(Seg::from("iommu"));
                match self.resolve(
                    name,
                    ip,
                    |e| matches!(e, Ent::Iommu(_)),
                    "the name of an IOMMU",
                )? {
                    Ent::Iommu(k) => Some(k),
                    _ => None,
                }
            });
            let mut windows = Vec::new();
            for (k, w) in hb.windows.iter().enumerate() {
                let mut wp = hp.clone();
                wp.extend(ypath!["windows", k]);
                let cpu = self.range(w.cpu.0, w.size.0, wp.clone(), "cpu");
                let bus_ok = w.size.0 == 0 || w.bus.0.checked_add(w.size.0 - 1).is_some();
                if !bus_ok {
                    wp.push(Seg::from("size"));
                    self.report(
                        wp,
                        Msg::new(format!(
                            "`bus` {} + `size` {:#x} wraps past 2^64",
                            format_addr(w.bus.0),
                            w.size.0
                        ))
                        .expected("a window whose bus addresses fit in 64 bits"),
                    );
                }
                if let (Some(cpu), true) = (cpu, bus_ok) {
                    windows.push(Window { cpu, bus: w.bus.0 });
                }
            }
            let hb_proto = out.len();
            out.push(Proto {
                name: hb.name.clone(),
                ent: Ent::HostBridge(i),
                parent: Parent::Root,
                bdf: None,
                kind: NodeKind::HostBridge(HostBridge {
                    segment: hb.segment.unwrap_or(0),
                    id: hb.id.as_ref().map(|id| PciId {
                        vendor: id.vendor,
                        device: id.device,
                    }),
                    forwards_p2p: hb.forwards_p2p.unwrap_or_default(),
                    translation: hb.translation.unwrap_or_default(),
                    iommu: iommu.map(|k| IommuId(k as u32)),
                    windows,
                }),
            });
            for (j, rp) in hb.root_ports.iter().enumerate() {
                let e = Ent::RootPort(i, j);
                let mut port = self.port(e, rp.mpss, rp.mps, &rp.acs, rp.multifunction);
                port.splits_oversized_writes = rp.splits_oversized_writes.unwrap_or(false);
                if let Some(tbu) = rp.tbu.as_deref() {
                    let mut tp = self.ent_path(e);
                    tp.push(Seg::from("tbu"));
                    port.tbu = self.root_port_tbu(tbu, tp, &hb.name, hb.iommu.is_some(), iommu);
                }
                out.push(Proto {
                    name: rp.name.clone(),
                    ent: e,
                    parent: Parent::Idx(hb_proto),
                    bdf: Some(rp.bdf),
                    kind: NodeKind::RootPort(port),
                });
            }
        }
        for (i, sw) in raw.switches.iter().enumerate() {
            let up = &sw.upstream;
            let port = self.port(Ent::Switch(i), up.mpss, up.mps, &up.acs, up.multifunction);
            let up_proto = out.len();
            out.push(Proto {
                name: sw.name.clone(),
                ent: Ent::Switch(i),
                parent: Parent::Broken,
                bdf: Some(up.bdf),
                kind: NodeKind::SwitchUpstream(port),
            });
            for (j, dp) in sw.downstream.iter().enumerate() {
                let e = Ent::Downstream(i, j);
                let port = self.port(e, dp.mpss, dp.mps, &dp.acs, dp.multifunction);
                out.push(Proto {
                    name: dp.name.clone(),
                    ent: e,
                    parent: Parent::Idx(up_proto),
                    bdf: Some(dp.bdf),
                    kind: NodeKind::SwitchDownstream(port),
                });
            }
        }
        for (i, b) in raw.bridges.iter().enumerate() {
            let p = self.ent_path(Ent::Bridge(i));
            let mpss = b.mpss.unwrap_or(128);
            self.check_mps(&p, mpss, None);
            out.push(Proto {
                name: b.name.clone(),
                ent: Ent::Bridge(i),
                parent: Parent::Broken,
                bdf: Some(b.bdf),
                kind: NodeKind::PciBridge(PciBridge { mpss }),
            });
        }
        for (i, ep) in raw.endpoints.iter().enumerate() {
            let p = self.ent_path(Ent::Endpoint(i));
            let mpss = ep.mpss.unwrap_or(128);
            self.check_mps(&p, mpss, ep.mps);
            let acs = self.acs(&p, &ep.acs);
            let dma_mask_bits = ep.dma_mask_bits.unwrap_or(64);
            if !(1..=64).contains(&dma_mask_bits) {
                let mut pp = p.clone();
                pp.push(Seg::from("dma_mask_bits"));
                self.report(
                    pp,
                    Msg::new(format!("a DMA mask of {dma_mask_bits} bits")).expected("1 to 64"),
                );
            }
            let mut bars: Vec<Bar> = Vec::new();
            let mut seen: Vec<u8> = Vec::new();
            for (k, b) in ep.bars.iter().enumerate() {
                let mut bp = p.clone();
                bp.extend(ypath!["bars", k]);
                if b.index > 5 {
                    let mut ip = bp.clone();
                    ip.push(Seg::from("index"));
                    self.report(
                        ip,
                        Msg::new(format!("BAR index {} is out of range", b.index))
                            .expected("0 to 5"),
                    );
                    continue;
                }
                if seen.contains(&b.index) {
                    let mut ip = bp.clone();
                    ip.push(Seg::from("index"));
                    self.report(
                        ip,
                        Msg::new(format!("BAR {} is listed twice for `{}`", b.index, ep.name))
                            .expected("each BAR index once per endpoint"),
                    );
                    continue;
                }
                seen.push(b.index);
                if let Some(range) = self.range(b.addr.0, b.size.0, bp, "addr") {
                    bars.push(Bar {
                        index: b.index,
                        range,
                        prefetchable: b.prefetchable.unwrap_or(false),
                    });
                }
            }
            bars.sort_by_key(|b| b.index);
            let cc = ep.cc.as_ref().map(|c| DeviceCc {
                state: c.state.unwrap_or_default(),
                tdisp: c.tdisp.unwrap_or_default(),
            });
            out.push(Proto {
                name: ep.name.clone(),
                ent: Ent::Endpoint(i),
                parent: Parent::Broken,
                bdf: Some(ep.bdf),
                kind: NodeKind::Endpoint(Endpoint {
                    class: ep.class.unwrap_or_default(),
                    mpss,
                    mps: ep.mps.unwrap_or(128),
                    dma_mask_bits,
                    bus_dma_limit: ep.bus_dma_limit.map(|a| a.0),
                    coherent: ep.coherent.unwrap_or(true),
                    ats: ep.ats.unwrap_or(false),
                    trusted: ep.trusted.unwrap_or(true),
                    multifunction: ep.multifunction.unwrap_or(false),
                    acs,
                    driver: ep.driver.unwrap_or_default(),
                    bars,
                    cc,
                }),
            });
        }
        out
    }

    fn root_port_tbu(
        &mut self,
        tbu: &str,
        p: Path,
        hb: &str,
        hb_has_iommu: bool,
        iommu: Option<usize>,
    ) -> Option<TbuId> {
        let raw = self.raw;
        let Some(k) = iommu else {
            if !hb_has_iommu {
                self.report(
                    p,
                    Msg::new(format!(
                        "root port names TBU `{tbu}`, but host bridge `{hb}` has no `iommu`"
                    ))
                    .expected("a TBU of the host bridge's IOMMU")
                    .help(format!("give `{hb}` an `iommu:` that has this TBU")),
                );
            }
            return None;
        };
        let mmu = raw.iommus.get(k)?;
        let names: Vec<&str> = mmu.tbus.iter().map(|t| t.name.as_str()).collect();
        let expected = if names.is_empty() {
            format!("a TBU of {} (it has none)", mmu.name)
        } else {
            format!("a TBU of {}: {}", mmu.name, names.join(", "))
        };
        match self.names.get(tbu).copied() {
            Some(Ent::Tbu(i, j)) if i == k => Some(TbuId {
                iommu: IommuId(k as u32),
                index: j as u32,
            }),
            Some(Ent::Tbu(i, _)) => {
                let owner = raw.iommus.get(i).map(|m| m.name.as_str()).unwrap_or("?");
                self.report(
                    p,
                    Msg::new(format!(
                        "TBU `{tbu}` belongs to `{owner}`, not to `{}`, the IOMMU of host bridge `{hb}`",
                        mmu.name
                    ))
                    .expected(expected),
                );
                None
            }
            None if self.broken.contains(tbu) => None,
            other => {
                let msg = match other {
                    Some(e) => format!("`{tbu}` is {}", e.what()),
                    None => format!("`{tbu}` is not defined"),
                };
                let help = did_you_mean(tbu, names.iter().copied());
                self.report(p, Msg::new(msg).expected(expected).help_opt(help));
                None
            }
        }
    }

    fn resolve_parents(&mut self, protos: &mut [Proto]) {
        let raw = self.raw;
        let index: HashMap<Ent, usize> =
            protos.iter().enumerate().map(|(i, p)| (p.ent, i)).collect();
        for pr in protos.iter_mut() {
            let (parent, ok, expected): (&str, fn(Ent) -> bool, &str) = match pr.ent {
                Ent::Switch(i) => match raw.switches.get(i) {
                    Some(sw) => (
                        &sw.parent,
                        |e| matches!(e, Ent::RootPort(..) | Ent::Downstream(..)),
                        "the name of a root port or switch downstream port",
                    ),
                    None => continue,
                },
                Ent::Bridge(i) => match raw.bridges.get(i) {
                    Some(b) => (
                        &b.parent,
                        |e| {
                            matches!(
                                e,
                                Ent::RootPort(..) | Ent::Downstream(..) | Ent::Bridge(_) | Ent::HostBridge(_)
                            )
                        },
                        "the name of a root port, switch downstream port, bridge or host bridge",
                    ),
                    None => continue,
                },
                Ent::Endpoint(i) => match raw.endpoints.get(i) {
                    Some(ep) => (
                        &ep.parent,
                        |e| {
                            matches!(
                                e,
                                Ent::RootPort(..) | Ent::Downstream(..) | Ent::Bridge(_) | Ent::HostBridge(_)
                            )
                        },
                        "the name of a root port, switch downstream port, bridge or host bridge (RCiEP)",
                    ),
                    None => continue,
                },
                _ => continue,
            };
            let mut p = self.ent_path(pr.ent);
            p.push(Seg::from("parent"));
            pr.parent = match self.resolve(parent, p, ok, expected) {
                Some(e) => index.get(&e).map_or(Parent::Broken, |&i| Parent::Idx(i)),
                None => Parent::Broken,
            };
        }
    }

    /// Parents-first order (a pre-order walk from each host bridge, children in
    /// declaration order), and each proto's `NodeId`. Reports hierarchy loops.
    fn order(&mut self, protos: &[Proto]) -> (Vec<usize>, Vec<Option<NodeId>>) {
        let n = protos.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, p) in protos.iter().enumerate() {
            if let Parent::Idx(q) = p.parent {
                if let Some(c) = children.get_mut(q) {
                    c.push(i);
                }
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut ids: Vec<Option<NodeId>> = vec![None; n];
        for (r, p) in protos.iter().enumerate() {
            if p.parent != Parent::Root {
                continue;
            }
            let mut stack = vec![r];
            while let Some(u) = stack.pop() {
                if ids.get(u).copied().flatten().is_some() {
                    continue;
                }
                if let Some(slot) = ids.get_mut(u) {
                    *slot = Some(NodeId(order.len() as u32));
                }
                order.push(u);
                if let Some(c) = children.get(u) {
                    stack.extend(c.iter().rev());
                }
            }
        }
        // Nodes not reached hang below a broken parent (reported) or sit in a loop.
        // 0 = unknown, 1 = on the current walk, 2 = done.
        let mut state = vec![0u8; n];
        for (i, slot) in ids.iter().enumerate() {
            if slot.is_some() {
                if let Some(s) = state.get_mut(i) {
                    *s = 2;
                }
            }
        }
        for start in 0..n {
            if state.get(start) != Some(&0) {
                continue;
            }
            let mut walk = Vec::new();
            let mut cur = start;
            loop {
                match state.get(cur) {
                    Some(0) => {}
                    Some(1) => {
                        let from = walk.iter().position(|&w| w == cur).unwrap_or(0);
                        let cycle = walk.get(from..).unwrap_or(&[]).to_vec();
                        self.report_loop(protos, &cycle);
                        break;
                    }
                    _ => break,
                }
                if let Some(s) = state.get_mut(cur) {
                    *s = 1;
                }
                walk.push(cur);
                match protos.get(cur).map(|p| p.parent) {
                    Some(Parent::Idx(q)) => cur = q,
                    _ => break,
                }
            }
            for w in walk {
                if let Some(s) = state.get_mut(w) {
                    *s = 2;
                }
            }
        }
        (order, ids)
    }

    fn report_loop(&mut self, protos: &[Proto], cycle: &[usize]) {
        // Report at the first member (in declaration order) that has a `parent` key.
        let Some(&anchor) = cycle
            .iter()
            .filter(|&&c| {
                protos.get(c).is_some_and(|p| {
                    matches!(p.ent, Ent::Switch(_) | Ent::Bridge(_) | Ent::Endpoint(_))
                })
            })
            .min()
        else {
            return;
        };
        let pos = cycle.iter().position(|&c| c == anchor).unwrap_or(0);
        let mut names: Vec<&str> = Vec::new();
        for k in 0..=cycle.len() {
            if let Some(p) = cycle
                .get((pos + k) % cycle.len())
                .and_then(|&c| protos.get(c))
            {
                names.push(&p.name);
            }
        }
        let Some(pr) = protos.get(anchor) else { return };
        let mut p = self.ent_path(pr.ent);
        p.push(Seg::from("parent"));
        let chain = names.join(" → ");
        self.report(
            p,
            Msg::new(format!("hierarchy loop: {chain}"))
                .expected("a tree: every parent chain ends at a host bridge")
                .help(format!(
                    "`{}` is its own ancestor; fix one of these `parent` keys",
                    pr.name
                )),
        );
    }

    /// Each BDF once; each node's segment is its host bridge's.
    fn check_bdfs(&mut self, protos: &[Proto], order: &[usize]) {
        let mut seen: HashMap<Bdf, usize> = HashMap::new();
        for (i, p) in protos.iter().enumerate() {
            let Some(bdf) = p.bdf else { continue };
            if let Some(&first) = seen.get(&bdf) {
                let other = protos.get(first).map(|f| f.name.as_str()).unwrap_or("?");
                let mut bp = self.port_path(p.ent);
                bp.push(Seg::from("bdf"));
                self.report(
                    bp,
                    Msg::new(format!("BDF {bdf} is already used by `{other}`"))
                        .expected("each BDF once"),
                );
            } else {
                seen.insert(bdf, i);
            }
        }
        let hbs = host_bridge_of(protos, order);
        for &i in order {
            let (Some(p), Some(Some(h))) = (protos.get(i), hbs.get(i)) else {
                continue;
            };
            let (Some(bdf), Some(hp)) = (p.bdf, protos.get(*h)) else {
                continue;
            };
            let NodeKind::HostBridge(hb) = &hp.kind else {
                continue;
            };
            if bdf.segment != hb.segment {
                let mut bp = self.port_path(p.ent);
                bp.push(Seg::from("bdf"));
                self.report(
                    bp,
                    Msg::new(format!(
                        "`{}` is below host bridge `{}` (segment {:04x}) but its BDF {bdf} is in segment {:04x}",
                        p.name, hp.name, hb.segment, bdf.segment
                    ))
                    .expected(format!("a BDF in segment {:04x}", hb.segment)),
                );
            }
        }
    }

    /// DRAM regions and host bridge windows share the CPU physical address map, and
    /// an address decodes to one of them or to nothing (H7): none may overlap.
    fn check_address_map(&mut self, memory: &[MemRegion]) {
        let raw = self.raw;
        let mut spans: Vec<(AddrRange, String, Path)> = Vec::new();
        let ranges: HashMap<&str, AddrRange> =
            memory.iter().map(|m| (m.name.as_str(), m.range)).collect();
        for (i, m) in raw.memory.iter().enumerate() {
            if let Some(&r) = ranges.get(m.name.as_str()) {
                let mut p = self.ent_path(Ent::Memory(i));
                p.push(Seg::from("base"));
                spans.push((r, format!("memory `{}` {r}", m.name), p));
            }
        }
        for (i, hb) in raw.host_bridges.iter().enumerate() {
            for (k, w) in hb.windows.iter().enumerate() {
                if let Some(r) = AddrRange::from_start_and_size(w.cpu.0, w.size.0) {
                    let mut p = self.ent_path(Ent::HostBridge(i));
                    p.extend(ypath!["windows", k, "cpu"]);
                    spans.push((r, format!("window {r} of `{}`", hb.name), p));
                }
            }
        }
        self.overlaps(spans);
    }

    /// Reports each span that overlaps an earlier one (by start address), at its
    /// path.
    fn overlaps(&mut self, mut spans: Vec<(AddrRange, String, Path)>) {
        spans.sort_by_key(|s| (s.0.start, s.0.end));
        let mut widest: Option<usize> = None;
        for i in 0..spans.len() {
            let Some((r, label, p)) = spans.get(i).cloned() else {
                continue;
            };
            if let Some(w) = widest.and_then(|w| spans.get(w)) {
                if w.0.overlaps(&r) {
                    let other = w.1.clone();
                    self.report(
                        p,
                        Msg::new(format!("{label} overlaps {other}"))
                            .expected("ranges that do not overlap in the CPU physical address map"),
                    );
                }
            }
            match widest.and_then(|w| spans.get(w)) {
                Some(w) if w.0.end >= r.end => {}
                _ => widest = Some(i),
            }
        }
    }

    /// BARs do not overlap and lie in a window of their own host bridge.
    fn check_bars(&mut self, protos: &[Proto], order: &[usize]) {
        let hbs = host_bridge_of(protos, order);
        // Every window with its host bridge's proto index, by start address.
        let mut windows: Vec<(AddrRange, usize)> = protos
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match &p.kind {
                NodeKind::HostBridge(hb) => Some(hb.windows.iter().map(move |w| (w.cpu, i))),
                _ => None,
            })
            .flatten()
            .collect();
        windows.sort_by_key(|(r, _)| (r.start, r.end));
        let mut spans = Vec::new();
        for (i, p) in protos.iter().enumerate() {
            let NodeKind::Endpoint(ep) = &p.kind else {
                continue;
            };
            let Ent::Endpoint(ei) = p.ent else { continue };
            let raw_bars = self
                .raw
                .endpoints
                .get(ei)
                .map(|e| e.bars.as_slice())
                .unwrap_or(&[]);
            for bar in &ep.bars {
                let k = raw_bars
                    .iter()
                    .position(|b| b.index == bar.index)
                    .unwrap_or(0);
                let mut bp = self.ent_path(p.ent);
                bp.extend(ypath!["bars", k]);
                let mut ap = bp.clone();
                ap.push(Seg::from("addr"));
                spans.push((
                    bar.range,
                    format!("BAR {} {} of `{}`", bar.index, bar.range, p.name),
                    ap,
                ));
                let Some(Some(h)) = hbs.get(i) else { continue };
                let Some(hp) = protos.get(*h) else { continue };
                let NodeKind::HostBridge(own) = &hp.kind else {
                    continue;
                };
                let found = containing_window(&windows, &bar.range);
                if found.is_some_and(|(owner, _)| owner == *h) {
                    continue;
                }
                let mut listed: Vec<String> = own
                    .windows
                    .iter()
                    .take(4)
                    .map(|w| w.cpu.to_string())
                    .collect();
                if own.windows.len() > 4 {
                    listed.push("…".to_owned());
                }
                let expected = if listed.is_empty() {
                    format!("inside a window of `{}`, which has none", hp.name)
                } else {
                    format!("inside a window of `{}`: {}", hp.name, listed.join(", "))
                };
                bp.push(Seg::from("addr"));
                let msg = match found.and_then(|(owner, w)| Some((protos.get(owner)?, w))) {
                    Some((other, w)) => Msg::new(format!(
                        "BAR {} {} of `{}` lies in host bridge `{}`'s window {w}, but `{}` is below `{}`",
                        bar.index, bar.range, p.name, other.name, p.name, hp.name
                    )),
                    None => Msg::new(format!(
                        "BAR {} {} of `{}` is outside every host bridge window",
                        bar.index, bar.range, p.name
                    )),
                };
                self.report(bp, msg.expected(expected));
            }
        }
        self.overlaps(spans);
    }

    fn node_ref(
        &mut self,
        name: &str,
        p: Path,
        ent_node: &HashMap<Ent, NodeId>,
        by_bdf: &HashMap<Bdf, NodeId>,
    ) -> Option<NodeId> {
        if name.contains(':') {
            return match name.parse::<Bdf>() {
                Ok(bdf) => {
                    let id = by_bdf.get(&bdf).copied();
                    if id.is_none() {
                        self.report(
                            p,
                            Msg::new(format!("no device has BDF {bdf}"))
                                .expected("the BDF or name of a port"),
                        );
                    }
                    id
                }
                Err(e) => {
                    self.report(p, Msg::new(e.0));
                    None
                }
            };
        }
        let e = self.resolve(name, p, Ent::has_bdf, "the name or BDF of a port or device")?;
        ent_node.get(&e).copied()
    }

    fn kernel(&mut self, ent_node: &HashMap<Ent, NodeId>, nodes: &[PNode]) -> Kernel {
        let raw = self.raw;
        let Some(k) = raw.kernel.as_ref() else {
            return Kernel {
                ipa_bits: 48,
                ..Kernel::default()
            };
        };
        let mut by_bdf: HashMap<Bdf, NodeId> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if let Some(b) = n.bdf {
                by_bdf.entry(b).or_insert(NodeId(i as u32));
            }
        }
        let mut disable_acs_redir = Vec::new();
        for (i, name) in k.disable_acs_redir.iter().enumerate() {
            if let Some(id) = self.node_ref(
                name,
                ypath!["kernel", "disable_acs_redir", i],
                ent_node,
                &by_bdf,
            ) {
                disable_acs_redir.push(id);
            }
        }
        let mut config_acs = Vec::new();
        for (i, c) in k.config_acs.iter().enumerate() {
            let port = self.node_ref(
                &c.port,
                ypath!["kernel", "config_acs", i, "port"],
                ent_node,
                &by_bdf,
            );
            let set = AcsBit::to_flags(&c.set);
            let clear = AcsBit::to_flags(&c.clear);
            let both = set & clear;
            if !both.is_empty() {
                self.report(
                    ypath!["kernel", "config_acs", i, "clear"],
                    Msg::new(format!("{both} are both set and cleared"))
                        .expected("each bit in at most one of `set` and `clear`"),
                );
            }
            if let Some(port) = port {
                config_acs.push(ConfigAcs { port, set, clear });
            }
        }
        let ipa_bits = k.ipa_bits.unwrap_or(48);
        if !(1..=64).contains(&ipa_bits) {
            self.report(
                ypath!["kernel", "ipa_bits"],
                Msg::new(format!("{ipa_bits} IPA bits")).expected("1 to 64"),
            );
        }
        Kernel {
            release: k.release.clone(),
            arch: k.arch.unwrap_or_default(),
            cpu: Cpu {
                vendor: k.cpu.as_ref().and_then(|c| c.vendor).unwrap_or_default(),
                family: k.cpu.as_ref().and_then(|c| c.family),
            },
            default_domain: k.default_domain.unwrap_or_default(),
            passthrough_from: k.passthrough_from.unwrap_or_default(),
            swiotlb_force: k.swiotlb_force.unwrap_or(false),
            noats: k.noats.unwrap_or(false),
            pcie_bus_config: k.pcie_bus_config.unwrap_or_default(),
            disable_acs_redir,
            config_acs,
            acs_decision: k.acs_decision.unwrap_or_default(),
            group_algorithm: k.group_algorithm.unwrap_or_default(),
            cc: k.cc.unwrap_or_default(),
            ipa_bits,
        }
    }

    fn interconnect(&mut self) -> Interconnect {
        let Some(bytes) = self
            .raw
            .interconnect
            .as_ref()
            .and_then(|i| i.write_merge_bytes)
        else {
            return Interconnect::default();
        };
        match u32::try_from(bytes.0) {
            Ok(b) if b > 0 => Interconnect {
                write_merge_bytes: b,
            },
            _ => {
                self.report(
                    ypath!["interconnect", "write_merge_bytes"],
                    Msg::new(format!("a burst of {} bytes", bytes.0))
                        .expected("1 byte to 4GiB - 1"),
                );
                Interconnect::default()
            }
        }
    }

    fn endpoint_ref(
        &mut self,
        name: &str,
        p: Path,
        ent_node: &HashMap<Ent, NodeId>,
    ) -> Option<(usize, NodeId)> {
        match self.resolve(
            name,
            p,
            |e| matches!(e, Ent::Endpoint(_)),
            "the name of an endpoint",
        )? {
            Ent::Endpoint(i) => Some((i, *ent_node.get(&Ent::Endpoint(i))?)),
            _ => None,
        }
    }

    fn domains(&mut self, ent_node: &HashMap<Ent, NodeId>) -> Vec<Domain> {
        let raw = self.raw;
        let mut out = Vec::new();
        let mut member: HashMap<NodeId, &str> = HashMap::new();
        for (i, d) in raw.domains.iter().enumerate() {
            let dp = self.ent_path(Ent::Domain(i));
            let mut devices = Vec::new();
            for (k, dev) in d.devices.iter().enumerate() {
                let mut p = dp.clone();
                p.extend(ypath!["devices", k]);
                let Some((_, id)) = self.endpoint_ref(dev, p.clone(), ent_node) else {
                    continue;
                };
                if let Some(other) = member.get(&id) {
                    self.report(
                        p,
                        Msg::new(format!("`{dev}` is already in domain `{other}`"))
                            .expected("each device in at most one domain"),
                    );
                    continue;
                }
                member.insert(id, &d.name);
                devices.push(id);
            }
            out.push(Domain {
                name: d.name.clone(),
                ty: d.ty,
                devices,
            });
        }
        out
    }

    fn exports(&mut self, ent_node: &HashMap<Ent, NodeId>) -> Vec<Export> {
        let raw = self.raw;
        let mut out = Vec::new();
        self.export_ids = vec![None; raw.exports.len()];
        for (i, x) in raw.exports.iter().enumerate() {
            let xp = self.ent_path(Ent::Export(i));
            let mut dp = xp.clone();
            dp.push(Seg::from("device"));
            let Some((ei, device)) = self.endpoint_ref(&x.device, dp, ent_node) else {
                continue;
            };
            let Some(ep) = raw.endpoints.get(ei) else {
                continue;
            };
            let Some(bar) = ep.bars.iter().find(|b| b.index == x.bar) else {
                let indices: Vec<String> = ep.bars.iter().map(|b| b.index.to_string()).collect();
                let expected = if indices.is_empty() {
                    format!("a BAR of `{}`, which has none", ep.name)
                } else {
                    format!("a BAR of `{}`: {}", ep.name, indices.join(", "))
                };
                let mut bp = xp.clone();
                bp.push(Seg::from("bar"));
                self.report(
                    bp,
                    Msg::new(format!("`{}` has no BAR {}", ep.name, x.bar)).expected(expected),
                );
                continue;
            };
            let offset = x.offset.map_or(0, |o| o.0);
            let size = x
                .size
                .map_or_else(|| bar.size.0.saturating_sub(offset), |s| s.0);
            if offset.checked_add(size).is_none() {
                let mut sp = xp.clone();
                sp.push(Seg::from(if x.size.is_some() { "size" } else { "offset" }));
                self.report(
                    sp,
                    Msg::new(format!(
                        "`offset` {offset:#x} + `size` {size:#x} wraps past 2^64"
                    ))
                    .expected("a range inside the BAR"),
                );
                continue;
            }
            // Outside the BAR or not page-aligned is a finding (K2.1), not a load error.
            if let Some(slot) = self.export_ids.get_mut(i) {
                *slot = Some(ExportId(out.len() as u32));
            }
            out.push(Export {
                name: x.name.clone(),
                device,
                bar: x.bar,
                offset,
                size,
                via: x.via.unwrap_or_default(),
            });
        }
        out
    }

    fn export_ref(&mut self, name: &str, p: Path) -> Option<ExportId> {
        match self.resolve(
            name,
            p,
            |e| matches!(e, Ent::Export(_)),
            "the name of an export",
        )? {
            Ent::Export(i) => self.export_ids.get(i).copied().flatten(),
            _ => None,
        }
    }

    /// The listed pairings, unsorted; `None` when `imports` is absent (every endpoint
    /// imports every export it does not own: `Platform::default_imports`), once the
    /// size of that expansion is checked against the limit.
    fn imports(
        &mut self,
        ent_node: &HashMap<Ent, NodeId>,
        exports: &[Export],
    ) -> Option<Vec<Import>> {
        let raw = self.raw;
        let mut out: Vec<Import> = Vec::new();
        match raw.imports.as_ref() {
            None => {
                let total = (raw.endpoints.len() as u128) * (exports.len() as u128);
                if total > crate::limits::MAX_PAIRINGS as u128 {
                    self.report(
                        ypath!["exports"],
                        Msg::new(format!(
                            "without `imports`, {} endpoints and {} exports make up to {total} pairings",
                            raw.endpoints.len(),
                            exports.len()
                        ))
                        .expected(format!("at most {} pairings", crate::limits::MAX_PAIRINGS))
                        .help("list the pairings of interest in `imports`"),
                    );
                    // An error is reported: never expand past the bound.
                    return Some(Vec::new());
                }
                return None;
            }
            Some(list) => {
                let mut seen: HashMap<(NodeId, ExportId), usize> = HashMap::new();
                // Pairings looked at, duplicates included: bounds the work of many
                // `exports: all` entries.
                let mut work = 0usize;
                for (i, im) in list.iter().enumerate() {
                    let ip = ypath!["imports", at(&self.o.imports, i)];
                    let mut dp = ip.clone();
                    dp.push(Seg::from("device"));
                    let Some((_, id)) = self.endpoint_ref(&im.device, dp, ent_node) else {
                        continue;
                    };
                    work += match &im.exports {
                        ExportSel::All => exports.len(),
                        ExportSel::List(names) => names.len(),
                    };
                    if work > crate::limits::MAX_PAIRINGS {
                        self.report(
                            ip,
                            Msg::new("`imports` expand to too many pairings").expected(format!(
                                "at most {} pairings",
                                crate::limits::MAX_PAIRINGS
                            )),
                        );
                        break;
                    }
                    let targets: Vec<(Option<ExportId>, Path)> = match &im.exports {
                        ExportSel::All => exports
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| e.device != id)
                            .map(|(x, _)| (Some(ExportId(x as u32)), ypath![]))
                            .collect(),
                        ExportSel::List(names) => {
                            let mut t = Vec::with_capacity(names.len());
                            for (k, n) in names.iter().enumerate() {
                                let mut xp = ip.clone();
                                xp.extend(ypath!["exports", k]);
                                t.push((self.export_ref(n, xp.clone()), xp));
                            }
                            t
                        }
                    };
                    for (x, xp) in targets {
                        let Some(x) = x else { continue };
                        if let Some(first) = seen.get(&(id, x)) {
                            let xname = exports
                                .get(x.index())
                                .map(|e| e.name.as_str())
                                .unwrap_or("?");
                            let p = if xp.is_empty() { ip.clone() } else { xp };
                            self.report(
                                p,
                                Msg::new(format!(
                                    "`{}` already imports `{xname}` (imports[{first}])",
                                    im.device
                                ))
                                .expected("each (importer, export) pairing once"),
                            );
                            continue;
                        }
                        seen.insert((id, x), at(&self.o.imports, i));
                        out.push(Import {
                            importer: id,
                            export: x,
                            allow_peer2peer: im.allow_peer2peer.unwrap_or(true),
                            dynamic: im.dynamic.unwrap_or(true),
                        });
                    }
                }
            }
        }
        Some(out)
    }

    fn traffic(&mut self, ent_node: &HashMap<Ent, NodeId>, imports: &[Import]) -> Vec<Traffic> {
        let raw = self.raw;
        let mut out = Vec::new();
        for (i, t) in raw.traffic.iter().enumerate() {
            let tp = ypath!["traffic", at(&self.o.traffic, i)];
            let mut ip = tp.clone();
            ip.push(Seg::from("importer"));
            let importer = self.endpoint_ref(&t.importer, ip, ent_node);
            let mut xp = tp.clone();
            xp.push(Seg::from("export"));
            let export = self.export_ref(&t.export, xp);
            let bytes = t.bytes.map_or(4096, |b| b.0);
            if bytes == 0 {
                let mut bp = tp.clone();
                bp.push(Seg::from("bytes"));
                self.report(
                    bp,
                    Msg::new("0 bytes of traffic").expected("at least 1 byte"),
                );
            }
            if let Some(payload) = t.payload {
                if !(1..=4096).contains(&payload) {
                    let mut pp = tp.clone();
                    pp.push(Seg::from("payload"));
                    self.report(
                        pp,
                        Msg::new(format!("a payload of {payload} bytes per TLP"))
                            .expected("1 to 4096 bytes"),
                    );
                }
            }
            let (Some((_, importer)), Some(export)) = (importer, export) else {
                continue;
            };
            if !imports
                .iter()
                .any(|im| im.importer == importer && im.export == export)
            {
                let help = if raw.imports.is_some() {
                    format!(
                        "add `{}` to the `exports` of an `imports` entry for `{}`",
                        t.export, t.importer
                    )
                } else {
                    format!(
                        "`{}` owns `{}`; an endpoint does not import its own export by default",
                        t.importer, t.export
                    )
                };
                self.report(
                    tp,
                    Msg::new(format!("`{}` does not import `{}`", t.importer, t.export))
                        .expected("traffic for an imported pairing")
                        .help(help),
                );
                continue;
            }
            out.push(Traffic {
                importer,
                export,
                op: t.op.unwrap_or_default(),
                bytes,
                payload: t.payload,
                pattern: t.pattern.unwrap_or_default(),
                ats: t.ats.unwrap_or_default(),
            });
        }
        out
    }
}

/// The window (of a list sorted by start) containing `r`, with its owner. Windows do
/// not overlap in a valid platform (overlaps are reported), so the last window
/// starting at or before `r` is the only candidate.
fn containing_window(windows: &[(AddrRange, usize)], r: &AddrRange) -> Option<(usize, AddrRange)> {
    let after = windows.partition_point(|(w, _)| w.start <= r.start);
    let (w, owner) = windows.get(after.checked_sub(1)?)?;
    w.contains_range(r).then_some((*owner, *w))
}

/// For each proto reached from a host bridge, the proto index of that host bridge.
fn host_bridge_of(protos: &[Proto], order: &[usize]) -> Vec<Option<usize>> {
    let mut hb: Vec<Option<usize>> = vec![None; protos.len()];
    for &i in order {
        let h = match protos.get(i).map(|p| p.parent) {
            Some(Parent::Root) => Some(i),
            Some(Parent::Idx(q)) => hb.get(q).copied().flatten(),
            _ => None,
        };
        if let Some(slot) = hb.get_mut(i) {
            *slot = h;
        }
    }
    hb
}

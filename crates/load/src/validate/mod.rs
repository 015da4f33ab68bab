//! Raw platform → validated [`Platform`], reporting every violation of
//! `platform-format.md` "Validation" with its location.
//!
//! One module per section of the platform file, run in this order by
//! [`Validator::run`]:
//!
//! 1. [`names`]: every name in one namespace (duplicates, spelling), and resolving
//!    references to them.
//! 2. [`iommus`] and the DRAM regions of [`memory`].
//! 3. The PCI hierarchy: [`host_bridges`] (with their root ports and windows),
//!    [`switches`], [`bridges`] and [`endpoints`] (with their BARs) become pending
//!    nodes; [`hierarchy`] resolves their parents, orders them parents-first, reports
//!    loops and checks BDFs; [`ports`] holds the MPS and ACS checks they share. Then
//!    the CPU address map (DRAM and windows, in [`memory`]) and the BARs are checked.
//! 4. The sections that refer to nodes by name: [`kernel`], then `interconnect` (in
//!    [`memory`], with the fabric and latencies of [`timing`]), [`domains`],
//!    [`exports`], [`imports`] and [`traffic`]. Links (`link:` of ports and
//!    endpoints, [`timing`]) are checked as the nodes are made.
//!
//! Diagnostics are reported in that order; the sink sorts them by file position.
//!
//! Architecture invariant: a `Platform` is returned only when no diagnostic was
//! reported, by this pass or by the conversion before it.

mod assumed;
mod bridges;
mod domains;
mod endpoints;
mod exports;
mod hierarchy;
mod host_bridges;
mod ide_streams;
mod imports;
mod iommus;
mod kernel;
mod memory;
mod names;
mod ports;
mod switches;
mod timing;
mod traffic;
mod vms;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use peerpath_model::{ExportId, Node as PNode, NodeId, Platform};

use crate::raw::{Origins, RawPlatform};
use crate::source::{ypath, Msg, Node, Path, Sink};

use hierarchy::Parent;
use names::Entity;

/// The validation of one raw platform: what it reads, where it reports, and the names
/// it has registered. Each module of this one adds the methods of its section.
struct Validator<'a, 't> {
    /// The platform being validated.
    raw: &'a RawPlatform,
    sink: &'a mut Sink<'t>,
    /// The located tree it came from, to locate diagnostics (none for a platform
    /// built in code).
    root: Option<&'a Node>,
    /// The display path of the platform mapping (`platform` inside a scenario file).
    prefix: Path,
    /// Where each raw list element sits in the file.
    origins: Origins,
    /// Names defined in the file whose element failed to convert; references to them
    /// are not reported again.
    broken: HashSet<String>,
    /// Every name, with what it names (the first definition of a duplicate).
    names: HashMap<&'a str, Entity>,
    /// Later definitions of duplicated names (reported); a reference that does not
    /// fit the first definition may fit one of these, and is then not reported again.
    duplicates: HashMap<&'a str, Vec<Entity>>,
    /// `names` sorted, for deterministic suggestions; built on the first miss.
    sorted_names: Option<Vec<(&'a str, Entity)>>,
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
    let mut broken = HashSet::default();
    if let (Some(root), false) = (root, converted_cleanly) {
        let src = sink.text;
        root.walk(|n| {
            if let Some(name) = n.get("name", src).and_then(|v| v.text(src)) {
                broken.insert(name.into_owned());
            }
        });
    }
    let mut v = Validator {
        raw,
        sink,
        root,
        prefix,
        origins,
        broken,
        names: HashMap::default(),
        duplicates: HashMap::default(),
        sorted_names: None,
        export_ids: Vec::new(),
    };
    let before = v.sink.count();
    let platform = v.run();
    (v.sink.count() == before && converted_cleanly).then_some(platform)
}

impl Validator<'_, '_> {
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

    /// Every section, in the order the module comment gives; the platform built from
    /// what validated (returned by [`validate`] only when nothing was reported).
    fn run(&mut self) -> Platform {
        let raw = self.raw;
        if raw.format != 1 {
            self.report(
                ypath!["format"],
                Msg::new(format!("format {} is not supported", raw.format)).expected("1"),
            );
        }
        if self.origins.converted("name") {
            self.check_name(&raw.name, ypath!["name"]);
        }
        self.register_names();

        let iommus = self.iommus();
        let memory = self.memory();
        let mut pending = self.pending_nodes();
        self.resolve_parents(&mut pending);
        let (order, ids) = self.order(&pending);
        self.check_bdfs(&pending, &order);
        self.check_address_map(&memory);
        self.check_bars(&pending, &order);

        let mut node_ids: HashMap<Entity, NodeId> =
            HashMap::with_capacity_and_hasher(pending.len(), Default::default());
        node_ids.extend(
            pending
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((p.entity, ids.get(i).copied().flatten()?))),
        );
        // Each pending node becomes its node once (`order` names each at most once):
        // moved, not copied (names and BARs of 100,000 endpoints).
        let mut slots: Vec<Option<hierarchy::PendingNode>> =
            pending.into_iter().map(Some).collect();
        let nodes: Vec<PNode> = order
            .iter()
            .filter_map(|&p| {
                let pr = slots.get_mut(p)?.take()?;
                Some(PNode {
                    parent: match pr.parent {
                        Parent::Idx(q) => ids.get(q).copied().flatten(),
                        _ => None,
                    },
                    bdf: pr.bdf,
                    link: self.link(pr.entity),
                    pci_id: self.pci_id(pr.entity),
                    name: pr.name,
                    kind: pr.kind,
                })
            })
            .collect();

        let switches = self.switches(&node_ids);

        let kernel = self.kernel(&node_ids, &nodes);
        let interconnect = self.interconnect(&node_ids);
        let domains = self.domains(&node_ids);
        let exports = self.exports(&node_ids);
        let listed = self.imports(&node_ids, &exports);

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
            assumed: Vec::new(),
            vms: Vec::new(),
            ide_streams: None,
        };
        platform.ide_streams = self.ide_streams(&node_ids, &platform.nodes);
        let arch = platform.kernel.arch;
        platform.vms = self.vms(&node_ids, &mut platform.nodes, arch);
        // The default expansion and the output order are the model's, shared with
        // `PlatformBuilder`.
        platform.imports = listed.unwrap_or_else(|| platform.default_imports());
        platform.sort_imports();
        platform.traffic = self.traffic(&node_ids, &platform.imports);
        platform.assumed = self.assumed(&node_ids);
        platform
    }
}

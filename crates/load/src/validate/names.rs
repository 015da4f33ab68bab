//! Names: every named thing of the file in one namespace, checked for spelling and
//! duplicates, its YAML path, and resolving references to names (with "did you mean"
//! and "is a …, expected …" diagnostics).

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::NodeId;

use crate::source::{ypath, Msg, Path, Seg};
use crate::suggest::did_you_mean;

use super::Validator;

/// The index in the file of element `i` of a converted top-level list, given that
/// list's [`Origins`](crate::raw::Origins) (`i` itself for a platform built in code).
pub(super) fn file_index(v: &[usize], i: usize) -> usize {
    v.get(i).copied().unwrap_or(i)
}

/// A named thing, by its index in the raw platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Entity {
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

impl Entity {
    pub(super) fn what(self) -> &'static str {
        match self {
            Entity::Memory(_) => "a memory region",
            Entity::Iommu(_) => "an IOMMU",
            Entity::Tbu(..) => "a TBU",
            Entity::HostBridge(_) => "a host bridge",
            Entity::RootPort(..) => "a root port",
            Entity::Switch(_) => "a switch (its upstream port)",
            Entity::Downstream(..) => "a switch downstream port",
            Entity::Bridge(_) => "a PCI bridge",
            Entity::Endpoint(_) => "an endpoint",
            Entity::Domain(_) => "a domain",
            Entity::Export(_) => "an export",
        }
    }

    /// Whether this is a PCI node with a BDF.
    pub(super) fn has_bdf(self) -> bool {
        matches!(
            self,
            Entity::RootPort(..)
                | Entity::Switch(_)
                | Entity::Downstream(..)
                | Entity::Bridge(_)
                | Entity::Endpoint(_)
        )
    }
}

/// A name and what it names.
pub(super) type Named<'a> = (&'a str, Entity);

impl<'a> Validator<'a, '_> {
    /// The YAML path of a named thing, with its index in the file.
    pub(super) fn entity_path(&self, e: Entity) -> Path {
        let o = &self.origins;
        match e {
            Entity::Memory(i) => ypath!["memory", file_index(&o.memory, i)],
            Entity::Iommu(i) => ypath!["iommus", file_index(&o.iommus, i)],
            Entity::Tbu(i, j) => ypath!["iommus", file_index(&o.iommus, i), "tbus", j],
            Entity::HostBridge(i) => ypath!["host_bridges", file_index(&o.host_bridges, i)],
            Entity::RootPort(i, j) => {
                ypath![
                    "host_bridges",
                    file_index(&o.host_bridges, i),
                    "root_ports",
                    j
                ]
            }
            Entity::Switch(i) => ypath!["switches", file_index(&o.switches, i)],
            Entity::Downstream(i, j) => {
                ypath!["switches", file_index(&o.switches, i), "downstream", j]
            }
            Entity::Bridge(i) => ypath!["bridges", file_index(&o.bridges, i)],
            Entity::Endpoint(i) => ypath!["endpoints", file_index(&o.endpoints, i)],
            Entity::Domain(i) => ypath!["domains", file_index(&o.domains, i)],
            Entity::Export(i) => ypath!["exports", file_index(&o.exports, i)],
        }
    }

    /// The path of a node's port fields (`bdf`, `mpss`, `acs`): a switch's are under
    /// `upstream`.
    pub(super) fn port_path(&self, e: Entity) -> Path {
        let mut p = self.entity_path(e);
        if let Entity::Switch(_) = e {
            p.push(Seg::from("upstream"));
        }
        p
    }

    pub(super) fn check_name(&mut self, name: &str, p: Path) {
        if !valid_name(name) {
            let lower = name.to_ascii_lowercase();
            let help =
                (valid_name(&lower) && lower != name).then(|| format!("did you mean `{lower}`?"));
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
    pub(super) fn register_names(&mut self) {
        let raw = self.raw;
        let mut all: Vec<(&'a str, Entity)> = Vec::new();
        for (i, m) in raw.memory.iter().enumerate() {
            all.push((&m.name, Entity::Memory(i)));
        }
        for (i, m) in raw.iommus.iter().enumerate() {
            all.push((&m.name, Entity::Iommu(i)));
            for (j, t) in m.tbus.iter().enumerate() {
                all.push((&t.name, Entity::Tbu(i, j)));
            }
        }
        for (i, hb) in raw.host_bridges.iter().enumerate() {
            all.push((&hb.name, Entity::HostBridge(i)));
            for (j, rp) in hb.root_ports.iter().enumerate() {
                all.push((&rp.name, Entity::RootPort(i, j)));
            }
        }
        for (i, sw) in raw.switches.iter().enumerate() {
            all.push((&sw.name, Entity::Switch(i)));
            for (j, dp) in sw.downstream.iter().enumerate() {
                all.push((&dp.name, Entity::Downstream(i, j)));
            }
        }
        for (i, b) in raw.bridges.iter().enumerate() {
            all.push((&b.name, Entity::Bridge(i)));
        }
        for (i, e) in raw.endpoints.iter().enumerate() {
            all.push((&e.name, Entity::Endpoint(i)));
        }
        for (i, d) in raw.domains.iter().enumerate() {
            all.push((&d.name, Entity::Domain(i)));
        }
        for (i, e) in raw.exports.iter().enumerate() {
            all.push((&e.name, Entity::Export(i)));
        }
        self.names.reserve(all.len());
        // The first definition in the file is the one others duplicate.
        if let Some(root) = self.root {
            let src = self.sink.text;
            let mut keyed: Vec<((u32, u32), Named<'a>)> = all
                .into_iter()
                .map(|(name, ent)| {
                    let mut p = self.entity_path(ent);
                    p.push(Seg::from("name"));
                    let loc = root.locate(&p, src).0.loc;
                    ((loc.line, loc.col), (name, ent))
                })
                .collect();
            keyed.sort_by_key(|(at, _)| *at);
            all = keyed.into_iter().map(|(_, v)| v).collect();
        }
        for (name, ent) in all {
            let name_path = |v: &Self| {
                let mut p = v.entity_path(ent);
                p.push(Seg::from("name"));
                p
            };
            if !valid_name(name) {
                self.check_name(name, name_path(self));
            }
            if let Some(first) = self.names.get(name).copied() {
                let p = name_path(self);
                self.duplicates.entry(name).or_default().push(ent);
                let mut fp = self.entity_path(first);
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
    pub(super) fn resolve(
        &mut self,
        name: &str,
        p: Path,
        ok: impl Fn(Entity) -> bool,
        expected: &str,
    ) -> Option<Entity> {
        self.resolve_at(name, |_| p, ok, expected)
    }

    /// [`Self::resolve`], building the reference's path only to report it.
    pub(super) fn resolve_at(
        &mut self,
        name: &str,
        p: impl FnOnce(&Self) -> Path,
        ok: impl Fn(Entity) -> bool,
        expected: &str,
    ) -> Option<Entity> {
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
                    Entity::Switch(i) if ok(Entity::Downstream(i, 0)) => {
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
                    p(self),
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
                        let mut v: Vec<(&'a str, Entity)> =
                            names.iter().map(|(n, e)| (*n, *e)).collect();
                        v.sort_unstable_by_key(|(n, _)| *n);
                        v
                    });
                    did_you_mean(name, sorted.iter().filter(|(_, e)| ok(*e)).map(|(n, _)| *n))
                };
                self.report(
                    p(self),
                    Msg::new(format!("`{}` is not defined", crate::source::shorten(name)))
                        .expected(expected)
                        .help_opt(help),
                );
                None
            }
        }
    }

    pub(super) fn endpoint_ref(
        &mut self,
        name: &str,
        p: Path,
        node_ids: &HashMap<Entity, NodeId>,
    ) -> Option<(usize, NodeId)> {
        match self.resolve(
            name,
            p,
            |e| matches!(e, Entity::Endpoint(_)),
            "the name of an endpoint",
        )? {
            Entity::Endpoint(i) => Some((i, *node_ids.get(&Entity::Endpoint(i))?)),
            _ => None,
        }
    }
}

/// A name as the format allows it: `[a-z0-9][a-z0-9._-]*`.
fn valid_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && bytes.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        })
}

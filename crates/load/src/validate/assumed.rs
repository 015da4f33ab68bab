//! `assumed`: the facts the file does not know (issue 24). Each names a known fact,
//! and a node's fact names a node of the right kind; each fact is listed once.

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{Fact, NodeId};

use crate::source::{ypath, Msg, Seg};

use super::names::{file_index, Entity};
use super::Validator;

impl Validator<'_, '_> {
    /// The `assumed` entries, sorted, each once.
    pub(super) fn assumed(&mut self, node_ids: &HashMap<Entity, NodeId>) -> Vec<Fact> {
        let raw = self.raw;
        let mut out = Vec::new();
        for (i, a) in raw.assumed.iter().enumerate() {
            let ap = ypath!["assumed", file_index(&self.origins.assumed, i)];
            let mut fp = ap.clone();
            fp.push(Seg::from("fact"));
            let mut np = ap.clone();
            np.push(Seg::from("node"));
            let platform_wide = match a.fact.as_str() {
                "kernel.cpu.vendor" => Some(Fact::CpuVendor),
                "kernel.cpu.family" => Some(Fact::CpuFamily),
                "kernel.default_domain" => Some(Fact::DefaultDomain),
                "kernel.release" => Some(Fact::KernelRelease),
                _ => None,
            };
            let fact = match (platform_wide, a.fact.as_str(), &a.node) {
                (Some(f), _, None) => Some(f),
                (Some(_), fact, Some(node)) => {
                    self.report(
                        np,
                        Msg::new(format!("`{fact}` is not a fact of a node (`{node}`)"))
                            .expected("no `node` for a kernel fact"),
                    );
                    None
                }
                (None, "id" | "forwards_p2p", Some(node)) => {
                    let hb = self.resolve(
                        node,
                        np,
                        |e| matches!(e, Entity::HostBridge(_)),
                        "the name of a host bridge",
                    );
                    hb.and_then(|e| node_ids.get(&e).copied()).map(|n| {
                        if a.fact == "id" {
                            Fact::HostBridgeId(n)
                        } else {
                            Fact::ForwardsP2p(n)
                        }
                    })
                }
                (None, "splits_oversized_writes", Some(node)) => self
                    .resolve(
                        node,
                        np,
                        |e| matches!(e, Entity::RootPort(..)),
                        "the name of a root port",
                    )
                    .and_then(|e| node_ids.get(&e).copied())
                    .map(Fact::SplitsOversizedWrites),
                (None, fact @ ("id" | "forwards_p2p" | "splits_oversized_writes"), None) => {
                    self.report(
                        ap,
                        Msg::new(format!("`{fact}` without the `node` it is a fact of")).expected(
                            if fact == "splits_oversized_writes" {
                                "`node:` a root port"
                            } else {
                                "`node:` a host bridge"
                            },
                        ),
                    );
                    None
                }
                (None, fact, _) => {
                    self.report(
                        fp,
                        Msg::new(format!("`{fact}` is not a fact peerpath can assume"))
                            .expected(format!("one of {}", Fact::NAMES.join(", "))),
                    );
                    None
                }
            };
            if let Some(f) = fact {
                out.push(f);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

//! `ide_streams`: P2P selective IDE streams bound between two TDIs (rules.md C3,
//! [PCIe §6.33]). Each names two distinct endpoints that have a `cc` state (only a
//! TDI holds IDE keys); a pair is joined by at most one stream.

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{IdeStream, Node as PNode, NodeId, NodeKind};

use crate::source::{ypath, Msg};

use super::names::{file_index, Entity};
use super::Validator;

impl Validator<'_, '_> {
    /// The `ide_streams`, their ends resolved to endpoints; `None` when the key is absent.
    pub(super) fn ide_streams(
        &mut self,
        node_ids: &HashMap<Entity, NodeId>,
        nodes: &[PNode],
    ) -> Option<Vec<IdeStream>> {
        let raw = self.raw.ide_streams.as_ref()?;
        let mut out: Vec<IdeStream> = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let sp = ypath!["ide_streams", file_index(&self.origins.ide_streams, i)];
            let mut np = sp.clone();
            np.extend(ypath!["name"]);
            self.check_name(&s.name, np.clone());
            if out.iter().any(|o| o.name == s.name) {
                self.report(
                    np,
                    Msg::new(format!("a second IDE stream named `{}`", s.name))
                        .expected("each stream named once"),
                );
            }
            let mut ep = sp.clone();
            ep.extend(ypath!["ends"]);
            if s.ends.len() != 2 {
                self.report(
                    ep,
                    Msg::new(match s.ends.len() {
                        1 => "one end".to_owned(),
                        n => format!("{n} ends"),
                    })
                    .expected("two endpoints: `ends: [a, b]`")
                    .help("a P2P selective IDE stream joins two TDIs (C3)"),
                );
                continue;
            }
            let mut ends = Vec::with_capacity(2);
            for (k, name) in s.ends.iter().enumerate() {
                let mut p = ep.clone();
                p.extend(ypath![k]);
                let Some((_, id)) = self.endpoint_ref(name, p.clone(), node_ids) else {
                    continue;
                };
                let has_cc = matches!(
                    nodes.get(id.index()).map(|n| &n.kind),
                    Some(NodeKind::Endpoint(e)) if e.cc.is_some()
                );
                if !has_cc {
                    self.report(
                        p,
                        Msg::new(format!("`{name}` has no `cc` state"))
                            .expected("an endpoint with `cc: {state, tdisp}`")
                            .help("only a TDI holds the keys of an IDE stream (C3)"),
                    );
                    continue;
                }
                ends.push(id);
            }
            let [a, b] = ends[..] else { continue };
            if a == b {
                self.report(
                    ep,
                    Msg::new(format!("both ends are `{}`", s.ends[0]))
                        .expected("two distinct endpoints"),
                );
                continue;
            }
            if let Some(o) = out.iter().find(|o| o.ends == [a, b] || o.ends == [b, a]) {
                self.report(
                    ep,
                    Msg::new(format!(
                        "`{}` and `{}` are already joined by stream `{}`",
                        s.ends[0], s.ends[1], o.name
                    ))
                    .expected("at most one P2P IDE stream per pair of TDIs"),
                );
                continue;
            }
            out.push(IdeStream {
                name: s.name.clone(),
                ends: [a, b],
            });
        }
        Some(out)
    }
}

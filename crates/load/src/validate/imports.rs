//! `imports`: the listed (importer, export) pairings, each once, or — when `imports`
//! is absent — the check that the default expansion stays within
//! [`crate::limits::MAX_PAIRINGS`].

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{Export, ExportId, Import, NodeId};

use crate::raw::ExportSel;
use crate::source::{ypath, Msg, Path, Seg};

use super::names::{file_index, Entity};
use super::Validator;

impl Validator<'_, '_> {
    /// The listed pairings, unsorted; `None` when `imports` is absent (every endpoint
    /// imports every export it does not own: `Platform::default_imports`), once the
    /// size of that expansion is checked against the limit.
    pub(super) fn imports(
        &mut self,
        node_ids: &HashMap<Entity, NodeId>,
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
                let mut seen: HashMap<(NodeId, ExportId), usize> = HashMap::default();
                // Pairings looked at, duplicates included: bounds the work of many
                // `exports: all` entries.
                let mut work = 0usize;
                for (i, im) in list.iter().enumerate() {
                    let ip = ypath!["imports", file_index(&self.origins.imports, i)];
                    let mut dp = ip.clone();
                    dp.push(Seg::from("device"));
                    let Some((_, id)) = self.endpoint_ref(&im.device, dp, node_ids) else {
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
                        seen.insert((id, x), file_index(&self.origins.imports, i));
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
}

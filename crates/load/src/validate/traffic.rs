//! `traffic`: workloads, each for an imported pairing (bytes at least 1, payload
//! 1–4096 bytes per TLP).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use peerpath_model::{ExportId, Import, NodeId, Traffic};

use crate::source::{ypath, Msg, Seg};

use super::names::{file_index, Entity};
use super::Validator;

impl Validator<'_, '_> {
    /// The `traffic` entries, each for an imported pairing.
    pub(super) fn traffic(
        &mut self,
        node_ids: &HashMap<Entity, NodeId>,
        imports: &[Import],
    ) -> Vec<Traffic> {
        let raw = self.raw;
        let mut out = Vec::new();
        // A set, not a scan of `imports` per entry: the default expansion can hold
        // millions of pairings.
        let imported: HashSet<(NodeId, ExportId)> = if raw.traffic.is_empty() {
            HashSet::default()
        } else {
            imports.iter().map(|im| (im.importer, im.export)).collect()
        };
        for (i, t) in raw.traffic.iter().enumerate() {
            let tp = ypath!["traffic", file_index(&self.origins.traffic, i)];
            let mut ip = tp.clone();
            ip.push(Seg::from("importer"));
            let importer = self.endpoint_ref(&t.importer, ip, node_ids);
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
            if !imported.contains(&(importer, export)) {
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

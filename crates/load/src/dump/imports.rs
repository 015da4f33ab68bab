//! `imports`: left out when the pairings are the default expansion.

use peerpath_model::{Import, Platform};

use crate::raw::{ExportSel, RawImport};

use super::unless;

/// `None` when the pairings are the default expansion, else one entry per run of
/// pairings with the same importer and flags.
pub(super) fn listed(p: &Platform) -> Option<Vec<RawImport>> {
    let mut default = p.clone();
    default.imports = p.default_imports();
    default.sort_imports();
    if default.imports == p.imports {
        return None;
    }
    let mut out: Vec<RawImport> = Vec::new();
    for &Import {
        importer,
        export,
        allow_peer2peer,
        dynamic,
    } in &p.imports
    {
        let importer = p.node(importer).name.clone();
        let export = p.export(export).name.clone();
        let allow = unless(allow_peer2peer, true);
        let dynamic = unless(dynamic, true);
        match out.last_mut() {
            Some(RawImport {
                device,
                exports: ExportSel::List(names),
                allow_peer2peer,
                dynamic: d,
            }) if *device == importer && *allow_peer2peer == allow && *d == dynamic => {
                names.push(export)
            }
            _ => out.push(RawImport {
                device: importer,
                exports: ExportSel::List(vec![export]),
                allow_peer2peer: allow,
                dynamic,
            }),
        }
    }
    Some(out)
}

//! `peerpath draw` (the SVG picture) and `peerpath report` (the HTML report): the
//! platform loaded, the pairings evaluated by the rules, the render crate's output
//! written to `-o FILE` (never over an existing file without `--force`) or stdout.

use std::path::Path;

use peerpath_render::{DrawOptions, MatrixCell};
use peerpath_topology::Topology;

use crate::exit::Exit;
use crate::pairing::Pair;
use crate::{output, platform_or_exit, unknown_pair, PlatformArgs};

/// At most this many pairings get their explain text in the report (in pairing
/// order); the report says how many more there are.
pub(crate) const REPORT_EXPLAINED_MAX: usize = 200;

/// `draw --pair IMPORTER:EXPORT`, the former form of `draw IMPORTER EXPORT`.
pub(crate) fn legacy_pair(spec: &str) -> Result<Pair, Exit> {
    match spec.split_once(':') {
        Some((importer, export)) => Ok(Pair {
            importer: importer.to_owned(),
            export: export.to_owned(),
        }),
        None => {
            eprintln!(
                "error: --pair takes IMPORTER:EXPORT, not {spec:?}; \
                 the pairing is now given as IMPORTER EXPORT: peerpath draw nic0 gpu0-vram"
            );
            Err(Exit::InvalidInput)
        }
    }
}

/// `peerpath draw`.
pub(crate) fn draw(
    source: &PlatformArgs,
    pair: Option<&Pair>,
    opts: DrawOptions,
    out: Option<&Path>,
    force: bool,
) -> Exit {
    let file = output::file(out);
    if let Err(e) = output::refuse_overwrite(file, force) {
        return e;
    }
    let p = match platform_or_exit(source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = Topology::new(&p);
    let route = match pair {
        None => None,
        Some(x) => match peerpath_rules::evaluate_pair(&topo, &x.importer, &x.export) {
            Ok(r) => Some(r),
            Err(e) => return unknown_pair(&e),
        },
    };
    let svg = peerpath_render::topology_svg(&topo, route.as_ref(), opts);
    match output::write(file, &svg) {
        Ok(()) => Exit::Success,
        Err(e) => e,
    }
}

/// `peerpath report`.
pub(crate) fn report(source: &PlatformArgs, out: Option<&Path>, force: bool) -> Exit {
    let file = output::file(out);
    if let Err(e) = output::refuse_overwrite(file, force) {
        return e;
    }
    let p = match platform_or_exit(source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = Topology::new(&p);
    let mut cells = Vec::with_capacity(p.imports.len());
    let _: Result<(), std::convert::Infallible> =
        peerpath_rules::for_each_verdict(&topo, peerpath_rules::default_jobs(), |import, v| {
            cells.push(MatrixCell::new(&topo, import, v));
            Ok(())
        });
    let mut pairs = Vec::new();
    for import in p.imports.iter().take(REPORT_EXPLAINED_MAX) {
        let importer = &p.node(import.importer).name;
        let export = &p.export(import.export).name;
        match peerpath_rules::evaluate_pair(&topo, importer, export) {
            Ok(r) => pairs.push(r),
            Err(e) => return crate::exit::internal(&format!("a pairing of the platform: {e}")),
        }
    }
    let omitted = p.imports.len() - pairs.len();
    let html = peerpath_render::report_html(&topo, &cells, &pairs, omitted);
    match output::write(file, &html) {
        Ok(()) => Exit::Success,
        Err(e) => e,
    }
}

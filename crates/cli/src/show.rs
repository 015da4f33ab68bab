//! `peerpath draw` (the SVG picture) and `peerpath report` (the HTML report): the
//! platform loaded, the pairings evaluated by the rules, the render crate's output
//! written to `-o FILE` (never over an existing file without `--force`) or stdout.

use std::path::Path;

use peerpath_render::{DrawOptions, MatrixCell};
use peerpath_topology::Topology;

use crate::exit::Exit;
use crate::pairing::Pair;
use crate::{output, platform_or_exit, unknown_pair, PlatformArgs};

/// Up to this many pairings, the report explains each in the page; above, it is the
/// bounded page (`peerpath_render::report_html_big`, issue 19): every verdict embedded
/// compactly, explanations of representatives, any pairing on demand.
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

/// The file `-o` names (`None`: stdout), refused where it exists without `--force`,
/// and the platform the command reads.
fn file_and_platform<'o>(
    source: &PlatformArgs,
    out: Option<&'o Path>,
    force: bool,
) -> Result<(Option<&'o Path>, peerpath_model::Platform), Exit> {
    let file = output::file(out);
    output::refuse_overwrite(file, force)?;
    Ok((file, platform_or_exit(source)?))
}

/// `peerpath draw`.
pub(crate) fn draw(
    source: &PlatformArgs,
    pair: Option<&Pair>,
    opts: DrawOptions,
    out: Option<&Path>,
    force: bool,
) -> Exit {
    let (file, p) = match file_and_platform(source, out, force) {
        Ok(x) => x,
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
    output::written(file, &svg)
}

/// `peerpath report`.
pub(crate) fn report(source: &PlatformArgs, out: Option<&Path>, force: bool) -> Exit {
    let (file, p) = match file_and_platform(source, out, force) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let topo = Topology::new(&p);
    if p.imports.len() > REPORT_EXPLAINED_MAX {
        return match report_big(&topo) {
            Ok(html) => output::written(file, &html),
            Err(e) => e,
        };
    }
    let mut cells = Vec::with_capacity(p.imports.len());
    let _: Result<(), std::convert::Infallible> =
        peerpath_rules::for_each_verdict(&topo, peerpath_rules::default_jobs(), |import, v| {
            cells.push(MatrixCell::new(&topo, import, v));
            Ok(())
        });
    let mut pairs = Vec::new();
    for import in &p.imports {
        let importer = &p.node(import.importer).name;
        let export = &p.export(import.export).name;
        match peerpath_rules::evaluate_pair(&topo, importer, export) {
            Ok(r) => pairs.push(r),
            Err(e) => return crate::exit::internal(&format!("a pairing of the platform: {e}")),
        }
    }
    let html = peerpath_render::report_html(&topo, &cells, &pairs);
    output::written(file, &html)
}

/// The report of a platform with more than [`REPORT_EXPLAINED_MAX`] pairings: every
/// verdict (each class decided once), then the representatives evaluated with their
/// routes, as `peerpath explain` evaluates a pairing, on the worker threads.
fn report_big(topo: &Topology<'_>) -> Result<String, Exit> {
    let mut cells = peerpath_render::ReportCells::new();
    let _: Result<(), std::convert::Infallible> =
        peerpath_rules::for_each_verdict(topo, peerpath_rules::default_jobs(), |import, v| {
            cells.add(topo, import, v);
            Ok(())
        });
    let wanted = cells.representatives();
    let keep: std::collections::HashSet<usize> = wanted.iter().copied().collect();
    let mut reps = Vec::with_capacity(wanted.len());
    let mut next = wanted.iter();
    let _: Result<(), std::convert::Infallible> = peerpath_rules::for_each_pair_where(
        topo,
        peerpath_rules::default_jobs(),
        peerpath_rules::Routes::All,
        |i| keep.contains(&i),
        |r| r,
        |r| {
            if let Some(i) = next.next() {
                reps.push((*i, r));
            }
            Ok(())
        },
    );
    if reps.len() != wanted.len() {
        return Err(crate::exit::internal(&format!(
            "the report's representatives: {} evaluated of {}",
            reps.len(),
            wanted.len()
        )));
    }
    Ok(peerpath_render::report_html_big(topo, &cells, &reps))
}

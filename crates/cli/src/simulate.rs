//! `peerpath simulate`: every pairing, streamed. Nothing is collected: `--summary`
//! folds verdicts into a tally (decided once per class), JSON is written one pairing
//! at a time as the workers finish them (in order), and text prints the matrix from
//! the verdicts, then evaluates again only the pairings that have findings to print
//! them. Memory does not grow with the number of pairings (beyond one bit per pairing
//! for text, and the failing-pairing list of `--summary --all`).

use std::io::{self, BufWriter, IsTerminal, Write};

use peerpath_model::{Import, Platform, Severity};
use peerpath_render::{JsonStream, MatrixCell, MatrixGrid, MatrixJson, OutcomeGrid, Style};
use peerpath_rules::{PairResult, Places, Routes, Tally, Verdict};
use peerpath_topology::Topology;

use crate::progress::Progress;

/// What `simulate` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Matrix (or table), findings, summary line.
    Text,
    /// output-format.md's JSON document.
    Json,
    /// `--summary`; `--all` lists every failing pairing too.
    Summary {
        /// `--all`.
        all: bool,
    },
    /// `--matrix`: outcome, map type and path class per cell, and a legend.
    Matrix,
    /// `--matrix --format json` (docs/matrix.md).
    MatrixJson,
}

/// Runs the simulation, writing to `out`; returns the tally (for `--fail-on`).
pub(crate) fn run(
    topo: &Topology<'_>,
    output: Output,
    jobs: usize,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<Tally> {
    let p = topo.platform();
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let progress = Progress::new(
        p.imports.len(),
        output != Output::Json && io::stderr().is_terminal(),
    );
    let tally = match output {
        Output::Summary { all } => {
            let mut tally = if all {
                Tally::listing_all()
            } else {
                Tally::default()
            };
            peerpath_rules::for_each_verdict(topo, jobs, |import, v| {
                tally.add(import.importer, import.export, v);
                let exporter = p.export(import.export).device;
                tally.add_path(topo.path_class(import.importer, exporter));
                progress.tick();
                Ok::<(), io::Error>(())
            })?;
            progress.finish();
            out.write_all(peerpath_render::simulate_summary(p, &tally, style).as_bytes())?;
            tally
        }
        Output::Json => json(topo, jobs, &mut out)?,
        // The text and the matrix open with the title; a platform without pairings
        // says so there and ends.
        Output::Matrix | Output::Text if !title(p, style, &mut out)? => Tally::default(),
        Output::Matrix => matrix(topo, jobs, style, &progress, &mut out)?,
        Output::MatrixJson => {
            let mut stream = MatrixJson::begin(&mut out, p)?;
            let tally = verdicts(topo, jobs, &progress, |import, v| {
                stream.cell(&MatrixCell::new(topo, import, v))
            })?;
            progress.finish();
            stream.finish()?;
            tally
        }
        Output::Text => text(topo, jobs, style, &progress, &mut out)?,
    };
    out.flush()?;
    Ok(tally)
}

/// Whether a tally holds a finding at or above `threshold`.
pub(crate) fn fails_at(tally: &Tally, threshold: Severity) -> bool {
    tally.worst.is_some_and(|w| w <= threshold)
}

/// Every pairing's verdict in order into a tally; `each` sees them too.
fn verdicts(
    topo: &Topology<'_>,
    jobs: usize,
    progress: &Progress,
    mut each: impl FnMut(&Import, &Verdict) -> io::Result<()>,
) -> io::Result<Tally> {
    let mut tally = Tally::default();
    peerpath_rules::for_each_verdict(topo, jobs, |import, v| {
        tally.add(import.importer, import.export, v);
        progress.tick();
        each(import, v)
    })?;
    Ok(tally)
}

fn names<'p>(p: &'p Platform, import: &peerpath_model::Import) -> (&'p str, &'p str) {
    (
        p.node(import.importer).name.as_str(),
        p.export(import.export).name.as_str(),
    )
}

fn json(topo: &Topology<'_>, jobs: usize, out: &mut dyn Write) -> io::Result<Tally> {
    let p = topo.platform();
    let mut stream = JsonStream::begin(out, &p.name)?;
    let mut tally = Tally::default();
    let places = Places::of(p);
    peerpath_rules::for_each_pair(
        topo,
        jobs,
        Routes::Representative,
        |pair: PairResult| {
            let element = peerpath_render::pair_element(p, &pair);
            (
                pair.detail.importer,
                pair.detail.export,
                Verdict::of(&pair, &places),
                element,
            )
        },
        |(importer, export, verdict, element)| {
            tally.add(importer, export, &verdict);
            stream.pair(&element.map_err(io::Error::other)?)
        },
    )?;
    stream.finish(&tally.summary)?;
    Ok(tally)
}

/// The title, then "no pairings" (false) or the blank line before a grid (true).
fn title(p: &peerpath_model::Platform, style: Style, out: &mut dyn Write) -> io::Result<bool> {
    out.write_all(peerpath_render::simulate_title(&p.name, style).as_bytes())?;
    if p.imports.is_empty() {
        out.write_all(peerpath_render::no_pairings(p).as_bytes())?;
        return Ok(false);
    }
    out.write_all(b"\n")?;
    Ok(true)
}

fn text(
    topo: &Topology<'_>,
    jobs: usize,
    style: Style,
    progress: &Progress,
    out: &mut dyn Write,
) -> io::Result<Tally> {
    let p = topo.platform();
    let mut grid = OutcomeGrid::new(p, style);
    out.write_all(grid.head().as_bytes())?;
    // One bit per pairing: which have findings to print.
    let mut with_findings = vec![false; p.imports.len()];
    let mut i = 0;
    let tally = verdicts(topo, jobs, progress, |import, v| {
        let (importer, export) = names(p, import);
        with_findings[i] = !v.codes.is_empty() || !v.depends_on.is_empty();
        i += 1;
        out.write_all(grid.push(importer, export, v).as_bytes())
    })?;
    out.write_all(grid.finish().as_bytes())?;
    if grid.unsure {
        out.write_all(peerpath_render::UNSURE_LEGEND.as_bytes())?;
    }
    progress.finish();
    if with_findings.iter().any(|b| *b) {
        let mut first = true;
        peerpath_rules::for_each_pair_where(
            topo,
            jobs,
            Routes::None,
            |k| with_findings[k],
            |pair| peerpath_render::findings_block(&pair, false, style),
            |block| {
                if first {
                    out.write_all(format!("\n{}\n", style.bold("Findings")).as_bytes())?;
                    first = false;
                }
                out.write_all(block.as_bytes())
            },
        )?;
    }
    writeln!(out, "\n{}", peerpath_render::summary_line(&tally.summary))?;
    Ok(tally)
}

/// `--matrix`: the grid as rows complete, the legend, the summary line.
fn matrix(
    topo: &Topology<'_>,
    jobs: usize,
    style: Style,
    progress: &Progress,
    out: &mut dyn Write,
) -> io::Result<Tally> {
    let p = topo.platform();
    let mut grid = MatrixGrid::new(p, style);
    out.write_all(grid.head().as_bytes())?;
    let tally = verdicts(topo, jobs, progress, |import, v| {
        out.write_all(grid.push(MatrixCell::new(topo, import, v)).as_bytes())
    })?;
    out.write_all(grid.finish().as_bytes())?;
    progress.finish();
    writeln!(out, "\n{}", peerpath_render::matrix_legend())?;
    writeln!(out, "{}", peerpath_render::summary_line(&tally.summary))?;
    Ok(tally)
}

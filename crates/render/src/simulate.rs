//! `peerpath simulate` as text: the matrix of outcomes (or a table), then the
//! findings grouped by pairing (output-format.md, "Text"), the summary line, and the
//! `--summary` counts. Written as the pairings stream in: [`OutcomeGrid`] turns
//! verdicts into rows as soon as a row is complete, [`findings_block`] renders one
//! pairing's findings; nothing here holds more than one row.

use std::fmt::Write;

use peerpath_model::Platform;
use peerpath_rules::DependsOn;
use peerpath_rules::Finding;
use peerpath_rules::{PairResult, Places, Summary, Tally, Verdict};

use crate::style::Style;

/// At most this many exports make a matrix; more get one line per pairing.
pub const MATRIX_MAX_EXPORTS: usize = 12;

/// The title line.
pub fn simulate_title(platform: &str, style: Style) -> String {
    format!(
        "{}\n",
        style.bold(&format!("peerpath simulate: {platform}"))
    )
}

/// The line when a platform has no pairing.
pub const NO_PAIRINGS: &str = "no pairings: the platform has no exports or no importers\n";

/// Endpoints named per reason in [`no_pairings`]; the rest are counted.
const NO_PAIRINGS_NAMED: usize = 8;

/// [`NO_PAIRINGS`], then which devices were left out and why, and the next command to
/// try (issue 19: no dead ends).
pub fn no_pairings(p: &Platform) -> String {
    let mut out = NO_PAIRINGS.to_owned();
    out.push_str(&no_pairings_why(p));
    let by_hand =
        "add an export by hand (`exports: [{name, device, bar}]`, spec/platform-format.md)\n";
    if p.exports.is_empty() && exporters(p).any(|(_, e)| usable_bars(e) == 0) {
        out.push_str(
            "next: for an imported machine whose dump shows no BAR (a kernel log, a tree), \
             import it again assuming one:\n  peerpath import DUMP --assume-gpu-bar 64GiB -o box.yaml\nor ",
        );
        out.push_str(by_hand);
    } else if p.exports.is_empty() {
        out.push_str("next: ");
        out.push_str(by_hand);
    } else if p.imports.is_empty() {
        out.push_str(
            "next: leave `imports:` out (every endpoint then imports every export) or list the \
             importers (`imports: [{device, exports: all}]`, spec/platform-format.md)\n",
        );
    }
    out
}

/// The GPUs and accelerators: what an import exports.
fn exporters(p: &Platform) -> impl Iterator<Item = (&str, &peerpath_model::Endpoint)> {
    use peerpath_model::{DeviceClass, NodeKind};
    p.nodes.iter().filter_map(|n| match &n.kind {
        NodeKind::Endpoint(e) if matches!(e.class, DeviceClass::Gpu | DeviceClass::Accel) => {
            Some((n.name.as_str(), e))
        }
        _ => None,
    })
}

/// An endpoint's BARs that could be exported: prefetchable, at least a page.
fn usable_bars(e: &peerpath_model::Endpoint) -> usize {
    e.bars
        .iter()
        .filter(|b| {
            b.prefetchable
                && b.range
                    .size()
                    .is_none_or(|s| s >= peerpath_model::PAGE_SIZE)
        })
        .count()
}

/// Why a platform has no pairing: "no exports" with the GPUs and accelerators and why
/// none exports, or "no importers"; empty when it has pairings.
pub fn no_pairings_why(p: &Platform) -> String {
    use peerpath_model::NodeKind;
    let mut out = String::new();
    let endpoints = p
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Endpoint(_)))
        .count();
    let named = |out: &mut String, lines: Vec<String>| {
        for l in lines.iter().take(NO_PAIRINGS_NAMED) {
            let _ = writeln!(out, "  {l}");
        }
        if lines.len() > NO_PAIRINGS_NAMED {
            let _ = writeln!(out, "  … and {} more", lines.len() - NO_PAIRINGS_NAMED);
        }
    };
    if p.exports.is_empty() {
        let candidates: Vec<String> = exporters(p)
            .map(|(name, e)| match (e.bars.len(), usable_bars(e)) {
                (0, _) => format!(
                    "{name} ({}): no memory BAR in the platform",
                    e.class.as_str()
                ),
                (n, 0) => format!(
                    "{name} ({}): {n} BAR{}, none prefetchable and at least 4 KiB",
                    e.class.as_str(),
                    if n == 1 { "" } else { "s" }
                ),
                _ => format!(
                    "{name} ({}): has a prefetchable BAR, but `exports:` names none of it",
                    e.class.as_str()
                ),
            })
            .collect();
        if candidates.is_empty() {
            let _ = writeln!(
                out,
                "no exports: `exports:` is empty, and none of the {} endpoint{} is a GPU or \
                 an accelerator (the devices an import exports)",
                endpoints,
                if endpoints == 1 { "" } else { "s" }
            );
        } else {
            let _ = writeln!(
                out,
                "no exports: `exports:` is empty; of {} endpoints, {} {} GPUs or accelerators:",
                endpoints,
                candidates.len(),
                if candidates.len() == 1 { "is" } else { "are" }
            );
        }
        named(&mut out, candidates);
    } else if p.imports.is_empty() {
        let _ = writeln!(
            out,
            "no importers: the platform has {} export{} ({}) but `imports:` names no \
             device, and none of its {} endpoints imports",
            p.exports.len(),
            if p.exports.len() == 1 { "" } else { "s" },
            p.exports
                .iter()
                .take(NO_PAIRINGS_NAMED)
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            endpoints
        );
    }
    out
}

/// A matrix cell: the outcome, and whether it rests on an assumed fact.
type Cell = (peerpath_rules::Outcome, bool);

/// The matrix of outcomes (importers × exports) or, with more than
/// [`MATRIX_MAX_EXPORTS`] exports, a table of one line per pairing; fed the verdicts
/// in pairing order (sorted by importer, export), it gives each row when complete.
#[derive(Debug)]
pub struct OutcomeGrid {
    layout: Layout,
    style: Style,
    /// Matrix: the row being filled (importer, one cell per export).
    row: Option<(String, Vec<Option<Cell>>)>,
    /// Whether a `?` was printed (the legend says what it means).
    pub unsure: bool,
}

#[derive(Debug)]
enum Layout {
    Matrix {
        exports: Vec<String>,
        widths: Vec<usize>,
        w0: usize,
    },
    Table {
        wi: usize,
        we: usize,
    },
}

impl OutcomeGrid {
    /// The grid for the platform's pairings (`platform.imports`).
    pub fn new(p: &Platform, style: Style) -> Self {
        let exports = crate::matrix::export_names(p);
        let importer_width = p
            .imports
            .iter()
            .map(|i| p.node(i.importer).name.len())
            .max()
            .unwrap_or(0);
        let layout = if exports.len() <= MATRIX_MAX_EXPORTS {
            Layout::Matrix {
                widths: exports.iter().map(|e| e.len().max(8)).collect(),
                exports: exports.into_iter().map(str::to_owned).collect(),
                w0: importer_width.max("importer \\ export".len()),
            }
        } else {
            Layout::Table {
                wi: importer_width.max(8),
                we: exports.iter().map(|e| e.len()).max().unwrap_or(0).max(6),
            }
        };
        Self {
            layout,
            style,
            row: None,
            unsure: false,
        }
    }

    /// The header line.
    pub fn head(&self) -> String {
        let mut out = String::new();
        match &self.layout {
            Layout::Matrix {
                exports,
                widths,
                w0,
            } => {
                let _ = write!(out, "{:<w0$}", "importer \\ export");
                for (e, w) in exports.iter().zip(widths) {
                    let _ = write!(out, "  {e:<w$}");
                }
                out.push('\n');
            }
            Layout::Table { wi, we } => {
                let _ = writeln!(
                    out,
                    "{:<wi$}  {:<we$}  {:<16}  {:<11}  outcome",
                    "importer", "export", "map type", "DMA path"
                );
            }
        }
        out
    }

    /// Takes the next pairing's verdict; returns what is ready to print.
    pub fn push(&mut self, importer: &str, export: &str, v: &Verdict) -> String {
        let style = self.style;
        self.unsure |= !v.depends_on.is_empty();
        match &self.layout {
            Layout::Table { wi, we } => format!(
                "{:<wi$}  {:<we$}  {:<16}  {:<11}  {}\n",
                importer,
                export,
                v.map_type.as_str(),
                v.dma_path.as_str(),
                style.verdict(v.outcome, !v.depends_on.is_empty(), 0)
            ),
            Layout::Matrix { exports, .. } => {
                let col = exports.binary_search_by(|e| e.as_str().cmp(export)).ok();
                let n = exports.len();
                let mut done = String::new();
                if self.row.as_ref().is_some_and(|(i, _)| i != importer) {
                    done = self.finish();
                }
                let (_, cells) = self
                    .row
                    .get_or_insert_with(|| (importer.to_owned(), vec![None; n]));
                if let Some(col) = col {
                    cells[col] = Some((v.outcome, !v.depends_on.is_empty()));
                }
                done
            }
        }
    }

    /// The last row, if one is being filled.
    pub fn finish(&mut self) -> String {
        let Layout::Matrix { widths, w0, .. } = &self.layout else {
            return String::new();
        };
        let Some((importer, cells)) = self.row.take() else {
            return String::new();
        };
        let mut out = format!("{importer:<w0$}");
        for (cell, w) in cells.iter().zip(widths) {
            match cell {
                Some((o, unsure)) => {
                    let _ = write!(out, "  {}", self.style.verdict(*o, *unsure, *w));
                }
                None => {
                    let _ = write!(out, "  {:<w$}", "-");
                }
            }
        }
        out.push('\n');
        out
    }
}

/// One pairing's findings, as under the matrix; `first`: the section's heading goes
/// first. Empty for a pairing without findings.
pub fn findings_block(pair: &PairResult, first: bool, style: Style) -> String {
    let mut out = String::new();
    if pair.findings.is_empty() && pair.depends_on.is_empty() {
        return out;
    }
    if first {
        let _ = writeln!(out, "\n{}", style.bold("Findings"));
    }
    let _ = writeln!(
        out,
        "\n{} imports {} (from {}): {}, map type {}, DMA path {}",
        pair.importer,
        pair.export,
        pair.exporter,
        style.verdict(pair.outcome, !pair.depends_on.is_empty(), 0),
        pair.kernel.map_type.as_str(),
        pair.kernel.dma_path.as_str()
    );
    for f in &pair.findings {
        finding_lines(&mut out, f, "  ", style);
    }
    depends_on_lines(&mut out, &pair.depends_on, "  ");
    out
}

/// The legend of the `?` mark, printed once after a grid that has one.
pub const UNSURE_LEGEND: &str =
    "?: the outcome rests on a fact the platform file lists as assumed; \
     another value of it gives another outcome (see the pairing's `depends on` lines)\n";

/// One line per assumed fact whose alternative changes the outcome (issue 24).
pub fn depends_on_lines(out: &mut String, deps: &[DependsOn], indent: &str) {
    for d in deps {
        let _ = writeln!(
            out,
            "{indent}depends on {}: assumed {}; with {} it {}",
            d.name,
            d.assumed,
            d.alternative,
            d.outcome.as_str()
        );
    }
}

/// `N pairings: W works, D degraded, F fails`.
pub fn summary_line(s: &Summary) -> String {
    format!(
        "{} pairing{}: {} works, {} degraded, {} fails",
        s.pairs,
        if s.pairs == 1 { "" } else { "s" },
        s.works,
        s.degraded,
        s.fails
    )
}

/// `--summary`: counts per outcome, map type, path class and finding code (pairings
/// affected: each code counted once per pairing), the pairings resting on an assumed
/// fact, then the failing pairings grouped by cause with three examples each, at most
/// [`SUMMARY_MAX_LINES`] lines; a tally that kept every failing pairing (`--all`) adds
/// them by name with their error codes, each once.
pub fn simulate_summary(p: &Platform, tally: &Tally, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!("peerpath simulate --summary: {}", p.name))
    );
    let _ = writeln!(out, "{}", summary_line(&tally.summary));
    if tally.summary.pairs == 0 {
        out.push_str(&no_pairings(p));
        return out;
    }
    out.push_str("\nmap type:\n");
    for (k, n) in &tally.by_map {
        let _ = writeln!(out, "  {k:<18} {n}");
    }
    if !tally.by_path.is_empty() {
        out.push_str("\npath class:\n");
        for (class, n) in &tally.by_path {
            let _ = writeln!(out, "  {:<18} {n:<8} {}", class.as_str(), class.meaning());
        }
    }
    if !tally.by_code.is_empty() {
        out.push_str("\nfindings (pairings affected):\n");
        for (code, (sev, n)) in &tally.by_code {
            let _ = writeln!(out, "  {code:<22} {:<8} {n}", sev.as_str());
        }
    }
    if tally.resting > 0 {
        let _ = writeln!(
            out,
            "\nresting on an assumed fact ({} pairings; `explain` says how to read each):",
            tally.resting
        );
        for (name, n) in &tally.assumed {
            let _ = writeln!(out, "  {name:<30} {n}");
        }
    }
    cause_lines(&mut out, p, tally);
    if tally.keep_all && !tally.failing.is_empty() {
        out.push_str("\nfailing pairings:\n");
        for (importer, export, codes) in &tally.failing {
            let codes: Vec<&str> = codes.codes().map(|c| c.as_str()).collect();
            let _ = writeln!(
                out,
                "  {} <- {}: {}",
                p.node(*importer).name,
                p.export(*export).name,
                codes.join(", ")
            );
        }
    }
    out
}

/// The summary's length in lines, without `--all`: the causes shown stop there
/// (issue 19: a summary fits a screen or two, whatever the platform).
pub(crate) const SUMMARY_MAX_LINES: usize = 60;

/// The failing pairings grouped by cause, most frequent first, each with its count
/// and examples; as many as fit in [`SUMMARY_MAX_LINES`] unless every pairing is
/// listed anyway (`--all`).
fn cause_lines(out: &mut String, p: &Platform, tally: &Tally) {
    if tally.causes.is_empty() {
        return;
    }
    let mut causes: Vec<_> = tally.causes.iter().collect();
    causes.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
    let _ = writeln!(
        out,
        "\nfailing pairings by cause ({} {}, most pairings first):",
        causes.len(),
        if causes.len() == 1 { "cause" } else { "causes" }
    );
    let mut used = out.lines().count();
    let mut shown = 0;
    for (cause, group) in &causes {
        let lines = 1 + group.examples.len();
        // Keep a line for the "more causes" note.
        if !tally.keep_all && used + lines + 1 > SUMMARY_MAX_LINES && shown > 0 {
            break;
        }
        let what: Vec<String> = cause
            .iter()
            .map(|(code, place)| format!("{} at {}", code.as_str(), place.as_str()))
            .collect();
        let _ = writeln!(out, "  {:>8}  {}", group.count, what.join(", "));
        for (importer, export) in &group.examples {
            let _ = writeln!(
                out,
                "            e.g. {} <- {}",
                p.node(*importer).name,
                p.export(*export).name
            );
        }
        used += lines;
        shown += 1;
    }
    if shown < causes.len() {
        let rest: usize = causes[shown..].iter().map(|(_, g)| g.count).sum();
        let _ = writeln!(
            out,
            "  {:>8}  in {} more causes; `--summary --all` lists every failing pairing",
            rest,
            causes.len() - shown
        );
    }
}

/// The whole text report for a collected report (tests, small platforms).
pub fn simulate_text(p: &Platform, pairs: &[PairResult], style: Style) -> String {
    let mut out = simulate_title(&p.name, style);
    if pairs.is_empty() {
        out.push_str(&no_pairings(p));
        return out;
    }
    out.push('\n');
    let mut grid = OutcomeGrid::new(p, style);
    out.push_str(&grid.head());
    let places = Places::of(p);
    for x in pairs {
        out.push_str(&grid.push(&x.importer, &x.export, &Verdict::of(x, &places)));
    }
    out.push_str(&grid.finish());
    if grid.unsure {
        out.push_str(UNSURE_LEGEND);
    }
    let mut first = true;
    for x in pairs {
        let block = findings_block(x, first, style);
        first &= block.is_empty();
        out.push_str(&block);
    }
    let _ = writeln!(out, "\n{}", summary_line(&Summary::of(pairs)));
    out
}

/// One finding: severity, code, subject, message, then evidence, rules and fix.
pub(crate) fn finding_lines(out: &mut String, f: &Finding, indent: &str, style: Style) {
    let _ = writeln!(
        out,
        "{indent}{} {} at {}: {}",
        style.severity(f.severity),
        f.code.as_str(),
        f.subject,
        f.message
    );
    if !f.evidence.is_empty() {
        let ev: Vec<String> = f
            .evidence
            .iter()
            .map(|(k, v)| format!("{k}={}", json_scalar(v)))
            .collect();
        let _ = writeln!(out, "{indent}    evidence: {}", ev.join(", "));
    }
    let _ = writeln!(out, "{indent}    rules: {}", f.rules.join(", "));
    if let Some(fix) = &f.fix {
        let _ = writeln!(out, "{indent}    fix: {fix}");
    }
}

fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;

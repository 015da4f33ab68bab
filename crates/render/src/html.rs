//! `peerpath report`: one self-contained HTML file — no network, no script beyond a
//! few lines that open a pairing's details when its matrix cell is followed — made of
//! the other renderers' output: the route of the first failing pairing (`svg`, as
//! `draw --focus` draws it, so a route is on the first screen), the matrix
//! (`matrix`), the picture (`svg`), each pairing's `explain` text behind a click
//! (`<details>`), the findings with their fixes (`findings_block`) and the IOMMU
//! groups (`groups_text`). Decides nothing. A platform with more pairings than the page
//! explains one by one gets the bounded page of [`big`] instead.

use std::collections::BTreeMap;
use std::fmt::Write;

use peerpath_rules::{PairResult, Summary};
use peerpath_topology::Topology;

use crate::matrix::{export_names, importer_names, MatrixCell};
use crate::style::Style;
use crate::svg::{esc, topology_svg, DrawOptions};
use crate::{explain_text, findings_block, groups_text, matrix_legend, summary_line};

pub(crate) mod big;

pub(crate) const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
pre{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px;background:#f7f7f7;padding:10px;overflow-x:auto;margin:6px 0}
pre.wrap{white-space:pre-wrap;overflow-wrap:anywhere}
table.matrix{border-collapse:collapse;font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px}
table.matrix th,table.matrix td{border:1px solid #ccc;padding:4px 8px;text-align:left}
table.matrix th{background:#eee}
td a{color:inherit;text-decoration:none;display:block}
.works{background:#d8f5d8}.degraded{background:#fff1c2}.fails{background:#fbd3d3}
.word{font-weight:bold}
.picture{overflow:auto;border:1px solid #ddd;padding:4px;background:#fff}
details{border:1px solid #ddd;border-radius:4px;margin:6px 0;padding:4px 8px}
details[open]{background:#fcfcfc}
summary{cursor:pointer;font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px}
.muted{color:#666}
";

/// The route's picture in the report.
pub(crate) const ROUTE_CSS: &str = "\
.route{overflow:auto;border:1px solid #ddd;padding:4px;background:#fff;max-height:70vh}
";

/// A pairing's route as the report shows it: `draw --focus`'s picture, its ids
/// prefixed `route-` ([`prefixed_ids`]).
pub(crate) fn route_svg(topo: &Topology<'_>, r: &PairResult) -> String {
    prefixed_ids(
        &topology_svg(
            topo,
            Some(r),
            DrawOptions {
                groups: false,
                focus: true,
            },
        ),
        "route-",
    )
}

/// Every `id` of an SVG, and the references to them, prefixed: a second picture in one
/// page (the route beside the whole platform) must not repeat the first's ids.
pub(crate) fn prefixed_ids(svg: &str, prefix: &str) -> String {
    svg.replace(" id=\"", &format!(" id=\"{prefix}"))
        .replace("url(#", &format!("url(#{prefix}"))
}

/// Opens the `<details>` a matrix cell links to (the fragment in the address).
const SCRIPT: &str = "\
function openPairing(){var d=document.getElementById(decodeURIComponent(location.hash.slice(1)));if(d&&d.tagName==='DETAILS'){d.open=true;d.scrollIntoView();}}
window.addEventListener('hashchange',openPairing);window.addEventListener('DOMContentLoaded',openPairing);
";

/// The HTML id of a pairing's details.
fn pair_id(importer: &str, export: &str) -> String {
    format!("pair-{importer}--{export}")
}

/// The whole report. `cells`: every pairing's matrix cell, in order; `pairs`: every
/// pairing, evaluated as `peerpath explain` evaluates them, in order (a platform with
/// more pairings than a page explains one by one gets [`big::report_html_big`]).
pub fn report_html(topo: &Topology<'_>, cells: &[MatrixCell], pairs: &[PairResult]) -> String {
    let p = topo.platform();
    let plain = Style::default();
    let mut summary = Summary::default();
    for c in cells {
        summary.add(c.outcome);
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>peerpath report: {name}</title>\n<style>\n{CSS}{ROUTE_CSS}</style>\n<script>\n{SCRIPT}</script>\n</head>\n<body>\n\
         <h1>peerpath report: {name}</h1>\n<p class=\"muted\">{summary} &middot; peerpath {version}</p>\n",
        name = esc(&p.name),
        summary = esc(&summary_line(&summary)),
        version = env!("CARGO_PKG_VERSION"),
    );

    route_section(topo, pairs, &mut out);

    out.push_str("<h2 id=\"matrix\">Matrix</h2>\n");
    matrix_table(topo, cells, &mut out);
    let _ = writeln!(out, "<pre class=\"legend\">{}</pre>", esc(&matrix_legend()));

    out.push_str("<h2 id=\"picture\">Picture</h2>\n<div class=\"picture\">\n");
    out.push_str(&topology_svg(
        topo,
        None,
        DrawOptions {
            groups: true,
            focus: false,
        },
    ));
    out.push_str("</div>\n");

    out.push_str("<h2 id=\"pairings\">Pairings</h2>\n<p class=\"muted\">Click a pairing for the kernel's decision and the TLP hop by hop (the text of <code>peerpath explain</code>).</p>\n");
    let by_name = cell_map(topo, cells);
    for pair in pairs {
        let cell = by_name.get(&(pair.importer.as_str(), pair.export.as_str()));
        let codes: Vec<&str> =
            pair.findings
                .iter()
                .map(|f| f.code.as_str())
                .fold(Vec::new(), |mut v, c| {
                    if !v.contains(&c) {
                        v.push(c);
                    }
                    v
                });
        let _ = writeln!(
            out,
            "<details id=\"{id}\"><summary><span class=\"{o} word\">{o}{q}</span> {imp} &larr; {exp} &middot; {map}{path}{codes}</summary>\n<pre>{text}</pre></details>",
            id = esc(&pair_id(&pair.importer, &pair.export)),
            o = pair.outcome.as_str(),
            q = if pair.depends_on.is_empty() { "" } else { "?" },
            imp = esc(&pair.importer),
            exp = esc(&pair.export),
            map = pair.kernel.map_type.as_str(),
            path = cell.map_or(String::new(), |c| format!(" &middot; {}", c.path.as_str())),
            codes = if codes.is_empty() {
                String::new()
            } else {
                format!(" &middot; {}", esc(&codes.join(", ")))
            },
            text = esc(&explain_text(topo, pair, plain)),
        );
    }
    out.push_str("<h2 id=\"findings\">Findings and fixes</h2>\n");
    let blocks: String = pairs
        .iter()
        .map(|pair| findings_block(pair, false, plain))
        .collect();
    findings_pre(&mut out, &blocks);

    out.push_str("<h2 id=\"groups\">IOMMU groups</h2>\n");
    let _ = writeln!(out, "<pre>{}</pre>", esc(&groups_text(topo)));
    out.push_str("</body>\n</html>\n");
    out
}

/// The route of the first failing pairing explained (else the first), as `draw
/// --focus` draws it, with a link to its explanation.
fn route_section(topo: &Topology<'_>, pairs: &[PairResult], out: &mut String) {
    let Some(r) = pairs
        .iter()
        .find(|r| r.outcome == peerpath_rules::Outcome::Fails)
        .or(pairs.first())
    else {
        return;
    };
    let failing = r.outcome == peerpath_rules::Outcome::Fails;
    let _ = writeln!(
        out,
        "<h2 id=\"route\">Route</h2>\n<p>The {what}pairing, <a href=\"#{id}\">{imp} &larr; {exp}</a>: <span class=\"{o} word\">{o}</span> &middot; {map} (<code>peerpath draw {imp} {exp}</code>; its explanation: the link).</p>\n<div class=\"route\">\n{svg}</div>",
        what = if failing { "first failing " } else { "first " },
        id = esc(&pair_id(&r.importer, &r.export)),
        imp = esc(&r.importer),
        exp = esc(&r.export),
        o = r.outcome.as_str(),
        map = r.kernel.map_type.as_str(),
        svg = route_svg(topo, r),
    );
}

/// The matrix as a table: importers × exports, each cell coloured by outcome and
/// linked to the pairing's details (every pairing has them on this page).
fn matrix_table(topo: &Topology<'_>, cells: &[MatrixCell], out: &mut String) {
    let p = topo.platform();
    if cells.is_empty() {
        out.push_str("<p>No pairings: the platform has no exports or no importers.</p>\n");
        return;
    }
    let exports = export_names(p);
    let importers = importer_names(p);
    let by_name = cell_map(topo, cells);
    out.push_str("<table class=\"matrix\">\n<tr><th>importer \\ export</th>");
    for e in &exports {
        let _ = write!(out, "<th>{}</th>", esc(e));
    }
    out.push_str("</tr>\n");
    for imp in &importers {
        let _ = write!(out, "<tr><th>{}</th>", esc(imp));
        for e in &exports {
            match by_name.get(&(*imp, *e)) {
                Some(c) => {
                    let target = format!("href=\"#{}\"", esc(&pair_id(imp, e)));
                    let _ = write!(
                        out,
                        "<td class=\"{o}\"><a {target}><span class=\"word\">{o}{q}</span> {map} {path}</a></td>",
                        o = c.outcome.as_str(),
                        q = if c.depends_on.is_empty() { "" } else { "?" },
                        map = c.map_type.as_str(),
                        path = c.path.as_str(),
                    );
                }
                None => out.push_str("<td>-</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The cells by (importer, export) name.
fn cell_map<'a>(
    topo: &Topology<'a>,
    cells: &'a [MatrixCell],
) -> BTreeMap<(&'a str, &'a str), &'a MatrixCell> {
    let p = topo.platform();
    cells
        .iter()
        .map(|c| {
            (
                (
                    p.node(c.importer).name.as_str(),
                    p.export(c.export).name.as_str(),
                ),
                c,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// The findings blocks as one wrapped `<pre>`, or "No findings." when there are none.
fn findings_pre(out: &mut String, blocks: &str) {
    if blocks.is_empty() {
        out.push_str("<p>No findings.</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<pre class=\"wrap\">{}</pre>",
            esc(blocks.trim_start_matches('\n'))
        );
    }
}

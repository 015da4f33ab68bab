//! The report of a platform with more pairings than the page explains one by one
//! (issue 19, item 2): its size is bounded by the number of pairings (a few bytes
//! each), not by their explanations.
//!
//! - **Route** first: the first failing pairing's route, `draw --focus`'s picture
//!   (`topology_svg`, the one SVG renderer), so a route is on the first screen.
//! - **Pairings by verdict**: the pairings grouped by what the matrix and the
//!   findings say of them (outcome, map type, path class, finding codes, whether an
//!   assumed fact decides it), with a count and an example each.
//! - **Explain a pairing** and **Matrix**: every pairing's verdict, embedded compactly
//!   (one to three characters a pairing, in `<script type="application/json">`), shown
//!   by the page's own inline script — a page of the matrix at a time, and any
//!   pairing's explanation on demand (`#pair-IMPORTER--EXPORT`). The explanation is
//!   `peerpath explain`'s text of a **representative**: the pairing itself when it is
//!   one, else the first pairing of the same export with the same verdict, else the
//!   first pairing with the same verdict; the page says which, and that the route,
//!   names, BDFs and addresses are the representative's. The number of
//!   representatives is bounded ([`REPRESENTATIVES_MAX`] plus one per verdict).
//! - **Findings and fixes** of each verdict's first pairing, and the **IOMMU groups**.
//!
//! No network, no external script. The whole platform is not drawn (`peerpath draw
//! --all` draws it); the page says so.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use peerpath_model::{Code, ExportId, Import, MapType, NodeId};
use peerpath_rules::Outcome;
use peerpath_rules::{PairResult, Summary, Verdict};
use peerpath_topology::{PathClass, Topology};

use super::{route_svg, CSS, ROUTE_CSS};
use crate::matrix::{export_names, importer_names};
use crate::style::Style;
use crate::svg::esc;
use crate::{explain_text, findings_block, groups_text, matrix_legend, summary_line};

/// At most this many representatives beyond the first pairing of each verdict: the
/// explanations are the page's largest part (about 5 KB each on the
/// 10,000-endpoint platform).
pub const REPRESENTATIVES_MAX: usize = 500;

/// The characters a verdict's number is written in, one to three per pairing (no
/// quote, backslash, `<`, `>` or `&`, so the string needs no escaping in JSON or HTML).
const DIGITS: &str =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%()*+,-./:;=?@[]^_{|}~";

/// What the page says of a pairing without its explanation: the matrix cell's
/// content and the finding codes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Kind {
    outcome: Outcome,
    map_type: MapType,
    path: PathClass,
    codes: Vec<Code>,
    /// An assumed fact decides the outcome (`?`).
    assumed: bool,
}

/// Every pairing's verdict, fed in pairing order as `for_each_verdict` streams them.
#[derive(Debug, Default)]
pub struct ReportCells {
    kinds: Vec<Kind>,
    index: HashMap<Kind, u32>,
    /// Per pairing (index in `platform.imports`): its kind and export.
    cells: Vec<(u32, ExportId, NodeId)>,
    summary: Summary,
}

impl ReportCells {
    /// No pairings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next pairing's verdict.
    pub fn add(&mut self, topo: &Topology<'_>, import: &Import, v: &Verdict) {
        let exporter = topo.platform().export(import.export).device;
        let mut codes: Vec<Code> = v.codes.iter().map(|(_, c)| *c).collect();
        codes.dedup();
        let kind = Kind {
            outcome: v.outcome,
            map_type: v.map_type,
            path: topo.path_class(import.importer, exporter),
            codes,
            assumed: !v.depends_on.is_empty(),
        };
        let next = self.kinds.len() as u32;
        let k = match self.index.get(&kind) {
            Some(k) => *k,
            None => {
                self.index.insert(kind.clone(), next);
                self.kinds.push(kind);
                next
            }
        };
        self.summary.add(v.outcome);
        self.cells.push((k, import.export, import.importer));
    }

    /// The pairings (indices in `platform.imports`, in order) whose explanation the
    /// page holds: the first of each verdict, the first of each export with each
    /// verdict up to [`REPRESENTATIVES_MAX`], and the route's pairing.
    pub fn representatives(&self) -> Vec<usize> {
        let mut seen_kind = vec![false; self.kinds.len()];
        let mut seen = std::collections::HashSet::new();
        let mut extra = 0;
        let mut out = Vec::new();
        for (i, (k, e, _)) in self.cells.iter().enumerate() {
            let first_of_kind = !seen_kind[*k as usize];
            seen_kind[*k as usize] = true;
            if seen.contains(&(*k, *e)) {
                continue;
            }
            if first_of_kind {
                seen.insert((*k, *e));
                out.push(i);
            } else if extra < REPRESENTATIVES_MAX {
                seen.insert((*k, *e));
                extra += 1;
                out.push(i);
            }
        }
        out
    }

    /// The pairing whose route the page draws first: the first that fails, else the
    /// first.
    pub fn route(&self) -> Option<usize> {
        self.cells
            .iter()
            .position(|(k, _, _)| self.kinds[*k as usize].outcome == Outcome::Fails)
            .or(if self.cells.is_empty() { None } else { Some(0) })
    }

    /// How many pairings.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// No pairings.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

/// The page's script: decodes the embedded data, draws a page of the matrix and
/// explains the pairing named in the address.
const SCRIPT: &str = r#"
(function(){
var D,I={},E={},ROWS=40,top=0,W;
function $(id){return document.getElementById(id);}
function dec(s){try{return decodeURIComponent(s);}catch(x){return s;}}
function esc(s){return s.replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;').replace(/"/g,'&quot;');}
function kindAt(r,c){var o=(r*D.exports.length+c)*W,n=0;for(var j=0;j<W;j++){var d=D.digits.indexOf(D.cells.charAt(o+j));if(d<0)return -1;n=n*D.digits.length+d;}return n;}
function word(k){return k.o+(k.q?'?':'');}
function line(k){return word(k)+' '+k.m+' '+k.p+(k.c.length?' \u00b7 '+k.c.join(', '):'');}
function hash(i,e){return '#pair-'+encodeURIComponent(i)+'--'+encodeURIComponent(e);}
function draw(){
  var n=D.importers.length,h=['<table class="matrix"><tr><th>importer \\ export</th>'];
  for(var c=0;c<D.exports.length;c++)h.push('<th>'+esc(D.exports[c])+'</th>');
  h.push('</tr>');
  for(var r=top;r<Math.min(n,top+ROWS);r++){
    h.push('<tr><th>'+esc(D.importers[r])+'</th>');
    for(var c=0;c<D.exports.length;c++){
      var k=kindAt(r,c);
      if(k<0){h.push('<td>-</td>');continue;}
      var K=D.kinds[k];
      h.push('<td class="'+K.o+'"><a href="'+hash(D.importers[r],D.exports[c])+'" title="'+esc(D.importers[r]+' \u2190 '+D.exports[c]+': '+line(K))+'">'+esc(word(K).charAt(0)+(K.q?'?':'')+' '+K.p)+'</a></td>');
    }
    h.push('</tr>');
  }
  h.push('</table>');
  $('grid').innerHTML=h.join('');
  $('rows').textContent='importers '+(n?top+1:0)+'\u2013'+Math.min(n,top+ROWS)+' of '+n;
}
function step(d){var n=D.importers.length;top=Math.max(0,Math.min(top+d,Math.floor((n-1)/ROWS)*ROWS));draw();}
function go(){var v=$('jump').value.trim();if(v in I){top=Math.floor(I[v]/ROWS)*ROWS;draw();}else{$('rows').textContent='no importer named '+v;}}
function find(h){
  var s=dec(h.replace(/^#pair-/,'')),at=-1;
  while((at=s.indexOf('--',at+1))>=0){var i=s.slice(0,at),e=s.slice(at+2);if(i in I&&e in E)return [i,e];}
  return null;
}
function explain(){
  if(location.hash.indexOf('#pair-')!==0)return;
  var pe=find(location.hash),out=$('explained');
  if(!pe){out.innerHTML='<p>No pairing <code>'+esc(dec(location.hash.slice(6)))+'</code> on this platform.</p>';out.scrollIntoView();return;}
  var i=pe[0],e=pe[1],k=kindAt(I[i],E[e]);
  $('imp').value=i;$('exp').value=e;
  if(k<0){out.innerHTML='<p>'+esc(i)+' does not import '+esc(e)+' (no such pairing on this platform).</p>';out.scrollIntoView();return;}
  var K=D.kinds[k],t=D.byExport[k+','+E[e]],x=t===undefined?D.texts[D.byKind[k]]:D.texts[t],h=[];
  h.push('<p><span class="'+K.o+' word">'+esc(word(K))+'</span> '+esc(i+' \u2190 '+e+' \u00b7 '+K.m+' \u00b7 '+K.p+(K.c.length?' \u00b7 '+K.c.join(', '):''))+'</p>');
  if(x.i===i&&x.e===e){h.push('<p class="muted">This pairing\'s own explanation (the text of <code>peerpath explain '+esc(i+' '+e)+'</code>):</p>');}
  else{h.push('<p class="note">Not this pairing\'s own text: it is the explanation of <a href="'+hash(x.i,x.e)+'">'+esc(x.i+' \u2190 '+x.e)+'</a>, the first pairing '+(x.e===e?'of this export ':'')+'with the same verdict (outcome, map type, path class, finding codes). The outcome, the map type, the path class and the finding codes are the same; the route, where each finding is raised, the importer\'s name, BDF and ports, and the addresses are '+esc(x.i)+'\'s'+(x.e===e?'':', and the export is '+esc(x.e))+'. This pairing\'s own: <code>peerpath explain '+esc(i+' '+e)+'</code>.</p>');}
  h.push('<pre>'+esc(x.t)+'</pre>');
  out.innerHTML=h.join('');
  out.scrollIntoView();
}
function show(){var i=$('imp').value.trim(),e=$('exp').value.trim();location.hash='pair-'+encodeURIComponent(i)+'--'+encodeURIComponent(e);}
function suggest(input,list,names){var v=input.value,h=[],n=0;for(var j=0;j<names.length&&n<30;j++){if(names[j].indexOf(v)===0){h.push('<option value="'+esc(names[j])+'">');n++;}}list.innerHTML=h.join('');}
document.addEventListener('DOMContentLoaded',function(){
  D=JSON.parse($('data').textContent);W=D.width;
  for(var j=0;j<D.importers.length;j++)I[D.importers[j]]=j;
  for(var j=0;j<D.exports.length;j++)E[D.exports[j]]=j;
  $('prev').onclick=function(){step(-ROWS);};$('next').onclick=function(){step(ROWS);};
  $('go').onclick=go;$('show').onclick=show;
  $('imp').oninput=function(){suggest($('imp'),$('imps'),D.importers);};
  $('exp').oninput=function(){suggest($('exp'),$('exps'),D.exports);};
  draw();explain();
  window.addEventListener('hashchange',explain);
  document.body.setAttribute('data-ready','1');
});
})();
"#;

/// The report of a large platform. `reps`: the pairings of
/// [`ReportCells::representatives`], evaluated as `peerpath explain` evaluates them,
/// with their index in `platform.imports`; the route's pairing is among them.
pub fn report_html_big(
    topo: &Topology<'_>,
    cells: &ReportCells,
    reps: &[(usize, PairResult)],
) -> String {
    let p = topo.platform();
    let plain = Style::default();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>peerpath report: {name}</title>\n<style>\n{CSS}{ROUTE_CSS}{MORE_CSS}</style>\n<script>{SCRIPT}</script>\n</head>\n<body>\n\
         <h1>peerpath report: {name}</h1>\n<p class=\"muted\">{summary} &middot; peerpath {version}</p>\n",
        name = esc(&p.name),
        summary = esc(&summary_line(&cells.summary)),
        version = env!("CARGO_PKG_VERSION"),
    );
    let _ = writeln!(
        out,
        "<p class=\"muted\">{} pairings: too many to explain each in the page. The page holds every pairing's verdict, \
         the route of one drawn, and {} explanations; any pairing is explained on demand \
         (<a href=\"#explain\">Explain a pairing</a>, or a cell of the <a href=\"#matrix\">matrix</a>).</p>",
        cells.len(),
        reps.len()
    );

    route_section(&mut out, topo, cells, reps);

    // Pairings grouped by verdict.
    out.push_str("<h2 id=\"verdicts\">Pairings by verdict</h2>\n");
    let (order, counts, first) = verdict_order(cells);
    let rep_of: BTreeMap<usize, &PairResult> = reps.iter().map(|(i, r)| (*i, r)).collect();
    verdict_table(&mut out, cells, (&order, &counts, &first), &rep_of);
    let _ = writeln!(out, "<pre class=\"legend\">{}</pre>", esc(&matrix_legend()));

    // Any pairing on demand.
    out.push_str(
        "<div id=\"explain-box\"><h2 id=\"explain\">Explain a pairing</h2>\n\
         <p><label>importer <input id=\"imp\" list=\"imps\" size=\"24\"></label> \
         <label>export <input id=\"exp\" list=\"exps\" size=\"24\"></label> \
         <button id=\"show\" type=\"button\">explain</button>\
         <datalist id=\"imps\"></datalist><datalist id=\"exps\"></datalist></p>\n\
         <div id=\"explained\"><p class=\"muted\">Choose a pairing here or in the matrix.</p></div></div>\n",
    );

    // The matrix, a page of importers at a time.
    out.push_str(
        "<div id=\"matrix-box\"><h2 id=\"matrix\">Matrix</h2>\n\
         <p><button id=\"prev\" type=\"button\">&larr; previous</button> <span id=\"rows\"></span> \
         <button id=\"next\" type=\"button\">next &rarr;</button> &middot; \
         <label>importer <input id=\"jump\" size=\"20\"></label> <button id=\"go\" type=\"button\">go</button></p>\n\
         <p class=\"muted\">Each cell: the outcome's initial and the path class; hover for the map type and findings, click for the explanation.</p>\n\
         <div id=\"grid\" class=\"grid\"></div></div>\n",
    );

    // Findings of each verdict's first pairing.
    out.push_str("<h2 id=\"findings\">Findings and fixes</h2>\n<p class=\"muted\">Of the first pairing of each verdict.</p>\n");
    let blocks: String = order
        .iter()
        .filter_map(|k| rep_of.get(&first[*k]))
        .map(|r| findings_block(r, false, plain))
        .collect();
    super::findings_pre(&mut out, &blocks);

    out.push_str("<h2 id=\"picture\">Picture</h2>\n");
    let _ = writeln!(
        out,
        "<p>The whole platform ({} PCI nodes) is not drawn here: <code>peerpath draw --all PLATFORM</code> draws it; \
         <code>peerpath draw IMPORTER EXPORT</code> draws a pairing's route, as above.</p>",
        p.nodes.len()
    );

    out.push_str("<h2 id=\"groups\">IOMMU groups</h2>\n<details><summary>the groups</summary>\n");
    let _ = writeln!(out, "<pre>{}</pre></details>", esc(&groups_text(topo)));

    // The data.
    out.push_str("<script type=\"application/json\" id=\"data\">");
    write_data(topo, cells, reps, &mut out);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// The route of the first failing pairing (or the first), drawn focused.
fn route_section(
    out: &mut String,
    topo: &Topology<'_>,
    cells: &ReportCells,
    reps: &[(usize, PairResult)],
) {
    out.push_str("<h2 id=\"route\">Route</h2>\n");
    let route = cells
        .route()
        .and_then(|i| reps.iter().find(|(j, _)| *j == i))
        .map(|(_, r)| r);
    match route {
        Some(r) => {
            let _ = writeln!(
                out,
                "<p>The first {what} pairing, <a href=\"{href}\">{imp} &larr; {exp}</a>: <span class=\"{o} word\">{o}</span> &middot; {map}{codes} (<code>peerpath draw {imp} {exp}</code>; its explanation: the link).</p>\n<div class=\"route\">\n{svg}</div>",
                what = if r.outcome == Outcome::Fails { "failing" } else { "" },
                href = esc(&pair_href(&r.importer, &r.export)),
                imp = esc(&r.importer),
                exp = esc(&r.export),
                o = r.outcome.as_str(),
                map = r.kernel.map_type.as_str(),
                codes = codes_text(r),
                svg = route_svg(topo, r),
            );
        }
        None => out.push_str("<p>No pairings: the platform has no exports or no importers.</p>\n"),
    }
}

/// The verdicts (kinds) failing first, then degraded, then working, each most
/// pairings first; each kind's count of pairings; each kind's first pairing (its
/// index in `cells`).
fn verdict_order(cells: &ReportCells) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut counts = vec![0usize; cells.kinds.len()];
    let mut first = vec![usize::MAX; cells.kinds.len()];
    for (i, (k, _, _)) in cells.cells.iter().enumerate() {
        counts[*k as usize] += 1;
        if first[*k as usize] == usize::MAX {
            first[*k as usize] = i;
        }
    }
    let mut order: Vec<usize> = (0..cells.kinds.len()).collect();
    order.sort_by_key(|k| {
        let o = match cells.kinds[*k].outcome {
            Outcome::Fails => 0,
            Outcome::Degraded => 1,
            Outcome::Works => 2,
        };
        (o, std::cmp::Reverse(counts[*k]), first[*k])
    });
    (order, counts, first)
}

/// The table of verdicts, in `order` ([`verdict_order`]): each with its count of
/// pairings and its first pairing, linked to its explanation.
fn verdict_table(
    out: &mut String,
    cells: &ReportCells,
    (order, counts, first): (&[usize], &[usize], &[usize]),
    rep_of: &BTreeMap<usize, &PairResult>,
) {
    if !order.is_empty() {
        out.push_str("<table class=\"matrix\">\n<tr><th>outcome</th><th>map type</th><th>path</th><th>findings</th><th>pairings</th><th>first pairing (explained)</th></tr>\n");
        for k in order {
            let kind = &cells.kinds[*k];
            let example = rep_of.get(&first[*k]);
            let _ = writeln!(
                out,
                "<tr><td class=\"{o}\"><span class=\"word\">{o}{q}</span></td><td>{map}</td><td>{path}</td><td>{codes}</td><td>{n}</td><td>{ex}</td></tr>",
                o = kind.outcome.as_str(),
                q = if kind.assumed { "?" } else { "" },
                map = kind.map_type.as_str(),
                path = kind.path.as_str(),
                codes = esc(&kind.codes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")),
                n = counts[*k],
                ex = example.map_or(String::new(), |r| format!(
                    "<a href=\"{}\">{} &larr; {}</a>",
                    esc(&pair_href(&r.importer, &r.export)),
                    esc(&r.importer),
                    esc(&r.export)
                )),
            );
        }
        out.push_str("</table>\n");
    }
}

#[cfg(test)]
mod tests;

const MORE_CSS: &str = "\
.grid{overflow:auto;max-height:80vh}
.grid table.matrix td{padding:1px 4px;white-space:nowrap}
.note{background:#fff8e0;border-left:4px solid #e0b000;padding:6px 10px}
";

fn pair_href(importer: &str, export: &str) -> String {
    format!("#pair-{importer}--{export}")
}

fn codes_text(r: &PairResult) -> String {
    let mut codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
    codes.dedup();
    let mut seen = Vec::new();
    for c in codes {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    if seen.is_empty() {
        String::new()
    } else {
        format!(" &middot; {}", esc(&seen.join(", ")))
    }
}

/// The embedded data (JSON; `<` is written `\u003c` so the script block cannot end
/// early): the sorted importer and export names, the verdicts, the cells (`width`
/// digits each, row by row, a space where there is no pairing), and the explanations
/// with which pairing each is of.
fn write_data(
    topo: &Topology<'_>,
    cells: &ReportCells,
    reps: &[(usize, PairResult)],
    out: &mut String,
) {
    let p = topo.platform();
    let importers = importer_names(p);
    let exports = export_names(p);
    let row: HashMap<&str, usize> = importers.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let col_of: HashMap<&str, usize> = exports.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut row_of_node = vec![usize::MAX; p.nodes.len()];
    for id in p.node_ids() {
        if let Some(r) = row.get(p.node(id).name.as_str()) {
            row_of_node[id.index()] = *r;
        }
    }
    let col_of_export: Vec<usize> = p
        .exports
        .iter()
        .map(|e| col_of.get(e.name.as_str()).copied().unwrap_or(usize::MAX))
        .collect();
    let digits: Vec<u8> = DIGITS.bytes().collect();
    let base = digits.len();
    let mut width = 1;
    while base.pow(width as u32) < cells.kinds.len().max(1) {
        width += 1;
    }
    let mut grid = vec![b' '; importers.len() * exports.len() * width];
    for (k, e, imp) in &cells.cells {
        let (r, c) = (row_of_node[imp.index()], col_of_export[e.index()]);
        if r == usize::MAX || c == usize::MAX {
            continue;
        }
        let at = (r * exports.len() + c) * width;
        let mut n = *k as usize;
        for j in (0..width).rev() {
            grid[at + j] = digits[n % base];
            n /= base;
        }
    }
    let kinds: Vec<serde_json::Value> = cells
        .kinds
        .iter()
        .map(|k| {
            serde_json::json!({
                "o": k.outcome.as_str(),
                "m": k.map_type.as_str(),
                "p": k.path.as_str(),
                "c": k.codes.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "q": k.assumed,
            })
        })
        .collect();
    let plain = Style::default();
    let mut texts = Vec::with_capacity(reps.len());
    let mut by_kind = vec![usize::MAX; cells.kinds.len()];
    let mut by_export = serde_json::Map::new();
    for (t, (i, r)) in reps.iter().enumerate() {
        let (k, e, _) = cells.cells[*i];
        if by_kind[k as usize] == usize::MAX {
            by_kind[k as usize] = t;
        }
        let key = format!("{k},{}", col_of_export[e.index()]);
        by_export.entry(key).or_insert(serde_json::json!(t));
        texts.push(serde_json::json!({
            "i": r.importer,
            "e": r.export,
            "t": explain_text(topo, r, plain),
        }));
    }
    let data = serde_json::json!({
        "importers": importers,
        "exports": exports,
        "kinds": kinds,
        "digits": DIGITS,
        "width": width,
        "cells": String::from_utf8(grid).unwrap_or_default(),
        "byKind": by_kind,
        "byExport": by_export,
        "texts": texts,
    });
    out.push_str(&data.to_string().replace('<', "\\u003c"));
}

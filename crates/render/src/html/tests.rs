//! Tests of `peerpath report`'s HTML: self-contained, made of the other renderers'
//! output, every pairing's explain text behind a `<details>`.

use peerpath_model::Platform;
use peerpath_rules::{PairResult, Places, Verdict};
use peerpath_topology::Topology;

use super::report_html;
use crate::matrix::MatrixCell;
use crate::tests::{pair, topology};
use crate::{explain_text, groups_text, Style};

fn report(p: &Platform) -> (String, Vec<PairResult>) {
    let topo = Topology::new(p);
    let evaluated = peerpath_rules::evaluate(&topo).pairs;
    let cells: Vec<MatrixCell> = evaluated
        .iter()
        .zip(&p.imports)
        .map(|(r, i)| MatrixCell::new(&topo, i, &Verdict::of(r, &Places::of(p))))
        .collect();
    let pairs: Vec<PairResult> = evaluated
        .iter()
        .map(|r| pair(&topo, &r.importer, &r.export))
        .collect();
    (report_html(&topo, &cells, &pairs), pairs)
}

#[test]
fn holds_the_matrix_the_picture_each_explain_and_the_groups() {
    let p = topology("arm-external-tbu.yaml");
    let (html, pairs) = report(&p);
    let topo = Topology::new(&p);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    assert_eq!(html.matches("<table class=\"matrix\">").count(), 1);
    // The route of the first failing pairing, then the whole platform.
    assert_eq!(html.matches("<svg ").count(), 2);
    assert_eq!(html.matches("<details ").count(), pairs.len());
    for r in &pairs {
        let id = format!("<details id=\"pair-{}--{}\">", r.importer, r.export);
        assert!(html.contains(&id), "{id}");
        let href = format!("href=\"#pair-{}--{}\"", r.importer, r.export);
        assert!(html.contains(&href), "{href}");
        // The explain text, escaped, line by line.
        let text = explain_text(&topo, r, Style::default());
        for line in text.lines().filter(|l| !l.is_empty()) {
            let escaped = super::esc(line);
            assert!(html.contains(&escaped), "missing: {line}");
        }
    }
    assert!(html.contains("fix: add the kernel parameter pci=disable_acs_redir="));
    let groups = groups_text(&topo);
    assert!(html.contains(&super::esc(groups.lines().nth(1).expect("a group"))));
    assert!(html.contains("fails</span> not-supported PIX"));
}

#[test]
fn nothing_is_fetched_from_the_network() {
    let (html, _) = report(&topology("dgx-like.yaml"));
    for needle in ["http://", "https://", "src=", "<link", "@import", "url("] {
        let hits: Vec<&str> = html
            .lines()
            .filter(|l| l.contains(needle))
            .filter(|l| !l.contains("xmlns=\"http://www.w3.org/2000/svg\""))
            .filter(|l| !l.contains("url(#arrow") && !l.contains("url(#route-arrow"))
            .collect();
        assert!(hits.is_empty(), "{needle}: {hits:?}");
    }
}

#[test]
fn same_input_same_bytes() {
    let p = topology("amd-zen-switch.yaml");
    assert_eq!(report(&p).0, report(&p).0);
}

/// Issue 24: a verdict that rests on an assumed fact is marked in the report's matrix
/// and in its pairing's summary line, as in the text; one that rests on facts is not.
#[test]
fn a_verdict_resting_on_an_assumed_fact_is_marked() {
    let mut p = topology("amd-zen-switch.yaml");
    p.kernel.cpu.family = None;
    p.assumed = vec![peerpath_model::Fact::CpuFamily];
    let (html, pairs) = report(&p);
    let marked = pairs.iter().filter(|r| !r.depends_on.is_empty()).count();
    assert!(marked > 0);
    assert_eq!(
        html.matches("<span class=\"word\">fails?</span>").count(),
        marked
    );
    assert_eq!(html.matches("fails?</span> ").count(), marked * 2);
    let (plain, _) = report(&topology("amd-zen-switch.yaml"));
    assert!(!plain.contains("?</span>"));
}

/// The bounded page (issue 19, item 2) of `p`, as `peerpath report` builds it for a
/// platform with more pairings than it explains one by one.
fn big_report(p: &Platform) -> String {
    let topo = Topology::new(p);
    let mut cells = super::big::ReportCells::new();
    let _: Result<(), std::convert::Infallible> =
        peerpath_rules::for_each_verdict(&topo, 1, |import, v| {
            cells.add(&topo, import, v);
            Ok(())
        });
    let reps: Vec<(usize, PairResult)> = cells
        .representatives()
        .into_iter()
        .map(|i| {
            let imp = &p.imports[i];
            let r = pair(
                &topo,
                &p.node(imp.importer).name,
                &p.export(imp.export).name,
            );
            (i, r)
        })
        .collect();
    super::big::report_html_big(&topo, &cells, &reps)
}

/// The embedded data of a bounded page.
fn embedded(html: &str) -> serde_json::Value {
    let start = html
        .find("<script type=\"application/json\" id=\"data\">")
        .expect("data block")
        + "<script type=\"application/json\" id=\"data\">".len();
    let end = start + html[start..].find("</script>").expect("end of data");
    serde_json::from_str(&html[start..end]).expect("the data is JSON")
}

/// Every pairing's verdict is in the bounded page's data at its importer's row and
/// export's column, and the explanation the page shows for it is of a pairing with
/// the same verdict — the pairing's own text when it is a representative.
#[test]
fn the_bounded_page_holds_every_verdict_and_an_explanation_of_the_same_verdict() {
    for file in [
        "dgx-like.yaml",
        "amd-zen-switch.yaml",
        "arm-external-tbu.yaml",
    ] {
        let p = topology(file);
        let topo = Topology::new(&p);
        let html = big_report(&p);
        let d = embedded(&html);
        let names = |k: &str| -> Vec<String> {
            d[k].as_array()
                .expect(k)
                .iter()
                .map(|v| v.as_str().expect("name").to_owned())
                .collect()
        };
        let (importers, exports) = (names("importers"), names("exports"));
        let digits: Vec<char> = d["digits"].as_str().expect("digits").chars().collect();
        let width = d["width"].as_u64().expect("width") as usize;
        let grid: Vec<char> = d["cells"].as_str().expect("cells").chars().collect();
        assert_eq!(
            grid.len(),
            importers.len() * exports.len() * width,
            "{file}"
        );
        let texts = d["texts"].as_array().expect("texts");
        let mut own = 0;
        for r in peerpath_rules::evaluate(&topo).pairs {
            let row = importers
                .iter()
                .position(|n| *n == r.importer)
                .expect("row");
            let col = exports.iter().position(|n| *n == r.export).expect("col");
            let at = (row * exports.len() + col) * width;
            let k = grid[at..at + width].iter().fold(0, |n, c| {
                n * digits.len() + digits.iter().position(|x| x == c).expect("a digit")
            });
            let kind = &d["kinds"][k];
            assert_eq!(kind["o"], r.outcome.as_str(), "{file} {}", r.importer);
            assert_eq!(kind["m"], r.kernel.map_type.as_str(), "{file}");
            let exporter = p
                .export(
                    p.imports
                        .iter()
                        .find(|i| p.export(i.export).name == r.export)
                        .expect("import")
                        .export,
                )
                .device;
            let importer = p
                .node_ids()
                .find(|n| p.node(*n).name == r.importer)
                .expect("importer");
            assert_eq!(
                kind["p"],
                topo.path_class(importer, exporter).as_str(),
                "{file}"
            );
            let mut codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
            codes.dedup();
            let t = d["byExport"]
                .get(format!("{k},{col}"))
                .unwrap_or(&d["byKind"][k])
                .as_u64()
                .expect("a text") as usize;
            let x = &texts[t];
            // The representative has the same verdict.
            let (ri, re) = (x["i"].as_str().expect("i"), x["e"].as_str().expect("e"));
            let rr = pair(&topo, ri, re);
            assert_eq!(
                rr.outcome, r.outcome,
                "{file}: {ri} {re} for {} {}",
                r.importer, r.export
            );
            assert_eq!(rr.kernel.map_type, r.kernel.map_type, "{file}");
            if ri == r.importer && re == r.export {
                own += 1;
                let text = explain_text(&topo, &rr, Style::default());
                assert_eq!(x["t"].as_str().expect("t"), text, "{file}");
            }
        }
        assert!(own > 0, "{file}");
        // The route of the first failing pairing is drawn first, its ids prefixed.
        let route = html.find("<h2 id=\"route\">").expect("a route section");
        assert!(route < html.find("<h2 id=\"verdicts\">").expect("verdicts"));
        assert!(html[route..].contains("<svg "), "{file}");
        assert!(html.contains("id=\"route-arrow\""), "{file}");
        assert!(!html.contains("url(#arrow"), "{file}");
    }
}

/// The bounded page fetches nothing and keeps its data inside its script block.
#[test]
fn the_bounded_page_fetches_nothing() {
    let html = big_report(&topology("dgx-like.yaml"));
    for needle in ["https://", "src=", "<link", "@import"] {
        assert!(!html.contains(needle), "{needle}");
    }
    assert_eq!(html.matches("</script>").count(), 2);
    assert_eq!(big_report(&topology("dgx-like.yaml")), html);
}

/// The small page also starts with a route: the first failing pairing's, as `draw
/// --focus` draws it, before the matrix.
#[test]
fn the_report_starts_with_the_first_failing_route() {
    let p = topology("arm-external-tbu.yaml");
    let (html, pairs) = report(&p);
    let failing = pairs
        .iter()
        .find(|r| r.outcome == peerpath_rules::Outcome::Fails)
        .expect("a failing pairing");
    let route = html.find("<h2 id=\"route\">").expect("a route section");
    assert!(route < html.find("<h2 id=\"matrix\">").expect("matrix"));
    let head = &html[route..html.find("<h2 id=\"matrix\">").expect("matrix")];
    assert!(head.contains(&format!(
        "href=\"#pair-{}--{}\"",
        failing.importer, failing.export
    )));
    assert!(head.contains(&format!(
        "{} imports {} (from {})",
        failing.importer, failing.export, failing.exporter
    )));
    assert!(head.contains("focus: the route"));
}

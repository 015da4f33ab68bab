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
    (report_html(&topo, &cells, &pairs, 0), pairs)
}

#[test]
fn holds_the_matrix_the_picture_each_explain_and_the_groups() {
    let p = topology("arm-external-tbu.yaml");
    let (html, pairs) = report(&p);
    let topo = Topology::new(&p);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    assert_eq!(html.matches("<table class=\"matrix\">").count(), 1);
    assert_eq!(html.matches("<svg ").count(), 1);
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
            .filter(|l| !l.contains("url(#arrow"))
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

//! `peerpath fix`: the proposals as text and as JSON (`peerpath-fix` computes them).

use std::fmt::Write as _;

use peerpath_fix::{FixReport, Proposal, State};
use peerpath_model::Code;

use crate::Style;

fn codes(state: &State) -> String {
    let v: Vec<&str> = state.findings.iter().map(|c| Code::as_str(*c)).collect();
    if v.is_empty() {
        "no findings".to_owned()
    } else {
        v.join(", ")
    }
}

fn state_line(s: &State, style: Style) -> String {
    format!(
        "{}, map type {}; {}",
        style.outcome(s.outcome, 0),
        s.map_type.as_str(),
        codes(s)
    )
}

/// One group's members, the first few of a large group and how many there are.
fn group_text(g: &[String]) -> String {
    const SHOWN: usize = 6;
    if g.len() <= SHOWN + 1 {
        format!("{{{}}}", g.join(", "))
    } else {
        format!("{{{}, … {} devices}}", g[..SHOWN].join(", "), g.len())
    }
}

/// Groups joined by ` + `, the first few of many.
fn groups_text(gs: &[Vec<String>]) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = gs.iter().take(SHOWN).map(|g| group_text(g)).collect();
    if gs.len() > SHOWN + 1 {
        parts.truncate(SHOWN - 1);
        parts.push(format!("… {} groups", gs.len()));
    } else if gs.len() == SHOWN + 1 {
        parts.push(group_text(&gs[SHOWN]));
    }
    parts.join(" + ")
}

/// The text report.
pub fn fix_text(r: &FixReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "peerpath fix: {} imports {} on {}",
            r.importer, r.export, r.platform
        ))
    );
    let _ = writeln!(out, "now: {}", state_line(&r.now, style));
    if r.now.outcome == peerpath_model::Outcome::Works {
        let _ = writeln!(out, "\nthe pairing works: nothing to fix");
        return out;
    }
    match r.goal {
        Some(_) => {}
        None => {
            let _ = writeln!(
                out,
                "\nno change of the knobs within the bound improves it (sets of up to {} changes)",
                r.bound.max_changes
            );
        }
    }
    let mut tier = None;
    for (i, p) in r.proposals.iter().enumerate() {
        if tier != Some(p.after.outcome) {
            tier = Some(p.after.outcome);
            let n = r
                .proposals
                .iter()
                .filter(|q| q.after.outcome == p.after.outcome)
                .count();
            // "the pairing works", "the pairing is degraded".
            let verb = match p.after.outcome {
                peerpath_model::Outcome::Works | peerpath_model::Outcome::Fails => "",
                peerpath_model::Outcome::Degraded => "is ",
            };
            let _ = writeln!(
                out,
                "\nthe smallest changes after which the pairing {verb}{} ({n}, best first):",
                style.outcome(p.after.outcome, 0)
            );
        }
        proposal(&mut out, i + 1, p, style);
    }
    let s = &r.searched;
    let _ = writeln!(
        out,
        "\nsearched {} candidate changes, {} sets of up to {} changes{}",
        s.candidates,
        s.evaluated,
        r.bound.max_changes,
        if s.complete {
            " (all of them)".to_owned()
        } else {
            format!(
                " (stopped at the bound of {} evaluations)",
                r.bound.max_evaluations
            )
        }
    );
    if !s.checked && !r.proposals.is_empty() {
        let _ = writeln!(
            out,
            "proposals not written and reloaded here (a file over {} KiB, or none); --apply checks the one it writes",
            peerpath_fix::VERIFY_ALL_BYTES >> 10
        );
    }
    if s.dropped > 0 {
        let _ = writeln!(
            out,
            "{} proposal(s) dropped: the platform --apply would write did not reproduce them",
            s.dropped
        );
    }
    if let Some(h) = &r.hardware {
        let _ = writeln!(out, "hardware: {h}");
    }
    if !r.proposals.is_empty() {
        let _ = writeln!(
            out,
            "apply one: peerpath fix {} {} [PLATFORM] --apply [--pick N] -o FILE",
            r.importer, r.export
        );
    }
    out
}

/// Other pairings listed in the text; JSON lists every one.
const OTHERS_SHOWN: usize = 10;

fn proposal(out: &mut String, n: usize, p: &Proposal, style: Style) {
    let _ = writeln!(
        out,
        "\n{n}. {} change{} (cost {}):",
        p.changes.len(),
        if p.changes.len() == 1 { "" } else { "s" },
        p.cost()
    );
    for d in &p.described {
        let _ = writeln!(out, "   - {}", d.text);
        if let Some(without) = d.without {
            let cleared: Vec<&str> = d.clears.iter().map(|c| c.as_str()).collect();
            let _ = writeln!(
                out,
                "       clears: {} (without it: {})",
                if cleared.is_empty() {
                    "no finding code; it changes the outcome".to_owned()
                } else {
                    cleared.join(", ")
                },
                without.as_str()
            );
        }
        if let Some(why) = &d.why {
            let _ = writeln!(out, "       why: {why}");
        }
        let _ = writeln!(out, "       platform: {}: {}", d.knob, d.value);
        if let Some(param) = &d.parameter {
            let _ = writeln!(out, "       on the machine: {param}");
        }
        if !d.runtime.is_empty() {
            let _ = writeln!(
                out,
                "       or at runtime (lost on reboot and hot-plug; clears RR, CR, EC only):"
            );
            for l in &d.runtime {
                let _ = writeln!(
                    out,
                    "         {}    # {}: ACS Control {} -> {}",
                    l.command, l.port, l.current, l.value
                );
            }
        }
    }
    let _ = writeln!(out, "   afterwards: {}", state_line(&p.after, style));
    if p.groups.is_empty() {
        let _ = writeln!(out, "   IOMMU groups: unchanged");
    }
    for g in &p.groups {
        let _ = writeln!(
            out,
            "   IOMMU groups ({}): {} -> {}",
            g.kind(),
            groups_text(&g.before),
            groups_text(&g.after)
        );
    }
    if p.others.is_empty() {
        let _ = writeln!(out, "   other pairings: none changes");
    }
    for x in p.others.iter().take(OTHERS_SHOWN) {
        let _ = writeln!(
            out,
            "   other pairing {} <- {}: {} -> {}",
            x.importer,
            x.export,
            x.before.as_str(),
            x.after.as_str()
        );
    }
    if p.others.len() > OTHERS_SHOWN {
        let worse = p.made_worse();
        let _ = writeln!(
            out,
            "   … {} other pairings change in all ({worse} worse, {} better; --format json lists them)",
            p.others.len(),
            p.others.len() - worse
        );
    }
}

#[derive(serde::Serialize)]
struct JsonProposal<'a> {
    rank: usize,
    changes: &'a [peerpath_fix::Described],
    cost: u32,
    after: &'a State,
    groups: Vec<JsonGroup<'a>>,
    other_pairings: &'a [peerpath_fix::OtherPairing],
}

#[derive(serde::Serialize)]
struct JsonGroup<'a> {
    kind: &'static str,
    before: &'a [Vec<String>],
    after: &'a [Vec<String>],
}

#[derive(serde::Serialize)]
struct JsonBound {
    max_changes: usize,
    max_evaluations: usize,
    max_proposals: usize,
}

#[derive(serde::Serialize)]
struct JsonFix<'a> {
    format: u32,
    platform: &'a str,
    importer: &'a str,
    export: &'a str,
    now: &'a State,
    goal: Option<peerpath_model::Outcome>,
    proposals: Vec<JsonProposal<'a>>,
    searched: &'a peerpath_fix::Searched,
    bound: JsonBound,
    hardware: &'a Option<String>,
}

/// The JSON report.
pub fn fix_json(r: &FixReport) -> Result<String, serde_json::Error> {
    let j = JsonFix {
        format: crate::FORMAT,
        platform: &r.platform,
        importer: &r.importer,
        export: &r.export,
        now: &r.now,
        goal: r.goal,
        proposals: r
            .proposals
            .iter()
            .enumerate()
            .map(|(i, p)| JsonProposal {
                rank: i + 1,
                changes: &p.described,
                cost: p.cost(),
                after: &p.after,
                groups: p
                    .groups
                    .iter()
                    .map(|g| JsonGroup {
                        kind: g.kind(),
                        before: &g.before,
                        after: &g.after,
                    })
                    .collect(),
                other_pairings: &p.others,
            })
            .collect(),
        searched: &r.searched,
        bound: JsonBound {
            max_changes: r.bound.max_changes,
            max_evaluations: r.bound.max_evaluations,
            max_proposals: r.bound.max_proposals,
        },
        hardware: &r.hardware,
    };
    serde_json::to_string_pretty(&j).map(|mut s| {
        s.push('\n');
        s
    })
}

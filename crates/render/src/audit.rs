//! `peerpath audit`: the fleet table as text, and its JSON (docs/audit.md).

use std::fmt::Write as _;

use peerpath_audit::{Audit, Cluster, Difference};

use crate::summary_line;

/// Machines listed per cluster in text (JSON lists them all).
pub const AUDIT_MACHINES_SHOWN: usize = 8;
/// Differences listed per cluster in text (JSON lists them all).
pub const AUDIT_DIFFERENCES_SHOWN: usize = 24;

fn difference(d: &Difference) -> String {
    let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "absent".to_owned());
    format!(
        "{}: {} vs {} on {}",
        d.field,
        v(&d.this),
        v(&d.largest),
        d.place
    )
}

/// The table as text: each cluster with its machines, its verdicts per class pairing,
/// what differs from the largest cluster, the requirements it breaks and the smallest
/// fix; then the machines that failed to import.
pub fn audit_text(a: &Audit) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} machine{} in {} cluster{}{}",
        a.machines,
        if a.machines == 1 { "" } else { "s" },
        a.clusters.len(),
        if a.clusters.len() == 1 { "" } else { "s" },
        if a.failed.is_empty() {
            String::new()
        } else {
            format!("; {} failed to import", a.failed.len())
        }
    );
    if !a.requirements.is_empty() {
        let _ = writeln!(
            out,
            "required: {}; {} machine{} break{} a rule",
            a.requirements.join(", "),
            a.breaking,
            if a.breaking == 1 { "" } else { "s" },
            if a.breaking == 1 { "s" } else { "" }
        );
    }
    for (i, c) in a.clusters.iter().enumerate() {
        let _ = writeln!(
            out,
            "\ncluster {} [{}]: {} machine{}{}",
            i + 1,
            c.fingerprint,
            c.count,
            if c.count == 1 { "" } else { "s" },
            if i == 0 { " (largest)" } else { "" }
        );
        let shown: Vec<&str> = c
            .machines
            .iter()
            .take(AUDIT_MACHINES_SHOWN)
            .map(String::as_str)
            .collect();
        let more = c.machines.len().saturating_sub(AUDIT_MACHINES_SHOWN);
        let _ = writeln!(
            out,
            "  machines: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(", … {more} more")
            } else {
                String::new()
            }
        );
        let v = &c.verdicts;
        let _ = writeln!(out, "  {}", summary_line(&v.all));
        for k in &v.classes {
            let _ = writeln!(
                out,
                "    {} → {}: {}",
                k.importer,
                k.exporter,
                summary_line(&k.counts)
            );
        }
        if i > 0 {
            let _ = writeln!(
                out,
                "  differs from cluster 1 ({} difference{}; this vs largest):",
                c.differs.len(),
                if c.differs.len() == 1 { "" } else { "s" }
            );
            for d in c.differs.iter().take(AUDIT_DIFFERENCES_SHOWN) {
                let _ = writeln!(out, "    {}", difference(d));
            }
            let more = c.differs.len().saturating_sub(AUDIT_DIFFERENCES_SHOWN);
            if more > 0 {
                let _ = writeln!(out, "    … {more} more (--format json lists them all)");
            }
        }
        for b in &v.breaks {
            let _ = writeln!(out, "  breaks {b}");
        }
        if let Some(f) = &v.fix {
            if f.changes.is_empty() {
                let _ = writeln!(
                    out,
                    "  fix: none within 2 changes for {} ← {} (peerpath fix searches further)",
                    f.importer, f.export
                );
            } else {
                let _ = writeln!(
                    out,
                    "  fix for {} ← {} ({} after): {}",
                    f.importer,
                    f.export,
                    f.after.as_deref().unwrap_or("?"),
                    f.changes.join("; ")
                );
                if !f.parameters.is_empty() {
                    let _ = writeln!(out, "    on the machine: {}", f.parameters.join(" "));
                }
            }
        }
    }
    if !a.failed.is_empty() {
        let _ = writeln!(out, "\nfailed to import:");
        for f in &a.failed {
            let _ = writeln!(out, "  {}: {}", f.machine, f.error);
        }
    }
    out
}

/// The table as JSON (docs/audit.md), pretty-printed, with a final newline.
pub fn audit_json(a: &Audit) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(a).map(|mut s| {
        s.push('\n');
        s
    })
}

/// The table as one self-contained HTML page, styled like `peerpath report`: a row per
/// cluster (machines, outcomes, rules broken, differences), then each cluster's
/// machines, verdicts per class pairing, differences and fix behind a click.
pub fn audit_html(a: &Audit) -> String {
    use crate::svg::esc;
    let mut out = String::new();
    let title = format!(
        "peerpath audit: {} machines in {} clusters",
        a.machines,
        a.clusters.len()
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>\n{css}</style>\n</head>\n<body>\n<h1>{t}</h1>\n\
         <p class=\"muted\">{req}{failed} &middot; peerpath {version} &middot; docs/audit.md</p>\n",
        t = esc(&title),
        css = crate::html::CSS,
        req = if a.requirements.is_empty() {
            "no --require".to_owned()
        } else {
            esc(&format!(
                "required: {}; {} machines break a rule",
                a.requirements.join(", "),
                a.breaking
            ))
        },
        failed = if a.failed.is_empty() {
            String::new()
        } else {
            format!("; {} failed to import", a.failed.len())
        },
        version = env!("CARGO_PKG_VERSION"),
    );
    clusters_table(&mut out, a);
    for (i, c) in a.clusters.iter().enumerate() {
        cluster_html(&mut out, i, c);
    }
    if !a.failed.is_empty() {
        out.push_str("<h2>Failed to import</h2>\n<pre class=\"wrap\">");
        for f in &a.failed {
            let _ = writeln!(out, "{}", esc(&format!("{}: {}", f.machine, f.error)));
        }
        out.push_str("</pre>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The row per cluster: machines, outcomes, rules broken, differences.
fn clusters_table(out: &mut String, a: &Audit) {
    use crate::svg::esc;
    out.push_str(
        "<h2>Clusters</h2>\n<table class=\"matrix\">\n<tr><th>#</th><th>fingerprint</th><th>machines</th>\
         <th>pairings</th><th>breaks</th><th>differences from cluster 1</th></tr>\n",
    );
    for (i, c) in a.clusters.iter().enumerate() {
        let v = &c.verdicts.all;
        let class = if v.fails > 0 {
            "fails"
        } else if v.degraded > 0 {
            "degraded"
        } else {
            "works"
        };
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#cluster-{n}\">{n}</a></td><td>{fp}</td><td>{count}</td>\
             <td class=\"{class}\">{summary}</td><td>{breaks}</td><td>{diffs}</td></tr>",
            n = i + 1,
            fp = esc(&c.fingerprint),
            count = c.count,
            summary = esc(&summary_line(v)),
            breaks = esc(&c.verdicts.breaks.join("; ")),
            diffs = if i == 0 {
                "(largest)".to_owned()
            } else {
                c.differs.len().to_string()
            },
        );
    }
    out.push_str("</table>\n");
}

/// Cluster `i`'s section: its machines, verdicts per class pairing, differences from
/// the largest cluster and fix.
fn cluster_html(out: &mut String, i: usize, c: &Cluster) {
    use crate::svg::esc;
    let _ = writeln!(
        out,
        "<h2 id=\"cluster-{n}\">Cluster {n} [{fp}]: {count} machine{s}</h2>",
        n = i + 1,
        fp = esc(&c.fingerprint),
        count = c.count,
        s = if c.count == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "<details><summary>machines</summary><pre class=\"wrap\">{}</pre></details>",
        esc(&c.machines.join("\n"))
    );
    let mut verdicts = summary_line(&c.verdicts.all);
    for k in &c.verdicts.classes {
        let _ = write!(
            verdicts,
            "\n  {} → {}: {}",
            k.importer,
            k.exporter,
            summary_line(&k.counts)
        );
    }
    let _ = writeln!(out, "<pre>{}</pre>", esc(&verdicts));
    if i > 0 {
        let lines: Vec<String> = c.differs.iter().map(difference).collect();
        let _ = writeln!(
            out,
            "<details open><summary>{} difference{} from cluster 1 (this vs largest)</summary><pre class=\"wrap\">{}</pre></details>",
            c.differs.len(),
            if c.differs.len() == 1 { "" } else { "s" },
            esc(&lines.join("\n"))
        );
    }
    if let Some(f) = &c.verdicts.fix {
        let _ = writeln!(
            out,
            "<p>fix for {} ← {}: {}</p>",
            esc(&f.importer),
            esc(&f.export),
            esc(&if f.changes.is_empty() {
                "none within 2 changes (peerpath fix searches further)".to_owned()
            } else {
                format!(
                    "{} ({} after)",
                    f.changes.join("; "),
                    f.after.as_deref().unwrap_or("?")
                )
            })
        );
    }
}

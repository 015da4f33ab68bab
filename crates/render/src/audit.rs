//! `peerpath audit`: the fleet table as text, and its JSON (docs/audit.md).

use std::fmt::Write as _;

use peerpath_audit::{Audit, Difference};

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

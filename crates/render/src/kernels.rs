//! `peerpath kernels`: one pairing across kernel releases (issue 24), as text or JSON.

use peerpath_model::Release;
use peerpath_rules::AcrossReleases;

/// Why the pairing fails at a release, in a few words: the error codes.
fn errors(r: &peerpath_rules::AtRelease) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = r
        .pair
        .findings
        .iter()
        .filter(|f| f.code.severity() == peerpath_rules::Severity::Error)
        .map(|f| f.code.as_str())
        .collect();
    codes.dedup();
    codes
}

fn release_name(r: Release, stated: Option<Release>) -> String {
    if stated == Some(r) {
        format!("{r} (stated)")
    } else {
        r.to_string()
    }
}

/// The verdict line: `works from 5.18` (works or degraded: no error), and any release
/// outside that span where it does not fail either.
fn verdict(a: &AcrossReleases) -> String {
    let earlier: Vec<String> = a.works_earlier().iter().map(|r| r.to_string()).collect();
    match (a.works_from(), earlier.is_empty()) {
        (Some(r), true) if a.releases.first().map(|f| f.release) == Some(r) => {
            format!("works on every release listed (from {r})")
        }
        (Some(r), true) => format!("works from {r}"),
        (Some(r), false) => format!("works from {r}; also on {}", earlier.join(", ")),
        (None, true) => "fails on every release listed, the newest included".to_owned(),
        (None, false) => format!("fails on the newest; works only on {}", earlier.join(", ")),
    }
}

/// A table: release, outcome, map type, p2pdma's behaviour, the error codes; then the
/// verdict and every assumption.
pub fn kernels_text(a: &AcrossReleases) -> String {
    let Some(first) = a.releases.first() else {
        return String::new();
    };
    let mut out = format!(
        "{} imports {} ({}, via {})\n",
        first.pair.importer,
        first.pair.export,
        first.pair.exporter,
        a.via.as_str()
    );
    let rows: Vec<[String; 5]> = a
        .releases
        .iter()
        .map(|r| {
            [
                release_name(r.release, a.stated),
                r.pair.outcome.as_str().to_owned(),
                r.pair.kernel.map_type.as_str().to_owned(),
                r.pair.kernel.why.map.p2pdma.as_str().to_owned(),
                errors(r).join(", "),
            ]
        })
        .collect();
    let head = ["release", "outcome", "map type", "p2pdma", "errors"];
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: [&str; 5]| -> String {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        l.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(head));
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out.push_str(&verdict(a));
    out.push('\n');
    // Each assumption once, with the releases it was made for.
    let mut facts: Vec<(&str, Vec<String>)> = Vec::new();
    for r in &a.releases {
        for f in &r.assumed {
            match facts.iter_mut().find(|(x, _)| *x == f.as_str()) {
                Some((_, rs)) => rs.push(r.release.to_string()),
                None => facts.push((f.as_str(), vec![r.release.to_string()])),
            }
        }
    }
    for (f, rs) in facts {
        out.push_str(&format!(
            "assumed on {}: {f} (its first release is not verified)\n",
            rs.join(", ")
        ));
    }
    if a.stated.is_none() {
        out.push_str("the platform states no kernel.release: simulate, explain and groups model the newest release\n");
    }
    out
}

#[derive(serde::Serialize)]
struct KernelsJson<'a> {
    format: u32,
    importer: &'a str,
    export: &'a str,
    stated: Option<String>,
    works_from: Option<String>,
    works_earlier: Vec<String>,
    releases: Vec<ReleaseJson<'a>>,
}

#[derive(serde::Serialize)]
struct ReleaseJson<'a> {
    release: String,
    outcome: &'static str,
    map_type: &'static str,
    p2pdma: &'static str,
    errors: Vec<&'static str>,
    assumed: &'a [String],
}

/// The same as JSON, with a trailing newline.
pub fn kernels_json(a: &AcrossReleases) -> Result<String, serde_json::Error> {
    let first = a.releases.first();
    let doc = KernelsJson {
        format: crate::FORMAT,
        importer: first.map_or("", |f| f.pair.importer.as_str()),
        export: first.map_or("", |f| f.pair.export.as_str()),
        stated: a.stated.map(|r| r.to_string()),
        works_from: a.works_from().map(|r| r.to_string()),
        works_earlier: a.works_earlier().iter().map(|r| r.to_string()).collect(),
        releases: a
            .releases
            .iter()
            .map(|r| ReleaseJson {
                release: r.release.to_string(),
                outcome: r.pair.outcome.as_str(),
                map_type: r.pair.kernel.map_type.as_str(),
                p2pdma: r.pair.kernel.why.map.p2pdma.as_str(),
                errors: errors(r),
                assumed: &r.assumed,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}

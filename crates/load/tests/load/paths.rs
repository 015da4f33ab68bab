//! The fast path and the located path of `load_str` (issue 19, item 6) give the same
//! result: wherever the fast path loads a platform, the located path loads the same
//! one; everything else is the located path's answer, diagnostics included.

use std::path::Path;

use peerpath_load::{load_fast, load_fast_split, load_located, load_raw_str, load_str, to_yaml};
use proptest::prelude::*;

/// Loads `text` on both paths and checks that they agree; whether the fast path
/// loaded it.
fn agree(name: &str, text: &str) -> bool {
    let located = load_located(name, text);
    // Parsed in two parts, the fast path loads the located path's platform or gives up.
    if let Some(p) = load_fast_split(name, text) {
        match &located {
            Ok(q) => assert!(
                p == *q,
                "{name}: the split fast path loads another platform"
            ),
            Err(d) => {
                panic!("{name}: the split fast path loads what the located path rejects:\n{d}")
            }
        }
    }
    match load_fast(name, text) {
        Some(p) => {
            match &located {
                Ok(q) => assert!(p == *q, "{name}: the paths load different platforms"),
                Err(d) => panic!(
                    "{name}: the fast path loads what the located path rejects:\n{d}\n{text}"
                ),
            }
            true
        }
        None => {
            // What `load_str` returns is then the located path's, byte for byte.
            let both = load_str(name, text);
            match (both, located) {
                (Ok(a), Ok(b)) => assert!(a == b, "{name}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
                _ => panic!("{name}: load_str and the located path disagree"),
            }
            false
        }
    }
}

/// `text` as the project writes a platform (quoted addresses: the form of generated
/// files, which the fast path reads), when it converts.
fn written_back(name: &str, text: &str) -> Option<String> {
    load_raw_str(name, text).ok().map(|raw| to_yaml(&raw))
}

/// The repository's platforms (topologies and the loader's fixtures), written back.
fn platforms() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["topologies", "crates/load/tests/fixtures"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        paths.sort();
        for p in paths {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            if let Some(w) = written_back(&name, &text) {
                out.push((name, w));
            }
        }
    }
    assert!(out.len() >= 10, "{} platforms", out.len());
    out
}

#[test]
fn every_repository_platform_loads_the_same_on_both_paths() {
    for (name, text) in platforms() {
        let valid = load_located(&name, &text).is_ok();
        // The spec's example is invalid (status.md, item 1): the located path reports it.
        assert_eq!(agree(&name, &text), valid, "{name}: valid {valid}");
        // What the project writes parses in two parts as well as in one.
        assert_eq!(
            load_fast_split(&name, &text).is_some(),
            valid,
            "{name}: split"
        );
    }
}

/// Values put in place of a line's value: valid, invalid, and beyond the fast path.
const VALUES: &[&str] = &["0", "nope", "true", "~", "\"0x10\"", "0x10", "[]", "1GiB"];

#[test]
fn mutated_platforms_agree_on_both_paths() {
    let (mut fast, mut total) = (0usize, 0usize);
    for (name, text) in platforms() {
        let lines: Vec<&str> = text.lines().collect();
        // Every third line (a debug build loads each variant twice).
        for i in (0..lines.len()).step_by(3) {
            let mut variants = Vec::new();
            let mut deleted = lines.clone();
            deleted.remove(i);
            variants.push(deleted.join("\n"));
            let mut doubled = lines.clone();
            doubled.insert(i, lines[i]);
            variants.push(doubled.join("\n"));
            if let Some((key, _)) = lines[i].rsplit_once(": ") {
                // Two of the values, in turn.
                for v in [VALUES[i % VALUES.len()], VALUES[(i / 3 + 1) % VALUES.len()]] {
                    let mut changed = lines.clone();
                    let line = format!("{key}: {v}");
                    changed[i] = &line;
                    variants.push(changed.join("\n"));
                }
            }
            for v in &variants {
                total += 1;
                if agree(&format!("{name}, line {}", i + 1), v) {
                    fast += 1;
                }
            }
        }
    }
    // Both outcomes are exercised: mutations the fast path loads, and ones it leaves.
    assert!(
        fast > 100 && total - fast > 100,
        "{fast} of {total} on the fast path"
    );
}

#[test]
fn a_generated_platform_loads_on_the_fast_path() {
    let yaml = crate::scale::generated_platform(2_000, 10, 50);
    let Some(text) = written_back("g.yaml", &yaml) else {
        panic!("the generated platform converts")
    };
    assert!(agree("g.yaml", &text), "not loaded on the fast path");
    assert!(
        load_fast_split("g.yaml", &text).is_some(),
        "not loaded with the parse split"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Random platforms, valid or not, written back so the fast path reads them.
    #[test]
    fn random_platforms_agree_on_both_paths(doc in crate::robustness::random_platform()) {
        if let Some(text) = written_back("r.yaml", &doc) {
            agree("r.yaml", &text);
        }
    }
}

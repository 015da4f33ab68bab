//! The fast path's trees equal the located path's, node for node (kind, typed spans,
//! line, column, byte span), wherever the fast path builds one.

use std::path::{Path, PathBuf};

use super::*;
use crate::source;

/// The located path's tree, or `None` where it reports an error.
fn located(text: &str) -> Option<Node> {
    source::parse(text).ok()
}

/// Every YAML file of the repository the loader reads: topologies, scenarios, the
/// loader's fixtures.
fn repository_files() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["topologies", "scenarios", "crates/load/tests/fixtures"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            panic!("{dir} is readable");
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "yaml") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                out.push((p, text));
            }
        }
    }
    out
}

/// Each file, and each platform file as the project writes it (`to_yaml`, which
/// quotes what would otherwise read as a number: the form generated files have).
fn inputs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (p, text) in repository_files() {
        let name = p.display().to_string();
        if let Ok(raw) = crate::load_raw_str(&name, &text) {
            out.push((format!("{name} (written back)"), crate::to_yaml(&raw)));
        }
        out.push((name, text));
    }
    out
}

#[test]
fn trees_equal_the_located_path() {
    let mut built = 0;
    let inputs = inputs();
    for (name, text) in &inputs {
        if let Some(fast) = tree(text) {
            let Some(slow) = located(text) else {
                panic!("{name}: the fast path built a tree the located path rejects")
            };
            assert_eq!(fast, slow, "{name}");
            built += 1;
        }
    }
    // Every written-back platform is within what the fast path handles.
    let written = inputs.iter().filter(|(n, _)| n.ends_with("(written back)"));
    let written = written.count();
    assert!(built >= written, "{built} trees built");
}

/// Plain scalars around every rule of serde-saphyr's typing, as values, keys and
/// sequence items.
const SCALARS: &[&str] = &[
    "0",
    "00",
    "007",
    "1",
    "42",
    "1_000",
    "0x1F",
    "0X1F",
    "0x40_0000_0000",
    "0o7",
    "0b1",
    "1e3",
    "1E3",
    "1e+5",
    "1.5",
    ".5",
    "1.",
    "6.10",
    "-1",
    "+1",
    "-0",
    ".inf",
    "-.inf",
    "+.inf",
    ".nan",
    "-.nan",
    ".NaN",
    "inf",
    "Inf",
    "nan",
    "NaN",
    "Infinity",
    "infinity",
    "true",
    "True",
    "TRUE",
    "tRue",
    "false",
    "False",
    "FALSE",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "null",
    "Null",
    "NULL",
    "nULL",
    "~",
    "1GiB",
    "1EiB",
    "256MiB",
    "1e",
    "16GT/s",
    "01f3:f7:00.0",
    "0000:05:00.0",
    "00:01.0",
    "12:30",
    "1:20:30",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "9999999999999999999",
    "1.2.3",
    "a b",
    "x#y",
    "2048",
    "1-2",
    "1+2",
    "1_",
    "_1",
    "gpu0",
    "hb0.rp0.sw0.dp0",
    "0.0.0",
    "1 GiB",
    "3 GPUs",
    "'q'",
    "\"q\"",
    "\"\"",
    "''",
    "\"0x10\"",
    "'true'",
    "\"null\"",
    "a: b",
    "<<",
    "!!str 1",
    "&a 1",
    "*a",
    "! x",
    "-",
    "?",
    "1x",
    "1f",
    "0f",
    "9e9999",
    "1_0",
    "0_1",
];

#[test]
fn scalars_are_typed_as_the_located_path_types_them() {
    let mut built = 0;
    for s in SCALARS {
        for text in [
            format!("k: {s}\n"),
            format!("{s}: v\n"),
            format!("- {s}\n- [{s}, x]\n"),
            format!("k: {{a: {s}}}\n"),
            format!("k:\n  - {s}\n"),
        ] {
            if let Some(fast) = tree(&text) {
                let Some(slow) = located(&text) else {
                    panic!("{text:?}: the fast path built a tree the located path rejects")
                };
                assert_eq!(fast, slow, "{text:?}");
                built += 1;
            }
        }
    }
    assert!(built > 200, "{built} trees built");
}

#[test]
fn what_it_does_not_handle_goes_to_the_located_path() {
    for text in [
        "k: &a 1\nj: *a\n",
        "k: !!str 1\n",
        "<<: {a: 1}\n",
        "? [a]\n: 1\n",
        "'k': 1\n",
        "k: 0x10\n",
        "k: 1.5\n",
        "---\na: 1\n---\nb: 2\n",
        "",
    ] {
        assert!(tree(text).is_none(), "{text:?}");
        assert!(load("t.yaml", text).is_none(), "{text:?}");
    }
}

#[test]
fn nesting_deeper_than_the_budget_goes_to_the_located_path() {
    let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    assert!(tree(&deep(10)).is_some());
    assert!(tree(&deep(limits::MAX_DEPTH)).is_none());
    assert!(located(&deep(limits::MAX_DEPTH + 1)).is_none());
}

/// Loads `text` on the fast path with the parse split (if [`split`] finds a cut) and
/// without; the two agree, and the split gives up only where the unsplit path does
/// or where the cut lands inside a construct that spans it.
fn split_agrees(name: &str, text: &str) -> (bool, Option<Platform>) {
    let whole = load_split(name, text, usize::MAX);
    let parts = load_split(name, text, 0);
    if let Some(p) = &parts {
        assert!(
            whole.as_ref() == Some(p),
            "{name}: the split loads another platform"
        );
    }
    (split(text, 0).is_some(), parts)
}

#[test]
fn a_split_parse_loads_what_one_parser_loads() {
    let mut split_loaded = 0;
    for (name, text) in inputs() {
        let (cut, parts) = split_agrees(&name, &text);
        let whole = load_split(&name, &text, usize::MAX);
        if cut && whole.is_some() {
            assert!(parts.is_some(), "{name}: the split gave up on a plain file");
            split_loaded += 1;
        }
    }
    // Files the project writes have their lists at column 0: they split (9 of the 10
    // repository platforms the fast path loads, on 2026-12-08; `split` finds no cut in
    // power9-tce's).
    assert!(split_loaded >= 9, "{split_loaded} files loaded split");
}

/// The cut is at the list's middle element line; each of these puts a construct
/// across it that one parser reads as a whole. The split must not read it otherwise.
#[test]
fn constructs_across_the_cut_are_not_read_differently() {
    let Some((_, base)) = inputs()
        .into_iter()
        .find(|(n, _)| n.contains("amd-zen-switch.yaml (written back)"))
    else {
        panic!("amd-zen-switch is in the repository");
    };
    let Some(cut) = split(&base, 0) else {
        panic!("the written-back platform splits");
    };
    let at = cut.items.byte_offset as usize;
    let (head, rest) = base.split_at(at);
    // The element line before the cut gains a key whose value runs into the cut.
    let Some(last_key) = head.trim_end_matches('\n').rfind('\n') else {
        panic!("a line before the cut");
    };
    let variants = [
        // A double-quoted string whose next line (the cut) is `- …` at column 0.
        format!("{}\n  note: \"open\n{rest}", &head[..last_key]),
        format!("{}\n  note: 'open\n{rest}", &head[..last_key]),
        // A flow sequence left open.
        format!("{}\n  note: [a,\n{rest}", &head[..last_key]),
        // A block scalar: ends at the cut's column-0 line in both readings.
        format!("{}\n  note: |\n    text\n{rest}", &head[..last_key]),
        // A comment line at column 0 right at the cut.
        format!("{head}# - name: not an element\n{rest}"),
    ];
    for (k, text) in variants.iter().enumerate() {
        let (_, parts) = split_agrees(&format!("variant {k}"), text);
        let located = crate::load_located("v.yaml", text).ok();
        if let Some(p) = parts {
            assert!(located.as_ref() == Some(&p), "variant {k}");
        }
    }
}

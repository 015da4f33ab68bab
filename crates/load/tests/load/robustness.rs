//! Hostile input: each gets a located error in bounded time and memory, never a panic.

use std::io::Write;
use std::time::{Duration, Instant};

use peerpath_load::{limits, load_file, load_str, Diagnostics};
use proptest::prelude::*;

fn err(yaml: &str) -> Diagnostics {
    match load_str("t.yaml", yaml) {
        Ok(_) => panic!("expected an error"),
        Err(d) => d,
    }
}

/// A fresh file under cargo's per-target temp dir.
fn temp_file(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("peerpath-load");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{}-{name}", std::process::id()))
}

#[test]
fn a_100_mib_file_is_refused_without_reading_it() {
    let path = temp_file("huge.yaml");
    let f = std::fs::File::create(&path).expect("create");
    // Sparse: no 100 MiB written to disk, and nothing read if the limit is checked first.
    f.set_len(100 << 20).expect("set_len");
    drop(f);
    let start = Instant::now();
    let d = load_file(&path).expect_err("too large");
    assert!(start.elapsed() < Duration::from_secs(2));
    let _ = std::fs::remove_file(&path);
    assert_eq!(d.items.len(), 1);
    assert_eq!(
        d.items[0].message,
        "the file is 104857600 bytes (100.0 MiB)"
    );
    assert_eq!(
        d.items[0].expected.as_deref(),
        Some("at most 67108864 bytes (64 MiB)")
    );
    assert!(d
        .to_string()
        .starts_with(&format!("error: {}: the file is", path.display())));
}

#[test]
fn a_string_over_64_mib_is_refused() {
    let text = "#".repeat(limits::MAX_FILE_BYTES as usize + 1);
    let d = err(&text);
    assert_eq!(d.items.len(), 1);
    assert!(d.items[0].message.starts_with("the file is 67108865 bytes"));
}

#[test]
fn a_file_at_the_limit_is_read() {
    // 64 MiB of comment after a valid platform: accepted.
    let path = temp_file("limit.yaml");
    let head = "format: 1\nname: t\n";
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(head.as_bytes()).expect("write");
    let pad = limits::MAX_FILE_BYTES as usize - head.len() - 1;
    f.write_all(format!("#{}", "x".repeat(pad - 1)).as_bytes())
        .expect("write");
    f.write_all(b"\n").expect("write");
    drop(f);
    let r = load_file(&path);
    let _ = std::fs::remove_file(&path);
    assert!(r.is_ok(), "{:?}", r.err().map(|d| d.to_string()));
}

#[test]
fn billion_laughs_is_bounded() {
    let mut doc =
        String::from("format: 1\nname: t\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 9].join(", ");
        doc.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    let start = Instant::now();
    let d = err(&doc);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(d.items.len(), 1, "{d}");
    let item = &d.items[0];
    assert!(
        item.message.contains("too many") || item.message.contains("aliases expand"),
        "{item:?}"
    );
    assert!(item.line >= 3, "located: {item:?}");
}

#[test]
fn ten_thousand_levels_of_block_nesting() {
    // Compact nested block sequences: `- - - … x`.
    let doc = format!("{}x\n", "- ".repeat(10_000));
    let d = err(&doc);
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(d.items[0].message, "the document nests too deeply");
    assert_eq!(d.items[0].line, 1);
}

#[test]
fn deep_block_mappings() {
    let mut doc = String::new();
    for i in 0..200 {
        doc.push_str(&" ".repeat(i));
        doc.push_str("k:\n");
    }
    let d = err(&doc);
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(d.items[0].message, "the document nests too deeply");
    assert_eq!(d.items[0].line, 65);
}

#[test]
fn ten_thousand_levels_of_flow_nesting() {
    let doc = format!(
        "format: 1\nname: t\nx: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let d = err(&doc);
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(d.items[0].message, "the document nests too deeply");
    assert_eq!(d.items[0].line, 3);
}

#[test]
fn nesting_within_the_limit_is_fine() {
    // 60 levels: parses; the unknown key is the only complaint.
    let doc = format!(
        "format: 1\nname: t\nx: {}{}\n",
        "[".repeat(60),
        "]".repeat(60)
    );
    let d = err(&doc);
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.items[0].message, "unknown key `x`");
}

#[test]
fn a_number_overflowing_u64() {
    let d = err(
        "format: 1\nname: t\nmemory: [{name: m, base: 0, size: 99999999999999999999999999999}]\n",
    );
    assert_eq!(d.items.len(), 1);
    assert_eq!((d.items[0].line, d.items[0].column), (3, 35));
    assert_eq!(
        d.items[0].message,
        "`99999999999999999999999999999` does not fit in 64 bits"
    );
    let d = err("format: 1\nname: t\nmemory: [{name: m, base: 0, size: 1e400}]\n");
    assert_eq!(d.items[0].message, "`1e400` is not a size");
}

#[test]
fn a_bar_wrapping_past_2_64() {
    let d = err("format: 1
name: t
host_bridges: [{name: hb0, root_ports: [{name: rp0, bdf: 00:01.0, mpss: 256}]}]
endpoints: [{name: e, parent: rp0, bdf: 01:00.0, bars: [{index: 0, addr: 0xffff_ffff_ffff_f000, size: 8KiB}]}]
");
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(d.items[0].path, "endpoints[0].bars[0].size");
    assert!(d.items[0].message.contains("wraps past 2^64"));
}

#[test]
fn a_hierarchy_loop() {
    let d = err("format: 1
name: t
bridges:
- {name: a, parent: c, bdf: 01:00.0}
- {name: b, parent: a, bdf: 02:00.0}
- {name: c, parent: b, bdf: 03:00.0}
");
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(d.items[0].message, "hierarchy loop: a → c → b → a");
    assert_eq!((d.items[0].line, d.items[0].column), (4, 21));
}

#[test]
fn binary_garbage() {
    let d = err("format: 1\nname: \u{0}\u{1}\u{2}\u{7f}garbage\n");
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(d.items[0].line, 2);
    assert!(
        d.items[0].message.starts_with("invalid YAML"),
        "{}",
        d.items[0].message
    );
}

#[test]
fn invalid_utf8_is_located() {
    let path = temp_file("latin1.yaml");
    std::fs::write(&path, b"format: 1\nname: caf\xe9\n").expect("write");
    let d = load_file(&path).expect_err("not UTF-8");
    let _ = std::fs::remove_file(&path);
    assert_eq!(d.items.len(), 1);
    assert_eq!((d.items[0].line, d.items[0].column), (2, 10));
    assert_eq!(
        d.items[0].message,
        "the file is not valid UTF-8 (byte 0xe9 at offset 19)"
    );
}

#[test]
fn random_bytes_from_a_file() {
    let path = temp_file("random.bin");
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &bytes).expect("write");
    let d = load_file(&path).expect_err("garbage");
    let _ = std::fs::remove_file(&path);
    assert_eq!(d.items.len(), 1);
    assert!(d.items[0].line >= 1);
}

#[test]
fn empty_and_blank_files() {
    for doc in ["", "\n\n", "# only a comment\n", "---\n", "~\n"] {
        let d = err(doc);
        assert_eq!(d.items.len(), 1, "{doc:?}: {d}");
        assert_eq!(d.items[0].message, "the document is empty", "{doc:?}");
        assert_eq!(d.items[0].line, 1);
    }
}

#[test]
fn missing_file() {
    let d = load_file(std::path::Path::new("/nonexistent/peerpath.yaml")).expect_err("missing");
    assert_eq!(d.items[0].line, 0);
    assert!(d
        .to_string()
        .starts_with("error: /nonexistent/peerpath.yaml: cannot open:"));
}

#[test]
fn over_a_million_endpoints() {
    let mut doc = String::with_capacity(5 << 20);
    doc.push_str("format: 1\nname: t\nendpoints: [");
    for _ in 0..=limits::MAX_ENDPOINTS {
        doc.push_str("{},");
    }
    doc.push_str("]\n");
    assert!(doc.len() < limits::MAX_FILE_BYTES as usize);
    let d = err(&doc);
    assert_eq!(d.items.len(), 1, "{}", d.items[0].message);
    assert_eq!(d.items[0].message, "1000001 endpoints");
    assert_eq!((d.items[0].line, d.items[0].column), (3, 12));
}

#[test]
fn diagnostics_are_capped() {
    let mut doc = String::from("format: 1\nname: t\nmemory:\n");
    for i in 0..1500 {
        doc.push_str(&format!("- {{name: m{i}, base: x, size: 1}}\n"));
    }
    let d = err(&doc);
    assert_eq!(d.items.len(), limits::MAX_DIAGNOSTICS + 1);
    assert_eq!(
        d.items.last().map(|i| i.message.as_str()),
        Some("500 more errors not shown (at most 1000 are reported)")
    );
}

/// Key names of the format, so generated documents reach deep into the loader.
const KEYS: &[&str] = &[
    "format",
    "name",
    "description",
    "kernel",
    "memory",
    "iommus",
    "host_bridges",
    "switches",
    "endpoints",
    "bridges",
    "domains",
    "exports",
    "imports",
    "traffic",
    "root_ports",
    "windows",
    "parent",
    "bdf",
    "mpss",
    "mps",
    "acs",
    "cap",
    "ctl",
    "bars",
    "index",
    "addr",
    "size",
    "cpu",
    "bus",
    "tbu",
    "tbus",
    "iommu",
    "upstream",
    "downstream",
    "device",
    "bar",
    "offset",
    "type",
    "devices",
    "importer",
    "export",
    "disable_acs_redir",
    "config_acs",
    "port",
    "set",
    "clear",
    "kind",
    "segment",
];

const SCALARS: &[&str] = &[
    "1",
    "0",
    "-1",
    "hb0",
    "rp0",
    "ep0",
    "sw0",
    "sw0.dp0",
    "00:01.0",
    "0000:01:00.0",
    "01:00.0",
    "0x1000_0000",
    "256MiB",
    "4KiB",
    "18446744073709551616",
    "256",
    "512",
    "384",
    "true",
    "false",
    "null",
    "~",
    "all",
    "smmuv3",
    "[]",
    "{}",
    "sv",
    "rr",
    "\"\"",
    "1e400",
    ".nan",
];

fn yaml_value() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(SCALARS).prop_map(str::to_owned);
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

fn platform_like() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(KEYS), yaml_value()), 0..10).prop_map(|kv| {
        let mut s = String::from("format: 1\nname: t\n");
        for (k, v) in kv {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = load_str("p.yaml", &s);
    }

    #[test]
    fn arbitrary_yaml_shaped_documents_never_panic(doc in platform_like()) {
        if let Err(d) = load_str("p.yaml", &doc) {
            prop_assert!(!d.items.is_empty());
            let lines = doc.lines().count();
            for item in &d.items {
                prop_assert!(item.line >= 1 && item.line <= lines + 1, "{item:?}");
                prop_assert!(!item.message.is_empty());
            }
        }
    }

    #[test]
    fn mutated_valid_documents_never_panic(cut in 0usize..700, insert in prop::sample::select(SCALARS)) {
        let base = crate::EP;
        let cut = cut.min(base.len());
        let cut = (0..=cut).rev().find(|c| base.is_char_boundary(*c)).unwrap_or(0);
        let doc = format!("{}{}{}", &base[..cut], insert, &base[cut..]);
        let _ = load_str("p.yaml", &doc);
    }
}

#[test]
fn default_imports_that_would_expand_past_the_limit() {
    // 2100 endpoints × 8000 exports = 16.8M pairings > MAX_PAIRINGS: refused before
    // anything is expanded.
    let mut doc = String::from(
        "format: 1\nname: t\nhost_bridges: [{name: hb0, windows: [{cpu: 0, bus: 0, size: 1GiB}], segment: 0}]\nendpoints:\n- {name: e0, parent: hb0, bdf: 00:00.0, bars: [{index: 0, addr: 0, size: 1MiB}]}\n",
    );
    for i in 1..2100u32 {
        doc.push_str(&format!(
            "- {{name: e{i}, parent: hb0, bdf: {:02x}:{:02x}.0}}\n",
            i / 32,
            i % 32
        ));
    }
    doc.push_str("exports:\n");
    for i in 0..8000 {
        doc.push_str(&format!("- {{name: x{i}, device: e0, bar: 0}}\n"));
    }
    let start = Instant::now();
    let d = err(&doc);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(
        d.items[0].message,
        "without `imports`, 2100 endpoints and 8000 exports make up to 16800000 pairings"
    );
    assert_eq!(d.items[0].path, "exports");
    assert_eq!(d.items[0].line, 2106);
}

/// Mostly one of `good`, sometimes one of `bad`.
fn pick(
    good: &'static [&'static str],
    bad: &'static [&'static str],
) -> BoxedStrategy<&'static str> {
    prop_oneof![
        12 => prop::sample::select(good),
        1 => prop::sample::select(bad),
    ]
    .boxed()
}

/// A platform with the right shape and random, sometimes wrong, values: names that
/// may dangle or loop, BARs that may overlap, wrap or miss the windows, odd MPS values,
/// ACS Control bits missing from the capability.
pub(crate) fn random_platform() -> impl Strategy<Value = String> {
    let addr = || {
        pick(
            &[
                "0x1000_0000",
                "0x1010_0000",
                "0x1fff_f000",
                "0x2000_0000",
                "0x2010_0000",
            ],
            &["0", "0xffff_ffff_ffff_f000"],
        )
    };
    let size = || {
        pick(
            &["4KiB", "1MiB"],
            &["0", "256MiB", "16EiB", "0x1_0000_0000_0000_0000"],
        )
    };
    let mpss = || pick(&["128", "256", "4096"], &["384", "8192"]);
    let parent = || {
        pick(
            &["rp0", "rp1", "sw0.dp0", "hb0"],
            &["sw1.dp0", "b0", "sw0", "e0", "nope", "b1", "hb1"],
        )
    };
    let ctl = || pick(&["[rr]", "[sv, rr]", "[]"], &["[rr, ec]"]);
    // (well placed?, a random address, a random size)
    let bar = (prop::bool::weighted(0.9), addr(), size());
    let endpoint = (parent(), 0u8..4, mpss(), prop::collection::vec(bar, 0..3));
    (
        (mpss(), mpss(), ctl()),
        prop::collection::vec((parent(), mpss()), 0..3),
        prop::collection::vec(parent(), 0..3),
        prop::collection::vec(endpoint, 0..5),
        prop::option::of(prop::collection::vec((0usize..5, 0u8..3), 0..3)),
    )
        .prop_map(|((m0, m1, ctl), switches, bridges, endpoints, imports)| {
            let mut y = format!(
                "format: 1\nname: r\nhost_bridges:\n- {{name: hb0, windows: [{{cpu: 0x1000_0000, bus: 0, size: 256MiB}}], root_ports: [{{name: rp0, bdf: 00:01.0, mpss: {m0}}}]}}\n- {{name: hb1, windows: [{{cpu: 0x2000_0000, bus: 0, size: 256MiB}}], root_ports: [{{name: rp1, bdf: 00:02.0, mpss: {m1}, mps: 128}}]}}\n"
            );
            y.push_str("switches:\n");
            for (i, (p, m)) in switches.iter().enumerate() {
                y.push_str(&format!(
                    "- {{name: sw{i}, parent: {p}, upstream: {{bdf: 1{i}:00.0, mpss: {m}}}, downstream: [{{name: sw{i}.dp0, bdf: 1{i}:01.0, mpss: 256, acs: {{cap: [sv, rr, cr, uf], ctl: {ctl}}}}}]}}\n"
                ));
            }
            y.push_str("bridges:\n");
            for (i, p) in bridges.iter().enumerate() {
                y.push_str(&format!("- {{name: b{i}, parent: {p}, bdf: 2{i}:00.0}}\n"));
            }
            y.push_str("endpoints:\n");
            for (i, (p, bus, m, bars)) in endpoints.iter().enumerate() {
                let base: u64 = if *p == "rp1" { 0x2000_0000 } else { 0x1000_0000 };
                let bars: Vec<String> = bars
                    .iter()
                    .enumerate()
                    .map(|(k, (placed, a, s))| {
                        if *placed {
                            let at = base + ((i * 4 + k) as u64) * 0x10_0000;
                            format!("{{index: {k}, addr: {at:#x}, size: 1MiB}}")
                        } else {
                            format!("{{index: {k}, addr: {a}, size: {s}}}")
                        }
                    })
                    .collect();
                y.push_str(&format!(
                    "- {{name: e{i}, parent: {p}, bdf: 3{bus}:{i:02x}.0, mpss: {m}, bars: [{}]}}\n",
                    bars.join(", ")
                ));
            }
            y.push_str("exports:\n");
            for (i, (_, _, _, bars)) in endpoints.iter().enumerate() {
                if !bars.is_empty() {
                    y.push_str(&format!("- {{name: x{i}, device: e{i}, bar: 0}}\n"));
                }
            }
            if let Some(imports) = imports {
                y.push_str("imports:\n");
                for (e, x) in imports {
                    y.push_str(&format!("- {{device: e{e}, exports: [x{x}]}}\n"));
                }
            }
            y
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever comes out is either a platform that keeps the model's invariants or
    /// located diagnostics.
    #[test]
    fn random_platforms_are_valid_or_located(doc in random_platform()) {
        match load_str("r.yaml", &doc) {
            Ok(p) => {
                let mut bars = Vec::new();
                for (i, n) in p.nodes.iter().enumerate() {
                    match n.parent {
                        Some(q) => prop_assert!(q.index() < i, "parent after child:\n{doc}"),
                        None => prop_assert!(matches!(n.kind, peerpath_model::NodeKind::HostBridge(_))),
                    }
                    if let peerpath_model::NodeKind::Endpoint(e) = &n.kind {
                        bars.extend(e.bars.iter().map(|b| b.range));
                    }
                }
                bars.sort();
                for w in bars.windows(2) {
                    prop_assert!(!w[0].overlaps(&w[1]), "overlapping BARs accepted:\n{doc}");
                }
                for i in &p.imports {
                    prop_assert!(i.importer.index() < p.nodes.len() && i.export.index() < p.exports.len());
                }
            }
            Err(d) => {
                let lines = doc.lines().count();
                for item in &d.items {
                    prop_assert!(item.line >= 1 && item.line <= lines, "{item:?}\n{doc}");
                    prop_assert!(item.column >= 1);
                    prop_assert!(item.span.is_some() && item.source.is_some());
                }
            }
        }
    }
}

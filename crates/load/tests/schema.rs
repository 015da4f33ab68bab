//! The JSON Schemas of `peerpath schema` against the loader (issue 9): every platform of
//! `topologies/` and every scenario of `scenarios/` validates; structurally wrong
//! documents, which the loader refuses, are refused; the scalars the loader reads in
//! its own way (addresses, sizes, BDFs, integers as strings) are accepted exactly when
//! the loader's conversion accepts them; `docs/peerpath.schema.json` is up to date and
//! the files of `topologies/` and `scenarios/` name it in their modeline.
//!
//! YAML is turned into JSON values by `peerpath_load::yaml_to_json` (YAML 1.2 scalars,
//! as an editor's YAML language server reads them); the validator is `boon`.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `.yaml` files of a directory of the repository, sorted.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// YAML 1.2 values, as the loader and a YAML language server read them: only
/// `true`/`false` are booleans (`off` is a string, a value of `traffic[].ats`).
/// The file opens with the modeline of docs/editor.md, naming a schema that exists.
fn assert_modeline(file: &Path, text: &str, schema: &str) {
    let want = format!("# yaml-language-server: $schema=../docs/{schema}");
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(first, want, "{}: the first line", file.display());
    assert!(repo().join("docs").join(schema).is_file(), "{schema}");
}

fn json_of(yaml: &str) -> Value {
    peerpath_load::yaml_to_json(yaml).unwrap_or_else(|e| panic!("not YAML: {e}\n{yaml}"))
}

/// A compiled schema.
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(schema: Value) -> Self {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "file:///peerpath.schema.json";
        compiler
            .add_resource(url, schema)
            .expect("the schema is a resource");
        let index = compiler
            .compile(url, &mut schemas)
            .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
        Self { schemas, index }
    }

    fn platform() -> Self {
        Self::new(peerpath_load::platform_schema())
    }

    /// `Err` with the validator's message when `yaml` is refused.
    fn check(&self, yaml: &str) -> Result<(), String> {
        self.schemas
            .validate(&json_of(yaml), self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

#[test]
fn every_topology_validates() {
    let v = Validator::platform();
    let files = yaml_files("topologies");
    assert!(files.len() >= 7, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        assert_modeline(&f, &text, "peerpath.schema.json");
        // A file the loader takes, so the schema must take it too.
        peerpath_load::load_str(&f.display().to_string(), &text)
            .unwrap_or_else(|d| panic!("{} does not load:\n{d}", f.display()));
        if let Err(e) = v.check(&text) {
            panic!("{} is refused by the schema: {e}", f.display());
        }
    }
}

#[test]
fn every_scenario_validates() {
    let v = Validator::new(peerpath_load::scenario_schema());
    let files = yaml_files("scenarios");
    assert!(files.len() >= 20, "{files:?}");
    let mut inline = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        peerpath_load::scenario::load_scenario(&f)
            .unwrap_or_else(|d| panic!("{} does not load:\n{d}", f.display()));
        assert_modeline(&f, &text, "peerpath-scenario.schema.json");
        inline += usize::from(json_of(&text)["platform"].is_object());
        if let Err(e) = v.check(&text) {
            panic!("{} is refused by the scenario schema: {e}", f.display());
        }
    }
    // Both forms of `platform` are exercised: a path and an inline platform.
    assert!(inline > 0);
}

const BASE: &str = "\
format: 1
name: base
host_bridges:
  - name: hb0
    windows: [{ cpu: 0x40_0000_0000, bus: 0x40_0000_0000, size: 64GiB }]
    root_ports:
      - { name: rp0, bdf: '0000:00:01.0', mpss: 512 }
endpoints:
  - { name: gpu0, parent: rp0, bdf: '01:00.0', class: gpu, bars: [{ index: 0, addr: 0x40_0000_0000, size: 32GiB, prefetchable: true }] }
exports:
  - { name: gpu0-bar0, device: gpu0, bar: 0 }
";

/// Wrong documents, each refused by both the loader's conversion and the schema.
#[test]
fn structurally_wrong_documents_are_refused() {
    let v = Validator::platform();
    v.check(BASE).expect("the base document is valid");
    peerpath_load::load_str("base.yaml", BASE).expect("the base document loads");
    let wrong = [
        (
            "unknown top-level key",
            BASE.replace("name: base", "nmae: base"),
        ),
        ("unknown nested key", BASE.replace("mpss: 512", "mpps: 512")),
        (
            "wrong enum value",
            BASE.replace("class: gpu", "class: graphics"),
        ),
        (
            "wrong enum value in a list",
            format!("{BASE}kernel: {{ config_acs: [{{ port: rp0, set: [rx] }}] }}\n"),
        ),
        (
            "wrong type: mapping for a list",
            BASE.replace("exports:\n  - ", "exports:\n    "),
        ),
        (
            "wrong type: string for a bool",
            BASE.replace("prefetchable: true", "prefetchable: yes"),
        ),
        (
            "wrong type: not a number",
            BASE.replace("mpss: 512", "mpss: big"),
        ),
        (
            "wrong type: a float",
            BASE.replace("mpss: 512", "mpss: 512.5"),
        ),
        ("a negative number", BASE.replace("mpss: 512", "mpss: -512")),
        ("not a size", BASE.replace("size: 32GiB", "size: 32GB")),
        ("not a BDF", BASE.replace("'01:00.0'", "'01:00'")),
        ("missing required key", BASE.replace("bar: 0 }", "}")),
        ("missing format", BASE.replace("format: 1\n", "")),
        (
            "exports: neither all nor a list",
            format!("{BASE}imports: [{{ device: gpu0, exports: some }}]\n"),
        ),
    ];
    for (what, doc) in wrong {
        assert!(
            peerpath_load::load_raw_str("wrong.yaml", &doc).is_err(),
            "{what}: the loader takes it\n{doc}"
        );
        assert!(v.check(&doc).is_err(), "{what}: the schema takes it\n{doc}");
    }
}

/// The scalars the loader parses itself: the schema's patterns accept exactly what
/// the conversion (`load_raw_str`, no validation) accepts. One thing a pattern cannot
/// say is the range of a number written as a string (`'0x100'` for a `u8`, `16EiB`,
/// `0x1_0000_0000_0000_0000`): the loader alone refuses those, so they are not cases.
#[test]
fn numbers_sizes_and_bdfs_are_accepted_exactly_as_the_loader_reads_them() {
    let v = Validator::platform();
    let head = "format: 1\nname: n\n";
    let cases: &[(&str, &[&str])] = &[
        (
            "interconnect: { write_merge_bytes: X }",
            &[
                "64",
                "0x40",
                "4KiB",
                "4 KiB",
                "'0x10KiB'",
                "1_024",
                "64TiB",
                "15EiB",
                "4KB",
                "4k",
                "big",
                "-1",
                "1.5",
                "'4GiB '",
                "0x",
                "_1",
                "''",
                "null",
                "true",
            ],
        ),
        (
            "memory: [{ name: m, base: X, size: 4KiB }]",
            &[
                "0x40_0000_0000",
                "'0x40_0000_0000'",
                "4096",
                "0xffff_ffff_ffff_ffff",
                "0X1F",
                "1_000",
                "0x_1",
                "12z",
                "-4096",
                "[1]",
                "{}",
            ],
        ),
        (
            "bridges: [{ name: b, parent: p, bdf: X }]",
            &[
                "'0000:00:01.0'",
                "'00:1f.7'",
                "'ffff:ff:1f.7'",
                "'0:0:0.0'",
                "'00ff:001f.0007'",
                "'00:20.0'",
                "'00:00.8'",
                "'100:00.0'",
                "'00000:00:00.0'",
                "'00:00'",
                "'0000:00:00:00.0'",
                "'g0:00.0'",
                "'00:0001f.0'",
                "'00:00.'",
                "12",
            ],
        ),
        (
            "kernel: { ipa_bits: X }",
            &["48", "'0x30'", "255", "256", "0x30", "-1", "null", "~"],
        ),
        (
            "kernel: { release: X, arch: x86_64 }",
            &["'6.8'", "6.8", "6", "true", "null", "[a]"],
        ),
        (
            "imports: X",
            &["null", "[]", "[{ device: d, exports: all }]", "{}"],
        ),
        ("bridges: X", &["null", "[]", "{}", "b"]),
    ];
    let mut disagree = Vec::new();
    let mut accepted = 0;
    for (line, values) in cases {
        for x in *values {
            let doc = format!("{head}{}\n", line.replace('X', x));
            let loader = peerpath_load::load_raw_str("case.yaml", &doc).is_ok();
            let schema = v.check(&doc).is_ok();
            accepted += usize::from(loader);
            if loader != schema {
                disagree.push(format!(
                    "{line:?} with X = {x}: loader {loader}, schema {schema}"
                ));
            }
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    // Both verdicts occur: the cases test the patterns, not one side of them.
    assert!(accepted > 20, "{accepted}");
}

/// Each key of the schema is a key the loader knows: the descriptions are the doc
/// comments of the raw structs, and the required keys are those the loader requires.
#[test]
fn the_schema_describes_the_keys_and_requires_what_the_loader_requires() {
    let s = peerpath_load::platform_schema();
    assert_eq!(s["required"], serde_json::json!(["format", "name"]));
    let endpoint = &s["properties"]["endpoints"]["anyOf"][0]["items"];
    assert_eq!(
        endpoint["required"],
        serde_json::json!(["name", "parent", "bdf"])
    );
    assert_eq!(endpoint["additionalProperties"], Value::Bool(false));
    assert_eq!(
        endpoint["properties"]["mps"]["description"],
        "`mps` (default 128)."
    );
    assert_eq!(
        endpoint["properties"]["class"]["anyOf"][0]["enum"][0], "gpu",
        "{}",
        endpoint["properties"]["class"]
    );
    // Without a required key, the loader reports it missing.
    let d = peerpath_load::load_raw_str("e.yaml", &BASE.replace("parent: rp0, ", ""))
        .expect_err("parent is required");
    assert!(
        d.to_string().contains("missing required key `parent`"),
        "{d}"
    );
}

/// docs/peerpath.schema.json, which the editor modelines of docs/editor.md can point
/// at, is what `peerpath schema` prints (`UPDATE_EXPECT=1` or `cargo xtask codegen`
/// refreshes it).
#[test]
fn docs_schema_is_up_to_date() {
    let text = peerpath_load::schema_text(&peerpath_load::platform_schema());
    expect_test::expect_file!["../../../docs/peerpath.schema.json"].assert_eq(&text);
    let text = peerpath_load::schema_text(&peerpath_load::scenario_schema());
    expect_test::expect_file!["../../../docs/peerpath-scenario.schema.json"].assert_eq(&text);
}

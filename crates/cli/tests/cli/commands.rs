//! The `peerpath` command line as users run it: exit codes, outputs, determinism.

use crate::common;

use common::{generated, peerpath, repo, stderr, stdout, topologies};

#[test]
fn check_accepts_every_topology_and_the_embedded_default() {
    let mut args = vec!["check"];
    let t = topologies();
    args.extend(t.iter().map(String::as_str));
    let o = peerpath(&args);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.contains(": ok")).count(),
        t.len()
    );
    let o = peerpath(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn check_reports_every_error_with_its_location_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("peerpath-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let f = dir.join("broken.yaml");
    std::fs::write(
        &f,
        "format: 1\nname: broken\nkernel: { arch: arm64 }\nhost_bridges:\n  - name: hb0\n    segment: 0\n    windows: [{ cpu: 0x1000_0000, bus: 0x1000_0000, size: 256MiB }]\n    root_ports:\n      - { name: rp0, bdf: 00:01.0, mpss: 384 }\n      - { name: rp1, bdf: 00:02.0, mpss: 256, mps: 512 }\n",
    )
    .expect("write");
    let o = peerpath(&["check", f.to_str().expect("utf-8 path")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("broken.yaml:9:"),
        "first error located on line 9: {err}"
    );
    assert!(
        err.contains("broken.yaml:10:"),
        "second error located on line 10: {err}"
    );
    assert!(err.contains("2 errors found"), "{err}");
}

#[test]
fn check_on_a_directory_without_platform_files_is_an_error() {
    let dir = std::env::temp_dir().join(format!("peerpath-cli-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let o = peerpath(&["check", dir.to_str().expect("utf-8 path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no platform files"), "{}", stderr(&o));
}

#[test]
fn simulate_prints_a_report_and_valid_json_for_every_topology() {
    for t in topologies() {
        let o = peerpath(&["simulate", &t]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains("pairing"),
            "{t}: summary line missing:\n{text}"
        );

        let o = peerpath(&["simulate", &t, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
        assert_eq!(v["format"], 1, "{t}");
        let pairs = v["pairs"].as_array().expect("pairs array");
        assert_eq!(
            v["summary"]["pairs"].as_u64(),
            Some(pairs.len() as u64),
            "{t}"
        );
        let keys: Vec<(String, String)> = pairs
            .iter()
            .map(|p| {
                (
                    p["importer"].as_str().expect("importer").to_owned(),
                    p["export"].as_str().expect("export").to_owned(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{t}: pairs sorted by (importer, export)");
        for p in pairs {
            let mt = p["kernel"]["map_type"].as_str().expect("map_type");
            assert!(
                ["bus-addr", "thru-host-bridge", "not-supported"].contains(&mt),
                "{mt}"
            );
            let outcome = p["outcome"].as_str().expect("outcome");
            let sev: Vec<&str> = p["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .map(|f| f["severity"].as_str().expect("severity"))
                .collect();
            let want = if sev.contains(&"error") {
                "fails"
            } else if sev.contains(&"warning") {
                "degraded"
            } else {
                "works"
            };
            assert_eq!(outcome, want, "{t}: outcome follows the findings");
            let rank = |s: &str| ["error", "warning", "info"].iter().position(|x| *x == s);
            let ranks: Vec<_> = sev.iter().map(|s| rank(s)).collect();
            let mut sorted = ranks.clone();
            sorted.sort();
            assert_eq!(ranks, sorted, "{t}: findings sorted by severity");
            if let Some(a) = p["kernel"]["dma_address"].as_str() {
                assert!(a.starts_with("0x"), "addresses are hex strings: {a}");
            }
        }
    }
}

#[test]
fn output_is_deterministic() {
    for t in topologies() {
        let a = peerpath(&["simulate", &t, "--format", "json"]);
        let b = peerpath(&["simulate", &t, "--format", "json"]);
        assert_eq!(a.stdout, b.stdout, "{t}");
    }
}

#[test]
fn fail_on_sets_exit_code_1() {
    // The embedded default has failing pairings.
    let o = peerpath(&["simulate", "--fail-on", "error"]);
    assert_eq!(o.status.code(), Some(1));
    let o = peerpath(&["simulate"]);
    assert_eq!(o.status.code(), Some(0));
    // dgx-like: every pairing works, so nothing fails even with --fail-on warning.
    let o = peerpath(&[
        "simulate",
        "topologies/dgx-like.yaml",
        "--fail-on",
        "warning",
    ]);
    let v = peerpath(&["simulate", "topologies/dgx-like.yaml", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&v.stdout).expect("json");
    let any = doc["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .any(|p| p["outcome"] != "works");
    assert_eq!(o.status.code(), Some(if any { 1 } else { 0 }));
}

#[test]
fn explain_names_the_kernel_facts_and_numbers_the_hops() {
    let o = peerpath(&["explain", "nic0", "gpu0-vram"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(
        t.contains("pci=disable_acs_redir=0000:02:00.0;0000:02:01.0"),
        "{t}"
    );
    assert!(
        t.contains("ACS redirect is set between the client and provider"),
        "{t}"
    );
    assert!(t.contains("   1. nic0"), "numbered hops: {t}");
    assert!(t.contains("p2p-not-supported"), "{t}");
}

#[test]
fn explain_an_unknown_pairing_lists_the_valid_names() {
    let o = peerpath(&["explain", "nic9", "gpu0-vram"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("nic9") && e.contains("nic0, nic1"), "{e}");
    let o = peerpath(&["explain", "nic0", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("gpu0-vram"), "{}", stderr(&o));
    // A typo gets the close name.
    let o = peerpath(&["explain", "nic0", "gpu0-vrma"]);
    assert!(
        stderr(&o).contains("did you mean export `gpu0-vram`?"),
        "{}",
        stderr(&o)
    );
}

/// Issue 19: on a big platform the error names a few importers and says how many there
/// are, rather than printing every one.
#[test]
fn issue_19_an_unknown_pairing_on_a_big_platform_is_a_short_error() {
    let (_dir, f) = generated(200, 4);
    let f = f.as_str();
    let o = peerpath(&["explain", "gpu0", "gpu1-vram", f]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    let importers = e
        .lines()
        .find_map(|l| l.strip_prefix("  importers: "))
        .unwrap_or_else(|| panic!("an importers line: {e}"));
    assert!(importers.ends_with(" in all)"), "{importers}");
    assert_eq!(importers.matches(", ").count(), 12, "{importers}");
    assert!(e.lines().count() <= 5, "{e}");
    let o = peerpath(&["explain", "gpuu0", "gpu1-vram", f]);
    assert!(
        stderr(&o).contains("did you mean importer `gpu0`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn groups_json_follows_the_contract() {
    for t in topologies() {
        let o = peerpath(&["groups", &t, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
        assert_eq!(v["format"], 1);
        for (i, g) in v["groups"].as_array().expect("groups").iter().enumerate() {
            assert_eq!(g["id"].as_u64(), Some(i as u64), "{t}: ids from 0 in order");
            let devs: Vec<&str> = g["devices"]
                .as_array()
                .expect("devices")
                .iter()
                .map(|d| d.as_str().expect("name"))
                .collect();
            let mut sorted = devs.clone();
            sorted.sort();
            assert_eq!(devs, sorted, "{t}: devices sorted");
        }
    }
}

/// Regression: `peerpath simulate … | head` panicked with "failed printing to stdout:
/// Broken pipe" (exit 101). A reader that goes away is a normal end.
#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let args = ["simulate", "topologies/dgx-like.yaml", "--format", "json"];
    // The output must be larger than a pipe buffer for the write to fail at all.
    assert!(peerpath(&args).stdout.len() > 128 * 1024);
    let mut child = Command::new(env!("CARGO_BIN_EXE_peerpath"))
        .args(args)
        .current_dir(common::repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 64];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("some output");
    // stdout is dropped here: the pipe's read end closes.
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dot_draws_every_node_and_the_route_of_a_pairing() {
    for t in topologies() {
        let o = peerpath(&["dot", &t]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", stderr(&o));
        let dot = stdout(&o);
        assert!(
            dot.starts_with("digraph ") && dot.trim_end().ends_with('}'),
            "{t}"
        );
        let json = peerpath(&["simulate", &t, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
        for p in v["pairs"].as_array().expect("pairs") {
            for who in ["importer", "exporter"] {
                let name = p[who].as_str().expect("name");
                assert!(
                    dot.contains(&format!("\"{name}\" [label=")),
                    "{t}: {name} not drawn"
                );
            }
        }
        assert_eq!(
            o.stdout,
            peerpath(&["dot", &t]).stdout,
            "{t}: deterministic"
        );
    }
    let o = peerpath(&["dot", "nic0", "gpu0-vram"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dot = stdout(&o);
    // The former form, still read (issue 19).
    assert_eq!(
        stdout(&peerpath(&["dot", "--pairing", "nic0", "gpu0-vram"])),
        dot
    );
    // nic0 → sw0.dp1 → sw0 → rp0 → tbu0 → hb0: five red hops.
    assert_eq!(dot.matches("color=red").count(), 5, "{dot}");
    assert!(
        dot.contains("label=\"nic0 <- gpu0-vram: fails (not-supported)\""),
        "{dot}"
    );
    let o = peerpath(&["dot", "nic9", "gpu0-vram"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The example lines of a help text: `  peerpath …` under `Examples:` or `Start here:`,
/// each cut to its command (the comment column starts after two spaces; a pipe or a
/// redirection ends it).
fn examples(help: &str) -> Vec<Vec<String>> {
    help.lines()
        .skip_while(|l| *l != "Examples:" && *l != "Start here:")
        .filter(|l| l.starts_with("  peerpath "))
        .map(|l| {
            let cmd = l.trim_start().split("  ").next().unwrap_or_default();
            let cmd = cmd.split(" |").next().unwrap_or_default();
            let cmd = cmd.split(" >").next().unwrap_or_default();
            cmd.split_whitespace().skip(1).map(str::to_string).collect()
        })
        .collect()
}

/// `peerpath --help` opens with the question the tool answers, not the crate's internal
/// description; it and every subcommand's help end with examples, and the examples that
/// need only this repository run without a usage error (issue 10).
#[test]
fn help_says_what_the_tool_is_for_with_examples_that_run() {
    for flag in ["--help", "-h"] {
        let text = stdout(&peerpath(&[flag]));
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "Will peer-to-peer DMA between two PCIe devices work on this machine, and if not, why?"
        );
        assert!(!text.contains("argument parsing"), "{text}");
    }
    let top = stdout(&peerpath(&["--help"]));
    let subs: Vec<String> = top
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| *s != "help")
        .map(str::to_string)
        .collect();
    assert_eq!(
        subs,
        [
            "simulate",
            "explain",
            "kernels",
            "fix",
            "check",
            "scenarios",
            "dot",
            "draw",
            "report",
            "groups",
            "import",
            "throughput",
            "bandwidth",
            "generate",
            "audit",
            "schema"
        ]
    );
    let mut all = examples(&top);
    assert!(all.len() >= 3, "{top}");
    for sub in &subs {
        let help = stdout(&peerpath(&[sub, "--help"]));
        let ex = examples(&help);
        assert!(!ex.is_empty(), "{sub} --help has no example:\n{help}");
        assert!(ex.iter().all(|e| e.first() == Some(sub)), "{sub}: {ex:?}");
        all.extend(ex);
    }
    // Run those that read only files of this repository and write nothing.
    let runnable: Vec<&Vec<String>> = all
        .iter()
        .filter(|args| {
            args.iter().all(|a| {
                let file_like =
                    a.contains('/') || [".yaml", ".txt", ".md"].iter().any(|x| a.ends_with(x));
                !file_like || repo().join(a).exists()
            }) && !args.iter().any(|a| a == "-o" || a == "--sysfs")
        })
        .collect();
    assert!(runnable.len() >= 10, "{runnable:?}");
    for args in runnable {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = peerpath(&refs);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "peerpath {}: {}",
            args.join(" "),
            stderr(&o)
        );
    }
}

/// Issue 8: `--summary` counts what it says. Its "findings (pairings affected)" counts
/// pairings, not findings, and its failing-pairings line (`--all`) names each code
/// once; both are held against the JSON report of the same platform. Issue 19: its
/// causes hold every failing pairing once, each example among them with the cause's
/// codes, and its path classes are the matrix's.
#[test]
fn summary_counts_pairings_as_the_json_report_does() {
    use std::collections::{BTreeMap, BTreeSet};
    for t in topologies() {
        let json: serde_json::Value =
            serde_json::from_str(&stdout(&peerpath(&["simulate", &t, "--format", "json"])))
                .expect("valid JSON");
        let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
        let mut failing = Vec::new();
        for pair in json["pairs"].as_array().expect("pairs") {
            let findings = pair["findings"].as_array().expect("findings");
            let codes: BTreeSet<&str> = findings
                .iter()
                .map(|f| f["code"].as_str().expect("code"))
                .collect();
            for c in &codes {
                *by_code.entry((*c).to_owned()).or_default() += 1;
            }
            if pair["outcome"] == "fails" {
                let errors: BTreeSet<&str> = findings
                    .iter()
                    .filter(|f| f["severity"] == "error")
                    .map(|f| f["code"].as_str().expect("code"))
                    .collect();
                failing.push(format!(
                    "  {} <- {}: {}",
                    pair["importer"].as_str().expect("importer"),
                    pair["export"].as_str().expect("export"),
                    errors.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        let summary = stdout(&peerpath(&["simulate", &t, "--summary", "--all"]));
        let counted: BTreeMap<String, usize> = summary
            .lines()
            .skip_while(|l| !l.starts_with("findings (pairings affected)"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w[0].to_owned(), w[2].parse().expect("count"))
            })
            .collect();
        assert_eq!(counted, by_code, "{t}\n{summary}");
        let listed: Vec<&str> = summary
            .lines()
            .skip_while(|l| *l != "failing pairings:")
            .skip(1)
            .collect();
        assert_eq!(listed, failing, "{t}\n{summary}");
        // The causes: counts add up to the failing pairings, each example is one of
        // them and fails with exactly the cause's codes.
        let causes: Vec<&str> = summary
            .lines()
            .skip_while(|l| !l.starts_with("failing pairings by cause"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        let mut total = 0;
        let mut codes = String::new();
        for l in &causes {
            if let Some(example) = l.trim().strip_prefix("e.g. ") {
                let line = format!("  {example}: {codes}");
                assert!(failing.contains(&line), "{t}: {line}\n{summary}");
            } else {
                let (n, what) = l.trim().split_once("  ").expect("count and cause");
                total += n.parse::<usize>().expect("count");
                let mut c: Vec<&str> = what
                    .split(", ")
                    .map(|x| x.split(" at ").next().expect("code"))
                    .collect();
                c.dedup();
                codes = c.join(", ");
            }
        }
        assert_eq!(total, failing.len(), "{t}\n{summary}");
        // The path classes, as the matrix gives them.
        let matrix: serde_json::Value = serde_json::from_str(&stdout(&peerpath(&[
            "simulate", &t, "--matrix", "--format", "json",
        ])))
        .expect("valid JSON");
        let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
        for cell in matrix["cells"].as_array().expect("cells") {
            *by_path
                .entry(cell["path"].as_str().expect("path").to_owned())
                .or_default() += 1;
        }
        let counted: BTreeMap<String, usize> = summary
            .lines()
            .skip_while(|l| *l != "path class:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w[0].to_owned(), w[1].parse().expect("count"))
            })
            .collect();
        assert_eq!(counted, by_path, "{t}\n{summary}");
        // Without --all, no pairing is listed by itself.
        let short = stdout(&peerpath(&["simulate", &t, "--summary"]));
        assert!(!short.contains("\nfailing pairings:\n"), "{t}\n{short}");
        assert!(short.lines().count() <= 60, "{t}\n{short}");
    }
}

/// Issue 19: on the scale-test platform, `--summary` is a summary: at most 60 lines
/// however many pairings fail, and `--all` still lists every one.
#[test]
fn issue_19_summary_of_a_big_platform_is_short() {
    let (_dir, f) = generated(400, 8);
    let f = f.as_str();
    let summary = stdout(&peerpath(&["simulate", f, "--summary"]));
    assert!(summary.lines().count() <= 60, "{summary}");
    let fails: usize = summary
        .lines()
        .nth(1)
        .and_then(|l| l.split(", ").last()?.strip_suffix(" fails")?.parse().ok())
        .expect("a summary line");
    assert!(fails > 100, "{summary}");
    let all = stdout(&peerpath(&["simulate", f, "--summary", "--all"]));
    let listed = all
        .lines()
        .skip_while(|l| *l != "failing pairings:")
        .skip(1)
        .count();
    assert_eq!(listed, fails, "{all}");
}

/// Issue 9: `simulate --matrix` gives every pairing the outcome and map type of the
/// full report, and a path class; as text it has the legend under the grid.
#[test]
fn matrix_agrees_with_the_report_and_has_a_legend() {
    for t in topologies() {
        let report: serde_json::Value =
            serde_json::from_str(&stdout(&peerpath(&["simulate", &t, "--format", "json"])))
                .expect("valid JSON");
        let o = peerpath(&["simulate", &t, "--matrix", "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", stderr(&o));
        let matrix: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
        let pairs = report["pairs"].as_array().expect("pairs");
        let cells = matrix["cells"].as_array().expect("cells");
        assert_eq!(pairs.len(), cells.len(), "{t}");
        for (pair, cell) in pairs.iter().zip(cells) {
            for (a, b) in [
                ("importer", "importer"),
                ("export", "export"),
                ("outcome", "outcome"),
            ] {
                assert_eq!(pair[a], cell[b], "{t}: {cell}");
            }
            assert_eq!(pair["kernel"]["map_type"], cell["map_type"], "{t}: {cell}");
            let path = cell["path"].as_str().expect("path");
            assert!(
                ["PIX", "PXB", "PHB", "NODE", "SYS"].contains(&path),
                "{t}: {cell}"
            );
        }
        assert_eq!(matrix["summary"], report["summary"], "{t}");
        let text = stdout(&peerpath(&["simulate", &t, "--matrix"]));
        let legend = text.find("Each cell:").expect("a legend");
        assert!(
            text.find("importer \\ export").expect("a grid") < legend,
            "{text}"
        );
        for class in ["PIX ", "PXB ", "PHB ", "NODE ", "SYS "] {
            assert!(text[legend..].contains(class), "{t}: {class} in the legend");
        }
    }
}

/// Issue 9: `draw` writes an SVG (stdout or `-o`), `report` an HTML file; neither
/// replaces an existing file without `--force`; a malformed pairing is exit 2. Issue
/// 19: `draw IMPORTER EXPORT` as `explain` takes it; `--pair IMPORTER:EXPORT` is still
/// read.
#[test]
fn draw_and_report_write_files_and_never_overwrite_without_force() {
    let o = peerpath(&["draw", "nic0", "gpu0-vram"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let svg = stdout(&o);
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("class=\"route\""));
    for same in [
        &["draw", "--pair", "nic0:gpu0-vram"][..],
        &["draw", "nic0:gpu0-vram"],
        &[
            "draw",
            "nic0",
            "gpu0-vram",
            "topologies/arm-external-tbu.yaml",
        ],
    ] {
        assert_eq!(stdout(&peerpath(same)), svg, "{same:?}");
    }
    for bad in [
        &["draw", "--pair", "nic0"][..],
        &["draw", "--pair", "nic9:gpu0-vram"],
        &["draw", "nic9", "gpu0-vram"],
        &["draw", "nic0"],
        &["draw", "nic0", "gpu0-vram", "--pair", "nic0:gpu0-vram"],
    ] {
        assert_eq!(peerpath(bad).status.code(), Some(2), "{bad:?}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (cmd, file, head) in [
        ("draw", "topo.svg", "<svg "),
        ("report", "report.html", "<!DOCTYPE html>"),
    ] {
        let path = dir.path().join(file);
        let path_s = path.to_str().expect("utf-8 path");
        let o = peerpath(&[cmd, "topologies/dgx-like.yaml", "-o", path_s]);
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
        let written = std::fs::read_to_string(&path).expect("written");
        assert!(written.starts_with(head), "{cmd}");
        std::fs::write(&path, "mine").expect("write");
        let o = peerpath(&[cmd, "-o", path_s]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert!(stderr(&o).contains("use --force"), "{cmd}: {}", stderr(&o));
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), "mine");
        let o = peerpath(&[cmd, "-o", path_s, "--force"]);
        assert_eq!(o.status.code(), Some(0), "{cmd}");
        assert!(std::fs::read_to_string(&path)
            .expect("replaced")
            .starts_with(head));
    }
}

/// Issue 23: `--compare` tells an empty file from one without figures, reads a run
/// without `Device: N` lines, lists each cell it could not compare, and `--strict`
/// exits 1 on any.
#[test]
fn issue_23_compare_input_is_read_and_every_cell_accounted_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let platform = repo().join("topologies/timing-two-sockets.yaml");
    let platform = platform.to_str().expect("utf-8");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_str().expect("utf-8").to_owned()
    };
    let empty = write("empty.txt", "");
    let prose = write("prose.md", "# a report\nno figures here\n");
    let run = write(
        "run.txt",
        "Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)
   D\\D     0      1
     0      -  26.32
     1  26.31      -
GPU0 -> GPU7: 25.0 GB/s
",
    );
    let o = peerpath(&["bandwidth", platform, "--compare", &empty]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the file is empty"), "{}", stderr(&o));
    let o = peerpath(&["bandwidth", platform, "--compare", &prose]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no measured figures"), "{}", stderr(&o));
    let o = peerpath(&["bandwidth", platform, "--compare", &run]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("gpu0                   gpu1"), "{text}");
    assert!(
        text.contains("line 5: unidirectional_gbps 0 -> 7 = 25.0"),
        "{text}"
    );
    assert!(text.contains("no PCI addresses"), "{text}");
    let o = peerpath(&["bandwidth", platform, "--compare", &run, "--strict"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 measured cells not compared"),
        "{}",
        stderr(&o)
    );
}

/// Issue 23: `--calibrate` fits a corpus machine's free parameters (the Genoa machine's
/// cross-socket fabric, which the 64 GB/s default overstates), prints them with the
/// residual per pair, and writes a platform that loads; `-o` is required and an
/// existing file is not replaced without `--force`.
#[test]
fn issue_23_calibrate_fits_a_corpus_machine_and_writes_a_platform() {
    let dir = tempfile::tempdir().expect("temp dir");
    let machine = repo().join("timing/corpus/genoa-2x9124-8gpu");
    let platform = machine.join("platform.yaml");
    let run = machine.join("run.txt");
    let out = dir.path().join("calibrated.yaml");
    let (p, r, o) = (
        platform.to_str().expect("utf-8"),
        run.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
    );
    let missing_o = peerpath(&["bandwidth", p, "--calibrate", r]);
    assert_eq!(missing_o.status.code(), Some(2), "{}", stderr(&missing_o));
    let c = peerpath(&["bandwidth", p, "--calibrate", r, "-o", o]);
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
    let text = stdout(&c);
    let cross: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("interconnect.fabric.cross_socket: "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!((35.0..45.0).contains(&cross), "{text}");
    assert!(text.contains("Residuals with the fitted values"), "{text}");
    assert!(text.contains("bidirectional_gbps"), "{text}");
    let check = peerpath(&["check", o]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let again = peerpath(&["bandwidth", p, "--calibrate", r, "-o", o]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
}

/// Issue 19: one way to name a pairing. `explain`, `kernels`, `fix`, `draw` and `dot`
/// take `IMPORTER EXPORT [PLATFORM]`; a platform file in a name's place is said to be
/// taken as that name, with the command line meant, and a platform that cannot be
/// found is said to be taken as the platform.
#[test]
fn issue_19_every_command_names_a_pairing_the_same_way() {
    let dgx = "topologies/dgx-like.yaml";
    for cmd in ["explain", "kernels", "fix", "draw", "dot"] {
        let o = peerpath(&[cmd, "nic0", "gpu1-vram", dgx]);
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
        let o = peerpath(&[cmd, "nic0:gpu1-vram", dgx]);
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
        let o = peerpath(&[cmd, dgx, "nic0", "gpu1-vram"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "`{dgx}` was taken as the importer; the platform goes last: \
                 peerpath {cmd} nic0 gpu1-vram {dgx}"
            )),
            "{cmd}: {err}"
        );
        let o = peerpath(&[cmd, "nic0", "gpu1-vram", "no-such-platform"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = stderr(&o);
        assert!(
            err.contains("`no-such-platform` was taken as the platform file"),
            "{cmd}: {err}"
        );
    }
    for cmd in ["explain", "kernels", "fix"] {
        let o = peerpath(&[cmd, "nic0"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&o).contains("`nic0` was taken as the importer, and no export follows"),
            "{cmd}: {}",
            stderr(&o)
        );
    }
    // The same pairing, the same answer, however it is named.
    assert_eq!(
        stdout(&peerpath(&["explain", "nic0", "gpu1-vram", dgx])),
        stdout(&peerpath(&["explain", "nic0:gpu1-vram", dgx]))
    );
}

/// Issue 19: no dead ends. `throughput` on the embedded default, where the kernel maps
/// no pairing, names the pairings left out and why, and the commands to try next, each
/// of which runs.
#[test]
fn issue_19_throughput_without_traffic_says_why_and_what_next() {
    let o = peerpath(&["throughput", "--tlps", "1000"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("no traffic: of 2 pairings, 2 are not mapped"),
        "{text}"
    );
    assert!(
        text.contains("  nic0 <- gpu0-vram: the kernel maps nothing for it"),
        "{text}"
    );
    let next: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| *l != "next:")
        .skip(1)
        .map(|l| {
            let cmd = l.trim().split("    ").next().unwrap_or_default();
            cmd.split_whitespace().skip(1).collect()
        })
        .collect();
    assert_eq!(next.len(), 3, "{text}");
    assert_eq!(next[0], ["explain", "nic0", "gpu0-vram"], "{text}");
    for args in &next {
        let o = peerpath(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
    let routed = stdout(&peerpath(&[
        "throughput",
        "topologies/dgx-like.yaml",
        "--tlps",
        "1000",
    ]));
    assert!(routed.contains("routed "), "{routed}");
}

/// Issue 17: what `peerpath bandwidth` prints, `peerpath bandwidth --compare` reads
/// (the `-` diagonal and `n/a` cells), and compared with itself every cell is 0% off.
#[test]
fn issue_17_bandwidth_compared_with_its_own_output_is_exact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut compared = 0;
    for t in topologies() {
        let o = peerpath(&["bandwidth", &t]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", stderr(&o));
        let printed = stdout(&o);
        // The matrices' rows: an index, then numbers, `-` and `n/a`.
        let is_cell = |w: &str| w == "-" || w == "n/a" || w.parse::<f64>().is_ok();
        let cells = printed
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|w| {
                w.len() > 1 && w[0].parse::<usize>().is_ok() && w.iter().all(|w| is_cell(w))
            })
            .flat_map(|w| w.into_iter().skip(1))
            .filter(|w| w.parse::<f64>().is_ok())
            .count();
        let file = dir.path().join("measured.txt");
        std::fs::write(&file, &printed).expect("write");
        let c = peerpath(&["bandwidth", &t, "--compare", &file.to_string_lossy()]);
        if cells == 0 {
            // No pairing with a prediction: nothing to compare, and --compare says so.
            assert_eq!(c.status.code(), Some(2), "{t}: {}", stderr(&c));
            continue;
        }
        assert_eq!(c.status.code(), Some(0), "{t}: {}", stderr(&c));
        let rows: Vec<String> = stdout(&c).lines().skip(1).map(str::to_owned).collect();
        let errors: Vec<&String> = rows.iter().filter(|l| l.ends_with('%')).collect();
        assert_eq!(
            errors.len(),
            cells,
            "{t}: every cell compared:\n{}",
            stdout(&c)
        );
        for l in errors {
            assert!(l.ends_with(" +0.0%"), "{t}: {l}");
        }
        compared += cells;
    }
    // timing-two-sockets.yaml alone has 44 (the others give no link speeds).
    assert!(compared >= 44, "{compared} cells compared");
}

/// Issue 19, item 3: `draw IMPORTER EXPORT` focuses on the route's hierarchy — on a
/// generated 200-endpoint platform a page, not a 39,574 px strip — with alike siblings
/// folded (`×12 switch port`), every hop numbered, and `--all` drawing every node.
#[test]
fn draw_focuses_on_the_route_and_all_draws_everything() {
    let (_dir, big_s) = generated(200, 10);
    let big_s = big_s.as_str();
    let width = |svg: &str| -> i32 {
        svg.split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .expect("a width")
    };
    let focused = stdout(&peerpath(&["draw", "gpu0", "gpu7-vram", big_s]));
    let all = stdout(&peerpath(&["draw", "gpu0", "gpu7-vram", big_s, "--all"]));
    assert_eq!(
        stdout(&peerpath(&["draw", "gpu0", "gpu7-vram", big_s, "--focus"])),
        focused
    );
    // Other host bridges and unlike siblings are a box or two each: a few screens wide,
    // the route on the first.
    assert!(width(&focused) <= 3200, "{}", width(&focused));
    assert!(
        width(&all) > 10 * width(&focused),
        "{} vs {}",
        width(&all),
        width(&focused)
    );
    // Identical subtrees fold, and only they: the switch ports below sw0 fold by the
    // class of the endpoint below each.
    assert!(focused.contains("×6 switch port → gpu"), "{focused}");
    assert!(focused.contains("×3 switch port → nic"), "{focused}");
    assert!(!focused.contains("×12 switch port"), "{focused}");
    assert!(focused.contains("of 449 PCI nodes drawn"), "{focused}");
    // Both ends and every hop: the badges hold 1..=n once each.
    for end in ["node-gpu0\"", "node-gpu7\""] {
        assert!(focused.contains(end), "{end}");
    }
    let mut hops: Vec<usize> = focused
        .split("<g class=\"hop\">")
        .skip(1)
        .filter_map(|p| p.split("text-anchor=\"middle\">").nth(1)?.split('<').next())
        .flat_map(|t| {
            t.split(',')
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<usize>>()
        })
        .collect();
    hops.sort_unstable();
    assert_eq!(hops, (1..=hops.len()).collect::<Vec<_>>());
    assert!(hops.len() >= 10);
    // Without a pairing there is nothing to focus on: every node.
    let whole = stdout(&peerpath(&["draw", big_s]));
    assert!(!whole.contains("focus:"));
}

/// Issue 19, item 2: every link of the report leads somewhere. On a 200-endpoint
/// platform (1,990 pairings, more than the page explains one by one) the page is the
/// bounded one: a link to a pairing is resolved by the page's script from the
/// embedded data, so it must name a pairing the data holds; every other link an id.
/// A representative's explanation there is `peerpath explain`'s text.
#[test]
fn every_report_link_resolves() {
    let (_dir, big_s) = generated(200, 10);
    let big_s = big_s.as_str();
    for platform in [big_s, "topologies/dgx-like.yaml"] {
        let html = stdout(&peerpath(&["report", platform]));
        let ids: std::collections::HashSet<&str> = html
            .split(" id=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        let data: Option<serde_json::Value> = html
            .split("<script type=\"application/json\" id=\"data\">")
            .nth(1)
            .and_then(|s| s.split("</script>").next())
            .map(|s| serde_json::from_str(s).expect("the embedded data is JSON"));
        let links: Vec<&str> = html
            .split("href=\"#")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert!(links.len() >= 5, "{platform}: {} links", links.len());
        let in_data = |l: &str| -> bool {
            let Some(d) = &data else { return false };
            let Some(pe) = l.strip_prefix("pair-") else {
                return false;
            };
            let has = |k: &str, n: &str| d[k].as_array().is_some_and(|a| a.iter().any(|x| x == n));
            pe.match_indices("--")
                .any(|(at, _)| has("importers", &pe[..at]) && has("exports", &pe[at + 2..]))
        };
        let dangling: Vec<&&str> = links
            .iter()
            .filter(|l| !ids.contains(**l) && !in_data(l))
            .collect();
        assert!(
            dangling.is_empty(),
            "{platform}: {} dangling, e.g. {:?}",
            dangling.len(),
            dangling.first()
        );
        if platform == big_s {
            let d = data.expect("the bounded page embeds its data");
            let texts = d["texts"].as_array().expect("texts");
            assert!(
                texts.len() > 1 && texts.len() <= 10 + 500,
                "{}",
                texts.len()
            );
            for x in texts.iter().take(3) {
                let (i, e) = (x["i"].as_str().expect("i"), x["e"].as_str().expect("e"));
                let own = stdout(&peerpath(&["explain", i, e, big_s]));
                // `explain` adds its timing section after the text the report holds.
                let text = x["t"].as_str().expect("t");
                assert!(own.starts_with(text), "{i} {e}: {text}");
            }
            let pairings = d["cells"]
                .as_str()
                .expect("cells")
                .chars()
                .filter(|c| *c != ' ')
                .count();
            assert_eq!(
                pairings / d["width"].as_u64().expect("width") as usize,
                1990
            );
        }
    }
}

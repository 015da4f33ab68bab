//! `peerpath audit` (issue 21): a generated fleet's injected drift is found exactly (the
//! clusters are the manifest's partition, each saying what was changed where), the same
//! bytes whatever `--jobs`, `--require` gates with exit 1, a dump that does not import
//! is reported and does not stop the audit, and the repository's real dumps each form
//! their own cluster.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{peerpath, repo, stderr, stdout};
use serde_json::Value;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("peerpath-audit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn fleet(name: &str, n: &str, drift: &str, seed: &str) -> PathBuf {
    let d = tmp(name);
    let o = peerpath(&[
        "generate",
        "--fleet",
        n,
        "--drift",
        drift,
        "--seed",
        seed,
        "--endpoints",
        "12",
        "-o",
        d.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    d
}

fn audit_json(args: &[&str]) -> (Value, i32) {
    let mut a = vec!["audit", "--format", "json"];
    a.extend_from_slice(args);
    let o = peerpath(&a);
    let v = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    (v, o.status.code().unwrap_or(-1))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn injected_drift_is_found_exactly() {
    for seed in ["5", "6"] {
        let d = fleet(&format!("drift-{seed}"), "48", "0.3", seed);
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(d.join("manifest.json")).expect("manifest"),
        )
        .expect("manifest is JSON");
        // The expected partition: the machines without drift together, and the drifted
        // ones grouped by exactly what was changed.
        let mut drifted: BTreeMap<String, (String, String, String)> = BTreeMap::new();
        for m in manifest["drifted"].as_array().expect("drifted") {
            let name = format!("{}/{}", s(&d), m["machine"].as_str().expect("machine"));
            let key = ["kind", "place", "detail"].map(|k| m[k].as_str().expect(k).to_owned());
            drifted.insert(name, (key[0].clone(), key[1].clone(), key[2].clone()));
        }
        assert_eq!(drifted.len(), 14, "round(48 × 0.3) machines drift");
        let mut expected: BTreeMap<Option<(String, String, String)>, BTreeSet<String>> =
            BTreeMap::new();
        for i in 0..48 {
            let name = format!("{}/node-{i:05}", s(&d));
            expected
                .entry(drifted.get(&name).cloned())
                .or_default()
                .insert(name);
        }
        let (v, code) = audit_json(&[s(&d)]);
        assert_eq!(code, 0);
        assert_eq!(v["machines"], 48);
        let clusters = v["clusters"].as_array().expect("clusters");
        let got: BTreeSet<BTreeSet<String>> = clusters
            .iter()
            .map(|c| {
                c["machines"]
                    .as_array()
                    .expect("machines")
                    .iter()
                    .map(|m| m.as_str().expect("name").to_owned())
                    .collect()
            })
            .collect();
        let want: BTreeSet<BTreeSet<String>> = expected.values().cloned().collect();
        assert_eq!(
            got, want,
            "clusters are the manifest's partition (seed {seed})"
        );
        // The largest is the machines without drift; each other cluster says what changed,
        // where the manifest says.
        let first: BTreeSet<String> = clusters[0]["machines"]
            .as_array()
            .expect("machines")
            .iter()
            .map(|m| m.as_str().expect("name").to_owned())
            .collect();
        assert_eq!(Some(&first), expected.get(&None));
        for c in &clusters[1..] {
            let m = c["machines"][0].as_str().expect("name");
            let (kind, place, _) = &drifted[m];
            let diffs = c["differs"].as_array().expect("differs");
            let has = |field: &str, at: &str| {
                diffs.iter().any(|x| {
                    x["field"].as_str().is_some_and(|f| f.ends_with(field))
                        && x["place"].as_str() == Some(at)
                })
            };
            match kind.as_str() {
                "acs" => {
                    assert_eq!(diffs.len(), 1, "{m}: {diffs:?}");
                    assert!(has("acs.ctl", place), "{m}: {diffs:?}");
                    assert_eq!(diffs[0]["this"], "[sv, rr, cr, uf]");
                    assert_eq!(diffs[0]["largest"], "[sv]");
                }
                "link" => {
                    // Both ends of the link: the endpoint and its downstream port.
                    assert_eq!(diffs.len(), 2, "{m}: {diffs:?}");
                    assert!(has("link_status", place), "{m}: {diffs:?}");
                }
                "mps" => {
                    assert!(diffs
                        .iter()
                        .all(|x| x["field"].as_str().is_some_and(|f| f.ends_with(".mps"))));
                    assert!(has(".mps", place), "{m}: {diffs:?}");
                }
                "moved" => {
                    assert!(has("present", place), "{m}: {diffs:?}");
                }
                other => panic!("unknown drift {other}"),
            }
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn same_bytes_whatever_jobs_and_text_says_what_differs() {
    let d = fleet("jobs", "24", "0.25", "9");
    let one = peerpath(&["audit", s(&d), "-j", "1", "--format", "json"]);
    let two = peerpath(&["audit", s(&d), "-j", "2", "--format", "json"]);
    assert!(one.status.success(), "{}", stderr(&one));
    assert_eq!(one.stdout, two.stdout);
    let text = peerpath(&["audit", s(&d), "-j", "2"]);
    let t = stdout(&text);
    assert!(t.starts_with("24 machines in "), "{t}");
    assert!(
        t.contains("(largest)") && t.contains("differs from cluster 1"),
        "{t}"
    );
    assert!(
        stderr(&text).contains("skipped 1 file"),
        "the manifest is no dump"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn require_gates_with_exit_1() {
    let d = fleet("require", "6", "0", "1");
    // The fleet's machine: GPU pairs across root ports are degraded, none fails; the
    // switch ports have no ACS, so GPUs below one switch share their group.
    let (v, code) = audit_json(&[s(&d), "--require", "*:*=degraded"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["breaking"], 0);
    let (v, code) = audit_json(&[s(&d), "--require", "gpu:gpu=works"]);
    assert_eq!(code, 1);
    assert_eq!(v["breaking"], 6);
    let breaks = v["clusters"][0]["verdicts"]["breaks"][0]
        .as_str()
        .expect("a break");
    assert!(breaks.starts_with("gpu:gpu=works: "), "{breaks}");
    let (v, code) = audit_json(&[s(&d), "--require", "groups=singleton:gpu"]);
    assert_eq!(code, 1);
    let breaks = v["clusters"][0]["verdicts"]["breaks"][0]
        .as_str()
        .expect("a break");
    assert!(breaks.contains("gpu-0000-03-00-0"), "{breaks}");
    let bad = peerpath(&["audit", s(&d), "--require", "gpu:gpu=fine"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not an outcome"), "{}", stderr(&bad));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_dump_that_does_not_import_is_reported_and_the_rest_audited() {
    let d = fleet("broken", "3", "0", "1");
    let junk = d.join("junk.txt");
    std::fs::write(&junk, "this is no dump\n").expect("write");
    let (v, code) = audit_json(&[s(&d), s(&junk)]);
    assert_eq!(code, 2, "a machine failed: exit 2 after the table");
    assert_eq!(v["machines"], 3);
    assert_eq!(v["clusters"].as_array().expect("clusters").len(), 1);
    let failed = v["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["machine"], format!("{}/junk", s(&d)));
    assert!(failed[0]["error"]
        .as_str()
        .is_some_and(|e| e.contains("no dump")));
    let missing = peerpath(&["audit", s(&d.join("nowhere"))]);
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn real_dumps_each_in_their_own_cluster() {
    let dumps = repo().join("crates/cli/tests/dumps");
    let (v, code) = audit_json(&[s(&dumps)]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["machines"], 4);
    assert_eq!(v["clusters"].as_array().expect("clusters").len(), 4);
    assert_eq!(v["failed"].as_array().expect("failed").len(), 0);
}

#[test]
fn generate_fleet_is_deterministic_and_refuses_a_non_empty_dir() {
    let a = fleet("det-a", "5", "0.4", "2");
    let b = fleet("det-b", "5", "0.4", "2");
    for f in [
        "node-00000.lspci.txt",
        "node-00004.lspci.txt",
        "manifest.json",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).expect("a"),
            std::fs::read(b.join(f)).expect("b"),
            "{f}"
        );
    }
    let again = peerpath(&["generate", "--fleet", "5", "--seed", "2", "-o", s(&a)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    let forced = peerpath(&[
        "generate",
        "--fleet",
        "5",
        "--seed",
        "2",
        "-o",
        s(&a),
        "--force",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn merged_shards_give_the_same_bytes_as_one_run() {
    let d = fleet("shards", "30", "0.3", "4");
    for format in ["json", "text", "html"] {
        let whole = peerpath(&[
            "audit",
            s(&d),
            "--format",
            format,
            "--require",
            "gpu:gpu=works",
        ]);
        assert_eq!(whole.status.code(), Some(1), "{}", stderr(&whole));
        let mut parts = Vec::new();
        for i in 1..=3 {
            let o = peerpath(&[
                "audit",
                s(&d),
                "--shard",
                &format!("{i}/3"),
                "--require",
                "gpu:gpu=works",
            ]);
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
            let part = d.with_extension(format!("part{i}.json"));
            std::fs::write(&part, &o.stdout).expect("write part");
            parts.push(part);
        }
        // In another order, too.
        parts.reverse();
        let mut args = vec!["audit", "merge", "--format", format];
        args.extend(parts.iter().map(|p| s(p)));
        let merged = peerpath(&args);
        assert_eq!(merged.status.code(), Some(1), "{}", stderr(&merged));
        assert_eq!(stdout(&merged), stdout(&whole), "{format}");
        for p in parts {
            let _ = std::fs::remove_file(p);
        }
    }
    // A whole run's JSON is not a part.
    let whole = d.with_extension("whole.json");
    let o = peerpath(&["audit", s(&d), "--format", "json"]);
    std::fs::write(&whole, &o.stdout).expect("write");
    let bad = peerpath(&["audit", "merge", s(&whole)]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--shard"), "{}", stderr(&bad));
    let _ = std::fs::remove_file(whole);
    let _ = std::fs::remove_dir_all(&d);
}
